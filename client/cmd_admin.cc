// qbench admin team create / admin token create / admin token revoke (admin tokens only).
#include <ostream>

#include "absl/time/time.h"
#include "absl/strings/str_cat.h"
#include "client/cli.h"
#include "client/job_format.h"
#include "common/status.h"
#include "qbench/v1/qbench.grpc.pb.h"

namespace qbench::client {
namespace {

namespace v1 = qbench::v1;

constexpr FlagSpec kTeamFlags[] = {{"--display-name", "TEXT", "the team's display name"}};
constexpr FlagSpec kTokenFlags[] = {
    {"--name", "TEXT", "the token's display name"},
    {"--admin", nullptr, "the token may call admin commands"},
    {"--worker", nullptr, "a worker's token: reads the blobs of running jobs, nothing more (not with --admin)"},
    {"--expires-in", "DURATION", "the token stops working after DURATION (e.g. 720h, 90m; default never)"},
};

std::unique_ptr<v1::Admin::Stub> AdminStub(const Connection& c) { return v1::Admin::NewStub(MakeChannel(c)); }

CommandResult CreateTeam(const CliEnv& env, const ParsedArgs& args) {
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  grpc::ClientContext ctx;
  Authorize(&ctx, c);
  v1::CreateTeamRequest req;
  req.set_team_id(args.operands[0]);
  req.set_display_name(args.Value("--display-name"));
  v1::Team team;
  QB_RETURN_IF_ERROR(Annotate(FromGrpc(AdminStub(c)->CreateTeam(&ctx, req, &team)), "admin team create"));
  env.out << team.name() << "\n";
  return kExitOk;
}

CommandResult CreateToken(const CliEnv& env, const ParsedArgs& args) {
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  grpc::ClientContext ctx;
  Authorize(&ctx, c);
  v1::CreateTokenRequest req;
  req.set_parent(args.operands[0]);
  req.mutable_token()->set_display_name(args.Value("--name"));
  req.mutable_token()->set_admin(args.Has("--admin"));
  req.mutable_token()->set_worker(args.Has("--worker"));
  if (args.Has("--expires-in")) {
    absl::Duration d;
    if (!absl::ParseDuration(args.Value("--expires-in"), &d) || d <= absl::ZeroDuration() || d > absl::Hours(24 * 366 * 100))
      return absl::InvalidArgumentError(absl::StrCat("--expires-in: expected a positive duration such as 720h, got \"",
                                                     args.Value("--expires-in"), "\""));
    const int64_t at_us = absl::ToUnixMicros(absl::Now() + d);
    req.mutable_token()->mutable_expire_time()->set_seconds(at_us / 1000000);
    req.mutable_token()->mutable_expire_time()->set_nanos(static_cast<int32_t>(at_us % 1000000) * 1000);
  }
  v1::CreateTokenResponse resp;
  QB_RETURN_IF_ERROR(Annotate(FromGrpc(AdminStub(c)->CreateToken(&ctx, req, &resp)), "admin token create"));
  // The secret alone on stdout (`qbench admin token create ... > token`); the server
  // keeps only its hash, so this is the one chance to save it.
  env.err << resp.token().name() << (resp.token().admin() ? " (admin)" : resp.token().worker() ? " (worker)" : "");
  if (resp.token().has_expire_time())
    env.err << ", expires " << absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(resp.token().expire_time().seconds()),
                                                absl::UTCTimeZone());
  env.err << ": the secret below is shown only once\n";
  env.out << resp.secret() << "\n";
  return kExitOk;
}

CommandResult RevokeToken(const CliEnv& env, const ParsedArgs& args) {
  QB_ASSIGN_OR_RETURN(Connection c, env.Connect());
  grpc::ClientContext ctx;
  Authorize(&ctx, c);
  v1::RevokeTokenRequest req;
  req.set_name(args.operands[0]);
  v1::Token token;
  QB_RETURN_IF_ERROR(Annotate(FromGrpc(AdminStub(c)->RevokeToken(&ctx, req, &token)), "admin token revoke"));
  env.out << token.name() << " revoked " << FormatTime(token.revoke_time()) << "\n";
  return kExitOk;
}

constexpr Command kCommands[] = {
    {"admin team create", "TEAM_ID", "Create a team", kTeamFlags, 1, 1, CreateTeam},
    {"admin token create", "teams/TEAM", "Create a token; prints its secret once", kTokenFlags, 1, 1, CreateToken},
    {"admin token revoke", "teams/TEAM/tokens/ID", "Revoke a token", {}, 1, 1, RevokeToken},
};

}  // namespace

std::span<const Command> AdminCommands() { return kCommands; }

}  // namespace qbench::client
