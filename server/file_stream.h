// Server streaming of a file in chunks: blob downloads and model exports share it. The
// response type needs set_offset, mutable_data and set_size_bytes; `decorate` fills any
// other per-message field (the export's digest).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <string>

#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"

namespace qbench::server {

inline constexpr int64_t kStreamChunkBytes = 1 << 20;

template <typename Response>
class FileStreamReactor : public grpc::ServerWriteReactor<Response> {
 public:
  // Takes ownership of `fd` and streams bytes [offset, size).
  FileStreamReactor(int fd, int64_t size, int64_t offset, std::function<void(Response*)> decorate = nullptr)
      : fd_(fd), size_(size), offset_(offset), decorate_(std::move(decorate)) {
    Next();
  }
  explicit FileStreamReactor(const absl::Status& error) { this->Finish(ToGrpcStatus(error)); }
  ~FileStreamReactor() override {
    if (fd_ >= 0) ::close(fd_);
  }

  void OnWriteDone(bool ok) override {
    if (ok) Next();
    else this->Finish({grpc::StatusCode::CANCELLED, "stream: the client went away"});
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (offset_ >= size_) {
      this->Finish(grpc::Status::OK);
      return;
    }
    std::string* data = response_.mutable_data();
    data->resize(std::min<int64_t>(kStreamChunkBytes, size_ - offset_));
    ssize_t n;
    do n = ::pread(fd_, data->data(), data->size(), offset_);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
      this->Finish({grpc::StatusCode::INTERNAL, "stream: read failed"});
      return;
    }
    data->resize(static_cast<size_t>(n));
    response_.set_offset(offset_);
    response_.set_size_bytes(size_);
    if (decorate_) decorate_(&response_);
    offset_ += n;
    this->StartWrite(&response_);
  }

  int fd_ = -1;
  int64_t size_ = 0, offset_ = 0;
  std::function<void(Response*)> decorate_;
  Response response_;
};

// Opens `path` and starts streaming it from `offset`; INVALID_ARGUMENT (naming
// `offset_field`) for an offset outside the file.
template <typename Response>
grpc::ServerWriteReactor<Response>* StreamFile(const std::string& path, int64_t offset, const std::string& what,
                                               std::function<void(Response*)> decorate = nullptr) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return new FileStreamReactor<Response>(absl::InternalError(absl::StrCat(what, ": cannot open the stored file")));
  const int64_t size = ::lseek(fd, 0, SEEK_END);
  if (offset < 0 || offset > size) {
    ::close(fd);
    return new FileStreamReactor<Response>(
        absl::InvalidArgumentError(absl::StrCat("offset: ", offset, " is outside [0, ", size, "]")));
  }
  return new FileStreamReactor<Response>(fd, size, offset, std::move(decorate));
}

}  // namespace qbench::server
