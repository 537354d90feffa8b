// Energy per inference for a configuration: modeled always (op counts of the planned
// graph at their precision, measure/energy_model.h), measured when RAPL is readable
// (measure/rapl.h), each labelled with its source.
#pragma once

#include <optional>
#include <string>

#include "engine/graph/graph.h"
#include "engine/measure/energy_model.h"

namespace qbench {

struct EnergyResult {
  OpCounts ops;
  EnergyEstimate modeled;
  std::optional<double> measured_joules;  // per inference, idle baseline subtracted
  std::string measured_source;            // the domains read, or why nothing was measured
};

// Op counts per sample of an optimized (and, for integer configurations, lowered) graph.
// Layers marked to run in bf16 count as bf16 MACs; `weight_bytes` is the configuration's
// model size.
OpCounts CountOps(const Graph& g, int64_t weight_bytes);

}  // namespace qbench
