#include "server/blobs_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"

namespace qbench::server {
namespace {

using qbench::v1::DownloadRequest;
using qbench::v1::DownloadResponse;
using qbench::v1::UploadRequest;
using qbench::v1::UploadResponse;

void FillBlob(const std::string& sha256, int64_t size, qbench::v1::Blob* blob) {
  blob->set_name("blobs/" + sha256);
  blob->set_sha256(sha256);
  blob->set_size_bytes(size);
}

// Client streaming: header first, then data until the declared size is reached.
class UploadReactor : public grpc::ServerReadReactor<UploadRequest> {
 public:
  UploadReactor(BlobStore* store, absl::Status auth, UploadResponse* response) : store_(store), response_(response) {
    if (!auth.ok()) {
      Done(ToGrpcStatus(auth));
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side before the upload completed
      if (writer_ == nullptr) {
        Done({grpc::StatusCode::INVALID_ARGUMENT, "header: the first message must carry the upload header"});
      } else {
        Done({grpc::StatusCode::INVALID_ARGUMENT,
                absl::StrCat("data: the stream ended after ", writer_->committed(), " of ", size_,
                             " bytes; resume with header.offset = ", writer_->committed())});
      }
      return;
    }
    absl::Status s = writer_ == nullptr ? Begin() : absl::OkStatus();
    if (s.ok() && writer_ != nullptr) s = Consume();
    if (!s.ok()) {
      Done(ToGrpcStatus(s));
      return;
    }
    if (done_) {
      Done(grpc::Status::OK);
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  // Ends the call. The writer (and with it the upload's in-progress claim on the blob)
  // goes first: a client that retries the moment it sees the status must not find its
  // own finished upload still holding the blob.
  void Done(const grpc::Status& status) {
    writer_.reset();
    Finish(status);
  }

  // Handles the first message: validation, dedup, start or resume.
  absl::Status Begin() {
    if (!request_.has_header()) return absl::InvalidArgumentError("header: required in the first message");
    const auto& h = request_.header();
    if (absl::Status s = store_->CheckKey(h.sha256(), h.size_bytes(), "header."); !s.ok()) return s;
    if (h.offset() < 0 || h.offset() > h.size_bytes())
      return absl::InvalidArgumentError(absl::StrCat("header.offset: ", h.offset(), " is outside [0, size_bytes]"));
    sha256_ = h.sha256();
    size_ = h.size_bytes();
    auto state = store_->GetUploadState(sha256_, size_);
    if (!state.ok()) return state.status();
    if (state->complete) {  // dedup: answer at once, ignore any data
      FillBlob(sha256_, size_, response_->mutable_blob());
      response_->set_deduplicated(true);
      done_ = true;
      return absl::OkStatus();
    }
    auto writer = store_->BeginUpload(sha256_, size_, h.offset());
    if (!writer.ok()) return writer.status();
    writer_ = std::move(writer).value();
    return absl::OkStatus();
  }

  absl::Status Consume() {
    const std::string& data = request_.data();
    if (static_cast<int64_t>(data.size()) > kMaxChunkBytes)
      return absl::InvalidArgumentError(
          absl::StrCat("data: a chunk of ", data.size(), " bytes exceeds the limit of ", kMaxChunkBytes, " bytes"));
    if (absl::Status s = writer_->Append(data); !s.ok()) return s;
    received_ += static_cast<int64_t>(data.size());
    if (writer_->complete()) {
      FillBlob(sha256_, size_, response_->mutable_blob());
      response_->set_received_bytes(received_);
      done_ = true;
    }
    return absl::OkStatus();
  }

  BlobStore* store_;
  UploadResponse* response_;
  UploadRequest request_;
  std::unique_ptr<BlobWriter> writer_;
  std::string sha256_;
  int64_t size_ = 0, received_ = 0;
  bool done_ = false;
};

// Server streaming: the file in chunks of kMaxChunkBytes.
class DownloadReactor : public grpc::ServerWriteReactor<DownloadResponse> {
 public:
  DownloadReactor(int fd, int64_t size, int64_t offset) : fd_(fd), size_(size), offset_(offset) { Next(); }
  DownloadReactor(const absl::Status& error) { Finish(ToGrpcStatus(error)); }
  ~DownloadReactor() override {
    if (fd_ >= 0) ::close(fd_);
  }

  void OnWriteDone(bool ok) override {
    if (ok) Next();
    else Finish({grpc::StatusCode::CANCELLED, "download: the client went away"});
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (offset_ >= size_) {
      Finish(grpc::Status::OK);
      return;
    }
    std::string* data = response_.mutable_data();
    data->resize(std::min<int64_t>(kMaxChunkBytes, size_ - offset_));
    ssize_t n;
    do n = ::pread(fd_, data->data(), data->size(), offset_);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
      Finish({grpc::StatusCode::INTERNAL, "download: read failed"});
      return;
    }
    data->resize(static_cast<size_t>(n));
    response_.set_offset(offset_);
    response_.set_size_bytes(size_);
    offset_ += n;
    StartWrite(&response_);
  }

  int fd_ = -1;
  int64_t size_ = 0, offset_ = 0;
  DownloadResponse response_;
};

}  // namespace

grpc::ServerReadReactor<UploadRequest>* BlobsService::Upload(grpc::CallbackServerContext* ctx,
                                                             UploadResponse* response) {
  return new UploadReactor(store_, Authenticate(*ctx, *verifier_).status(), response);
}

grpc::ServerUnaryReactor* BlobsService::GetUploadStatus(grpc::CallbackServerContext* ctx,
                                                        const qbench::v1::GetUploadStatusRequest* request,
                                                        qbench::v1::UploadStatus* response) {
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authenticate(*ctx, *verifier_).status();
  if (s.ok()) {
    auto state = store_->GetUploadState(request->sha256(), request->size_bytes());
    s = state.status();
    if (s.ok()) {
      response->set_complete(state->complete);
      response->set_committed_bytes(state->committed);
    }
  }
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

grpc::ServerWriteReactor<DownloadResponse>* BlobsService::Download(grpc::CallbackServerContext* ctx,
                                                                   const DownloadRequest* request) {
  if (absl::Status s = Authenticate(*ctx, *verifier_).status(); !s.ok()) return new DownloadReactor(s);
  constexpr absl::string_view kPrefix = "blobs/";
  const std::string& name = request->name();
  if (!absl::StartsWith(name, kPrefix))
    return new DownloadReactor(absl::InvalidArgumentError("name: expected \"blobs/<sha256 hex>\""));
  auto path = store_->BlobPath(name.substr(kPrefix.size()));
  if (!path.ok()) return new DownloadReactor(path.status());
  const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return new DownloadReactor(absl::InternalError("download: cannot open " + name));
  const int64_t size = ::lseek(fd, 0, SEEK_END);
  if (request->offset() < 0 || request->offset() > size) {
    ::close(fd);
    return new DownloadReactor(
        absl::InvalidArgumentError(absl::StrCat("offset: ", request->offset(), " is outside [0, ", size, "]")));
  }
  return new DownloadReactor(fd, size, request->offset());
}

}  // namespace qbench::server
