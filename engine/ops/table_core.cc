#include "engine/ops/op_table.h"

namespace qbench {

extern const OpDef kConvDef, kReluDef, kClipDef, kLeakyReluDef, kSigmoidDef, kTanhDef, kHardSigmoidDef,
    kHardSwishDef;

std::span<const OpDef* const> CoreOps() {
  static const OpDef* const kOps[] = {&kConvDef,    &kReluDef, &kClipDef,        &kLeakyReluDef,
                                      &kSigmoidDef, &kTanhDef, &kHardSigmoidDef, &kHardSwishDef};
  return kOps;
}

}  // namespace qbench
