// Named server profiles and the resolution of a Connection from profile, environment
// and flags (later ones win): profile < QBENCH_SERVER / QBENCH_TOKEN < --flags.
//
// The profiles file ($QBENCH_CONFIG, else ~/.config/qbench/profiles.json):
//   {"default": "local",
//    "profiles": {"local": {"server": "127.0.0.1:50051", "insecure": true,
//                           "ca": "/path/ca.pem", "token_file": "/path/token"}}}
// It holds paths to secrets, never secrets: a token lives in its own file (mode 0600).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/connection.h"

namespace qbench::client {

struct Profile {
  std::string server;      // "host:port"
  bool insecure = false;   // plaintext
  std::string ca_file;     // "ca": PEM roots; empty: system roots
  std::string token_file;  // a file holding the bearer token
};

struct ProfileFile {
  std::string default_profile;  // empty: none
  std::map<std::string, Profile> profiles;
};

// $QBENCH_CONFIG, else $HOME/.config/qbench/profiles.json.
std::string ProfilesPath();

// A missing file is an empty ProfileFile; a malformed one is INVALID_ARGUMENT naming the
// file and the key.
absl::StatusOr<ProfileFile> LoadProfiles(const std::string& path);
// Writes atomically with mode 0600, creating the folder.
absl::Status SaveProfiles(const std::string& path, const ProfileFile& file);

// What the global flags asked for; unset members leave the lower layers in place.
struct ConnectionFlags {
  std::optional<std::string> profile, server, ca_file, token, token_file;
  bool insecure = false;
};

// The connection and where its parts came from (for `profile show`; never the token).
struct ResolvedConnection {
  Connection connection;
  std::string profile;       // the profile used, empty when none
  std::string server_from;   // "profile local", "QBENCH_SERVER", "--server", ""
  std::string token_from;    // "token file /x", "QBENCH_TOKEN", "--token", ""
};

// INVALID_ARGUMENT for an unknown --profile, an unreadable token file, or both --token
// and --token-file.
absl::StatusOr<ResolvedConnection> ResolveConnection(const ConnectionFlags& flags, const std::string& profiles_path);

// The token in a file, surrounding whitespace removed.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

}  // namespace qbench::client
