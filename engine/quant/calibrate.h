// Calibration: one streaming pass of the FP32 model over the calibration samples,
// feeding every activation into its histogram (quant/histogram.h). Memory does not grow
// with the number of samples: each batch is observed and dropped.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/data/dataset.h"
#include "engine/quant/histogram.h"
#include "engine/runtime/session.h"

namespace qbench::quant {

struct CalibrationOptions {
  int64_t samples = 512;
  uint64_t seed = 0;
  int64_t batch_size = 64;
  int loader_threads = 1;
};

struct CalibrationData {
  std::map<int, Histogram> histograms;  // by value id of the session's graph
  // Mean of each channel (axis 1) of every activation: bias correction's E[x].
  std::map<int, std::vector<double>> channel_means;
  std::vector<int64_t> indices;         // the samples used, in order
  std::string indices_sha256;
  double seconds = 0;
};

// Runs `session` (an FP32 session) on the samples chosen by SampleIndices and observes
// every float activation. Errors name the dataset, the sample or the tensor.
absl::StatusOr<CalibrationData> Calibrate(Session& session, const data::Dataset& dataset,
                                          const std::string& dataset_name, const CalibrationOptions& options);

}  // namespace qbench::quant
