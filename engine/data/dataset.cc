#include "engine/data/dataset.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/data/dataset_internal.h"
#include "spec/manifest.h"

namespace qbench::data {
namespace internal {

absl::Status CheckIndex(int64_t index, int64_t size) {
  if (index >= 0 && index < size) return absl::OkStatus();
  return absl::OutOfRangeError(absl::StrCat("sample index ", index, " out of range [0, ", size, ")"));
}

}  // namespace internal

namespace {

using Factory = absl::StatusOr<std::unique_ptr<Dataset>> (*)(const Manifest&);

struct FormatFactory {
  DatasetFormat format;
  Factory open;
};

constexpr FormatFactory kFactories[] = {
    {DatasetFormat::kIdx, internal::OpenIdxDataset},
    {DatasetFormat::kNpy, internal::OpenNpyDataset},
    {DatasetFormat::kImageFolder, internal::OpenImageFolderDataset},
    {DatasetFormat::kImageNet, internal::OpenImageNetDataset},
};

// Shared state of one LoadBatch: workers take the next position from `next` and keep
// the failure with the lowest position so the reported error does not depend on timing.
struct BatchJob {
  BatchJob(const Dataset& d, const std::vector<int64_t>& i, float* out, int64_t elems)
      : ds(d), indices(i), dst(out), sample_elems(elems) {}

  const Dataset& ds;
  const std::vector<int64_t>& indices;
  float* dst;
  int64_t sample_elems;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  size_t error_pos = SIZE_MAX;
  absl::Status error;

  void Work() {
    for (size_t pos; !failed.load(std::memory_order_relaxed) && (pos = next.fetch_add(1)) < indices.size();) {
      absl::Status s = ds.Load(indices[pos], dst + static_cast<int64_t>(pos) * sample_elems);
      if (!s.ok()) Fail(pos, s);
    }
  }

  void Fail(size_t pos, const absl::Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    if (pos < error_pos) {
      error_pos = pos;
      const int64_t index = indices[pos];
      const std::string name = index >= 0 && index < ds.size() ? ds.sample_name(index) : "?";
      error = Annotate(s, absl::StrCat("batch position ", pos, ", sample ", index, " (", name, ")"));
    }
    failed.store(true);
  }
};

// A dataset from a manifest that hides paths: every error it returns has the worker's
// folders cut out (ScrubPaths).
class ScrubbedDataset : public Dataset {
 public:
  ScrubbedDataset(std::unique_ptr<Dataset> inner, const Manifest& m) : inner_(std::move(inner)), m_(m) {}
  int64_t size() const override { return inner_->size(); }
  const Shape& sample_shape() const override { return inner_->sample_shape(); }
  int num_classes() const override { return inner_->num_classes(); }
  int label(int64_t index) const override { return inner_->label(index); }
  std::string sample_name(int64_t index) const override { return inner_->sample_name(index); }
  absl::Status Load(int64_t index, float* dst) const override { return ScrubPaths(inner_->Load(index, dst), m_); }

 private:
  std::unique_ptr<Dataset> inner_;
  Manifest m_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Dataset>> OpenDatasetFromManifest(const Manifest& manifest) {
  for (const FormatFactory& f : kFactories) {
    if (f.format != manifest.format) continue;
    absl::StatusOr<std::unique_ptr<Dataset>> ds = f.open(manifest);
    if (!manifest.rules.hide_paths) return ds;
    if (!ds.ok()) return ScrubPaths(ds.status(), manifest);
    return std::unique_ptr<Dataset>(new ScrubbedDataset(*std::move(ds), manifest));
  }
  return absl::InternalError(absl::StrCat(manifest.source, ": no reader for format ", ToAbsl(FormatName(manifest.format))));
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenDataset(const std::string& manifest_path) {
  QB_ASSIGN_OR_RETURN(Manifest m, ReadManifest(manifest_path));
  return OpenDatasetFromManifest(m);
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenDatasetFromJson(const std::string& json_text,
                                                             const std::string& base_dir) {
  QB_ASSIGN_OR_RETURN(Manifest m, ParseManifest(json_text, base_dir, absl::StrCat("<json text, base dir ", base_dir, ">")));
  return OpenDatasetFromManifest(m);
}

absl::StatusOr<Tensor> LoadBatch(const Dataset& ds, const std::vector<int64_t>& indices, int threads) {
  Shape shape = ds.sample_shape();
  shape.insert(shape.begin(), static_cast<int64_t>(indices.size()));
  Tensor batch;
  try {
    batch = Tensor(DType::kF32, shape);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate a batch of shape ", ShapeToString(shape)));
  }
  BatchJob job(ds, indices, batch.data<float>(), NumElements(ds.sample_shape()));
  const size_t workers = std::clamp<size_t>(threads < 1 ? 1 : threads, 1, std::max<size_t>(indices.size(), 1));
  std::vector<std::thread> pool;
  try {
    for (size_t i = 1; i < workers; ++i) pool.emplace_back(&BatchJob::Work, &job);
  } catch (const std::system_error&) {
    // Fewer threads than asked: the ones started and this one still finish the batch.
  }
  job.Work();
  for (std::thread& t : pool) t.join();
  if (job.failed.load()) return job.error;
  return batch;
}

}  // namespace qbench::data
