// JobResults from the store's rows: one ConfigResult per (configuration, device), with
// deltas and latency ratios against the FP32 baseline on the same device and batch size.
#include <map>

#include "common/status.h"
#include "server/store/outcomes.h"
#include "server/store/results.h"
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

}  // namespace

absl::StatusOr<qbench::v1::JobResults> LoadResults(store::Db& db, int64_t job_id) {
  QB_ASSIGN_OR_RETURN(std::vector<store::ConfigName> configs, store::ListConfigNames(db, job_id));
  QB_ASSIGN_OR_RETURN(std::vector<store::ResultRow> rows, store::ListResults(db, job_id));
  QB_ASSIGN_OR_RETURN(std::vector<store::ConfigOutcome> outcomes, store::ListConfigOutcomes(db, job_id));
  std::map<std::string, const store::ConfigOutcome*> outcome;
  for (const auto& o : outcomes) outcome[o.config] = &o;
  std::string baseline;
  for (const auto& c : configs)
    if (c.is_baseline) baseline = c.name;
  // The baseline's rows by (device, batch size).
  std::map<std::pair<std::string, int>, const store::ResultRow*> base;
  for (const auto& r : rows)
    if (r.config == baseline) base[{r.device, r.batch_size}] = &r;

  qbench::v1::JobResults out;
  out.set_job(absl::StrCat("jobs/", job_id));
  for (const store::ConfigName& c : configs) {
    // Rows of this configuration grouped by device (rows come ordered by config, device, batch).
    std::map<std::string, std::vector<const store::ResultRow*>> by_device;
    for (const auto& r : rows)
      if (r.config == c.name) by_device[r.device].push_back(&r);
    auto oc = outcome.find(c.name);
    if (by_device.empty() && oc == outcome.end()) continue;  // not run yet
    if (by_device.empty()) by_device[""];                    // an error without figures
    for (const auto& [device, list] : by_device) {
      auto* cr = out.add_configs();
      cr->set_config(c.name);
      cr->set_device(device);
      if (oc != outcome.end()) {
        cr->set_config_json(oc->second->resolved_json);
        cr->set_error(oc->second->error);
        cr->set_samples(oc->second->samples);
        for (const auto& n : oc->second->notes) cr->add_notes(n);
      }
      if (list.empty()) continue;
      const store::ResultRow& first = *list.front();
      cr->set_top1(first.top1.value_or(0));
      cr->set_top5(first.top5.value_or(0));
      cr->set_agreement_with_fp32(c.name == baseline ? 1.0 : first.agreement.value_or(0));
      cr->set_output_sqnr_db(first.sqnr_db.value_or(0));
      cr->set_model_size_bytes(first.model_bytes.value_or(0));
      auto b = base.find({device, first.batch_size});
      if (b != base.end() && first.top1 && b->second->top1) cr->set_top1_delta_vs_fp32(*first.top1 - *b->second->top1);
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
    }
  }
  return out;
}

}  // namespace qbench::server
