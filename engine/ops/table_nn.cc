#include "engine/ops/op_table.h"

namespace qbench {

extern const OpDef kGemmDef, kMatMulDef, kBatchNormalizationDef, kMaxPoolDef, kAveragePoolDef,
    kGlobalAveragePoolDef, kSoftmaxDef;

std::span<const OpDef* const> NnOps() {
  static const OpDef* const kOps[] = {&kGemmDef,        &kMatMulDef,          &kBatchNormalizationDef,
                                      &kMaxPoolDef,     &kAveragePoolDef,     &kGlobalAveragePoolDef,
                                      &kSoftmaxDef};
  return kOps;
}

}  // namespace qbench
