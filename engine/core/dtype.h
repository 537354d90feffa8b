// Element types the engine stores, with one traits table instead of switches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qbench {

// Keep in sync with kDTypeTraits below (the table is indexed by this enum).
enum class DType : uint8_t { kF32, kF16, kBF16, kS8, kU8, kS32, kS64, kBool, kF64 };

struct DTypeTraits {
  DType dtype;
  std::string_view name;  // short name used in messages and JSON ("f32", "s8", ...)
  size_t size;            // bytes per element
  int onnx_type;          // onnx::TensorProto_DataType value
  bool is_float;
};

inline constexpr DTypeTraits kDTypeTraits[] = {
    {DType::kF32, "f32", 4, 1, true},   {DType::kF16, "f16", 2, 10, true},
    {DType::kBF16, "bf16", 2, 16, true}, {DType::kS8, "s8", 1, 3, false},
    {DType::kU8, "u8", 1, 2, false},    {DType::kS32, "s32", 4, 6, false},
    {DType::kS64, "s64", 8, 7, false},  {DType::kBool, "bool", 1, 9, false},
    {DType::kF64, "f64", 8, 11, true},
};

constexpr const DTypeTraits& Traits(DType t) { return kDTypeTraits[static_cast<int>(t)]; }
constexpr size_t SizeOf(DType t) { return Traits(t).size; }
constexpr std::string_view Name(DType t) { return Traits(t).name; }

// Maps an ONNX TensorProto data type to ours; nullopt for types the engine does not hold.
inline std::optional<DType> FromOnnxType(int onnx_type) {
  for (const auto& t : kDTypeTraits)
    if (t.onnx_type == onnx_type) return t.dtype;
  return std::nullopt;
}

// C++ type to DType, for typed accessors.
template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kF32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kF64; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kS8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kU8; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kS32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kS64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };

// IEEE half and bfloat16 to float (round-trip exact for every finite value).
float HalfToFloat(uint16_t h);
float Bf16ToFloat(uint16_t b);
uint16_t FloatToBf16(float f);  // round to nearest even

}  // namespace qbench
