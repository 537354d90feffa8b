// qbench upload / download: blobs by content address.
#include <filesystem>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/blob_client.h"
#include "client/cli.h"
#include "client/dataset_archive.h"
#include "client/progress.h"
#include "client/temp_file.h"
#include "common/status.h"

namespace qbench::client {
namespace {

constexpr FlagSpec kUploadFlags[] = {
    {"--dataset", "MANIFEST", "pack a dataset manifest and its files into one archive and upload that"},
};

constexpr FlagSpec kDownloadFlags[] = {
    {"-o", "FILE", "where to write the blob (required); resumes FILE.partial"},
};

CommandResult Upload(const CliEnv& env, const ParsedArgs& args) {
  const bool dataset = args.Has("--dataset");
  if (dataset == !args.operands.empty())
    return absl::InvalidArgumentError("upload: give either FILE or --dataset MANIFEST");
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  std::string path = dataset ? args.Value("--dataset") : args.operands[0];
  std::optional<TempFile> archive;
  if (dataset) {
    QB_ASSIGN_OR_RETURN(archive, TempFile::Create("qbench-dataset-", ".tar"));
    QB_RETURN_IF_ERROR(PackDataset(path, archive->path()));
  }
  ProgressBar bar(env.err, std::filesystem::path(path).filename().string(), env.err_is_tty);
  QB_ASSIGN_OR_RETURN(UploadResult r, UploadFile(c, archive ? archive->path() : path, bar.Fn()));
  bar.Finish();
  env.out << "blobs/" << r.sha256 << "\n";
  env.err << (r.deduplicated ? "deduplicated: the server already had these " : "uploaded ")
          << (r.deduplicated ? r.size : r.sent_bytes) << " bytes" << (dataset ? " (manifest dataset.json)" : "") << "\n";
  return kExitOk;
}

CommandResult Download(const CliEnv& env, const ParsedArgs& args) {
  if (!args.Has("-o")) return absl::InvalidArgumentError("download: -o FILE is required");
  std::string sha = args.operands[0];
  if (absl::StartsWith(sha, "blobs/")) sha = sha.substr(6);
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  ProgressBar bar(env.err, args.Value("-o"), env.err_is_tty);
  QB_RETURN_IF_ERROR(DownloadBlob(c, sha, args.Value("-o"), bar.Fn()));
  bar.Finish();
  env.err << "wrote " << args.Value("-o") << "\n";
  return kExitOk;
}

constexpr Command kCommands[] = {
    {"upload", "FILE | --dataset MANIFEST", "Upload a model file, or pack and upload a dataset; prints blobs/<sha256>",
     kUploadFlags, 0, 1, Upload},
    {"download", "blobs/SHA256 -o FILE", "Download a blob, resuming a partial file, verifying its SHA-256",
     kDownloadFlags, 1, 1, Download},
};

}  // namespace

std::span<const Command> BlobCommands() { return kCommands; }

}  // namespace qbench::client
