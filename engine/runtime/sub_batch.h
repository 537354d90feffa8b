// Sub-batching: a batch whose activations overflow the cache runs as equal sub-batches,
// one after another, on the plan for the sub-batch shape.
//
// Why: at batch 64 a MobileNetV2 layer's input and output (112x112x96 floats each,
// 4.8 MB per sample) are 600 MB; every layer then streams its tensors from DRAM, and the
// network runs ~25% slower per sample than at batch 1, where they stay in the last-level
// cache. Each sample's result depends on that sample alone in a feed-forward net, so
// computing the batch in pieces changes no output, only where the bytes live.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "engine/graph/graph.h"

namespace qbench {

// OK when every node computes sample i of its outputs from sample i of its inputs (dim 0
// is the batch, dynamic, on every non-constant value), so a batch may run in pieces.
// Otherwise an error naming the first node that mixes samples or whose op is not known
// to keep them apart (the table in sub_batch.cc).
absl::Status CheckBatchSeparable(const Graph& graph);

// The sub-batch for a batch of n whose largest step touches `per_sample_bytes` of
// activations per sample: the largest divisor of n whose working set fits
// `budget_bytes` (1 when even one sample does not fit). Equal pieces keep one plan.
int64_t SubBatchFor(int64_t n, size_t per_sample_bytes, size_t budget_bytes);

// Half the last-level cache (so weights and the other half of a step's traffic fit
// beside the activations), from sysfs; 8 MiB when unreadable.
size_t CacheBudgetBytes();

}  // namespace qbench
