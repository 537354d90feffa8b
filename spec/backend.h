// Where a job's graphs run, as a job spec names it ("backend": "onednn" | "reference").
// Here rather than in engine/runtime/session.h so that spec readers need no engine.
#pragma once

#include <cstdint>

namespace qbench {

enum class Backend { kOneDnn, kReference };

// "sub_batch": "auto": the runtime picks a sub-batch from the cache size
// (engine/runtime/sub_batch.h); 0 ("off") never splits; n > 0 splits into pieces of n.
inline constexpr int64_t kAutoSubBatch = -1;

}  // namespace qbench
