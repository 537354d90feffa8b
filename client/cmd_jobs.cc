// qbench submit / watch / list / show / cancel / export.
#include <filesystem>
#include <fstream>
#include <ostream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "client/blob_client.h"
#include "client/cli.h"
#include "client/compare.h"
#include "client/dataset_archive.h"
#include "client/job_format.h"
#include "client/progress.h"
#include "client/search_view.h"
#include "client/submit.h"
#include "client/temp_file.h"
#include "client/watch.h"
#include "common/sha256.h"
#include "common/status.h"
#include "qbench/v1/qbench.grpc.pb.h"
#include "spec/job_spec.h"

namespace qbench::client {
namespace {

namespace v1 = qbench::v1;

constexpr FlagSpec kSubmitFlags[] = {
    {"--model", "M.onnx", "without SPEC.json: the model"},
    {"--data", "MANIFEST", "without SPEC.json: the evaluation dataset manifest"},
    {"--calib", "MANIFEST", "without SPEC.json: the calibration dataset manifest"},
    {"--configs", "LIST", "without SPEC.json: configurations, e.g. fp32,w8a8,w4a8"},
    {"--samples", "N", "without SPEC.json: evaluation samples (default: all)"},
    {"--batch-sizes", "LIST", "without SPEC.json: latency batch sizes, e.g. 1,64"},
    {"--shared", nullptr, "send absolute paths that workers can read instead of uploading"},
    {"--request-id", "ID", "idempotency key (default: a new random one, printed)"},
    {"--name", "NAME", "display name (default: the spec's name)"},
    {"--device-class", "CLASS", "run on a worker of this device class (e.g. cpu-avx512-vnni)"},
    {"--device", "NAME", "run on this device, workers/<host>/devices/<id>"},
    {"--wait", nullptr, "follow the job to its end, then print the comparison"},
    {"--json", nullptr, "print the created job as JSON"},
    {"--batch", "N", "with --wait: compare only this batch size"},
    {"--search", "JSON|FILE", "search per-layer precisions: the spec's \"search\" object, inline or in a file"},
    {"--max-drop", "POINTS", "search: the accuracy budget, top-1 points vs FP32 on validation (default 0.5)"},
    {"--objective", "NAME", "search: latency (default), size, energy, or a mix as JSON"},
    {"--choices", "LIST", "search: per-layer choices, e.g. fp32,bf16,w8a8,w4a8+gptq"},
    {"--search-batch", "N", "search: the batch size latency is measured at (default 64)"},
    {"--evaluations", "N", "search: at most N candidate evaluations (default 64)"},
    {"--minutes", "M", "search: at most M minutes (default 60)"},
};
constexpr FlagSpec kWatchFlags[] = {{"--batch", "N", "compare table: only this batch size"}};
constexpr FlagSpec kListFlags[] = {
    {"--state", "STATE", "QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLING or CANCELLED"},
    {"--name", "NAME", "only jobs with this display name"},
    {"--limit", "N", "at most N jobs (default 50)"},
    {"--json", nullptr, "JSON output"},
};
constexpr FlagSpec kJsonFlag[] = {{"--json", nullptr, "JSON output"}};
constexpr FlagSpec kExportFlags[] = {
    {"--config", "NAME", "the integer configuration to export (required)"},
    {"-o", "FILE", "where to write the ONNX model (required)"},
};

constexpr int kCreateAttempts = 4;

absl::Status CheckJobName(const std::string& name) {
  absl::string_view id = name;
  if (!absl::ConsumePrefix(&id, "jobs/") || id.empty() || !std::all_of(id.begin(), id.end(), absl::ascii_isdigit))
    return absl::InvalidArgumentError(absl::StrCat("expected jobs/<id>, got \"", name, "\""));
  return absl::OkStatus();
}

std::unique_ptr<v1::Jobs::Stub> JobsStub(const Connection& c) { return v1::Jobs::NewStub(MakeChannel(c)); }

// Follows the job, prints the comparison; 0 when it SUCCEEDED, 1 when it FAILED or was
// CANCELLED.
CommandResult WatchToEnd(const CliEnv& env, const Connection& c, const std::string& job, int64_t batch) {
  QB_ASSIGN_OR_RETURN(v1::Job final_job, FollowJob(c, job, env.out, env.err));
  auto results = FetchResults(c, job);
  if (results.ok()) {
    env.out << "\n" << FormatCompareTable(BuildCompareRows(std::span(&*results, 1), batch));
    if (results->has_search()) env.out << "\n" << FormatSearchTable(results->search());
  } else {
    env.err << "qbench: " << results.status().message() << "\n";  // the job's outcome still decides the exit code
  }
  if (final_job.state() == v1::SUCCEEDED) return kExitOk;
  env.err << "qbench: " << job << " ended " << StateName(final_job.state())
          << (final_job.failure_reason().empty() ? "" : ": " + final_job.failure_reason()) << "\n";
  return kExitJobFailed;
}

absl::StatusOr<ResolvedSpec> SpecFromArgs(const ParsedArgs& args) {
  if (!args.operands.empty()) {
    for (const char* f : {"--model", "--data", "--calib", "--configs", "--samples", "--batch-sizes"})
      if (args.Has(f)) return absl::InvalidArgumentError(absl::StrCat("submit: ", f, " cannot be combined with SPEC.json"));
    return ReadSpecFile(args.operands[0]);
  }
  QuickSpec q;
  q.model = args.Value("--model");
  q.data = args.Value("--data");
  q.calib = args.Value("--calib");
  q.configs = SplitList(args.Value("--configs"));
  QB_ASSIGN_OR_RETURN(q.samples, args.Int("--samples", -1, 0));
  for (const std::string& b : SplitList(args.Value("--batch-sizes"))) {
    QB_ASSIGN_OR_RETURN(int64_t n, FlagInt("--batch-sizes", b, 1));
    q.batch_sizes.push_back(n);
  }
  return SpecFromFlags(q);
}

// Uploads a model file, or packs a dataset manifest and uploads the archive.
Uploader MakeUploader(const CliEnv& env, const Connection& c) {
  return [&env, c](const std::string& path, bool dataset) -> absl::StatusOr<std::string> {
    std::optional<TempFile> archive;
    if (dataset) {
      QB_ASSIGN_OR_RETURN(archive, TempFile::Create("qbench-dataset-", ".tar"));
      QB_RETURN_IF_ERROR(PackDataset(path, archive->path()));
    }
    ProgressBar bar(env.err, std::filesystem::path(path).filename().string(), env.err_is_tty);
    QB_ASSIGN_OR_RETURN(UploadResult r, UploadFile(c, archive ? archive->path() : path, bar.Fn()));
    bar.Finish();
    env.err << (dataset ? "dataset " : "model ") << path << " -> blobs/" << r.sha256
            << (r.deduplicated ? " (deduplicated)" : "") << "\n";
    return "blobs/" + r.sha256;
  };
}

// A job naming attached devices waits in the queue until a worker with all of them is
// there (docs/devices.md): say so when none is online now, rather than leave the user to
// guess why it stays queued. Best effort: an unanswered device list says nothing.
void WarnWithoutDevices(const CliEnv& env, const Connection& c, const ResolvedSpec& spec) {
  const auto it = spec.spec.find("devices");
  if (it == spec.spec.end() || !it->is_array() || it->empty()) return;
  std::vector<std::string> selectors;
  for (const auto& d : *it)
    if (d.is_string()) selectors.push_back(d.get<std::string>());
  auto all = ListAllDevices(c);
  if (!all.ok() || !WorkersWithDevices(all->workers(), selectors).empty()) return;
  env.err << "submit: warning: no online worker has all of the devices " << absl::StrJoin(selectors, ", ")
          << "; the job stays queued until one does (qbench devices lists them)\n";
}

CommandResult Submit(const CliEnv& env, const ParsedArgs& args) {
  if (args.Has("--device") && args.Has("--device-class"))
    return absl::InvalidArgumentError("submit: give --device or --device-class, not both");
  QB_ASSIGN_OR_RETURN(ResolvedSpec spec, SpecFromArgs(args));
  SearchFlags search{args.Value("--search"), args.Value("--max-drop"), args.Value("--objective"),
                     args.Value("--search-batch"), args.Value("--evaluations"), args.Value("--minutes"),
                     SplitList(args.Value("--choices"))};
  if (args.Has("--search-job") && !search.any()) search.search = "{}";  // `qbench search`: the defaults
  std::string note;
  QB_RETURN_IF_ERROR(ApplySearchFlags(search, &spec, &note));
  if (!note.empty()) env.err << note << "\n";
  QB_ASSIGN_OR_RETURN(int64_t batch, args.Int("--batch", 0, 1));
  // The spec as the server will read it (its paths become references), checked before
  // anything is uploaded: a mistyped field must not cost the upload of a large model.
  if (auto parsed = ParseJobSpecDocument(spec.spec.dump(), WidestJobSpecLimits()); !parsed.ok())
    return Annotate(parsed.status(), "submit");
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  // Printed first: rerunning with --request-id after any failure cannot queue a duplicate.
  const std::string request_id = args.Value("--request-id", NewRequestId());
  env.err << "request_id: " << request_id << "\n";
  QB_ASSIGN_OR_RETURN(v1::CreateJobRequest req, BuildCreateJobRequest(spec, args.Has("--shared"), MakeUploader(env, c)));
  req.set_request_id(request_id);
  req.set_display_name(args.Value("--name"));
  if (args.Has("--device-class")) req.mutable_device()->set_device_class(args.Value("--device-class"));
  if (args.Has("--device")) req.mutable_device()->set_device(args.Value("--device"));
  auto stub = JobsStub(c);
  v1::Job job;
  absl::Status s;
  // The same request_id on every attempt: a retry after a lost answer returns the job
  // the first attempt created instead of queuing it twice.
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
    grpc::ClientContext ctx;
    Authorize(&ctx, c);
    s = FromGrpc(stub->CreateJob(&ctx, req, &job));
    if (s.ok() || !IsTransient(s)) break;
  }
  QB_RETURN_IF_ERROR(Annotate(s, "submit"));
  if (args.Has("--json")) {
    env.out << ProtoJson(job);
  } else {
    env.out << job.name() << "\n" << std::flush;
  }
  WarnWithoutDevices(env, c, spec);
  if (!args.Has("--wait")) return kExitOk;
  return WatchToEnd(env, c, job.name(), batch);
}

// `qbench search SPEC.json [--max-drop ...]`: submit with a search, its defaults for
// whatever neither the spec nor a flag sets.
CommandResult SubmitSearch(const CliEnv& env, const ParsedArgs& args) {
  ParsedArgs with = args;
  with.flags.push_back({"--search-job", ""});
  return Submit(env, with);
}

CommandResult Watch(const CliEnv& env, const ParsedArgs& args) {
  QB_RETURN_IF_ERROR(CheckJobName(args.operands[0]));
  QB_ASSIGN_OR_RETURN(int64_t batch, args.Int("--batch", 0, 1));
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  return WatchToEnd(env, c, args.operands[0], batch);
}

CommandResult List(const CliEnv& env, const ParsedArgs& args) {
  QB_ASSIGN_OR_RETURN(int64_t limit, args.Int("--limit", 50, 1));
  std::string filter;
  if (args.Has("--state")) {
    v1::JobState state;
    const std::string s = absl::AsciiStrToUpper(args.Value("--state"));
    if (!v1::JobState_Parse(s, &state) || state == v1::JOB_STATE_UNSPECIFIED)
      return absl::InvalidArgumentError(absl::StrCat("list: unknown --state \"", args.Value("--state"), "\""));
    filter = "state = " + s;
  }
  if (args.Has("--name")) {
    const std::string name = args.Value("--name");
    if (absl::StrContains(name, "\"")) return absl::InvalidArgumentError("list: --name must not contain '\"'");
    absl::StrAppend(&filter, filter.empty() ? "" : " AND ", "display_name = \"", name, "\"");
  }
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  auto stub = JobsStub(c);
  v1::ListJobsResponse all;
  std::string token;
  do {
    grpc::ClientContext ctx;
    Authorize(&ctx, c);
    v1::ListJobsRequest req;
    req.set_page_size(static_cast<int32_t>(std::min<int64_t>(limit - all.jobs_size(), 1000)));
    req.set_page_token(token);
    req.set_filter(filter);
    v1::ListJobsResponse page;
    QB_RETURN_IF_ERROR(Annotate(FromGrpc(stub->ListJobs(&ctx, req, &page)), "list"));
    for (v1::Job& j : *page.mutable_jobs())
      if (all.jobs_size() < limit) *all.add_jobs() = std::move(j);
    token = page.next_page_token();
  } while (!token.empty() && all.jobs_size() < limit);
  env.out << (args.Has("--json") ? ProtoJson(all) : FormatJobTable(all.jobs()));
  return kExitOk;
}

CommandResult Show(const CliEnv& env, const ParsedArgs& args) {
  QB_RETURN_IF_ERROR(CheckJobName(args.operands[0]));
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  grpc::ClientContext ctx;
  Authorize(&ctx, c);
  v1::GetJobRequest req;
  req.set_name(args.operands[0]);
  v1::Job job;
  QB_RETURN_IF_ERROR(FromGrpc(JobsStub(c)->GetJob(&ctx, req, &job)));
  env.out << (args.Has("--json") ? ProtoJson(job) : FormatJob(job));
  return kExitOk;
}

CommandResult Cancel(const CliEnv& env, const ParsedArgs& args) {
  QB_RETURN_IF_ERROR(CheckJobName(args.operands[0]));
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  grpc::ClientContext ctx;
  Authorize(&ctx, c);
  v1::CancelJobRequest req;
  req.set_name(args.operands[0]);
  v1::Job job;
  QB_RETURN_IF_ERROR(FromGrpc(JobsStub(c)->CancelJob(&ctx, req, &job)));
  env.out << job.name() << " " << StateName(job.state()) << "\n";
  return kExitOk;
}

// Streams the export into FILE.partial, checking that the chunks are contiguous and
// that size and digest agree with what every message announces, then renames.
absl::Status ExportTo(const CliEnv& env, const Connection& c, const v1::ExportModelRequest& req, const std::string& dest) {
  const std::string partial = dest + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(absl::StrCat("export: cannot create \"", partial, "\""));
  grpc::ClientContext ctx;
  Authorize(&ctx, c, absl::InfiniteDuration());
  auto reader = JobsStub(c)->ExportModel(&ctx, req);
  ProgressBar bar(env.err, dest, env.err_is_tty);
  v1::ExportModelResponse chunk;
  Sha256 hash;
  int64_t have = 0, size = -1;
  std::string sha;
  absl::Status local;
  while (reader->Read(&chunk)) {
    if (chunk.offset() != have || (size >= 0 && (chunk.size_bytes() != size || chunk.sha256() != sha))) {
      local = absl::DataLossError(absl::StrCat("export: inconsistent chunk at offset ", chunk.offset(), " (expected ",
                                               have, ", size ", size, ")"));
      ctx.TryCancel();
      break;
    }
    size = chunk.size_bytes();
    sha = chunk.sha256();
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    hash.Update(chunk.data());
    have += static_cast<int64_t>(chunk.data().size());
    bar.Update(have, size);
  }
  bar.Finish();
  const absl::Status s = FromGrpc(reader->Finish());
  out.close();
  absl::Status result = !local.ok() ? local : s;
  if (result.ok() && !out) result = absl::InternalError(absl::StrCat("export: cannot write \"", partial, "\""));
  if (result.ok()) {
    const std::string got = hash.HexDigest();
    if (have != size || got != sha)
      result = absl::DataLossError(absl::StrCat("export: received ", have, " of ", size, " bytes with SHA-256 ", got,
                                                ", the server announced ", sha));
  }
  std::error_code ec;
  if (!result.ok()) {
    std::filesystem::remove(partial, ec);
    return result;
  }
  std::filesystem::rename(partial, dest, ec);
  if (ec) return absl::InternalError(absl::StrCat("export: cannot rename to \"", dest, "\": ", ec.message()));
  env.err << "wrote " << dest << " (" << have << " bytes, sha256 " << sha << ")\n";
  return absl::OkStatus();
}

CommandResult Export(const CliEnv& env, const ParsedArgs& args) {
  QB_RETURN_IF_ERROR(CheckJobName(args.operands[0]));
  if (!args.Has("--config") || !args.Has("-o")) return absl::InvalidArgumentError("export: --config and -o are required");
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  v1::ExportModelRequest req;
  req.set_name(args.operands[0]);
  req.set_config(args.Value("--config"));
  QB_RETURN_IF_ERROR(ExportTo(env, c, req, args.Value("-o")));
  return kExitOk;
}

constexpr Command kCommands[] = {
    {"submit", "[SPEC.json]", "Upload a job's model and datasets and queue it; prints jobs/<id>", kSubmitFlags, 0, 1,
     Submit},
    {"search", "[SPEC.json]",
     "Queue a mixed-precision search: the precision of every layer within an accuracy budget (submit's flags)",
     kSubmitFlags, 0, 1, SubmitSearch},
    {"watch", "jobs/ID", "Follow a job live, then print its comparison; exit 1 if it failed", kWatchFlags, 1, 1, Watch},
    {"list", "", "The team's jobs, newest first", kListFlags, 0, 0, List},
    {"show", "jobs/ID", "One job's state, inputs and progress", kJsonFlag, 1, 1, Show},
    {"cancel", "jobs/ID", "Cancel a queued or running job", {}, 1, 1, Cancel},
    {"export", "jobs/ID --config NAME -o FILE", "Download a quantized configuration as a QDQ ONNX model", kExportFlags,
     1, 1, Export},
};

}  // namespace

std::span<const Command> JobCommands() { return kCommands; }

}  // namespace qbench::client
