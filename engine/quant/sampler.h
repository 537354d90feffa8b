// Calibration sample selection, reproducible across tools: the first `count` entries of
// a Fisher-Yates shuffle of [0, n) driven by SplitMix64(seed). bench/torch/torch_ptq.py
// implements the same generator so PyTorch calibrates on exactly the same images.
//
//   next():  state += 0x9E3779B97F4A7C15; z = state;
//            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
//            return z ^ (z >> 31)                                   (all mod 2^64)
//   shuffle: for i = n-1 down to 1: j = next() % (i + 1); swap(perm[i], perm[j])
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qbench::quant {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();

 private:
  uint64_t state_;
};

std::vector<int64_t> SampleIndices(int64_t n, int64_t count, uint64_t seed);

// SHA-256 (hex) of the indices as little-endian int64: names a sample set in results.
std::string IndicesSha256(const std::vector<int64_t>& indices);


}  // namespace qbench::quant
