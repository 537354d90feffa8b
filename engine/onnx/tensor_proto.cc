#include "engine/onnx/tensor_proto.h"

#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace qbench {
namespace {

// Copies a typed repeated field into t, converting element by element.
template <class Field, class Out, class Conv>
void CopyField(const Field& field, Tensor* t, Conv conv) {
  Out* dst = static_cast<Out*>(t->raw());
  for (int i = 0; i < field.size(); ++i) dst[i] = conv(field.Get(i));
}

}  // namespace

absl::StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto, const std::string& context) {
  const auto where = [&] { return absl::StrCat(context, " (tensor \"", proto.name(), "\")"); };
  if (proto.data_location() == onnx::TensorProto::EXTERNAL)
    return absl::UnimplementedError(absl::StrCat(where(), ": external data files are not supported"));
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape)
    if (d < 0) return absl::InvalidArgumentError(absl::StrCat(where(), ": negative dimension"));
  const int type = proto.data_type();
  auto stored = FromOnnxType(type);
  if (!stored)
    return absl::UnimplementedError(absl::StrCat(where(), ": element type ", type, " is not supported"));
  // Reject absurd sizes before allocating (a corrupt or mistyped file can claim any dims).
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > (int64_t{1} << 34) / d)
      return absl::InvalidArgumentError(absl::StrCat(where(), ": shape ", ShapeToString(shape), " is too large"));
    n *= d;
  }
  const DType in_type = *stored;
  const bool raw = proto.has_raw_data();
  if (raw && proto.raw_data().size() != static_cast<size_t>(n) * SizeOf(in_type))
    return absl::InvalidArgumentError(absl::StrCat(where(), ": raw_data has ", proto.raw_data().size(),
                                                   " bytes, shape ", ShapeToString(shape), " needs ",
                                                   n * SizeOf(in_type)));

  if (!raw) {
    // Typed fields: float_data (float), int32_data (int32, int8, uint8, bool, float16 bits),
    // int64_data, double_data. Their sizes must match the element count.
    int64_t have = -1;
    switch (in_type) {
      case DType::kF32: have = proto.float_data_size(); break;
      case DType::kF64: have = proto.double_data_size(); break;
      case DType::kS64: have = proto.int64_data_size(); break;
      default: have = proto.int32_data_size(); break;
    }
    if (have != n)
      return absl::InvalidArgumentError(absl::StrCat(where(), ": has ", have, " values, shape ",
                                                     ShapeToString(shape), " needs ", n));
  }
  // Load into the stored type first.
  Tensor t(in_type, shape);
  if (raw) {
    if (n) std::memcpy(t.raw(), proto.raw_data().data(), proto.raw_data().size());
  } else {
    switch (in_type) {
      case DType::kF32: CopyField<decltype(proto.float_data()), float>(proto.float_data(), &t, [](float v) { return v; }); break;
      case DType::kF64: CopyField<decltype(proto.double_data()), double>(proto.double_data(), &t, [](double v) { return v; }); break;
      case DType::kS64: CopyField<decltype(proto.int64_data()), int64_t>(proto.int64_data(), &t, [](int64_t v) { return v; }); break;
      case DType::kS32: CopyField<decltype(proto.int32_data()), int32_t>(proto.int32_data(), &t, [](int32_t v) { return v; }); break;
      case DType::kS8: CopyField<decltype(proto.int32_data()), int8_t>(proto.int32_data(), &t, [](int32_t v) { return static_cast<int8_t>(v); }); break;
      case DType::kU8:
      case DType::kBool: CopyField<decltype(proto.int32_data()), uint8_t>(proto.int32_data(), &t, [](int32_t v) { return static_cast<uint8_t>(v); }); break;
      case DType::kF16:
      case DType::kBF16: CopyField<decltype(proto.int32_data()), uint16_t>(proto.int32_data(), &t, [](int32_t v) { return static_cast<uint16_t>(v); }); break;
    }
  }
  if (in_type == DType::kF16 || in_type == DType::kF64 || in_type == DType::kBF16) return t.CastTo(DType::kF32);
  return t;
}

absl::StatusOr<Tensor> ReadTensorProtoFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  onnx::TensorProto proto;
  if (!proto.ParseFromIstream(&f)) return absl::InvalidArgumentError(absl::StrCat(path, ": not a TensorProto"));
  return TensorFromProto(proto, path);
}

}  // namespace qbench
