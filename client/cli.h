// The qbench CLI: global flags, the command table, exit codes. main.cc only calls RunCli;
// each cmd_*.cc file contributes the commands of one group.
#pragma once

#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/args.h"
#include "client/connection.h"
#include "client/profiles.h"
#include "common/flags.h"
#include "qbench/v1/qbench.pb.h"

namespace qbench::client {

// Exit codes a CI script can gate on.
enum ExitCode : int {
  kExitOk = 0,
  kExitJobFailed = 1,    // the job ended FAILED or CANCELLED (submit --wait, watch)
  kExitUsage = 2,        // usage, INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, ALREADY_EXISTS
  kExitAuth = 3,         // UNAUTHENTICATED, PERMISSION_DENIED
  kExitNotFound = 4,     // NOT_FOUND
  kExitUnavailable = 5,  // UNAVAILABLE, DEADLINE_EXCEEDED: the server is unreachable
  kExitOther = 6,        // anything else
};

int ExitCodeFor(const absl::Status& s);

// What a command gets from the process.
struct CliEnv {
  std::ostream& out;  // results (the only thing on stdout, so scripts can capture it)
  std::ostream& err;  // progress, notes and errors
  bool err_is_tty = false;  // draw progress bars
  ConnectionFlags connection_flags;

  // The connection from profile, environment and flags; resolved per command because
  // `profile` commands need none.
  absl::StatusOr<Connection> Connect() const;
};

// A command's outcome: its exit code when it ran (0, or 1 for a failed job).
using CommandResult = absl::StatusOr<int>;

struct Command {
  const char* name;      // "admin token create"
  const char* operands;  // "teams/TEAM" (help and errors)
  const char* summary;
  std::span<const FlagSpec> flags;
  int min_operands, max_operands;  // max < 0: unbounded
  CommandResult (*run)(const CliEnv& env, const ParsedArgs& args);
};

// The groups, one per cmd_*.cc.
std::span<const Command> BlobCommands();     // upload, download
std::span<const Command> JobCommands();      // submit, watch, list, show, cancel, export
std::span<const Command> ResultCommands();   // compare, devices
std::span<const Command> AdminCommands();    // admin team create, admin token create|revoke
std::span<const Command> ProfileCommands();  // profile set, profile show

// Every worker and its devices, all pages (`qbench devices`; submit's device check).
absl::StatusOr<qbench::v1::ListDevicesResponse> ListAllDevices(const Connection& c);

// Parses argv, runs the command, prints errors as "qbench: <message>"; returns the exit
// code.
int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err, bool err_is_tty);

}  // namespace qbench::client
