#include "client/tar.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qbench::client {
namespace {

// Field offsets and widths of the ustar header (POSIX.1-1988).
struct Field {
  int offset, width;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12}, kMtime{136, 12},
    kChecksum{148, 8}, kLinkName{157, 100}, kMagic{257, 6}, kVersion{263, 2}, kPrefix{345, 155};
constexpr int kTypeOffset = 156;
constexpr uint64_t kMaxOctalSize = 077777777777ULL;  // 11 octal digits: 8 GiB - 1
constexpr int64_t kMaxMetaBytes = 1 << 20;           // GNU long names and pax records

void PutOctal(char* header, Field f, uint64_t value) {
  std::snprintf(header + f.offset, static_cast<size_t>(f.width), "%0*llo", f.width - 1,
                static_cast<unsigned long long>(value));
}

void PutString(char* header, Field f, std::string_view s) { std::memcpy(header + f.offset, s.data(), s.size()); }

std::string GetString(const char* header, Field f) {
  const char* begin = header + f.offset;
  return std::string(begin, strnlen(begin, static_cast<size_t>(f.width)));
}

// Octal digits padded with spaces or NULs, or GNU's base-256 (high bit of the first byte).
bool ParseNumber(const char* header, Field f, uint64_t* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(header + f.offset);
  uint64_t v = 0;
  if (p[0] & 0x80) {
    if (p[0] != 0x80) return false;  // negative
    for (int i = 1; i < f.width; ++i) {
      if (v >> 55) return false;
      v = (v << 8) | p[i];
    }
    *out = v;
    return true;
  }
  int i = 0;
  while (i < f.width && p[i] == ' ') ++i;
  for (; i < f.width && p[i] >= '0' && p[i] <= '7'; ++i) v = v * 8 + (p[i] - '0');
  for (; i < f.width; ++i)
    if (p[i] != ' ' && p[i] != '\0') return false;
  *out = v;
  return true;
}

// Sum of the header bytes with the checksum field read as spaces. Some old tars summed
// signed chars, so both sums are accepted on read.
std::pair<uint32_t, int32_t> Checksums(const char* header) {
  uint32_t u = 0;
  int32_t s = 0;
  for (int i = 0; i < kTarBlock; ++i) {
    const bool in_field = i >= kChecksum.offset && i < kChecksum.offset + kChecksum.width;
    const char c = in_field ? ' ' : header[i];
    u += static_cast<unsigned char>(c);
    s += static_cast<signed char>(c);
  }
  return {u, s};
}

TarType TypeOf(char flag, const std::string& name) {
  static constexpr std::pair<char, TarType> kTypes[] = {
      {'0', TarType::kFile},    {'\0', TarType::kFile},     {'7', TarType::kFile},   {'5', TarType::kDirectory},
      {'1', TarType::kHardLink}, {'2', TarType::kSymlink}, {'3', TarType::kDevice}, {'4', TarType::kDevice},
      {'6', TarType::kDevice}};
  for (const auto& [f, t] : kTypes)
    if (f == flag) return t == TarType::kFile && !name.empty() && name.back() == '/' ? TarType::kDirectory : t;
  return TarType::kOther;
}

}  // namespace

absl::StatusOr<std::string> UstarHeader(const std::string& name, char type, int64_t size, int mode,
                                        const std::string& link_name) {
  std::string header(kTarBlock, '\0');
  char* h = header.data();
  std::string prefix, base = name;
  if (name.size() > static_cast<size_t>(kName.width)) {
    // Split at the first '/' that leaves at most 100 bytes for the name field.
    size_t cut = std::string::npos;
    for (size_t p = name.find('/'); p != std::string::npos; p = name.find('/', p + 1)) {
      if (name.size() - p - 1 <= static_cast<size_t>(kName.width) && p > 0) {
        cut = p;
        break;
      }
    }
    if (cut == std::string::npos || cut > static_cast<size_t>(kPrefix.width) || cut + 1 == name.size())
      return absl::InvalidArgumentError(
          absl::StrCat("tar entry \"", name, "\": the path is too long for ustar (at most 155 + 100 bytes split at a '/')"));
    prefix = name.substr(0, cut);
    base = name.substr(cut + 1);
  }
  if (size < 0 || static_cast<uint64_t>(size) > kMaxOctalSize)
    return absl::InvalidArgumentError(absl::StrCat("tar entry \"", name, "\": ", size,
                                                   " bytes exceeds ustar's limit of 8 GiB"));
  if (link_name.size() > static_cast<size_t>(kLinkName.width))
    return absl::InvalidArgumentError(absl::StrCat("tar entry \"", name, "\": link name too long"));
  PutString(h, kName, base);
  PutOctal(h, kMode, static_cast<uint64_t>(mode));
  PutOctal(h, kUid, 0);
  PutOctal(h, kGid, 0);
  PutOctal(h, kSize, static_cast<uint64_t>(size));
  PutOctal(h, kMtime, 0);  // mtime 0: the same content always gives the same bytes
  h[kTypeOffset] = type;
  PutString(h, kLinkName, link_name);
  PutString(h, kMagic, std::string_view("ustar", 6));  // with its NUL
  PutString(h, kVersion, "00");
  PutString(h, kPrefix, prefix);
  std::snprintf(h + kChecksum.offset, 7, "%06o", Checksums(h).first);
  h[kChecksum.offset + 7] = ' ';  // "NNNNNN\0 " as ustar writers conventionally end it
  return header;
}

// ---- writer ----------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<TarWriter>> TarWriter::Create(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr)
    return absl::InternalError(absl::StrCat("archive \"", path, "\": cannot create: ", std::strerror(errno)));
  return std::unique_ptr<TarWriter>(new TarWriter(f, path));
}

TarWriter::~TarWriter() {
  if (f_ != nullptr) std::fclose(f_);
}

absl::Status TarWriter::Write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size())
    return absl::InternalError(absl::StrCat("archive \"", path_, "\": write failed: ", std::strerror(errno)));
  return absl::OkStatus();
}

absl::Status TarWriter::Pad(int64_t size) {
  static const std::array<char, kTarBlock> kZeros{};
  const int64_t pad = (kTarBlock - size % kTarBlock) % kTarBlock;
  return Write(std::string_view(kZeros.data(), static_cast<size_t>(pad)));
}

absl::Status TarWriter::AddDirectory(const std::string& name) {
  QB_ASSIGN_OR_RETURN(std::string header, UstarHeader(name.back() == '/' ? name : name + "/", '5', 0, 0755));
  return Write(header);
}

absl::Status TarWriter::AddBytes(const std::string& name, std::string_view bytes) {
  QB_ASSIGN_OR_RETURN(std::string header, UstarHeader(name, '0', static_cast<int64_t>(bytes.size()), 0644));
  QB_RETURN_IF_ERROR(Write(header));
  QB_RETURN_IF_ERROR(Write(bytes));
  return Pad(static_cast<int64_t>(bytes.size()));
}

absl::Status TarWriter::AddFile(const std::string& name, const std::string& source_path) {
  std::FILE* in = std::fopen(source_path.c_str(), "rb");
  if (in == nullptr)
    return absl::NotFoundError(absl::StrCat("\"", source_path, "\": cannot open: ", std::strerror(errno)));
  absl::Status s;
  int64_t size = -1;
  if (std::fseek(in, 0, SEEK_END) == 0) size = std::ftell(in);
  std::rewind(in);
  auto header = size < 0 ? absl::InternalError(absl::StrCat("\"", source_path, "\": cannot size"))
                         : UstarHeader(name, '0', size, 0644);
  s = header.status();
  if (s.ok()) s = Write(*header);
  std::vector<char> buf(1 << 20);
  int64_t copied = 0;
  while (s.ok() && copied < size) {
    const size_t n = std::fread(buf.data(), 1, static_cast<size_t>(std::min<int64_t>(buf.size(), size - copied)), in);
    if (n == 0) {
      s = absl::DataLossError(absl::StrCat("\"", source_path, "\" shrank while being archived"));
      break;
    }
    s = Write(std::string_view(buf.data(), n));
    copied += static_cast<int64_t>(n);
  }
  std::fclose(in);
  QB_RETURN_IF_ERROR(s);
  return Pad(size);
}

absl::Status TarWriter::Finish() {
  QB_RETURN_IF_ERROR(Write(std::string(2 * kTarBlock, '\0')));
  const int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) return absl::InternalError(absl::StrCat("archive \"", path_, "\": close failed"));
  return absl::OkStatus();
}

// ---- reader ----------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<TarReader>> TarReader::Open(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");  // reads gzip and plain files alike
  if (gz == nullptr)
    return absl::NotFoundError(absl::StrCat("archive \"", path, "\": cannot open: ", std::strerror(errno)));
  return std::unique_ptr<TarReader>(new TarReader(gz, path));
}

TarReader::~TarReader() { gzclose(static_cast<gzFile>(gz_)); }

absl::Status TarReader::ReadExactly(char* dst, int64_t n, const std::string& what) {
  while (n > 0) {
    const int chunk = static_cast<int>(std::min<int64_t>(n, 1 << 20));
    const int got = gzread(static_cast<gzFile>(gz_), dst, static_cast<unsigned>(chunk));
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(static_cast<gzFile>(gz_), &errnum);
      return absl::InvalidArgumentError(absl::StrCat("archive \"", path_, "\": ", what, ": ", msg));
    }
    if (got == 0) return absl::InvalidArgumentError(absl::StrCat("archive \"", path_, "\" is truncated in ", what));
    dst += got;
    n -= got;
  }
  return absl::OkStatus();
}

absl::Status TarReader::SkipRest() {
  std::vector<char> buf(64 * 1024);
  for (int64_t left = remaining_ + padding_; left > 0;) {
    const int64_t n = std::min<int64_t>(left, static_cast<int64_t>(buf.size()));
    QB_RETURN_IF_ERROR(ReadExactly(buf.data(), n, "entry data"));
    left -= n;
  }
  remaining_ = padding_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::string> TarReader::ReadAll(int64_t size, const std::string& what) {
  if (size > kMaxMetaBytes)
    return absl::InvalidArgumentError(absl::StrCat("archive \"", path_, "\": ", what, " of ", size, " bytes"));
  std::string s(static_cast<size_t>(size), '\0');
  QB_RETURN_IF_ERROR(ReadExactly(s.data(), size, what));
  padding_ = (kTarBlock - size % kTarBlock) % kTarBlock;
  QB_RETURN_IF_ERROR(SkipRest());
  return s;
}

absl::StatusOr<bool> TarReader::Next(TarEntry* entry) {
  QB_RETURN_IF_ERROR(SkipRest());
  std::string long_name;
  int64_t pax_size = -1;
  for (;;) {
    char h[kTarBlock];
    const int got = gzread(static_cast<gzFile>(gz_), h, kTarBlock);
    if (got == 0 && long_name.empty()) return false;  // tolerated: no end-of-archive blocks
    if (got != kTarBlock) return absl::InvalidArgumentError(absl::StrCat("archive \"", path_, "\" is truncated"));
    if (std::all_of(h, h + kTarBlock, [](char c) { return c == '\0'; })) return false;
    uint64_t checksum = 0, size = 0;
    const auto [unsigned_sum, signed_sum] = Checksums(h);
    if (!ParseNumber(h, kChecksum, &checksum) ||
        (checksum != unsigned_sum && static_cast<int64_t>(checksum) != signed_sum))
      return absl::InvalidArgumentError(
          absl::StrCat("archive \"", path_, "\": entry \"", GetString(h, kName), "\" has a bad header checksum"));
    if (!ParseNumber(h, kSize, &size) || size > (uint64_t{1} << 62))
      return absl::InvalidArgumentError(
          absl::StrCat("archive \"", path_, "\": entry \"", GetString(h, kName), "\" has a bad size field"));
    const char flag = h[kTypeOffset];
    if (flag == 'L') {  // GNU: the next entry's name is this entry's data
      QB_ASSIGN_OR_RETURN(long_name, ReadAll(static_cast<int64_t>(size), "a GNU long name"));
      long_name.resize(strnlen(long_name.c_str(), long_name.size()));
      continue;
    }
    if (flag == 'x' || flag == 'g') {  // pax: "<len> key=value\n" records
      QB_ASSIGN_OR_RETURN(std::string records, ReadAll(static_cast<int64_t>(size), "a pax header"));
      for (size_t pos = 0; flag == 'x' && pos < records.size();) {
        const size_t space = records.find(' ', pos);
        size_t len = 0;
        if (space == std::string::npos || !absl::SimpleAtoi(records.substr(pos, space - pos), &len) ||
            pos + len > records.size() || len < space - pos + 3)
          return absl::InvalidArgumentError(absl::StrCat("archive \"", path_, "\": malformed pax header"));
        const std::string record = records.substr(space + 1, pos + len - space - 2);  // drop the '\n'
        const size_t eq = record.find('=');
        if (eq != std::string::npos && record.substr(0, eq) == "path") long_name = record.substr(eq + 1);
        if (eq != std::string::npos && record.substr(0, eq) == "size" &&
            !absl::SimpleAtoi(record.substr(eq + 1), &pax_size))
          return absl::InvalidArgumentError(absl::StrCat("archive \"", path_, "\": malformed pax size"));
        pos += len;
      }
      continue;
    }
    std::string name = GetString(h, kName);
    // Only POSIX ustar ("ustar\0") has a prefix field; GNU tar keeps other data there.
    if (std::memcmp(h + kMagic.offset, "ustar", 6) == 0) {
      const std::string prefix = GetString(h, kPrefix);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    if (!long_name.empty()) name = long_name;
    entry->name = name;
    entry->type = TypeOf(flag, name);
    entry->size = pax_size >= 0 ? pax_size : static_cast<int64_t>(size);
    const bool has_data = entry->type == TarType::kFile || entry->type == TarType::kOther;
    remaining_ = has_data ? entry->size : 0;
    padding_ = (kTarBlock - remaining_ % kTarBlock) % kTarBlock;
    if (!has_data) entry->size = 0;
    return true;
  }
}

absl::StatusOr<int64_t> TarReader::Read(char* dst, int64_t n) {
  n = std::min(n, remaining_);
  if (n == 0) return 0;
  QB_RETURN_IF_ERROR(ReadExactly(dst, n, "entry data"));
  remaining_ -= n;
  return n;
}

}  // namespace qbench::client
