#include "engine/measure/topk.h"

#include <cmath>

namespace qbench {
namespace {

// The score order of topk.h: NaN above every number, equal values equal. `a` ranks
// strictly above `b` when Above(a, b).
bool Above(float a, float b) {
  if (std::isnan(a)) return !std::isnan(b);
  return !std::isnan(b) && a > b;
}

bool Same(float a, float b) { return std::isnan(a) ? std::isnan(b) : a == b; }

}  // namespace

int64_t TopClass(const float* s, int64_t classes) {
  int64_t best = 0;
  for (int64_t c = 1; c < classes; ++c)
    if (Above(s[c], s[best])) best = c;  // strict: the first of equal maxima stays
  return best;
}

int64_t LabelRank(const float* s, int64_t classes, int64_t label) {
  const float v = s[label];
  int64_t rank = 0;
  for (int64_t c = 0; c < classes; ++c) rank += Above(s[c], v) || (c < label && Same(s[c], v));
  return rank;
}

bool TopIsTied(const float* s, int64_t classes) {
  const float top = s[TopClass(s, classes)];
  int64_t at_top = 0;
  for (int64_t c = 0; c < classes && at_top < 2; ++c) at_top += Same(s[c], top);
  return at_top > 1;
}

}  // namespace qbench
