#include "engine/kernels/reference/binary.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/kernels/reference/strided.h"
#include "engine/ops/binary.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

float AddF(float a, float b) { return a + b; }
float SubF(float a, float b) { return a - b; }
float MulF(float a, float b) { return a * b; }
float DivF(float a, float b) { return a / b; }

// Signed overflow is undefined in C++, so int64 add/sub/mul go through uint64 (modulo
// 2^64) and convert back, which C++20 defines as two's complement wrapping.
int64_t Wrap(uint64_t v) { return static_cast<int64_t>(v); }
std::optional<int64_t> AddI(int64_t a, int64_t b) { return Wrap(static_cast<uint64_t>(a) + static_cast<uint64_t>(b)); }
std::optional<int64_t> SubI(int64_t a, int64_t b) { return Wrap(static_cast<uint64_t>(a) - static_cast<uint64_t>(b)); }
std::optional<int64_t> MulI(int64_t a, int64_t b) { return Wrap(static_cast<uint64_t>(a) * static_cast<uint64_t>(b)); }
// Integer Div truncates toward zero (-7 / 2 = -3), as C++, ONNX Runtime and the ONNX
// reference implementation (numpy divide, then cast) do; numpy's // would floor to -4.
// INT64_MIN / -1 overflows: it wraps to INT64_MIN like the other ops.
std::optional<int64_t> DivI(int64_t a, int64_t b) {
  if (b == 0) return std::nullopt;
  if (b == -1) return Wrap(0 - static_cast<uint64_t>(a));
  return a / b;
}

constexpr BinaryDef kBinary[] = {
    {"Add", AddF, AddI},
    {"Sub", SubF, SubI},
    {"Mul", MulF, MulI},
    {"Div", DivF, DivI},
};

// Integer element access through int64: load widens, store wraps to the type's width.
struct IntAccess {
  DType dtype;
  int64_t (*load)(const void* data, int64_t i);
  void (*store)(void* data, int64_t i, int64_t v);
};

template <class T> int64_t Load(const void* data, int64_t i) { return static_cast<const T*>(data)[i]; }
template <class T> void Store(void* data, int64_t i, int64_t v) { static_cast<T*>(data)[i] = static_cast<T>(v); }

constexpr IntAccess kIntTypes[] = {
    {DType::kS8, Load<int8_t>, Store<int8_t>},
    {DType::kU8, Load<uint8_t>, Store<uint8_t>},
    {DType::kS32, Load<int32_t>, Store<int32_t>},
    {DType::kS64, Load<int64_t>, Store<int64_t>},
};

const IntAccess* FindIntAccess(DType dtype) {
  for (const IntAccess& t : kIntTypes)
    if (t.dtype == dtype) return &t;
  return nullptr;
}

}  // namespace

const BinaryDef* FindBinary(std::string_view op_type) {
  for (const BinaryDef& b : kBinary)
    if (b.op_type == op_type) return &b;
  return nullptr;
}

bool BinarySupportsDType(DType dtype) { return dtype == DType::kF32 || FindIntAccess(dtype) != nullptr; }

absl::Status ReferenceBinary(const Node& node, const BinaryParams& p, const Tensor& a, const Tensor& b,
                             Tensor* dst) {
  const Shape& out = dst->shape();
  const std::vector<int64_t> sa = BroadcastStrides(a.shape(), out);
  const std::vector<int64_t> sb = BroadcastStrides(b.shape(), out);
  const int64_t n = dst->num_elements();
  if (p.dtype == DType::kF32) {
    const float* x = a.data<float>();
    const float* y = b.data<float>();
    float* z = dst->data<float>();
    for (int64_t i = 0; i < n; ++i) z[i] = p.def->f32(x[StridedOffset(i, out, sa)], y[StridedOffset(i, out, sb)]);
    return absl::OkStatus();
  }
  const IntAccess* t = FindIntAccess(p.dtype);
  if (t == nullptr)
    return NodeUnimplemented(node, absl::StrCat("no reference kernel for type ", std::string(Name(p.dtype))));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t x = t->load(a.raw(), StridedOffset(i, out, sa));
    const int64_t y = t->load(b.raw(), StridedOffset(i, out, sb));
    const std::optional<int64_t> z = p.def->s64(x, y);
    if (!z) return NodeError(node, absl::StrCat("integer ", std::string(p.def->op_type), " of ", x, " by ", y,
                                                " is undefined (division by zero)"));
    t->store(dst->raw(), i, *z);
  }
  return absl::OkStatus();
}

}  // namespace qbench
