#include "engine/measure/energy_model.h"

namespace qbench {
namespace {

// Picojoules (Horowitz 2014, 45 nm).
constexpr double kFp32Mac = 3.7 + 0.9;   // mult + add
constexpr double kFp16Mac = 1.1 + 0.4;
constexpr double kInt8Mac = 0.2 + 0.1;   // 8-bit mult, 32-bit accumulate
constexpr double kDramPerByte = 1950.0 / 8;  // 1.3-2.6 nJ per 64-bit access, midpoint

}  // namespace

EnergyEstimate ModelEnergy(const OpCounts& ops) {
  EnergyEstimate e;
  e.compute_joules = 1e-12 * (ops.macs_fp32 * kFp32Mac + ops.macs_bf16 * kFp16Mac + ops.macs_int8 * kInt8Mac);
  e.memory_joules = 1e-12 * kDramPerByte * static_cast<double>(ops.weight_bytes + 2 * ops.activation_bytes);
  return e;
}

}  // namespace qbench
