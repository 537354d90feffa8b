#include "worker/engine/data/file_util.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qbench::data {
namespace {

absl::Status OpenError(const std::string& path) {
  const int err = errno;
  const std::string why = err ? std::strerror(err) : "cannot open";
  if (err == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": ", why));
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", why));
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// gzread() reads gzip streams and, transparently, uncompressed files; we only use it
// for content that starts with the gzip magic so a truncated stream is reported.
absl::StatusOr<std::vector<uint8_t>> Gunzip(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) return OpenError(path);
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  while (true) {
    const int n = gzread(gz, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      const std::string msg = gzerror(gz, &code);
      gzclose(gz);
      return absl::DataLossError(absl::StrCat(path, ": gzip error: ", msg));
    }
    if (n == 0) break;
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  }
  // A stream cut short ends with gzread() returning 0 and gzerror() Z_BUF_ERROR.
  int code = Z_OK;
  const std::string msg = gzerror(gz, &code);
  gzclose(gz);
  if (code != Z_OK && code != Z_STREAM_END)
    return absl::DataLossError(absl::StrCat(path, ": gzip stream is truncated or corrupt (", msg, ")"));
  return out;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path) {
  errno = 0;
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return OpenError(path);
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), f.get())) > 0)
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  if (std::ferror(f.get())) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return out;
}

absl::StatusOr<std::vector<uint8_t>> ReadFileMaybeGzip(const std::string& path) {
  unsigned char magic[2] = {0, 0};
  {
    errno = 0;
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    if (!f) return OpenError(path);
    if (std::fread(magic, 1, 2, f.get()) != 2) magic[0] = magic[1] = 0;
  }
  if (magic[0] == 0x1f && magic[1] == 0x8b) return Gunzip(path);
  return ReadFileBytes(path);
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
