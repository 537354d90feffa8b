// qbench compare / devices.
#include <fstream>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "client/cli.h"
#include "client/compare.h"
#include "client/job_format.h"
#include "client/search_view.h"
#include "client/watch.h"
#include "common/status.h"
#include "qbench/v1/qbench.grpc.pb.h"

namespace qbench::client {
namespace {

namespace v1 = qbench::v1;

constexpr FlagSpec kCompareFlags[] = {
    {"--format", "FORMAT", "table (default), json or csv"},
    {"--batch", "N", "only this batch size"},
    {"--plot", "FILE.svg", "a search job's candidates: accuracy vs latency and vs size, the front marked"},
    {"--candidates", "FILE.json", "a search job's results as JSON: every candidate, strategies, correlations"},
    {"--all-candidates", nullptr, "a search job's table lists every candidate, not only the front and baselines"},
};
constexpr FlagSpec kDevicesFlags[] = {{"--json", nullptr, "JSON output"}};

using Formatter = std::string (*)(const std::vector<CompareRow>&);
struct Format {
  const char* name;
  Formatter format;
};
constexpr Format kFormats[] = {
    {"table", FormatCompareTable}, {"json", FormatCompareJson}, {"csv", FormatCompareCsv}};

CommandResult Compare(const CliEnv& env, const ParsedArgs& args) {
  const std::string want = args.Value("--format", "table");
  Formatter format = nullptr;
  for (const Format& f : kFormats)
    if (want == f.name) format = f.format;
  if (format == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("compare: --format must be table, json or csv, got \"", want, "\""));
  QB_ASSIGN_OR_RETURN(int64_t batch, args.Int("--batch", 0, 1));
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  std::vector<v1::JobResults> results;
  for (const std::string& job : args.operands) {
    QB_ASSIGN_OR_RETURN(v1::JobResults r, FetchResults(c, job));
    results.push_back(std::move(r));
  }
  env.out << format(BuildCompareRows(results, batch));
  const v1::JobResults* searched = nullptr;
  for (const v1::JobResults& r : results) {
    if (!r.has_search()) continue;
    if (format == FormatCompareTable)
      env.out << "\n" << r.job() << " " << FormatSearchTable(r.search(), args.Has("--all-candidates"));
    if (!searched) searched = &r;
  }
  // A search job's front as SVG and its candidates as JSON, each to the file named.
  const struct {
    const char* flag;
    std::string (*write)(const v1::SearchResults&, const std::string& job);
    const char* what;
  } kSearchFiles[] = {{"--plot", FrontSvg, "front"}, {"--candidates", SearchJson, "candidates"}};
  for (const auto& out : kSearchFiles) {
    if (!args.Has(out.flag)) continue;
    if (!searched)
      return absl::InvalidArgumentError(absl::StrCat("compare: ", out.flag, " needs a search job (none of these searched)"));
    const std::string path = args.Value(out.flag);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << out.write(searched->search(), searched->job());
    if (!f.flush()) return absl::UnavailableError(absl::StrCat("compare: cannot write ", path));
    env.err << out.what << " of " << searched->job() << " -> " << path << "\n";
  }
  return kExitOk;
}

CommandResult Devices(const CliEnv& env, const ParsedArgs& args) {
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  QB_ASSIGN_OR_RETURN(v1::ListDevicesResponse all, ListAllDevices(c));
  env.out << (args.Has("--json") ? ProtoJson(all) : FormatWorkerTable(all.workers()));
  return kExitOk;
}

constexpr Command kCommands[] = {
    {"compare", "jobs/ID [jobs/ID ...]",
     "Configurations side by side: accuracy, SQNR, size, latency, energy vs fp32; * marks the Pareto front",
     kCompareFlags, 1, -1, Compare},
    {"devices", "", "Workers and their devices", kDevicesFlags, 0, 0, Devices},
};

}  // namespace

absl::StatusOr<v1::ListDevicesResponse> ListAllDevices(const Connection& c) {
  auto stub = v1::Devices::NewStub(MakeChannel(c));
  v1::ListDevicesResponse all;
  std::string token;
  // Bounded: a server that kept sending page tokens would otherwise loop forever.
  for (int page_no = 0; page_no < 10'000; ++page_no) {
    grpc::ClientContext ctx;
    Authorize(&ctx, c);
    v1::ListDevicesRequest req;
    req.set_page_token(token);
    v1::ListDevicesResponse page;
    QB_RETURN_IF_ERROR(Annotate(FromGrpc(stub->ListDevices(&ctx, req, &page)), "devices"));
    for (v1::Worker& w : *page.mutable_workers()) *all.add_workers() = std::move(w);
    token = page.next_page_token();
    if (token.empty()) return all;
  }
  return absl::UnavailableError("devices: the server sent more than 10000 pages");
}

std::span<const Command> ResultCommands() { return kCommands; }

}  // namespace qbench::client
