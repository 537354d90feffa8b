#include "worker/daemon/log.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace qbench::worker {

void Log(const std::string& worker_id, const std::string& message) {
  // One line per event: libpq's messages carry a newline and a tab ("\n\tIs the server...").
  std::string flat;
  flat.reserve(message.size());
  for (char c : message) {
    if (c != '\n' && c != '\t' && c != '\r') flat.push_back(c);
    else if (!flat.empty() && flat.back() != ' ') flat.push_back(' ');
  }
  const std::string line = absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                                        " worker ", worker_id, ": ", flat, "\n");
  std::fputs(line.c_str(), stderr);  // stdio locks the stream per call: lines never interleave
}

}  // namespace qbench::worker
