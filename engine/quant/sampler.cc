#include "engine/quant/sampler.h"

#include <algorithm>
#include <numeric>

#include "common/sha256.h"

namespace qbench::quant {

uint64_t SplitMix64::Next() {
  state_ += 0x9E3779B97F4A7C15ull;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<int64_t> SampleIndices(int64_t n, int64_t count, uint64_t seed) {
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  SplitMix64 rng(seed);
  for (int64_t i = n - 1; i >= 1; --i) {
    const int64_t j = static_cast<int64_t>(rng.Next() % static_cast<uint64_t>(i + 1));
    std::swap(perm[i], perm[j]);
  }
  perm.resize(std::min(n, count));
  return perm;
}

std::string IndicesSha256(const std::vector<int64_t>& indices) {
  std::string bytes;
  bytes.reserve(indices.size() * 8);
  for (int64_t v : indices)
    for (int b = 0; b < 8; ++b) bytes.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * b)) & 0xff));
  return qbench::Sha256Hex(bytes);
}

}  // namespace qbench::quant
