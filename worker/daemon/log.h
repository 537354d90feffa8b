// The daemon's log: one line per event on stderr, "<UTC time> worker <id>: <message>".
// Thread-safe (one write per line).
#pragma once

#include <string>

namespace qbench::worker {

void Log(const std::string& worker_id, const std::string& message);

}  // namespace qbench::worker
