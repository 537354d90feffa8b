// Human-readable text for jobs, watch events and workers, and JSON for --json; pure
// functions of the protos.
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include "qbench/v1/qbench.pb.h"

namespace qbench::client {

// "RUNNING", "QUEUED"...; "" for unspecified values.
std::string StateName(qbench::v1::JobState s);
std::string StageName(qbench::v1::Stage s);

// True for SUCCEEDED, FAILED and CANCELLED.
bool IsTerminal(qbench::v1::JobState s);

// "2024-05-01 12:03:04" in local time; "-" when unset.
std::string FormatTime(const google::protobuf::Timestamp& t);

// One watch line without the time prefix, e.g. "state RUNNING (CALIBRATING)",
// "w8a8 CALIBRATING 512/1000", "result w8a8: top-1 91.23% (-0.12 pts) ...".
std::string FormatEvent(const qbench::v1::JobEvent& e);

// A result's one-line summary (used by watch).
std::string FormatResultSummary(const qbench::v1::ConfigResult& r);

// `show`: "key: value" lines.
std::string FormatJob(const qbench::v1::Job& job);
// `list`: a table, newest first as given.
std::string FormatJobTable(const google::protobuf::RepeatedPtrField<qbench::v1::Job>& jobs);
// `devices`: one line per device, workers without devices get one line too.
std::string FormatWorkerTable(const google::protobuf::RepeatedPtrField<qbench::v1::Worker>& workers);
// The online workers ("workers/<id>") that have every one of `selectors` (attached
// device ids or classes, a job spec's "devices"): the ones that can claim such a job.
std::vector<std::string> WorkersWithDevices(const google::protobuf::RepeatedPtrField<qbench::v1::Worker>& workers,
                                            const std::vector<std::string>& selectors);

// Proto JSON (field names as in the .proto, defaults included), indented.
std::string ProtoJson(const google::protobuf::Message& m);

}  // namespace qbench::client
