#include "engine/ops/op_table.h"

namespace qbench {

extern const OpDef kAddDef, kSubDef, kMulDef, kDivDef, kReshapeDef, kFlattenDef, kSqueezeDef, kUnsqueezeDef,
    kIdentityDef, kDropoutDef, kTransposeDef, kConcatDef, kPadDef, kGatherDef, kShapeDef, kConstantDef;

std::span<const OpDef* const> TensorOps() {
  static const OpDef* const kOps[] = {&kAddDef,      &kSubDef,      &kMulDef,     &kDivDef,       &kReshapeDef,
                                      &kFlattenDef,  &kSqueezeDef,  &kUnsqueezeDef, &kIdentityDef, &kDropoutDef,
                                      &kTransposeDef, &kConcatDef,  &kPadDef,     &kGatherDef,    &kShapeDef,
                                      &kConstantDef};
  return kOps;
}

}  // namespace qbench
