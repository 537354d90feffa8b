// Uploads and downloads of content-addressed blobs ("blobs/<sha256 hex>") over the
// Blobs service, resuming after interruptions in both directions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/connection.h"

namespace qbench::client {

struct UploadResult {
  std::string sha256;         // lower-case hex
  int64_t size = 0;           // bytes
  bool deduplicated = false;  // the server already had the content; nothing was sent
  int64_t sent_bytes = 0;     // bytes this call streamed (less than size after a resume)
};

// Called after each chunk with the bytes the far side holds and the total.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

// Hashes the file, asks GetUploadStatus, and streams only what the server lacks (resume
// from committed_bytes), 1 MiB chunks; retries up to 3 times on UNAVAILABLE/ABORTED/
// DEADLINE_EXCEEDED, resuming each time. Errors name the file.
absl::StatusOr<UploadResult> UploadFile(const Connection& c, const std::string& path,
                                        const ProgressFn& progress = nullptr);

// Downloads blobs/<sha256> into dest (writes dest + ".partial", resumes an existing
// partial, verifies the SHA-256 and size, then renames atomically). NOT_FOUND etc. pass
// through with the server's message; retries like UploadFile.
absl::Status DownloadBlob(const Connection& c, const std::string& sha256, const std::string& dest,
                          const ProgressFn& progress = nullptr);

}  // namespace qbench::client
