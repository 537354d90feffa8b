// A TokenVerifier over a file of hashed tokens, for a server run before the PostgreSQL
// store is configured (and for bootstrapping the first admin). Each line:
//   <sha256 hex of the token> <team_id> [admin]
// Blank lines and lines starting with '#' are ignored. Tokens are never stored in clear.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/auth.h"

namespace qbench::server {

class FileTokenVerifier : public TokenVerifier {
 public:
  static absl::StatusOr<std::unique_ptr<FileTokenVerifier>> Load(const std::string& path);
  absl::StatusOr<Principal> Verify(const std::string& token) const override;

 private:
  std::map<std::string, Principal> by_hash_;  // immutable after Load: thread-safe reads
};

}  // namespace qbench::server
