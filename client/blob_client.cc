#include "client/blob_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "qbench/v1/qbench.grpc.pb.h"

namespace qbench::client {
namespace {

namespace v1 = qbench::v1;

constexpr int64_t kChunkBytes = 1 << 20;  // the protocol's per-message limit
constexpr int kMaxAttempts = 4;           // the first try and 3 retries

// Waits before retry `attempt` (1, 2, 3): 250 ms, 500 ms, 1 s, so a restarting server
// has a moment to come back.
void Backoff(int attempt) { std::this_thread::sleep_for(std::chrono::milliseconds(125 << attempt)); }

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  const int e = errno;
  const std::string msg = absl::StrCat(what, " \"", path, "\": ", std::strerror(e));
  return e == ENOENT ? absl::NotFoundError(msg) : absl::InternalError(msg);
}

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Reads up to `n` bytes at `offset`; fewer only at the end of the file.
absl::StatusOr<std::string> ReadAt(int fd, int64_t offset, int64_t n, const std::string& path) {
  std::string buf(static_cast<size_t>(n), '\0');
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t r = ::pread(fd, buf.data() + got, buf.size() - got, offset + static_cast<int64_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoError("cannot read", path);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  buf.resize(got);
  return buf;
}

absl::Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return ErrnoError("cannot write", path);
    done += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

// Hex SHA-256 of the first `size` bytes of the file.
absl::StatusOr<std::string> HashPrefix(int fd, int64_t size, const std::string& path) {
  Sha256 h;
  for (int64_t pos = 0; pos < size; pos += kChunkBytes) {
    QB_ASSIGN_OR_RETURN(std::string chunk, ReadAt(fd, pos, std::min(kChunkBytes, size - pos), path));
    if (chunk.empty()) return absl::DataLossError(absl::StrCat("\"", path, "\" shrank while being read"));
    h.Update(chunk);
  }
  return h.HexDigest();
}

// One Upload call from the server's committed offset. Adds what it sent to *r.
absl::Status UploadOnce(v1::Blobs::Stub& stub, const Connection& c, int fd, const std::string& path,
                        UploadResult* r, const ProgressFn& progress) {
  v1::UploadStatus status;
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, c);
    v1::GetUploadStatusRequest req;
    req.set_sha256(r->sha256);
    req.set_size_bytes(r->size);
    QB_RETURN_IF_ERROR(FromGrpc(stub.GetUploadStatus(&ctx, req, &status)));
  }
  if (status.complete()) {
    r->deduplicated = r->sent_bytes == 0;
    if (progress) progress(r->size, r->size);
    return absl::OkStatus();
  }
  const int64_t offset = status.committed_bytes();
  if (progress) progress(offset, r->size);
  grpc::ClientContext ctx;
  // A large file on a slow link: allow a minute per MiB on top of the usual deadline.
  Authorize(&ctx, c, absl::Seconds(30) + absl::Minutes(1) * static_cast<double>((r->size - offset) / kChunkBytes));
  v1::UploadResponse response;
  auto writer = stub.Upload(&ctx, &response);
  v1::UploadRequest req;
  req.mutable_header()->set_sha256(r->sha256);
  req.mutable_header()->set_size_bytes(r->size);
  req.mutable_header()->set_offset(offset);
  absl::Status local;
  for (int64_t pos = offset; pos < r->size; pos += kChunkBytes) {
    auto chunk = ReadAt(fd, pos, std::min(kChunkBytes, r->size - pos), path);
    if (!chunk.ok()) {
      local = chunk.status();
      ctx.TryCancel();
      break;
    }
    req.set_data(*std::move(chunk));
    if (!writer->Write(req)) break;  // the server finished early: dedup or an error, Finish says which
    req.clear_header();
    r->sent_bytes += static_cast<int64_t>(req.data().size());
    if (progress) progress(pos + static_cast<int64_t>(req.data().size()), r->size);
  }
  writer->WritesDone();
  const absl::Status s = FromGrpc(writer->Finish());
  QB_RETURN_IF_ERROR(local);
  QB_RETURN_IF_ERROR(s);
  if (response.deduplicated()) r->deduplicated = r->sent_bytes == 0;  // someone else finished it meanwhile
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UploadResult> UploadFile(const Connection& c, const std::string& path, const ProgressFn& progress) {
  QB_RETURN_IF_ERROR(CheckConnection(c));
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("upload: cannot open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("upload: cannot stat", path);
  if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(absl::StrCat("upload: \"", path, "\" is not a file"));
  if (st.st_size == 0) return absl::InvalidArgumentError(absl::StrCat("upload: \"", path, "\" is empty"));
  UploadResult r;
  r.size = st.st_size;
  QB_ASSIGN_OR_RETURN(r.sha256, HashPrefix(fd.get(), r.size, path));

  auto stub = v1::Blobs::NewStub(MakeChannel(c));
  absl::Status s;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) Backoff(attempt);
    s = UploadOnce(*stub, c, fd.get(), path, &r, progress);
    if (s.ok()) return r;
    if (!IsTransient(s)) break;
  }
  return Annotate(s, absl::StrCat("upload \"", path, "\""));
}

namespace {

enum class DownloadOutcome { kDone, kRestart };

// One Download call appending to `fd` from `*have` bytes; `hash` holds the digest of
// those bytes. Returns kRestart when the partial file cannot be a prefix of the blob.
absl::StatusOr<DownloadOutcome> DownloadOnce(v1::Blobs::Stub& stub, const Connection& c, const std::string& name,
                                             int fd, const std::string& partial, int64_t* have, int64_t* size,
                                             Sha256* hash, const ProgressFn& progress) {
  grpc::ClientContext ctx;
  Authorize(&ctx, c, absl::InfiniteDuration());  // a large blob may take long; transient errors resume
  v1::DownloadRequest req;
  req.set_name(name);
  req.set_offset(*have);
  auto reader = stub.Download(&ctx, req);
  v1::DownloadResponse chunk;
  absl::Status local;
  while (reader->Read(&chunk)) {
    if (chunk.offset() != *have || (*size >= 0 && chunk.size_bytes() != *size)) {
      local = absl::DataLossError(absl::StrCat("download ", name, ": the server sent offset ", chunk.offset(),
                                               " of ", chunk.size_bytes(), " bytes, expected offset ", *have));
      ctx.TryCancel();
      break;
    }
    *size = chunk.size_bytes();
    if (absl::Status s = WriteAll(fd, chunk.data(), partial); !s.ok()) {
      local = s;
      ctx.TryCancel();
      break;
    }
    hash->Update(chunk.data());
    *have += static_cast<int64_t>(chunk.data().size());
    if (progress) progress(*have, *size);
  }
  const absl::Status s = FromGrpc(reader->Finish());
  QB_RETURN_IF_ERROR(local);
  // A partial longer than the blob: the server rejects the offset.
  if (s.code() == absl::StatusCode::kInvalidArgument && req.offset() > 0) return DownloadOutcome::kRestart;
  QB_RETURN_IF_ERROR(s);
  return DownloadOutcome::kDone;
}

}  // namespace

absl::Status DownloadBlob(const Connection& c, const std::string& sha256, const std::string& dest,
                          const ProgressFn& progress) {
  if (!IsSha256Hex(sha256))
    return absl::InvalidArgumentError(absl::StrCat("download: \"", sha256, "\" is not a lower-case hex SHA-256"));
  QB_RETURN_IF_ERROR(CheckConnection(c));
  const std::string name = "blobs/" + sha256;
  const std::string partial = dest + ".partial";
  auto stub = v1::Blobs::NewStub(MakeChannel(c));
  bool restarted = false;  // a bad partial is thrown away once, then errors are final
  for (;;) {
    Fd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (fd.get() < 0) return ErrnoError("download: cannot open", partial);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoError("download: cannot stat", partial);
    int64_t have = st.st_size, size = -1;
    const bool resumed = have > 0;
    Sha256 hash;  // of the partial's bytes so far, then of each chunk as it lands
    for (int64_t pos = 0; pos < have; pos += kChunkBytes) {
      QB_ASSIGN_OR_RETURN(std::string bytes, ReadAt(fd.get(), pos, std::min(kChunkBytes, have - pos), partial));
      hash.Update(bytes);
    }
    absl::StatusOr<DownloadOutcome> outcome;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      if (attempt > 0) Backoff(attempt);
      outcome = DownloadOnce(*stub, c, name, fd.get(), partial, &have, &size, &hash, progress);
      if (outcome.ok() || !IsTransient(outcome.status())) break;
    }
    if (!outcome.ok()) {
      if (have == 0) ::unlink(partial.c_str());  // leave no empty partial behind an unknown blob
      return Annotate(outcome.status(), absl::StrCat("download ", name));
    }
    bool ok = *outcome == DownloadOutcome::kDone;
    std::string got;
    if (ok) {
      got = hash.HexDigest();
      ok = got == sha256 && (size < 0 || have == size);
    }
    if (!ok && resumed && !restarted) {  // the old partial was not a prefix of this blob
      restarted = true;
      if (::ftruncate(fd.get(), 0) != 0) return ErrnoError("download: cannot truncate", partial);
      continue;
    }
    if (!ok) {
      ::unlink(partial.c_str());
      return absl::DataLossError(absl::StrCat("download ", name, ": received ", have, " bytes with SHA-256 ", got,
                                              "; the content does not match its name"));
    }
    if (::fsync(fd.get()) != 0) return ErrnoError("download: cannot sync", partial);
    if (::rename(partial.c_str(), dest.c_str()) != 0) return ErrnoError("download: cannot rename to", dest);
    return absl::OkStatus();
  }
}

}  // namespace qbench::client
