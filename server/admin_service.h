// The Admin gRPC service (teams and tokens), for admin tokens only.
#pragma once

#include <optional>

#include "absl/time/time.h"

#include <string>

#include "qbench/v1/qbench.grpc.pb.h"
#include "server/auth.h"
#include "server/offload.h"

namespace qbench::server {

// Implemented by the PostgreSQL store. Thread-safe.
class AdminRepository {
 public:
  virtual ~AdminRepository() = default;
  // ALREADY_EXISTS when the team exists.
  virtual absl::Status CreateTeam(const std::string& team_id, const std::string& display_name) = 0;
  // Stores sha256(secret) only; returns the token id ("teams/<team>/tokens/<id>" uses it).
  // `expires`: when the token stops being accepted (none: never). NOT_FOUND for an
  // unknown team.
  virtual absl::StatusOr<int64_t> CreateToken(const std::string& team_id, const std::string& display_name, bool admin,
                                              bool worker, const std::string& secret_sha256,
                                              std::optional<absl::Time> expires) = 0;
  // NOT_FOUND for an unknown token; revoking twice is OK.
  virtual absl::Status RevokeToken(const std::string& team_id, int64_t token_id) = 0;
};

class AdminService final : public qbench::v1::Admin::CallbackService {
 public:
  // `repository` may be null: valid requests then get UNIMPLEMENTED. `pool` runs the
  // handlers (they wait on the store); null: inline.
  AdminService(AdminRepository* repository, const TokenVerifier* verifier, BlockingPool* pool = nullptr)
      : repository_(repository), verifier_(verifier), pool_(pool) {}

  grpc::ServerUnaryReactor* CreateTeam(grpc::CallbackServerContext* ctx, const qbench::v1::CreateTeamRequest* request,
                                       qbench::v1::Team* response) override;
  grpc::ServerUnaryReactor* CreateToken(grpc::CallbackServerContext* ctx,
                                        const qbench::v1::CreateTokenRequest* request,
                                        qbench::v1::CreateTokenResponse* response) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* ctx,
                                        const qbench::v1::RevokeTokenRequest* request,
                                        qbench::v1::Token* response) override;

 private:
  AdminRepository* repository_;
  const TokenVerifier* verifier_;
  BlockingPool* pool_;
};

// 3-63 characters of [a-z0-9-], starting with a letter.
bool IsValidTeamId(const std::string& id);

}  // namespace qbench::server
