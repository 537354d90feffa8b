// Typed readers of job spec fields, shared by every parser of the spec (job_spec.cc,
// spec/search_spec.cc): a present field of the wrong type or out of range is an error
// naming it with its parent ("latency.min_iters"), and a value above a configurable job
// limit names that limit too. Numbers are range-checked in the widest type before they
// are narrowed (json_parse.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/json_parse.h"

namespace qbench {

inline absl::Status SpecFieldError(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("job spec: field \"", field, "\" ", what));
}

// Every key of `obj` must be one of `known`; `field` names the object ("" at the top).
inline absl::Status CheckSpecKeys(const nlohmann::json& obj, const std::string& field,
                                  std::initializer_list<const char*> known) {
  if (!obj.is_object()) return SpecFieldError(field, "must be an object");
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) absl::StrAppend(&list, list.empty() ? "" : ", ", k);
      return SpecFieldError(field.empty() ? key : absl::StrCat(field, ".", key),
                            absl::StrCat("is not a known field (", list, ")"));
    }
  }
  return absl::OkStatus();
}

// Readers of the optional field `key` of object `j`; `parent` prefixes names in errors
// ("latency."). Absent fields leave *out as it was (the default).
class SpecReader {
 public:
  SpecReader(const nlohmann::json& j, std::string parent) : j_(j), parent_(std::move(parent)) {}

  absl::Status String(const char* key, std::string* out) const {
    const nlohmann::json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_string()) return SpecFieldError(parent_ + key, "must be a string");
    *out = v->get<std::string>();
    return absl::OkStatus();
  }
  absl::Status Bool(const char* key, bool* out) const {
    const nlohmann::json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_boolean()) return SpecFieldError(parent_ + key, "must be true or false");
    *out = v->get<bool>();
    return absl::OkStatus();
  }
  // An integer in [lo, hi]; `limit` names the JobSpecLimits entry that hi comes from.
  template <typename Int>
  absl::Status Integer(const char* key, int64_t lo, int64_t hi, Int* out, const char* limit = nullptr) const {
    const nlohmann::json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    auto x = JsonInteger(*v, lo, hi);
    if (!x.ok()) return RangeError(key, *v, static_cast<double>(hi), limit, x.status());
    *out = static_cast<Int>(*x);
    return absl::OkStatus();
  }
  absl::Status Unsigned(const char* key, uint64_t* out) const {
    const nlohmann::json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    auto x = JsonUnsigned(*v);
    if (!x.ok()) return SpecFieldError(parent_ + key, std::string(x.status().message()));
    *out = *x;
    return absl::OkStatus();
  }
  absl::Status Number(const char* key, double lo, double hi, double* out, const char* limit = nullptr) const {
    const nlohmann::json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    auto x = JsonNumber(*v, lo, hi);
    if (!x.ok()) return RangeError(key, *v, hi, limit, x.status());
    *out = *x;
    return absl::OkStatus();
  }

  absl::Status RangeError(const std::string& key, const nlohmann::json& v, double hi, const char* limit,
                          const absl::Status& s) const {
    if (limit != nullptr && v.is_number() && v.get<double>() > hi)
      return SpecFieldError(parent_ + key, absl::StrCat("is ", v.dump(), ", above the job limit \"", limit, "\" of ",
                                                        hi == std::floor(hi) && hi < 9e15 ? absl::StrCat(int64_t(hi))
                                                                                          : absl::StrCat(hi)));
    return SpecFieldError(parent_ + key, std::string(s.message()));
  }

 private:
  const nlohmann::json* Find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  const nlohmann::json& j_;
  std::string parent_;
};

}  // namespace qbench
