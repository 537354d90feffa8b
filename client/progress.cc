#include "client/progress.h"

#include <ostream>

#include "absl/strings/str_format.h"

namespace qbench::client {

ProgressBar::ProgressBar(std::ostream& err, std::string label, bool enabled)
    : err_(err), label_(std::move(label)), enabled_(enabled) {}

void ProgressBar::Update(int64_t done, int64_t total) {
  if (!enabled_) return;
  const absl::Time now = absl::Now();
  if (first_done_ < 0) first_done_ = done;
  if (done < total && now - last_ < absl::Milliseconds(100)) return;
  last_ = now;
  constexpr double kMiB = 1 << 20;
  const double seconds = absl::ToDoubleSeconds(now - start_);
  const double rate = seconds > 0 ? (done - first_done_) / kMiB / seconds : 0;
  const double pct = total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
  // "\r" returns to the line start; "\x1b[K" clears what a longer previous line left.
  err_ << absl::StrFormat("\r%s  %3.0f%%  %.1f/%.1f MiB  %.1f MiB/s\x1b[K", label_, pct, done / kMiB, total / kMiB,
                          rate)
       << std::flush;
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (drawn_) err_ << "\n";
  drawn_ = false;
}

}  // namespace qbench::client
