#include "worker/engine/ops/op_table.h"

namespace qbench {

std::span<const OpDef* const> NnOps() { return {}; }

}  // namespace qbench
