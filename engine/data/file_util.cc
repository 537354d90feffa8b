#include "engine/data/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qbench::data {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

absl::StatusOr<std::vector<uint8_t>> GunzipBytes(const uint8_t* data, size_t size, const std::string& name,
                                                int64_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return absl::InternalError(absl::StrCat(name, ": zlib init failed"));
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(std::min<size_t>(size, UINT32_MAX));
  size_t fed = zs.avail_in;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && fed < size) {
      zs.avail_in = static_cast<uInt>(std::min<size_t>(size - fed, UINT32_MAX));
      zs.next_in = const_cast<Bytef*>(data + fed);
      fed += zs.avail_in;
    }
    zs.next_out = chunk.data();
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    const size_t n = chunk.size() - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && n > 0)) {
      inflateEnd(&zs);
      if (rc == Z_BUF_ERROR) return absl::DataLossError(absl::StrCat(name, ": gzip stream is truncated"));
      return absl::DataLossError(absl::StrCat(name, ": gzip stream is corrupt"));
    }
    if (static_cast<int64_t>(out.size() + n) > max_bytes) {
      inflateEnd(&zs);
      return absl::ResourceExhaustedError(
          absl::StrCat(name, ": gunzips to more than the limit of ", max_bytes, " bytes"));
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    if (rc != Z_STREAM_END && n == 0 && zs.avail_in == 0 && fed >= size) {
      inflateEnd(&zs);
      return absl::DataLossError(absl::StrCat(name, ": gzip stream is truncated"));
    }
  }
  inflateEnd(&zs);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> ReadFileMaybeGzip(const std::string& path, int64_t max_bytes) {
  QB_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path, max_bytes));
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
    return GunzipBytes(bytes.data(), bytes.size(), path, max_bytes);
  return bytes;
}

absl::StatusOr<std::vector<std::string>> ReadNonEmptyLines(const std::string& path) {
  QB_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  std::vector<std::string> lines;
  std::string line;
  auto flush = [&] {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    lines.push_back(std::move(line));
    line.clear();
  };
  for (uint8_t b : bytes) {
    if (b == '\n') flush();
    else line.push_back(static_cast<char>(b));
  }
  if (!line.empty()) flush();
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty())
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": line ", i + 1, " is blank (one entry per line, no gaps)"));
  }
  return lines;
}

absl::StatusOr<std::vector<DirEntry>> ListDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return absl::NotFoundError(absl::StrCat(dir, ": ", ec ? ec.message() : "not a directory"));
  std::vector<DirEntry> out;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (out.size() >= 10'000'000) return absl::ResourceExhaustedError(absl::StrCat(dir, ": more than 10 million entries"));
    std::error_code type_ec;
    out.push_back({it->path().filename().string(), it->is_directory(type_ec)});
  }
  if (ec) return absl::InvalidArgumentError(absl::StrCat(dir, ": cannot list: ", ec.message()));
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

absl::Status WriteFileBytes(const std::string& path, const void* data, size_t size) {
  errno = 0;
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) return OpenError(path);
  if (size > 0 && std::fwrite(data, 1, size, f.get()) != size)
    return absl::InternalError(absl::StrCat(path, ": write failed: ", std::strerror(errno)));
  if (std::fclose(f.release()) != 0)
    return absl::InternalError(absl::StrCat(path, ": close failed: ", std::strerror(errno)));
  return absl::OkStatus();
}

}  // namespace qbench::data
