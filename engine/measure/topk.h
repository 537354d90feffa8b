// Strict top-k over one row of class scores: the rule NumPy's argmax, PyTorch's topk and
// ONNX Runtime users apply, so an accuracy QBench reports is the one they would compute.
//
// Classes are ordered by score, highest first, and equal scores by class index, lowest
// first. The label's rank is
//     rank = #{c : s[c] > s[label]} + #{c < label : s[c] == s[label]}
// and a sample is a top-k hit when rank < k. A tie at the top is therefore a hit for
// the lowest tied class only (the old rule, "no class strictly higher", made it a hit for
// every tied class, which inflated quantized models whose outputs saturate after a
// Softmax). NaN ranks above every number, as in np.argmax (the first NaN wins).
#pragma once

#include <cstdint>

namespace qbench {

// The arg-max with the lowest index among equal maxima.
int64_t TopClass(const float* scores, int64_t classes);

// The label's 0-based rank under the rule above.
int64_t LabelRank(const float* scores, int64_t classes, int64_t label);

// True when the highest score is shared by more than one class (the top-1 is a tie,
// decided only by the index rule).
bool TopIsTied(const float* scores, int64_t classes);

}  // namespace qbench
