#include "engine/ops/op_table.h"

namespace qbench {

extern const OpDef kQuantizeLinearDef, kDequantizeLinearDef, kDynamicQuantizeLinearDef;

std::span<const OpDef* const> QuantOps() {
  static const OpDef* const kOps[] = {&kQuantizeLinearDef, &kDequantizeLinearDef, &kDynamicQuantizeLinearDef};
  return kOps;
}

}  // namespace qbench
