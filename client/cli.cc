#include "client/cli.h"

#include <algorithm>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace qbench::client {
namespace {

constexpr FlagSpec kGlobalFlags[] = {
    {"--profile", "NAME", "use this profile from the profiles file"},
    {"--server", "HOST:PORT", "the qbench-server (overrides QBENCH_SERVER and the profile)"},
    {"--insecure", nullptr, "plaintext instead of TLS (local servers only)"},
    {"--ca", "FILE", "PEM root certificates for TLS (default: the system's)"},
    {"--token", "TOKEN", "bearer token (overrides QBENCH_TOKEN); prefer --token-file"},
    {"--token-file", "FILE", "read the bearer token from FILE"},
    {"--help", nullptr, "this help"},
};

struct CodeMapping {
  absl::StatusCode code;
  ExitCode exit;
};
constexpr CodeMapping kExitCodes[] = {
    {absl::StatusCode::kOk, kExitOk},
    {absl::StatusCode::kInvalidArgument, kExitUsage},
    {absl::StatusCode::kFailedPrecondition, kExitUsage},
    {absl::StatusCode::kOutOfRange, kExitUsage},
    {absl::StatusCode::kAlreadyExists, kExitUsage},
    {absl::StatusCode::kUnauthenticated, kExitAuth},
    {absl::StatusCode::kPermissionDenied, kExitAuth},
    {absl::StatusCode::kNotFound, kExitNotFound},
    {absl::StatusCode::kUnavailable, kExitUnavailable},
    {absl::StatusCode::kDeadlineExceeded, kExitUnavailable},
};

constexpr const char* kExitHelp =
    "Exit codes:\n"
    "  0  ok\n"
    "  1  the job ended FAILED or CANCELLED (submit --wait, watch)\n"
    "  2  usage error; INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, ALREADY_EXISTS\n"
    "  3  UNAUTHENTICATED or PERMISSION_DENIED (token missing, wrong or not admin)\n"
    "  4  NOT_FOUND (job, blob, team, token, or a local file)\n"
    "  5  UNAVAILABLE or DEADLINE_EXCEEDED (server unreachable)\n"
    "  6  anything else\n";

std::vector<const Command*> AllCommands() {
  std::vector<const Command*> all;
  for (auto group : {BlobCommands(), JobCommands(), ResultCommands(), AdminCommands(), ProfileCommands()})
    for (const Command& c : group) all.push_back(&c);
  return all;
}

std::string MainHelp() {
  std::string out =
      "usage: qbench [global flags] COMMAND [args]\n\n"
      "QBench client: upload models and datasets, submit quantization jobs, follow them, compare results.\n\n"
      "Global flags (before the command):\n";
  out += FlagHelp(kGlobalFlags);
  out +=
      "  Connection settings come from the profile (--profile, else the file's default), then\n"
      "  QBENCH_SERVER / QBENCH_TOKEN, then these flags. Profiles: $QBENCH_CONFIG or\n"
      "  ~/.config/qbench/profiles.json (see `qbench profile set --help`).\n\nCommands:\n";
  for (const Command* c : AllCommands())
    absl::StrAppend(&out, "  ", absl::StrFormat("%-44s", absl::StrCat(c->name, " ", c->operands)), c->summary, "\n");
  absl::StrAppend(&out, "\n", kExitHelp, "\nRun `qbench COMMAND --help` for a command's flags.\n");
  return out;
}

std::string CommandHelp(const Command& c) {
  std::string out = absl::StrCat("usage: qbench [global flags] ", c.name, " ", c.operands, "\n\n", c.summary, "\n");
  if (!c.flags.empty()) absl::StrAppend(&out, "\nFlags:\n", FlagHelp(c.flags));
  return out;
}

// The command whose name matches the most leading operands.
const Command* FindCommand(const std::vector<std::string>& words, size_t* used) {
  const Command* best = nullptr;
  size_t best_len = 0;
  for (const Command* c : AllCommands()) {
    std::vector<std::string> name = absl::StrSplit(c->name, ' ');
    if (name.size() > words.size() || name.size() <= best_len) continue;
    if (std::equal(name.begin(), name.end(), words.begin())) {
      best = c;
      best_len = name.size();
    }
  }
  *used = best_len;
  return best;
}

// For "qbench admin" or "qbench admin tokn": the commands that start with the first word.
std::string Suggestions(const std::string& first) {
  std::string out;
  for (const Command* c : AllCommands())
    if (absl::StartsWith(c->name, first + " ")) absl::StrAppend(&out, "\n  qbench ", c->name, " ", c->operands);
  return out;
}

bool IsCommandFlag(const Command& c, const std::string& name) {
  return std::any_of(c.flags.begin(), c.flags.end(), [&](const FlagSpec& f) { return name == f.name; });
}

}  // namespace

int ExitCodeFor(const absl::Status& s) {
  for (const CodeMapping& m : kExitCodes)
    if (m.code == s.code()) return m.exit;
  return kExitOther;
}

absl::StatusOr<Connection> CliEnv::Connect() const {
  auto r = ResolveConnection(connection_flags, ProfilesPath());
  if (!r.ok()) return r.status();
  if (absl::Status s = CheckConnection(r->connection); !s.ok()) return s;
  return r->connection;
}

int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err, bool err_is_tty) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto fail = [&](const absl::Status& s, const std::string& hint = "") {
    err << "qbench: " << s.message() << hint << "\n";
    return ExitCodeFor(s);
  };
  auto global = ParseArgs(args, kGlobalFlags, /*stop_at_operand=*/true);
  if (!global.ok()) return fail(global.status(), " (see qbench --help)");
  if (global->Has("--help") || global->operands.empty()) {
    (global->Has("--help") ? out : err) << MainHelp();
    return global->Has("--help") ? kExitOk : kExitUsage;
  }
  CliEnv env{out, err, err_is_tty, {}};
  ConnectionFlags& cf = env.connection_flags;
  for (const auto& [name, value] : global->flags) {
    if (name == "--profile") cf.profile = value;
    if (name == "--server") cf.server = value;
    if (name == "--insecure") cf.insecure = true;
    if (name == "--ca") cf.ca_file = value;
    if (name == "--token") cf.token = value;
    if (name == "--token-file") cf.token_file = value;
  }
  size_t used = 0;
  const Command* cmd = FindCommand(global->operands, &used);
  if (cmd == nullptr) {
    const std::string& first = global->operands[0];
    const std::string more = Suggestions(first);
    return fail(absl::InvalidArgumentError(
        more.empty() ? absl::StrCat("unknown command \"", first, "\" (see qbench --help)")
                     : absl::StrCat("\"", first, "\" needs a subcommand:", more)));
  }
  std::vector<std::string> rest(global->operands.begin() + static_cast<std::ptrdiff_t>(used), global->operands.end());
  if (std::find(rest.begin(), rest.end(), "--help") != rest.end()) {
    out << CommandHelp(*cmd);
    return kExitOk;
  }
  const std::string see = absl::StrCat(" (see qbench ", cmd->name, " --help)");
  auto parsed = ParseArgs(rest, cmd->flags);
  if (!parsed.ok()) {
    for (const std::string& a : rest)
      for (const FlagSpec& g : kGlobalFlags)
        if (a.substr(0, a.find('=')) == g.name && !IsCommandFlag(*cmd, g.name))
          return fail(Annotate(parsed.status(), cmd->name), absl::StrCat(" (", g.name, " is a global flag: put it before \"",
                                                                          cmd->name, "\")"));
    return fail(Annotate(parsed.status(), cmd->name), see);
  }
  if (absl::Status s = CheckOperands(*parsed, cmd->min_operands, cmd->max_operands, cmd->operands); !s.ok())
    return fail(Annotate(s, cmd->name), see);
  CommandResult result = cmd->run(env, *parsed);
  if (!result.ok()) return fail(result.status());
  return *result;
}

}  // namespace qbench::client
