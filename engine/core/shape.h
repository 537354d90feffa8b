// Shapes: dims as int64; -1 marks a dimension unknown until run time (a dynamic batch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qbench {

using Shape = std::vector<int64_t>;

inline constexpr int64_t kDynamicDim = -1;

// Product of dims; 1 for a scalar (rank 0). Undefined for shapes with dynamic dims.
int64_t NumElements(const Shape& s);
bool IsStatic(const Shape& s);
std::string ShapeToString(const Shape& s);  // "[1,3,224,224]", "?" for dynamic dims
// Row-major strides in elements.
std::vector<int64_t> Strides(const Shape& s);

}  // namespace qbench
