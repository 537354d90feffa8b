#include "engine/graph/attributes.h"

#include "absl/strings/str_cat.h"

namespace qbench {
namespace {

template <class T>
absl::StatusOr<T> Get(const std::map<std::string, AttrValue>& m, const std::string& name, const T& def,
                      const char* kind) {
  auto it = m.find(name);
  if (it == m.end()) return def;
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return absl::InvalidArgumentError(absl::StrCat("attribute \"", name, "\" must be ", kind));
}

}  // namespace

absl::StatusOr<int64_t> Attributes::GetInt(const std::string& name, int64_t def) const {
  return Get<int64_t>(values_, name, def, "an int");
}

absl::StatusOr<float> Attributes::GetFloat(const std::string& name, float def) const {
  // ONNX writers sometimes store a float attribute as an int (e.g. alpha=0): accept it.
  auto it = values_.find(name);
  if (it != values_.end())
    if (const int64_t* i = std::get_if<int64_t>(&it->second)) return static_cast<float>(*i);
  return Get<float>(values_, name, def, "a float");
}

absl::StatusOr<std::string> Attributes::GetString(const std::string& name, const std::string& def) const {
  return Get<std::string>(values_, name, def, "a string");
}

absl::StatusOr<std::vector<int64_t>> Attributes::GetInts(const std::string& name,
                                                         const std::vector<int64_t>& def) const {
  return Get<std::vector<int64_t>>(values_, name, def, "a list of ints");
}

absl::StatusOr<std::vector<float>> Attributes::GetFloats(const std::string& name,
                                                         const std::vector<float>& def) const {
  return Get<std::vector<float>>(values_, name, def, "a list of floats");
}

absl::StatusOr<Tensor> Attributes::GetTensor(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return absl::InvalidArgumentError(absl::StrCat("attribute \"", name, "\" is missing"));
  if (const Tensor* t = std::get_if<Tensor>(&it->second)) return *t;
  return absl::InvalidArgumentError(absl::StrCat("attribute \"", name, "\" must be a tensor"));
}

}  // namespace qbench
