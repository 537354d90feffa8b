// Engine results as store rows: what the daemon writes when a configuration finishes
// (results, per-layer table, outcome) and when the job ends (its environment).
#pragma once

#include <string>
#include <vector>

#include "server/store/device_outcomes.h"
#include "server/store/outcomes.h"
#include "server/store/results.h"
#include "server/store/search.h"
#include "worker/daemon/describe.h"
#include "engine/pipeline/pipeline.h"

namespace qbench::worker {

// The energy_meter of rows whose energy is modeled.
inline constexpr char kEstimatedEnergyMeter[] = "model:horowitz-45nm";

// One row per measured batch size (none for a configuration that could not run): p50/p99
// latency in ms and throughput in samples/s with the number of timed queries, and the
// latency detail (p90, p99.9, min, max, mean, the median's confidence interval, its
// method and sessions, the kept samples in run order); energy in J per sample, measured
// by RAPL over that batch size's timed loop when available ("rapl", the domains as
// meter), else modeled ("estimated"). Accuracy is the configuration's (Outcome); the rows
// carry a copy only for readers of rows from before 0005.
std::vector<store::ResultRow> ResultRows(const ConfigResult& c, const WorkerIdentity& worker);

// The rows of one attached device (docs/devices.md), under AttachedDeviceName: the same
// latency figures from the runner's per-query times; energy only from the device's own
// meter (source "external", on the largest batch size); none when it failed there.
std::vector<store::ResultRow> DeviceResultRows(const ConfigResult& c, const DeviceResult& d,
                                               const WorkerIdentity& worker);

// Its outcome: runner, runtime and provider, the error, or accuracy on the test samples
// with the paired delta against this device's FP32 run and the samples whose top-1
// differs from the engine's run.
store::DeviceOutcome DeviceOutcomeRow(const ConfigResult& c, const DeviceResult& d, const WorkerIdentity& worker);

// The per-layer table (empty for FP32 and bf16). Isolated SQNRs only when the job ran
// the sensitivity pass; non-finite SQNRs (exact) are NULL.
std::vector<store::LayerResult> LayerRows(const ConfigResult& c, bool sensitivity);

// The configuration's outcome: resolved config JSON (quant::ConfigToJson), error, notes,
// evaluation samples and reproducibility hashes, and its figures on the test samples
// (strict top-1/top-5 with hits and ties, agreement, output SQNR against FP32, NULL for
// FP32 itself and for an exact match, size, the paired delta to FP32 with its interval,
// p-value, discordant counts and methods) and on the validation samples. `device` is the
// worker device it ran on (WorkerIdentity::device).
store::ConfigOutcome Outcome(const ConfigResult& c, const std::string& device = "");

// What a search's figures depend on beyond the job: the CPU, the ISA oneDNN picked and
// the thread count. A later attempt reuses stored candidates only on the same.
std::string SearchHardware(const WorkerIdentity& worker, int threads);

// A search candidate as its store row (choice names from `choices`, the figures, the
// engine's JSON record).
store::SearchCandidateRow CandidateRow(const search::Candidate& c, const std::vector<search::Choice>& choices,
                                       const std::string& hardware);

// The search's summary for jobs.search: the engine's search JSON without the candidates
// (they are rows of their own), with the chosen and fallback keys and what was found
// stored from earlier attempts.
std::string SearchSummaryJson(const SearchResult& r, int64_t stored, int64_t stored_elsewhere);

// The job's evaluation split (which samples are test and validation samples) as the JSON
// object jobs.evaluation holds (0005_accuracy.sql), index lists included.
std::string EvaluationJson(const EvaluationSplit& split);

// The run's environment as JSON: the report's "environment" object (versions, CPU,
// flags, threads, affinity, governor, peak RSS, git revision) plus worker and device.
std::string EnvironmentJson(const JobResult& r, const WorkerIdentity& worker);

}  // namespace qbench::worker
