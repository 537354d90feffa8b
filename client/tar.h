// A minimal POSIX ustar (tar) writer and reader: the container of dataset archives.
//
// Format: a sequence of 512-byte blocks. Each entry is one header block (name, mode,
// size, type, checksum as octal ASCII fields) followed by its data padded to a multiple
// of 512 bytes; two zero blocks end the archive. Names longer than 100 bytes are split
// at a '/' into the 155-byte "prefix" field and the 100-byte "name" field.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace qbench::client {

constexpr int64_t kTarBlock = 512;

// Entry types (the header's typeflag byte) that the reader reports.
enum class TarType { kFile, kDirectory, kHardLink, kSymlink, kDevice, kOther };

// One header block. `type` is the raw typeflag ('0' file, '5' directory, '2' symlink...);
// every numeric field is deterministic (mtime, uid and gid 0). INVALID_ARGUMENT when the
// name does not fit ustar's prefix/name fields or the size its 11 octal digits.
absl::StatusOr<std::string> UstarHeader(const std::string& name, char type, int64_t size, int mode,
                                        const std::string& link_name = "");

class TarWriter {
 public:
  static absl::StatusOr<std::unique_ptr<TarWriter>> Create(const std::string& path);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // "name/" with mode 0755.
  absl::Status AddDirectory(const std::string& name);
  // The content of `source_path` under `name`, mode 0644; streamed, not held in memory.
  absl::Status AddFile(const std::string& name, const std::string& source_path);
  absl::Status AddBytes(const std::string& name, std::string_view bytes);
  // Writes the end-of-archive blocks and closes the file.
  absl::Status Finish();

 private:
  TarWriter(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  absl::Status Write(std::string_view bytes);
  absl::Status Pad(int64_t size);

  std::FILE* f_;
  std::string path_;
};

struct TarEntry {
  std::string name;  // as stored (prefix/name joined, long names applied)
  TarType type = TarType::kOther;
  int64_t size = 0;  // data bytes that follow (files)
};

// Reads a tar, plain or gzip-compressed (zlib detects which), entry by entry.
class TarReader {
 public:
  static absl::StatusOr<std::unique_ptr<TarReader>> Open(const std::string& path);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next entry, or false at the end of the archive. Skips what is left of the
  // previous entry's data. GNU long names ('L') and pax "path"/"size" records ('x') are
  // applied to the entry that follows; pax global headers ('g') are ignored.
  absl::StatusOr<bool> Next(TarEntry* entry);
  // Up to `n` bytes of the current entry's data; 0 at its end.
  absl::StatusOr<int64_t> Read(char* dst, int64_t n);

 private:
  explicit TarReader(void* gz, std::string path) : gz_(gz), path_(std::move(path)) {}
  absl::Status ReadExactly(char* dst, int64_t n, const std::string& what);
  absl::Status SkipRest();
  absl::StatusOr<std::string> ReadAll(int64_t size, const std::string& what);

  void* gz_;            // gzFile; void* keeps zlib.h out of this header
  std::string path_;
  int64_t remaining_ = 0;  // data bytes of the current entry not yet read
  int64_t padding_ = 0;    // then this many padding bytes
};

}  // namespace qbench::client
