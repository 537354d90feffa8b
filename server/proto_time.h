// absl::Time -> google.protobuf.Timestamp, the one conversion the services use.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace qbench::server {

// Leaves `ts` unset for absl::InfinitePast() (the API's "no such time").
inline void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  if (t == absl::InfinitePast()) return;
  const int64_t ns = absl::ToUnixNanos(t);
  ts->set_seconds(ns / 1000000000);
  ts->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

}  // namespace qbench::server
