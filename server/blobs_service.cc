#include "server/blobs_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/file_stream.h"
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
// Whether `team` holds the blob; without an ownership store every caller does (the
// single-tenant test server).
absl::StatusOr<bool> CallerHolds(BlobOwners* owners, const std::string& team, const std::string& sha256) {
  if (owners == nullptr) return true;
  return owners->Owns(team, sha256);
}

class UploadReactor : public grpc::ServerReadReactor<UploadRequest> {
 public:
  UploadReactor(BlobStore* store, BlobOwners* owners, absl::StatusOr<Principal> auth, UploadResponse* response)
      : store_(store), owners_(owners), response_(response) {
    if (!auth.ok()) {
      Done(ToGrpcStatus(auth.status()));
      return;
    }
    team_ = auth->team_id;
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
      // The blob is complete (uploaded now or before): this team holds it from now on.
      absl::Status owned = owners_ ? owners_->Add(team_, sha256_, size_) : absl::OkStatus();
      Done(ToGrpcStatus(owned));
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

  // Handles the first message: validation, dedup, start or resume. Dedup (no data sent)
  // only for a team that already holds the blob; any other team streams the bytes, whose
  // digest is verified before it becomes an owner (the bytes are the proof of possession).
  absl::Status Begin() {
    if (!request_.has_header()) return absl::InvalidArgumentError("header: required in the first message");
    const auto& h = request_.header();
    if (absl::Status s = store_->CheckKey(h.sha256(), h.size_bytes(), "header."); !s.ok()) return s;
    if (h.offset() < 0 || h.offset() > h.size_bytes())
      return absl::InvalidArgumentError(absl::StrCat("header.offset: ", h.offset(), " is outside [0, size_bytes]"));
    sha256_ = h.sha256();
    size_ = h.size_bytes();
    auto state = store_->GetUploadState(team_, sha256_, size_);
    if (!state.ok()) return state.status();
    if (state->stored) {
      auto owned = CallerHolds(owners_, team_, sha256_);
      if (!owned.ok()) return owned.status();
      if (*owned) {  // dedup: answer at once, ignore any data
        FillBlob(sha256_, size_, response_->mutable_blob());
        response_->set_deduplicated(true);
        done_ = true;
        return absl::OkStatus();
      }
    }
    auto writer = store_->BeginUpload(team_, sha256_, size_, h.offset());
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
  BlobOwners* owners_;
  std::string team_;
  UploadResponse* response_;
  UploadRequest request_;
  std::unique_ptr<BlobWriter> writer_;
  std::string sha256_;
  int64_t size_ = 0, received_ = 0;
  bool done_ = false;
};

}  // namespace

grpc::ServerReadReactor<UploadRequest>* BlobsService::Upload(grpc::CallbackServerContext* ctx,
                                                             UploadResponse* response) {
  return new UploadReactor(store_, owners_, Authenticate(*ctx, *verifier_), response);
}

grpc::ServerUnaryReactor* BlobsService::GetUploadStatus(grpc::CallbackServerContext* ctx,
                                                        const qbench::v1::GetUploadStatusRequest* request,
                                                        qbench::v1::UploadStatus* response) {
  auto* reactor = ctx->DefaultReactor();
  auto principal = Authenticate(*ctx, *verifier_);
  absl::Status s = principal.status();
  if (s.ok()) {
    // Answers only about the caller's own state: "complete" when it holds the blob,
    // else the bytes of its own partial upload. Another team's blob or partial upload,
    // and the real size of a blob asked with a wrong one, are never revealed; nothing
    // here grants ownership (only uploading the bytes does).
    auto state = store_->GetUploadState(principal->team_id, request->sha256(), request->size_bytes());
    s = state.status();
    if (s.ok()) {
      bool complete = false;
      if (state->stored) {
        auto owned = CallerHolds(owners_, principal->team_id, request->sha256());
        s = owned.status();
        complete = owned.ok() && *owned;
      }
      response->set_complete(complete);
      response->set_committed_bytes(complete ? request->size_bytes() : state->committed);
    }
  }
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

grpc::ServerWriteReactor<DownloadResponse>* BlobsService::Download(grpc::CallbackServerContext* ctx,
                                                                   const DownloadRequest* request) {
  auto principal = Authenticate(*ctx, *verifier_);
  if (!principal.ok()) return new FileStreamReactor<DownloadResponse>(principal.status());
  constexpr absl::string_view kPrefix = "blobs/";
  const std::string& name = request->name();
  if (!absl::StartsWith(name, kPrefix))
    return new FileStreamReactor<DownloadResponse>(absl::InvalidArgumentError("name: expected \"blobs/<sha256 hex>\""));
  if (owners_ && !principal->admin) {
    // A team reads what it uploaded; a worker token also what the jobs being run name
    // (not found either way otherwise: no oracle for blobs of other teams).
    const std::string sha = name.substr(kPrefix.size());
    auto owns = owners_->Owns(principal->team_id, sha);
    if (owns.ok() && !*owns && principal->worker) owns = owners_->HeldByAWorker(sha);
    if (!owns.ok()) return new FileStreamReactor<DownloadResponse>(owns.status());
    if (!*owns) return new FileStreamReactor<DownloadResponse>(absl::NotFoundError(absl::StrCat(name, ": not found")));
  }
  auto path = store_->BlobPath(name.substr(kPrefix.size()));
  if (!path.ok()) return new FileStreamReactor<DownloadResponse>(path.status());
  return StreamFile<DownloadResponse>(*path, request->offset(), name);
}

}  // namespace qbench::server
