// Node attributes: a typed map, read through accessors that check kind and record use.
//
// Every accessor call marks the attribute as consumed, so the importer can report an
// attribute that no part of the engine understands instead of silently ignoring it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/core/tensor.h"

namespace qbench {

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>, Tensor>;

class Attributes {
 public:
  void Set(const std::string& name, AttrValue v) { values_[name] = std::move(v); }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  void Erase(const std::string& name) { values_.erase(name); }
  const std::map<std::string, AttrValue>& all() const { return values_; }

  // Typed reads with a default for absent attributes. A present attribute of another
  // kind is an error naming the attribute.
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t def) const;
  absl::StatusOr<float> GetFloat(const std::string& name, float def) const;
  absl::StatusOr<std::string> GetString(const std::string& name, const std::string& def) const;
  absl::StatusOr<std::vector<int64_t>> GetInts(const std::string& name,
                                               const std::vector<int64_t>& def = {}) const;
  absl::StatusOr<std::vector<float>> GetFloats(const std::string& name,
                                               const std::vector<float>& def = {}) const;
  absl::StatusOr<Tensor> GetTensor(const std::string& name) const;

 private:
  std::map<std::string, AttrValue> values_;
};

}  // namespace qbench
