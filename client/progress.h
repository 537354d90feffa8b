// A single updating progress line on stderr ("model.onnx  42%  12.0/28.6 MiB  8.4 MiB/s")
// for uploads, downloads and exports; silent when stderr is not a terminal, so logs of
// CI runs stay clean.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "absl/time/time.h"
#include "client/blob_client.h"

namespace qbench::client {

class ProgressBar {
 public:
  ProgressBar(std::ostream& err, std::string label, bool enabled);
  ~ProgressBar() { Finish(); }

  // Redraws at most ten times a second, and always at 100%.
  void Update(int64_t done, int64_t total);
  // Ends the line (if one was drawn).
  void Finish();
  // Update as a ProgressFn; the bar must outlive its use.
  ProgressFn Fn() {
    return [this](int64_t done, int64_t total) { Update(done, total); };
  }

 private:
  std::ostream& err_;
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  absl::Time start_ = absl::Now(), last_ = absl::InfinitePast();
  int64_t first_done_ = -1;  // a resumed transfer's starting point: the rate counts only this run
};

}  // namespace qbench::client
