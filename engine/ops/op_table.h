// The op tables, one per family; op_table.cc joins them for FindOp/AllOps.
#pragma once

#include <span>

#include "engine/ops/op_def.h"

namespace qbench {

std::span<const OpDef* const> CoreOps();    // table_core.cc: Conv, activations
std::span<const OpDef* const> NnOps();      // table_nn.cc: Gemm, MatMul, BatchNormalization, pools, Softmax
std::span<const OpDef* const> TensorOps();  // table_tensor.cc: binary arithmetic, shape and data movement
std::span<const OpDef* const> QuantOps();   // table_quant.cc: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear

}  // namespace qbench
