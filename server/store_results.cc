// JobResults from the store's rows: one ConfigResult per (configuration, device) with the
// configuration's own figures (accuracy, the paired delta against the baseline, size,
// SQNR; on an attached device, that device's, 0009) and its latency rows, with latency ratios against the baseline on the same device
// and batch size; and the job's evaluation split.
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "server/store/device_outcomes.h"
#include "server/store/outcomes.h"
#include "server/store/results.h"
#include "server/store/search.h"
#include "server/store_repository.h"

namespace qbench::server {
namespace {

// Store energy sources and the API's enum, one table.
constexpr std::pair<const char*, qbench::v1::EnergySource> kEnergySources[] = {
    {"rapl", qbench::v1::RAPL}, {"external", qbench::v1::EXTERNAL_METER}, {"estimated", qbench::v1::ESTIMATED}};

qbench::v1::EnergySource EnergySourceFrom(const std::string& s) {
  for (const auto& [name, value] : kEnergySources)
    if (s == name) return value;
  return qbench::v1::ENERGY_SOURCE_UNSPECIFIED;
}

void SetPaired(const store::PairedDelta& d, const store::ConfigOutcome& o, qbench::v1::PairedDelta* out) {
  out->set_delta(d.delta);
  out->set_ci_low(d.ci_low);
  out->set_ci_high(d.ci_high);
  out->set_p_value(d.p_value);
  out->set_fp32_right_config_wrong(d.fp32_right_config_wrong);
  out->set_fp32_wrong_config_right(d.fp32_wrong_config_right);
  out->set_significant(d.ci_low > 0 || d.ci_high < 0);
  out->set_interval_method(o.delta_interval_method);
  out->set_test_method(o.delta_test_method);
}

// The configuration's own figures (0005): accuracy, agreement, SQNR, size, the paired
// delta and the validation split. False when the outcome has none (written before 0005).
bool SetAccuracy(const store::ConfigOutcome& o, bool is_baseline, qbench::v1::ConfigResult* cr) {
  if (!o.top1) return false;
  cr->set_top1(*o.top1);
  cr->set_top5(o.top5.value_or(0));
  cr->set_top1_hits(o.top1_hits.value_or(0));
  cr->set_tied_top1(o.tied_top1.value_or(0));
  cr->set_agreement_with_fp32(is_baseline ? 1.0 : o.agreement.value_or(0));
  cr->set_output_sqnr_db(o.sqnr_db.value_or(0));
  cr->set_model_size_bytes(o.model_bytes.value_or(0));
  if (o.vs_baseline && !is_baseline) {
    cr->set_top1_delta_vs_fp32(o.vs_baseline->delta);
    SetPaired(*o.vs_baseline, o, cr->mutable_vs_fp32());
  }
  if (o.validation) {
    auto* v = cr->mutable_validation();
    v->set_samples(o.validation->samples);
    v->set_top1(o.validation->top1);
    if (o.validation->vs_baseline && !is_baseline) {
      store::PairedDelta d = *o.validation->vs_baseline;
      auto* pd = v->mutable_vs_fp32();
      pd->set_delta(d.delta);
      pd->set_ci_low(d.ci_low);
      pd->set_ci_high(d.ci_high);
      pd->set_significant(d.ci_low > 0 || d.ci_high < 0);
      pd->set_interval_method(o.delta_interval_method);
    }
  }
  return true;
}

// An attached device's figures in the shape of a configuration's outcome, so that one
// setter serves both: the device's accuracy and paired delta (against its own FP32 run),
// the configuration's resolved spec and size from the engine's outcome.
store::ConfigOutcome AsOutcome(const store::DeviceOutcome& d, const store::ConfigOutcome* engine) {
  store::ConfigOutcome o;
  o.config = d.config;
  o.device = d.device;
  o.error = d.error;
  o.notes = d.notes;
  o.samples = d.samples;
  o.top1 = d.top1;
  o.top5 = d.top5;
  o.top1_hits = d.top1_hits;
  o.top5_hits = d.top5_hits;
  o.tied_top1 = d.tied_top1;
  o.agreement = d.agreement;
  o.sqnr_db = d.sqnr_db;
  o.vs_baseline = d.vs_baseline;
  o.delta_interval_method = d.delta_interval_method;
  o.delta_test_method = d.delta_test_method;
  if (engine) {
    o.resolved_json = engine->resolved_json;
    o.model_bytes = engine->model_bytes;
  }
  return o;
}

void SetDeviceRun(const store::DeviceOutcome& d, qbench::v1::DeviceRun* out) {
  out->set_device_class(d.device_class);
  out->set_runner(d.runner);
  out->set_runtime(d.runtime);
  out->set_runtime_version(d.runtime_version);
  out->set_provider(d.provider);
  out->set_differs_from_engine(d.differs_from_engine.value_or(0));
  out->set_seconds(d.seconds.value_or(0));
}

// jobs.evaluation (the daemon's EvaluationJson) as the API's summary: counts and digests,
// not the index lists. An unreadable record is left out (it is ours, written by a worker).
void SetEvaluation(const std::string& text, qbench::v1::EvaluationSplit* out) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  auto str = [&](const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : ""; };
  auto num = [&](const char* key) { return j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : 0; };
  out->set_mode(str("mode"));
  if (j.contains("seed") && j["seed"].is_number_unsigned()) out->set_seed(j["seed"].get<uint64_t>());
  out->set_test_samples(num("test_samples"));
  out->set_validation_samples(num("validation_samples"));
  out->set_test_indices_sha256(str("test_indices_sha256"));
  out->set_validation_indices_sha256(str("validation_indices_sha256"));
  out->set_selection(str("selection"));
  out->set_calibration_is_eval_data(j.contains("calibration_is_eval_data") && j["calibration_is_eval_data"].is_boolean() &&
                                    j["calibration_is_eval_data"].get<bool>());
  out->set_calibration_test_overlap(num("calibration_test_overlap"));
}

// A search's candidates (rows) and, once it has ended, its summary (jobs.search, the
// daemon's SearchSummaryJson). The summary is ours, written by a worker; what is
// unreadable in it is left out.
void SetSearch(const std::vector<store::SearchCandidateRow>& rows, const std::optional<std::string>& summary,
               qbench::v1::SearchResults* out) {
  for (const store::SearchCandidateRow& r : rows) {
    auto* c = out->add_candidates();
    c->set_key(r.key);
    c->set_strategy(r.strategy);
    for (const std::string& a : r.assignment) c->add_assignment(a);
    c->set_samples(r.samples);
    c->set_top1(r.top1);
    c->set_drop_points(r.drop_points);
    c->set_delta_ci_low_points(r.ci_low_points);
    c->set_delta_ci_high_points(r.ci_high_points);
    c->set_timed(r.timed);
    c->set_latency_ms(r.latency_ms.value_or(0));
    c->set_latency_ci_low_ms(r.latency_ci_low_ms.value_or(0));
    c->set_latency_ci_high_ms(r.latency_ci_high_ms.value_or(0));
    c->set_batch_size(r.batch_size);
    c->set_model_size_bytes(r.model_bytes);
    c->set_energy_joules_per_sample(r.energy_j);
    c->set_energy_source(qbench::v1::ESTIMATED);
    c->set_objective(r.objective.value_or(0));
    c->set_within_budget(r.within_budget);
    c->set_on_front(r.on_front);
    c->set_attempt(r.attempt);
    c->set_worker(absl::StrCat("workers/", r.worker));
  }
  if (!summary) return;
  const nlohmann::json j = nlohmann::json::parse(*summary, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  auto str = [](const nlohmann::json& o, const char* key) {
    return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
  };
  auto num = [](const nlohmann::json& o, const char* key) {
    return o.contains(key) && o[key].is_number() ? o[key].get<double>() : 0.0;
  };
  auto integer = [](const nlohmann::json& o, const char* key) {
    return o.contains(key) && o[key].is_number_integer() ? o[key].get<int64_t>() : int64_t{0};
  };
  out->set_finished(true);
  if (j.contains("spec") && j["spec"].is_object()) {
    const nlohmann::json& spec = j["spec"];
    out->set_max_drop_points(num(spec, "max_drop"));
    out->set_budget_rule(spec.contains("budget_rule") ? str(spec, "budget_rule") : "estimate");
    out->set_objective(spec.contains("objective") && spec["objective"].is_string() ? str(spec, "objective") : "mix");
  }
  out->set_batch_size(static_cast<int32_t>(integer(j, "batch")));
  if (j.contains("choices") && j["choices"].is_array())
    for (const auto& c : j["choices"])
      if (c.is_string()) out->add_choices(c.get<std::string>());
  if (j.contains("layers") && j["layers"].is_array())
    for (const auto& l : j["layers"])
      if (l.is_object()) out->add_layers(str(l, "node"));
  out->set_best_key(str(j, "best_key"));
  out->set_fallback_key(str(j, "fallback_key"));
  if (j.contains("strategies") && j["strategies"].is_array())
    for (const auto& t : j["strategies"]) {
      if (!t.is_object()) continue;
      auto* st = out->add_strategies();
      st->set_strategy(str(t, "strategy"));
      st->set_method(str(t, "method"));
      st->set_evaluations(integer(t, "evaluations"));
      st->set_chosen_key(str(t, "chosen_key"));
      st->set_note(str(t, "note"));
    }
  if (j.contains("correlations") && j["correlations"].is_array())
    for (const auto& c : j["correlations"]) {
      if (!c.is_object()) continue;
      auto* co = out->add_correlations();
      co->set_choice(str(c, "choice"));
      co->set_layers(static_cast<int32_t>(integer(c, "layers")));
      co->set_eagl_spearman(num(c, "eagl_spearman"));
      co->set_sensitivity_spearman(num(c, "sensitivity_spearman"));
    }
  out->set_signal_evaluations(integer(j, "signal_evaluations"));
  out->set_candidate_evaluations(integer(j, "candidate_evaluations"));
  out->set_reused(integer(j, "reused"));
  out->set_seconds(num(j, "seconds"));
  if (j.contains("notes") && j["notes"].is_array())
    for (const auto& n : j["notes"])
      if (n.is_string()) out->add_notes(n.get<std::string>());
}

}  // namespace

absl::StatusOr<qbench::v1::JobResults> LoadResults(store::Db& db, int64_t job_id) {
  QB_ASSIGN_OR_RETURN(std::vector<store::ConfigName> configs, store::ListConfigNames(db, job_id));
  QB_ASSIGN_OR_RETURN(std::vector<store::ResultRow> rows, store::ListResults(db, job_id));
  QB_ASSIGN_OR_RETURN(std::vector<store::ConfigOutcome> outcomes, store::ListConfigOutcomes(db, job_id));
  QB_ASSIGN_OR_RETURN(std::optional<std::string> evaluation, store::GetJobEvaluation(db, job_id));
  QB_ASSIGN_OR_RETURN(std::vector<store::DeviceOutcome> device_outcomes, store::ListDeviceOutcomes(db, job_id));
  std::map<std::string, const store::ConfigOutcome*> outcome;
  for (const auto& o : outcomes) outcome[o.config] = &o;
  // Attached devices' outcomes by (configuration, device), and as outcomes.
  std::map<std::pair<std::string, std::string>, const store::DeviceOutcome*> on_device;
  std::map<std::pair<std::string, std::string>, store::ConfigOutcome> device_as_outcome;
  for (const auto& d : device_outcomes) {
    auto e = outcome.find(d.config);
    on_device[{d.config, d.device}] = &d;
    device_as_outcome[{d.config, d.device}] = AsOutcome(d, e == outcome.end() ? nullptr : e->second);
  }
  // The baseline is the configuration flagged so (the job's first), whatever its name.
  std::string baseline;
  for (const auto& c : configs)
    if (c.is_baseline) baseline = c.name;
  // The baseline's rows by (device, batch size).
  std::map<std::pair<std::string, int>, const store::ResultRow*> base;
  for (const auto& r : rows)
    if (r.config == baseline) base[{r.device, r.batch_size}] = &r;

  qbench::v1::JobResults out;
  out.set_job(absl::StrCat("jobs/", job_id));
  if (evaluation) SetEvaluation(*evaluation, out.mutable_evaluation());
  QB_ASSIGN_OR_RETURN(std::vector<store::SearchCandidateRow> candidates, store::ListSearchCandidates(db, job_id));
  QB_ASSIGN_OR_RETURN(std::optional<std::string> search, store::GetJobSearch(db, job_id));
  if (!candidates.empty() || search) SetSearch(candidates, search, out.mutable_search());
  for (const store::ConfigName& c : configs) {
    // Rows of this configuration grouped by device (rows come ordered by config, device, batch).
    std::map<std::string, std::vector<const store::ResultRow*>> by_device;
    for (const auto& r : rows)
      if (r.config == c.name) by_device[r.device].push_back(&r);
    auto oc = outcome.find(c.name);
    if (by_device.empty() && oc == outcome.end()) continue;  // not run yet
    // No latency rows (an error, or a fixed-batch model whose batch is not among the
    // job's batch sizes): the configuration's own figures still make a result.
    if (oc != outcome.end() && !by_device.count(oc->second->device)) by_device[oc->second->device];
    for (const auto& d : device_outcomes)  // a device it failed on has no rows
      if (d.config == c.name) by_device[d.device];
    for (const auto& [device, list] : by_device) {
      auto* cr = out.add_configs();
      cr->set_config(c.name);
      cr->set_device(device);
      cr->set_is_baseline(c.is_baseline);
      bool has_accuracy = false;
      if (auto dv = on_device.find({c.name, device}); dv != on_device.end()) {
        // An attached device: its own figures; no fallback delta against the engine's
        // baseline (a device is compared with its own FP32 run).
        const store::ConfigOutcome& o = device_as_outcome.at({c.name, device});
        SetDeviceRun(*dv->second, cr->mutable_device_run());
        cr->set_config_json(o.resolved_json);
        cr->set_error(o.error);
        cr->set_samples(o.samples);
        for (const auto& n : o.notes) cr->add_notes(n);
        if (o.error.empty()) SetAccuracy(o, c.is_baseline, cr);
        has_accuracy = true;  // device rows carry no pre-0005 copies to fall back on
      } else if (oc != outcome.end()) {
        cr->set_config_json(oc->second->resolved_json);
        cr->set_error(oc->second->error);
        cr->set_samples(oc->second->samples);
        for (const auto& n : oc->second->notes) cr->add_notes(n);
        if (oc->second->error.empty()) has_accuracy = SetAccuracy(*oc->second, c.is_baseline, cr);
        // Without a paired comparison, the delta is still the difference of the top-1s.
        auto bo = outcome.find(baseline);
        if (has_accuracy && !c.is_baseline && !oc->second->vs_baseline && bo != outcome.end() && bo->second->top1)
          cr->set_top1_delta_vs_fp32(*oc->second->top1 - *bo->second->top1);
      }
      if (list.empty()) continue;
      const store::ResultRow& first = *list.front();
      if (!has_accuracy) {  // rows written before 0005 carry the configuration's figures
        cr->set_top1(first.top1.value_or(0));
        cr->set_top5(first.top5.value_or(0));
        cr->set_agreement_with_fp32(c.is_baseline ? 1.0 : first.agreement.value_or(0));
        cr->set_output_sqnr_db(first.sqnr_db.value_or(0));
        cr->set_model_size_bytes(first.model_bytes.value_or(0));
        auto b = base.find({device, first.batch_size});
        if (b != base.end() && first.top1 && b->second->top1)
          cr->set_top1_delta_vs_fp32(*first.top1 - *b->second->top1);
      }
      const store::ResultRow* energy = nullptr;
      for (const store::ResultRow* r : list) {
        auto* l = cr->add_latency();
        l->set_batch_size(r->batch_size);
        l->set_p50_ms(r->p50_ms.value_or(0));
        l->set_p99_ms(r->p99_ms.value_or(0));
        l->set_throughput_per_s(r->throughput.value_or(0));
        l->set_iterations(r->iterations.value_or(0));
        l->set_p90_ms(r->p90_ms.value_or(0));
        l->set_p999_ms(r->p999_ms.value_or(0));
        l->set_min_ms(r->min_ms.value_or(0));
        l->set_max_ms(r->max_ms.value_or(0));
        l->set_mean_ms(r->mean_ms.value_or(0));
        l->set_median_ci_low_ms(r->median_ci_low_ms.value_or(0));
        l->set_median_ci_high_ms(r->median_ci_high_ms.value_or(0));
        l->set_sessions(r->latency_sessions.value_or(0));
        l->set_median_ci_method(r->latency_method.value_or(""));
        l->mutable_samples_ms()->Add(r->latency_samples_ms.begin(), r->latency_samples_ms.end());
        auto rb = base.find({device, r->batch_size});
        if (rb != base.end() && r->p50_ms && rb->second->p50_ms && *rb->second->p50_ms > 0)
          l->set_ratio_to_fp32(*r->p50_ms / *rb->second->p50_ms);
        if (r->energy_j) energy = r;  // the largest batch with a figure
      }
      if (energy) {
        cr->mutable_energy()->set_source(EnergySourceFrom(energy->energy_source.value_or("")));
        cr->mutable_energy()->set_joules_per_sample(*energy->energy_j);
        cr->mutable_energy()->set_batch_size(energy->batch_size);
        cr->mutable_energy()->set_meter(energy->energy_meter.value_or(""));
      }
    }
    if (oc == outcome.end()) continue;
    QB_ASSIGN_OR_RETURN(std::vector<store::LayerResult> layers, store::ListLayerResults(db, job_id, c.name));
    for (const store::LayerResult& l : layers) {
      auto* lr = out.add_layers();
      lr->set_config(c.name);
      lr->set_node(l.layer);
      lr->set_op_type(l.op_type);
      lr->set_quantized(l.quantized);
      lr->set_weight_bits(l.weight_bits.value_or(0));
      lr->set_activation_bits(l.activation_bits.value_or(0));
      lr->set_sqnr_db(l.sqnr_db.value_or(0));
      lr->set_isolated_sqnr_db(l.isolated_sqnr_db.value_or(0));
      lr->set_isolated_output_sqnr_db(l.isolated_output_sqnr_db.value_or(0));
      lr->set_note(l.note);
      lr->set_rounding(l.rounding);
      lr->set_rounding_seconds(l.rounding_seconds.value_or(0));
      lr->set_rounding_sqnr_db(l.rounding_sqnr_db.value_or(0));
      lr->set_nearest_sqnr_db(l.nearest_sqnr_db.value_or(0));
    }
  }
  return out;
}

}  // namespace qbench::server
