// The "idx" format: MNIST-style image and label files, read whole at open.
// Each sample is a rows x cols single-channel uint8 image fed through the same
// preprocessing as decoded images (so resize, channels 3, mean/std all apply).
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/data/dataset_internal.h"
#include "engine/data/idx.h"
#include "engine/data/preprocess.h"

namespace qbench::data::internal {
namespace {

class IdxDataset : public Dataset {
 public:
  IdxDataset(IdxArray images, std::vector<int> labels, int64_t size, const PreprocessConfig& config)
      : images_(std::move(images)), labels_(std::move(labels)), size_(size), preprocessor_(config) {
    rows_ = static_cast<int>(images_.dims[1]);
    cols_ = static_cast<int>(images_.dims[2]);
    shape_ = preprocessor_.OutputShape({rows_, cols_});
    num_classes_ = labels_.empty() ? 0 : *std::max_element(labels_.begin(), labels_.end()) + 1;
  }

  int64_t size() const override { return size_; }
  const Shape& sample_shape() const override { return shape_; }
  int num_classes() const override { return num_classes_; }
  int label(int64_t index) const override { return labels_[index]; }
  std::string sample_name(int64_t index) const override { return absl::StrCat("idx:", index); }

  absl::Status Load(int64_t index, float* dst) const override {
    QB_RETURN_IF_ERROR(CheckIndex(index, size_));
    Image img(cols_, rows_, 1);
    const size_t n = img.pixels.size();
    std::memcpy(img.pixels.data(), images_.data.data() + static_cast<size_t>(index) * n, n);
    preprocessor_.Run(img, dst);
    return absl::OkStatus();
  }

 private:
  IdxArray images_;
  std::vector<int> labels_;
  int64_t size_;
  Preprocessor preprocessor_;
  int rows_ = 0, cols_ = 0;
  Shape shape_;
  int num_classes_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Dataset>> OpenIdxDataset(const Manifest& m) {
  QB_ASSIGN_OR_RETURN(IdxArray images, ReadIdx(m.images, 3));
  QB_ASSIGN_OR_RETURN(IdxArray labels, ReadIdx(m.labels, 1));
  if (images.dims[0] != labels.dims[0])
    return absl::InvalidArgumentError(absl::StrCat(m.source, ": images ", m.images, " has ", images.dims[0],
                                                   " samples but labels ", m.labels, " has ", labels.dims[0]));
  if (images.dims[0] == 0) return absl::InvalidArgumentError(absl::StrCat(m.source, ": ", m.images, " has no samples"));
  if (images.dims[1] == 0 || images.dims[2] == 0 || images.dims[1] > (1 << 16) || images.dims[2] > (1 << 16))
    return absl::InvalidArgumentError(absl::StrCat(m.source, ": ", m.images, " has unsupported image size ",
                                                   images.dims[1], "x", images.dims[2]));
  const int64_t size = ApplyLimit(images.dims[0], m.limit);
  std::vector<int> label_values(labels.data.begin(), labels.data.begin() + size);
  // Drop the samples past the limit now; the dataset never reads them.
  images.data.resize(static_cast<size_t>(size) * images.dims[1] * images.dims[2]);
  return std::unique_ptr<Dataset>(new IdxDataset(std::move(images), std::move(label_values), size, m.preprocess));
}

}  // namespace qbench::data::internal
