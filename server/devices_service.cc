#include "server/devices_service.h"

#include "server/offload.h"
#include "server/job_validation.h"

namespace qbench::server {

grpc::ServerUnaryReactor* DevicesService::ListDevices(grpc::CallbackServerContext* ctx,
                                                      const qbench::v1::ListDevicesRequest* request,
                                                      qbench::v1::ListDevicesResponse* response) {
  return RunUnary(ctx, pool_, [=, this]() -> absl::Status {
    absl::Status s = Authenticate(*ctx, *verifier_).status();
    absl::StatusOr<int32_t> page_size = s.ok() ? NormalizePageSize(request->page_size()) : s;
    if (!page_size.ok()) return page_size.status();
    if (registry_ == nullptr) return absl::UnimplementedError("devices: no store is configured on this server yet");
    auto page = registry_->ListWorkers(*page_size, request->page_token());
    if (page.ok()) *response = *std::move(page);
    return page.status();
  });
}

}  // namespace qbench::server
