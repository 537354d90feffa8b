#include "spec/quant_config.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "common/json_parse.h"
#include "common/status.h"

namespace qbench::quant {
namespace {

using json = nlohmann::json;

absl::Status FieldError(const std::string& where, const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("job spec: field \"", where, ".", field, "\" ", what));
}

struct Named {
  std::string_view name;
  int value;
};
constexpr Named kScaleNames[] = {{"float", static_cast<int>(ScaleConstraint::kFloat)},
                                 {"power_of_two", static_cast<int>(ScaleConstraint::kPowerOfTwo)},
                                 {"dyadic", static_cast<int>(ScaleConstraint::kDyadic)}};
constexpr Named kWeightMethods[] = {{"minmax", static_cast<int>(WeightMethod::kMinMax)},
                                    {"mse", static_cast<int>(WeightMethod::kMse)}};

template <size_t N>
absl::StatusOr<int> Lookup(const Named (&table)[N], const json& v, const std::string& where, const std::string& field) {
  if (!v.is_string()) return FieldError(where, field, "must be a string");
  std::string options;
  for (const Named& n : table) {
    if (n.name == v.get<std::string>()) return n.value;
    absl::StrAppend(&options, options.empty() ? "" : ", ", std::string(n.name));
  }
  return FieldError(where, field, absl::StrCat("is \"", v.get<std::string>(), "\"; expected one of ", options));
}

absl::StatusOr<CalibMethod> ParseMethod(const json& v, const std::string& where, const std::string& field) {
  if (!v.is_string()) return FieldError(where, field, "must be a string");
  const std::optional<CalibMethod> m = FindCalibMethod(v.get<std::string>());
  if (!m)
    return FieldError(where, field,
                      absl::StrCat("is \"", v.get<std::string>(), "\"; expected minmax, percentile, entropy or mse"));
  return *m;
}

// Read as a wide integer and range-checked before narrowing (4294967304 is not 8).
absl::StatusOr<int> ParseBits(const json& v, const std::string& where, const std::string& field, int lo, int hi) {
  if (!v.is_number_integer()) return FieldError(where, field, "must be an integer");
  auto bits = JsonInteger(v, lo, hi);
  if (!bits.ok()) return FieldError(where, field, absl::StrCat("is ", v.dump(), "; must be in [", lo, ", ", hi, "]"));
  return static_cast<int>(*bits);
}

absl::StatusOr<bool> ParseBool(const json& v, const std::string& where, const std::string& field) {
  if (!v.is_boolean()) return FieldError(where, field, "must be true or false");
  return v.get<bool>();
}

absl::StatusOr<Rounding> ParseRoundingName(const json& v, const std::string& where, const std::string& field) {
  if (!v.is_string()) return FieldError(where, field, "must be a string");
  const RoundingDef* d = FindRounding(v.get<std::string>());
  if (d == nullptr)
    return FieldError(where, field, absl::StrCat("is \"", v.get<std::string>(), "\"; expected nearest, gptq, adaround or block"));
  if (!d->available)
    return FieldError(where, field, absl::StrCat("is \"", std::string(d->name), "\": block reconstruction is not available yet (use gptq or adaround)"));
  return d->method;
}

// "rounding": "gptq", or {"method": "adaround", "iterations": 5000, ...}.
absl::Status ParseRounding(const json& v, const std::string& where, const std::string& field, RoundingOptions* r) {
  if (v.is_string()) {
    QB_ASSIGN_OR_RETURN(r->method, ParseRoundingName(v, where, field));
    return absl::OkStatus();
  }
  if (!v.is_object()) return FieldError(where, field, "must be a method name or an object");
  if (!v.contains("method")) return FieldError(where, field + ".method", "is required");
  for (const auto& [k, x] : v.items()) {
    const std::string f = field + "." + k;
    if (k == "method") {
      QB_ASSIGN_OR_RETURN(r->method, ParseRoundingName(x, where, f));
    } else if (k == "iterations") {
      auto n = JsonInteger(x, 1, 100000);
      if (!x.is_number_integer() || !n.ok()) return FieldError(where, f, "must be an integer in [1, 100000]");
      r->iterations = static_cast<int>(*n);
    } else if (k == "damp" || k == "reg" || k == "learning_rate") {
      if (!x.is_number() || !(x.get<double>() > 0) || !(x.get<double>() <= 10))
        return FieldError(where, f, "must be a number in (0, 10]");
      (k == "damp" ? r->damp : k == "reg" ? r->reg : r->learning_rate) = x.get<double>();
    } else if (k == "act_order") {
      QB_ASSIGN_OR_RETURN(r->act_order, ParseBool(x, where, f));
    } else if (k == "inputs") {
      if (x != "fp32" && x != "quantized") return FieldError(where, f, "must be fp32 or quantized");
      r->quantized_inputs = x == "quantized";
    } else {
      return FieldError(where, f,
                        "is not a known field (method, iterations, damp, act_order, reg, learning_rate, inputs)");
    }
  }
  return absl::OkStatus();
}

absl::Status ParseWeights(const json& j, const std::string& where, WeightSpec* w, RoundingOptions* rounding) {
  if (!j.is_object()) return FieldError(where, "weights", "must be an object");
  for (const auto& [k, v] : j.items()) {
    const std::string f = "weights." + k;
    if (k == "bits") {
      QB_ASSIGN_OR_RETURN(w->bits, ParseBits(v, where, f, 2, 8));
    } else if (k == "granularity") {
      if (v != "per_channel" && v != "per_tensor") return FieldError(where, f, "must be per_channel or per_tensor");
      w->per_channel = v == "per_channel";
    } else if (k == "symmetric") {
      QB_ASSIGN_OR_RETURN(w->symmetric, ParseBool(v, where, f));
    } else if (k == "method") {
      QB_ASSIGN_OR_RETURN(int m, Lookup(kWeightMethods, v, where, f));
      w->method = static_cast<WeightMethod>(m);
    } else if (k == "narrow_range") {
      QB_ASSIGN_OR_RETURN(bool narrow, ParseBool(v, where, f));
      w->narrow_range = narrow;
    } else if (k == "rounding") {
      QB_RETURN_IF_ERROR(ParseRounding(v, where, f, rounding));
    } else {
      return FieldError(where, f, "is not a known field (bits, granularity, symmetric, method, narrow_range, rounding)");
    }
  }
  return absl::OkStatus();
}

absl::Status ParseActivations(const json& j, const std::string& where, ActivationSpec* a) {
  if (!j.is_object()) return FieldError(where, "activations", "must be an object");
  for (const auto& [k, v] : j.items()) {
    const std::string f = "activations." + k;
    if (k == "bits") {
      QB_ASSIGN_OR_RETURN(a->bits, ParseBits(v, where, f, 4, 8));
    } else if (k == "type") {
      if (v != "u8" && v != "s8") return FieldError(where, f, "must be u8 or s8");
      a->is_signed = v == "s8";
    } else if (k == "symmetric") {
      QB_ASSIGN_OR_RETURN(a->symmetric, ParseBool(v, where, f));
    } else if (k == "mode") {
      if (v != "static" && v != "dynamic") return FieldError(where, f, "must be static or dynamic");
      a->dynamic = v == "dynamic";
    } else if (k == "method") {
      QB_ASSIGN_OR_RETURN(a->method, ParseMethod(v, where, f));
    } else if (k == "percentile") {
      if (!v.is_number() || v.get<double>() <= 50 || v.get<double>() > 100)
        return FieldError(where, f, "must be a number in (50, 100]");
      a->percentile = v.get<double>();
    } else {
      return FieldError(where, f, "is not a known field (bits, type, symmetric, mode, method, percentile)");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LayerOverride> ParseOverride(const json& j, const std::string& where) {
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat("job spec: field \"", where, "\" must be an object"));
  LayerOverride o;
  for (const auto& [k, v] : j.items()) {
    if (k == "node" || k == "op_type") {
      if (!v.is_string() || v.get<std::string>().empty()) return FieldError(where, k, "must be a non-empty string");
      (k == "node" ? o.node : o.op_type) = v.get<std::string>();
    } else if (k == "fp32") {
      QB_ASSIGN_OR_RETURN(o.fp32, ParseBool(v, where, k));
    } else if (k == "bf16") {
      QB_ASSIGN_OR_RETURN(o.bf16, ParseBool(v, where, k));
      o.fp32 |= o.bf16;
    } else if (k == "weights") {
      if (!v.is_object()) return FieldError(where, k, "must be an object");
      for (const auto& [wk, wv] : v.items()) {
        if (wk == "bits") {
          QB_ASSIGN_OR_RETURN(int b, ParseBits(wv, where, "weights.bits", 2, 8));
          o.weight_bits = b;
        } else if (wk == "method") {
          QB_ASSIGN_OR_RETURN(int m, Lookup(kWeightMethods, wv, where, "weights.method"));
          o.weight_method = static_cast<WeightMethod>(m);
        } else if (wk == "rounding") {
          QB_ASSIGN_OR_RETURN(Rounding r, ParseRoundingName(wv, where, "weights.rounding"));
          o.rounding = r;
        } else {
          return FieldError(where, "weights." + wk, "is not a known override field (bits, method, rounding)");
        }
      }
    } else if (k == "activations") {
      if (!v.is_object()) return FieldError(where, k, "must be an object");
      for (const auto& [ak, av] : v.items()) {
        if (ak == "bits") {
          QB_ASSIGN_OR_RETURN(int b, ParseBits(av, where, "activations.bits", 4, 8));
          o.activation_bits = b;
        } else if (ak == "method") {
          QB_ASSIGN_OR_RETURN(CalibMethod m, ParseMethod(av, where, "activations.method"));
          o.activation_method = m;
        } else {
          return FieldError(where, "activations." + ak, "is not a known override field (bits, method)");
        }
      }
    } else {
      return FieldError(where, k, "is not a known field (node, op_type, fp32, bf16, weights, activations)");
    }
  }
  if (o.node.empty() == o.op_type.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("job spec: field \"", where, "\" must name exactly one of \"node\" or \"op_type\""));
  return o;
}

}  // namespace

absl::StatusOr<QuantConfig> ConfigFromShortName(const std::string& name) {
  QuantConfig c;
  c.name = name;
  if (name == "fp32") {
    c.precision = Precision::kFp32;
    return c;
  }
  if (name == "bf16") {
    c.precision = Precision::kBf16;
    return c;
  }
  // w<digits>a<digits>[-dynamic], read by hand (at most 3 digits each, so no overflow).
  std::string rest = name;
  constexpr std::string_view kDynamic = "-dynamic";
  c.activations.dynamic = rest.size() > kDynamic.size() && rest.ends_with(kDynamic);
  if (c.activations.dynamic) rest.resize(rest.size() - kDynamic.size());
  auto digits = [&](char tag, int* out) {
    if (rest.empty() || rest[0] != tag) return false;
    size_t n = 1;
    while (n < rest.size() && n <= 3 && std::isdigit(static_cast<unsigned char>(rest[n]))) ++n;
    if (n == 1) return false;
    *out = std::stoi(rest.substr(1, n - 1));
    rest = rest.substr(n);
    return true;
  };
  if (!digits('w', &c.weights.bits) || !digits('a', &c.activations.bits) || !rest.empty())
    return absl::InvalidArgumentError(absl::StrCat("unknown configuration \"", name,
                                                   "\"; short names are fp32, bf16 and w<bits>a<bits>[-dynamic]"));
  if (c.weights.bits < 2 || c.weights.bits > 8)
    return absl::InvalidArgumentError(absl::StrCat("configuration \"", name, "\": weight bits must be in [2, 8]"));
  if (c.activations.bits < 4 || c.activations.bits > 8)
    return absl::InvalidArgumentError(absl::StrCat("configuration \"", name, "\": activation bits must be in [4, 8]"));
  if (c.activations.dynamic && c.activations.bits != 8)
    return absl::InvalidArgumentError(absl::StrCat("configuration \"", name, "\": dynamic activations are 8-bit"));
  return c;
}

absl::StatusOr<QuantConfig> ParseConfig(const json& j, const std::string& where) {
  if (j.is_string()) {
    auto c = ConfigFromShortName(j.get<std::string>());
    if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat("job spec: field \"", where, "\": ", c.status().message()));
    return c;
  }
  if (!j.is_object())
    return absl::InvalidArgumentError(absl::StrCat("job spec: field \"", where, "\" must be a string or an object"));
  if (!j.contains("name") || !j["name"].is_string() || j["name"].get<std::string>().empty())
    return FieldError(where, "name", "is required (a non-empty string)");
  if (j.contains("preset") && !j["preset"].is_string()) return FieldError(where, "preset", "must be a string");
  const std::string preset = j.value("preset", j["name"].get<std::string>());
  auto base = ConfigFromShortName(preset);
  if (!base.ok()) {
    if (j.contains("preset")) return FieldError(where, "preset", std::string(base.status().message()));
    base = ConfigFromShortName("w8a8");
  }
  QuantConfig c = *base;
  c.name = j["name"].get<std::string>();
  for (const auto& [k, v] : j.items()) {
    if (k == "name" || k == "preset") continue;
    if (k == "weights") {
      QB_RETURN_IF_ERROR(ParseWeights(v, where, &c.weights, &c.rounding));
    } else if (k == "activations") {
      QB_RETURN_IF_ERROR(ParseActivations(v, where, &c.activations));
    } else if (k == "scale") {
      QB_ASSIGN_OR_RETURN(int s, Lookup(kScaleNames, v, where, k));
      c.scale = static_cast<ScaleConstraint>(s);
    } else if (k == "dyadic_bits") {
      QB_ASSIGN_OR_RETURN(c.dyadic_bits, ParseBits(v, where, k, 2, 24));
    } else if (k == "calibration") {
      if (!v.is_object()) return FieldError(where, k, "must be an object");
      for (const auto& [ck, cv] : v.items()) {
        if (ck == "samples") {
          auto n = JsonInteger(cv, 1, INT64_MAX);
          if (!cv.is_number_integer() || !n.ok()) return FieldError(where, "calibration.samples", "must be an integer >= 1");
          c.calibration_samples = *n;
        } else if (ck == "seed") {
          if (!cv.is_number_unsigned()) return FieldError(where, "calibration.seed", "must be an integer >= 0");
          c.calibration_seed = cv.get<uint64_t>();
        } else {
          return FieldError(where, "calibration." + ck, "is not a known field (samples, seed)");
        }
      }
    } else if (k == "overrides") {
      if (!v.is_array()) return FieldError(where, k, "must be a list");
      for (size_t i = 0; i < v.size(); ++i) {
        QB_ASSIGN_OR_RETURN(LayerOverride o, ParseOverride(v[i], absl::StrCat(where, ".overrides[", i, "]")));
        c.overrides.push_back(std::move(o));
      }
    } else if (k == "bias_correction" || k == "equalization") {
      QB_ASSIGN_OR_RETURN(bool b, ParseBool(v, where, k));
      (k == "bias_correction" ? c.bias_correction : c.equalization) = b;
    } else {
      return FieldError(where, k,
                        "is not a known field (name, preset, weights, activations, scale, dyadic_bits, calibration, "
                        "overrides, bias_correction, equalization)");
    }
  }
  if (c.activations.dynamic && c.precision == Precision::kInt && c.activations.bits != 8)
    return FieldError(where, "activations.bits", "must be 8 with dynamic activations");
  return c;
}

bool QuantConfig::needs_hessians() const {
  if (precision != Precision::kInt) return false;
  if (RoundingOf(rounding.method).needs_hessian) return true;
  for (const LayerOverride& o : overrides)
    if (o.rounding && RoundingOf(*o.rounding).needs_hessian) return true;
  return false;
}

bool LimitWeightBits(QuantConfig* c, int max_bits) {
  bool changed = false;
  const auto cap = [&](int& bits) {
    if (bits > max_bits) {
      bits = max_bits;
      changed = true;
    }
  };
  cap(c->weights.bits);
  for (LayerOverride& o : c->overrides)
    if (o.weight_bits) cap(*o.weight_bits);
  return changed;
}

json RoundingToJson(const RoundingOptions& r) {
  json j = {{"method", RoundingOf(r.method).name}};
  if (r.method != Rounding::kNearest) j["inputs"] = r.quantized_inputs ? "quantized" : "fp32";
  if (r.method == Rounding::kGptq) {
    j["damp"] = r.damp;
    j["act_order"] = r.act_order;
  } else if (r.method == Rounding::kAdaround) {
    j["iterations"] = r.iterations;
    j["reg"] = r.reg;
    j["learning_rate"] = r.learning_rate;
  }
  return j;
}

json ConfigToJson(const QuantConfig& c) {
  static const char* kPrecision[] = {"fp32", "bf16", "int"};
  json j = {{"name", c.name}, {"precision", kPrecision[static_cast<int>(c.precision)]}};
  if (c.precision != Precision::kInt) return j;
  j["weights"] = {{"bits", c.weights.bits},
                  {"granularity", c.weights.per_channel ? "per_channel" : "per_tensor"},
                  {"symmetric", c.weights.symmetric},
                  {"method", kWeightMethods[static_cast<int>(c.weights.method)].name},
                  {"narrow_range", !c.weights.full_range()},
                  {"rounding", RoundingToJson(c.rounding)}};
  j["activations"] = {{"bits", c.activations.bits},
                      {"type", c.activations.is_signed ? "s8" : "u8"},
                      {"symmetric", c.activations.symmetric},
                      {"mode", c.activations.dynamic ? "dynamic" : "static"}};
  if (!c.activations.dynamic) {
    j["activations"]["method"] = MethodName(c.activations.method);
    if (c.activations.method == CalibMethod::kPercentile) j["activations"]["percentile"] = c.activations.percentile;
  }
  j["scale"] = kScaleNames[static_cast<int>(c.scale)].name;
  if (c.scale == ScaleConstraint::kDyadic) j["dyadic_bits"] = c.dyadic_bits;
  j["bias_correction"] = c.bias_correction;
  j["equalization"] = c.equalization;
  j["overrides"] = json::array();
  for (const LayerOverride& o : c.overrides) {
    json oj;
    if (!o.node.empty()) oj["node"] = o.node;
    if (!o.op_type.empty()) oj["op_type"] = o.op_type;
    if (o.fp32) oj["fp32"] = true;
    if (o.bf16) oj["bf16"] = true;
    if (o.weight_bits) oj["weights"]["bits"] = *o.weight_bits;
    if (o.weight_method) oj["weights"]["method"] = kWeightMethods[static_cast<int>(*o.weight_method)].name;
    if (o.rounding) oj["weights"]["rounding"] = RoundingOf(*o.rounding).name;
    if (o.activation_bits) oj["activations"]["bits"] = *o.activation_bits;
    if (o.activation_method) oj["activations"]["method"] = MethodName(*o.activation_method);
    j["overrides"].push_back(oj);
  }
  return j;
}

}  // namespace qbench::quant
