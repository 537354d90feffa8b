// qbench profile set / profile show: named connection settings.
#include <filesystem>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "client/cli.h"
#include "client/profiles.h"
#include "common/status.h"

namespace qbench::client {
namespace {

constexpr FlagSpec kSetFlags[] = {
    {"--server", "HOST:PORT", "the qbench-server (required)"},
    {"--insecure", nullptr, "plaintext instead of TLS"},
    {"--ca", "FILE", "PEM root certificates for TLS"},
    {"--token-file", "FILE", "a file holding the bearer token (keep it mode 0600)"},
    {"--default", nullptr, "make this the default profile (the first profile always is)"},
};

// Paths are stored absolute so the profile works from any folder.
std::string AbsolutePath(const std::string& p) {
  return p.empty() ? p : std::filesystem::absolute(p).lexically_normal().string();
}

CommandResult Set(const CliEnv& env, const ParsedArgs& args) {
  if (!args.Has("--server")) return absl::InvalidArgumentError("profile set: --server is required");
  const std::string path = ProfilesPath();
  QB_ASSIGN_OR_RETURN(ProfileFile file, LoadProfiles(path));
  const std::string& name = args.operands[0];
  Profile& p = file.profiles[name];
  p = Profile{args.Value("--server"), args.Has("--insecure"), AbsolutePath(args.Value("--ca")),
              AbsolutePath(args.Value("--token-file"))};
  if (!p.token_file.empty()) QB_RETURN_IF_ERROR(ReadTokenFile(p.token_file).status());
  if (file.default_profile.empty() || args.Has("--default")) file.default_profile = name;
  QB_RETURN_IF_ERROR(SaveProfiles(path, file));
  env.err << "profile \"" << name << "\" saved in " << path << (file.default_profile == name ? " (default)" : "")
          << "\n";
  return kExitOk;
}

CommandResult Show(const CliEnv& env, const ParsedArgs& args) {
  const std::string path = ProfilesPath();
  QB_ASSIGN_OR_RETURN(ProfileFile file, LoadProfiles(path));
  env.out << "profiles file: " << path << (file.profiles.empty() ? " (no profiles)" : "") << "\n";
  for (const auto& [name, p] : file.profiles) {
    env.out << (name == file.default_profile ? "* " : "  ") << name << ": " << p.server
            << (p.insecure ? " insecure" : " tls") << (p.ca_file.empty() ? "" : " ca=" + p.ca_file)
            << (p.token_file.empty() ? "" : " token_file=" + p.token_file) << "\n";
  }
  // What a command would use now, after the environment and flags; never the token itself.
  QB_ASSIGN_OR_RETURN(ResolvedConnection r, ResolveConnection(env.connection_flags, path));
  const Connection& c = r.connection;
  env.out << "effective: server " << (c.server.empty() ? "(none)" : c.server)
          << (r.server_from.empty() ? "" : " from " + r.server_from) << ", "
          << (c.insecure ? "plaintext" : c.ca_file.empty() ? "TLS with system roots" : "TLS with CA " + c.ca_file)
          << ", token " << (c.token.empty() ? "not set" : "set from " + r.token_from) << "\n";
  return kExitOk;
}

constexpr Command kCommands[] = {
    {"profile set", "NAME", "Save connection settings under NAME", kSetFlags, 1, 1, Set},
    {"profile show", "", "List the profiles and the settings in effect (never the token)", {}, 0, 0, Show},
};

}  // namespace

std::span<const Command> ProfileCommands() { return kCommands; }

}  // namespace qbench::client
