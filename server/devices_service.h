// The Devices gRPC service: what the workers offer, from their heartbeats.
#pragma once

#include <string>
#include <vector>

#include "qbench/v1/qbench.grpc.pb.h"
#include "server/auth.h"
#include "server/offload.h"

namespace qbench::server {

// Implemented by the PostgreSQL store (workers and devices tables). Thread-safe. It
// returns the API message directly: a worker's description is plain data with no
// behaviour, and the store already fills every field the heartbeat carried.
class DeviceRegistry {
 public:
  virtual ~DeviceRegistry() = default;
  // Workers ordered by name; `page_size` in [1, 1000]; INVALID_ARGUMENT "page_token"
  // for a token it did not issue.
  virtual absl::StatusOr<qbench::v1::ListDevicesResponse> ListWorkers(int32_t page_size,
                                                                      const std::string& page_token) = 0;
};

class DevicesService final : public qbench::v1::Devices::CallbackService {
 public:
  // `registry` may be null: valid requests then get UNIMPLEMENTED. `pool` runs the handler
  // (it waits on the store); null: inline.
  DevicesService(DeviceRegistry* registry, const TokenVerifier* verifier, BlockingPool* pool = nullptr)
      : registry_(registry), verifier_(verifier), pool_(pool) {}

  grpc::ServerUnaryReactor* ListDevices(grpc::CallbackServerContext* ctx,
                                        const qbench::v1::ListDevicesRequest* request,
                                        qbench::v1::ListDevicesResponse* response) override;

 private:
  DeviceRegistry* registry_;
  const TokenVerifier* verifier_;
  BlockingPool* pool_;
};

}  // namespace qbench::server
