#include "engine/ops/op_table.h"

#include <vector>

namespace qbench {
namespace {

const std::vector<const OpDef*>& Table() {
  static const std::vector<const OpDef*>* table = [] {
    auto* t = new std::vector<const OpDef*>();
    for (auto family : {CoreOps(), NnOps(), TensorOps(), QuantOps()}) t->insert(t->end(), family.begin(), family.end());
    return t;
  }();
  return *table;
}

}  // namespace

const OpDef* FindOp(std::string_view op_type) {
  for (const OpDef* d : Table())
    if (d->op_type == op_type) return d;
  return nullptr;
}

std::span<const OpDef* const> AllOps() { return Table(); }

}  // namespace qbench
