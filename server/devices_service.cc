#include "server/devices_service.h"

#include "server/grpc_status.h"
#include "server/job_validation.h"

namespace qbench::server {

grpc::ServerUnaryReactor* DevicesService::ListDevices(grpc::CallbackServerContext* ctx,
                                                      const qbench::v1::ListDevicesRequest* request,
                                                      qbench::v1::ListDevicesResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authenticate(*ctx, *verifier_).status();
  absl::StatusOr<int32_t> page_size = s.ok() ? NormalizePageSize(request->page_size()) : s;
  s = page_size.status();
  if (s.ok() && registry_ == nullptr) s = absl::UnimplementedError("devices: no store is configured on this server yet");
  if (s.ok()) {
    auto page = registry_->ListWorkers(*page_size, request->page_token());
    if (page.ok()) *response = *std::move(page);
    s = page.status();
  }
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

}  // namespace qbench::server
