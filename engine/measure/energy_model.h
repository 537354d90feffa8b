// Modeled energy per inference, where nothing can be measured (and beside a measurement
// where something can): operation counts at each bit width and bytes moved, priced with
// the 45 nm per-operation energies of M. Horowitz, "Computing's energy problem (and what
// we can do about it)", ISSCC 2014, which the quantization literature cites:
//   int8 add 0.03 pJ, int8 mult 0.2 pJ, int32 add 0.1 pJ, int32 mult 3.1 pJ,
//   fp16 add 0.4 pJ, fp16 mult 1.1 pJ, fp32 add 0.9 pJ, fp32 mult 3.7 pJ,
//   DRAM access 1.3-2.6 nJ per 64 bits (we take the midpoint, 1.95 nJ per 8 bytes).
// A multiply-accumulate at b < 8 bits is priced as 8-bit (it runs on the int8 kernels
// here); bf16 is priced as fp16. Weights are read from DRAM once per inference at their
// stored width; activations once written and once read at theirs. The model ignores
// caches and control: it compares configurations, it is not a measurement.
#pragma once

#include <cstdint>
#include <string>

namespace qbench {

struct OpCounts {
  int64_t macs_fp32 = 0, macs_bf16 = 0, macs_int8 = 0;  // per inference (one sample)
  int64_t weight_bytes = 0;                             // as stored (packed n-bit counts its bits)
  int64_t activation_bytes = 0;                         // written once + read once each
};

struct EnergyEstimate {
  double compute_joules = 0, memory_joules = 0;
  double total() const { return compute_joules + memory_joules; }
};

EnergyEstimate ModelEnergy(const OpCounts& ops);
inline constexpr const char* kEnergyModelSource =
    "modeled: 45 nm per-operation energies (Horowitz, ISSCC 2014), MACs by precision and DRAM bytes; not measured";

}  // namespace qbench
