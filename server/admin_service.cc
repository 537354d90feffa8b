#include "server/admin_service.h"

#include <openssl/rand.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/grpc_status.h"
#include "server/offload.h"
#include "common/sha256.h"

namespace qbench::server {
namespace {

absl::StatusOr<Principal> BeginAdmin(grpc::CallbackServerContext* ctx, const TokenVerifier& verifier) {
  auto p = Authenticate(*ctx, verifier);
  if (!p.ok()) return p;
  if (absl::Status s = RequireAdmin(*p); !s.ok()) return s;
  return p;
}

absl::StatusOr<std::string> ParseTeamName(const std::string& name, const std::string& field) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 2 || parts[0] != "teams" || !IsValidTeamId(parts[1]))
    return absl::InvalidArgumentError(absl::StrCat(field, ": expected \"teams/<team_id>\", got \"", name, "\""));
  return parts[1];
}

// 32 random bytes as hex: the bearer secret.
absl::StatusOr<std::string> NewSecret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return absl::InternalError("token: no randomness available");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "qbt_";  // the store's token prefix (store/teams.h)
  for (unsigned char b : bytes) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

// A token's expire_time: a valid timestamp (RFC 3339 range: years 1-9999) in the future.
absl::StatusOr<absl::Time> ExpireTime(const google::protobuf::Timestamp& t, absl::Time now) {
  constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z
  if (t.seconds() < 0 || t.seconds() > kMaxSeconds || t.nanos() < 0 || t.nanos() > 999999999)
    return absl::InvalidArgumentError("token.expire_time: not a valid timestamp");
  const absl::Time at = absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  if (at <= now) return absl::InvalidArgumentError("token.expire_time: must be in the future");
  return at;
}

absl::Status NoStore() { return absl::UnimplementedError("admin: no store is configured on this server yet"); }

}  // namespace

bool IsValidTeamId(const std::string& id) {
  if (id.size() < 3 || id.size() > 63 || !(id[0] >= 'a' && id[0] <= 'z')) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

grpc::ServerUnaryReactor* AdminService::CreateTeam(grpc::CallbackServerContext* ctx,
                                                   const qbench::v1::CreateTeamRequest* request,
                                                   qbench::v1::Team* response) {
  return RunUnary(ctx, pool_, [=, this]() -> absl::Status {
    if (auto p = BeginAdmin(ctx, *verifier_); !p.ok()) return p.status();
    if (!IsValidTeamId(request->team_id()))
      return absl::InvalidArgumentError("team_id: must be 3-63 characters of [a-z0-9-], starting with a letter");
    if (request->display_name().size() > 128)
      return absl::InvalidArgumentError("display_name: must be at most 128 characters");
    if (repository_ == nullptr) return NoStore();
    absl::Status s = repository_->CreateTeam(request->team_id(), request->display_name());
    if (s.ok()) {
      response->set_name("teams/" + request->team_id());
      response->set_display_name(request->display_name());
    }
    return s;
  });
}

grpc::ServerUnaryReactor* AdminService::CreateToken(grpc::CallbackServerContext* ctx,
                                                    const qbench::v1::CreateTokenRequest* request,
                                                    qbench::v1::CreateTokenResponse* response) {
  return RunUnary(ctx, pool_, [=, this]() -> absl::Status {
    if (auto p = BeginAdmin(ctx, *verifier_); !p.ok()) return p.status();
    auto team = ParseTeamName(request->parent(), "parent");
    if (!team.ok()) return team.status();
    if (request->token().display_name().size() > 128)
      return absl::InvalidArgumentError("token.display_name: must be at most 128 characters");
    if (request->token().admin() && request->token().worker())
      return absl::InvalidArgumentError("token: admin and worker exclude each other");
    std::optional<absl::Time> expires;
    if (request->token().has_expire_time()) {
      auto t = ExpireTime(request->token().expire_time(), absl::Now());
      if (!t.ok()) return t.status();
      expires = *t;
    }
    if (repository_ == nullptr) return NoStore();
    auto secret = NewSecret();
    if (!secret.ok()) return secret.status();
    auto id = repository_->CreateToken(*team, request->token().display_name(), request->token().admin(),
                                       request->token().worker(), Sha256Hex(*secret), expires);
    if (id.ok()) {
      response->mutable_token()->set_name(absl::StrCat("teams/", *team, "/tokens/", *id));
      response->mutable_token()->set_display_name(request->token().display_name());
      response->mutable_token()->set_admin(request->token().admin());
      response->mutable_token()->set_worker(request->token().worker());
      if (expires) *response->mutable_token()->mutable_expire_time() = request->token().expire_time();
      response->set_secret(*secret);
    }
    return id.status();
  });
}

grpc::ServerUnaryReactor* AdminService::RevokeToken(grpc::CallbackServerContext* ctx,
                                                    const qbench::v1::RevokeTokenRequest* request,
                                                    qbench::v1::Token* response) {
  return RunUnary(ctx, pool_, [=, this]() -> absl::Status {
    if (auto p = BeginAdmin(ctx, *verifier_); !p.ok()) return p.status();
    std::vector<std::string> parts = absl::StrSplit(request->name(), '/');
    int64_t id = 0;
    if (parts.size() != 4 || parts[0] != "teams" || !IsValidTeamId(parts[1]) || parts[2] != "tokens" ||
        !absl::SimpleAtoi(parts[3], &id) || id <= 0)
      return absl::InvalidArgumentError(
          absl::StrCat("name: expected \"teams/<team_id>/tokens/<id>\", got \"", request->name(), "\""));
    if (repository_ == nullptr) return NoStore();
    absl::Status s = repository_->RevokeToken(parts[1], id);
    if (s.ok()) response->set_name(request->name());
    return s;
  });
}

}  // namespace qbench::server
