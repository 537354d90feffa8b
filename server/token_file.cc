#include "server/token_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace qbench::server {

absl::StatusOr<std::unique_ptr<FileTokenVerifier>> FileTokenVerifier::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("tokens file \"", path, "\": cannot open"));
  auto v = std::make_unique<FileTokenVerifier>();
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string hash, team, flag;
    fields >> hash >> team >> flag;
    if (!IsSha256Hex(hash) || team.empty() || (!flag.empty() && flag != "admin" && flag != "worker"))
      return absl::InvalidArgumentError(
          absl::StrCat("tokens file \"", path, "\" line ", n, ": expected \"<sha256 hex> <team_id> [admin|worker]\""));
    v->by_hash_[hash] = Principal{team, flag == "admin", flag == "worker"};
  }
  return v;
}

absl::StatusOr<Principal> FileTokenVerifier::Verify(const std::string& token) const {
  auto it = by_hash_.find(Sha256Hex(token));
  if (it == by_hash_.end()) return absl::UnauthenticatedError("unknown token");
  return it->second;
}

}  // namespace qbench::server
