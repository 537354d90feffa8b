#include "engine/data/npy.h"

#include <bit>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/data/file_util.h"

namespace qbench::data {
namespace {

static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kAlign = 64;  // numpy pads the header so data starts 64-byte aligned

// descr <-> dtype. `canonical` rows are what we write; the others are accepted spellings.
struct NpyType {
  std::string_view descr;
  DType dtype;
  bool canonical;
};
constexpr NpyType kNpyTypes[] = {
    {"<f4", DType::kF32, true}, {"|u1", DType::kU8, true},  {"|i1", DType::kS8, true},
    {"<i4", DType::kS32, true}, {"<i8", DType::kS64, true}, {"<u1", DType::kU8, false},
    {"<i1", DType::kS8, false}, {"u1", DType::kU8, false},  {"i1", DType::kS8, false},
};

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// A parser for the one Python literal numpy writes: a dict of str -> str | bool | tuple.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  absl::StatusOr<NpyHeader> Parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    if (!Eat('{')) return Error("expected '{'");
    while (!Eat('}')) {
      std::string key;
      if (!String(&key)) return Error("expected a quoted key");
      if (!Eat(':')) return Error("expected ':'");
      if (key == "descr") {
        if (!String(&h.descr)) return Error("'descr' must be a string");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (Word("True")) h.fortran_order = true;
        else if (Word("False")) h.fortran_order = false;
        else return Error("'fortran_order' must be True or False");
        have_order = true;
      } else if (key == "shape") {
        if (!Tuple(&h.shape)) return Error("'shape' must be a tuple of non-negative integers");
        have_shape = true;
      } else {
        return Error("unknown key (expected 'descr', 'fortran_order' and 'shape')");
      }
      if (!Eat(',') && !Peek('}')) return Error("expected ',' or '}'");
    }
    if (!have_descr || !have_order || !have_shape) return Error("needs 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("bad header at offset ", pos_, ": ", ToAbsl(what)));
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  bool Peek(char c) {
    SkipSpace();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  bool Word(std::string_view w) {
    SkipSpace();
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  bool String(std::string* out) {
    SkipSpace();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return false;
    const char quote = s_[pos_++];
    const size_t end = s_.find(quote, pos_);
    if (end == std::string_view::npos) return false;
    *out = std::string(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }
  bool Int(int64_t* out) {
    SkipSpace();
    const size_t start = pos_;
    int64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (v > (int64_t{1} << 48)) return false;  // no real array is this large
      v = v * 10 + (s_[pos_++] - '0');
    }
    if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 longs
    *out = v;
    return pos_ > start;
  }
  bool Tuple(Shape* out) {
    if (!Eat('(')) return false;
    while (!Eat(')')) {
      int64_t d;
      if (!Int(&d) || out->size() >= 8) return false;  // rank above 8: no dataset has one
      out->push_back(d);
      if (!Eat(',') && !Peek(')')) return false;
    }
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<Tensor> ParseNpy(const uint8_t* data, size_t size, const std::string& name) {
  auto error = [&](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat("npy ", name, ": ", parts...));
  };
  if (size < kMagicSize + 4 || std::memcmp(data, kMagic, kMagicSize) != 0)
    return error("not a .npy file (missing \\x93NUMPY magic)");
  const int major = data[6];
  size_t header_len, header_start;
  if (major == 1) {
    header_len = data[8] | (size_t{data[9]} << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return error("truncated header");
    header_len = data[8] | (size_t{data[9]} << 8) | (size_t{data[10]} << 16) | (size_t{data[11]} << 24);
    header_start = 12;
  } else {
    return error("unsupported format version ", major, ".", static_cast<int>(data[7]));
  }
  if (size - header_start < header_len) return error("truncated header");
  const std::string_view text(reinterpret_cast<const char*>(data + header_start), header_len);
  absl::StatusOr<NpyHeader> header = HeaderParser(text).Parse();
  if (!header.ok()) return error(header.status().message());
  if (header->fortran_order) return error("fortran_order True is not supported (save a C-ordered array)");

  std::optional<DType> dtype;
  for (const NpyType& t : kNpyTypes)
    if (t.descr == header->descr) dtype = t.dtype;
  if (!dtype) {
    // Echo a short printable descr only ("<f8"), never arbitrary header bytes.
    bool printable = header->descr.size() <= 8;
    for (char ch : header->descr) printable = printable && ch > 0x20 && ch < 0x7f;
    return error("unsupported dtype", printable ? absl::StrCat(" '", header->descr, "'") : std::string(),
                 " (supported: <f4 |u1 |i1 <i4 <i8)");
  }

  uint64_t count = 1;
  for (int64_t d : header->shape) {
    if (d != 0 && count > (uint64_t{1} << 40) / static_cast<uint64_t>(d)) return error("shape is too large");
    count *= static_cast<uint64_t>(d);
  }
  const uint64_t want = count * SizeOf(*dtype);
  const uint64_t have = size - header_start - header_len;
  if (have < want) return error("truncated: shape ", ShapeToString(header->shape), " needs ", want,
                                " bytes of data, file has ", have);
  if (have > want) return error(have - want, " unexpected bytes after the data of shape ",
                                ShapeToString(header->shape));
  Tensor t(*dtype, header->shape);
  if (want) std::memcpy(t.raw(), data + header_start + header_len, want);
  return t;
}

absl::StatusOr<Tensor> ReadNpy(const std::string& path) {
  QB_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return ParseNpy(bytes.data(), bytes.size(), path);
}

absl::Status WriteNpy(const std::string& path, const Tensor& t) {
  const NpyType* type = nullptr;
  for (const NpyType& n : kNpyTypes)
    if (n.canonical && n.dtype == t.dtype()) type = &n;
  if (type == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("npy ", path, ": cannot write dtype ", ToAbsl(Name(t.dtype())),
                                                   " (supported: f32 u8 s8 s32 s64)"));
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) absl::StrAppend(&shape, i ? ", " : "", t.shape()[i]);
  shape += t.shape().size() == 1 ? ",)" : ")";
  std::string dict = absl::StrCat("{'descr': '", ToAbsl(type->descr), "', 'fortran_order': False, 'shape': ",
                                  shape, ", }");
  // Pad with spaces and end with '\n' so that prefix + header is a multiple of 64.
  const bool v2 = dict.size() + 1 + 10 > 0xFFFF;
  const size_t prefix = v2 ? 12 : 10;
  dict.append(kAlign - 1 - (prefix + dict.size()) % kAlign, ' ');
  dict.push_back('\n');
  std::vector<uint8_t> out(kMagic, kMagic + kMagicSize);
  out.push_back(v2 ? 2 : 1);
  out.push_back(0);
  for (size_t i = 0; i < prefix - 8; ++i) out.push_back(static_cast<uint8_t>(dict.size() >> (8 * i)));
  out.insert(out.end(), dict.begin(), dict.end());
  const auto* raw = static_cast<const uint8_t*>(t.raw());
  if (t.nbytes()) out.insert(out.end(), raw, raw + t.nbytes());
  absl::Status s = WriteFileBytes(path, out.data(), out.size());
  return s.ok() ? s : Annotate(s, "npy");
}

}  // namespace qbench::data
