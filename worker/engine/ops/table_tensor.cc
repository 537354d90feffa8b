#include "worker/engine/ops/op_table.h"

namespace qbench {

std::span<const OpDef* const> TensorOps() { return {}; }

}  // namespace qbench
