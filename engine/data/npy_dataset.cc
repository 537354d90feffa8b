// The "npy" format: samples stored ready-made in one array [N, ...] (float32 or uint8)
// with labels [N] (int64, int32 or uint8), both read whole at open.
//
// No geometry is applied; each value becomes (x * scale - mean[c]) / std[c], c being its
// index along the channel axis (sample axis 0 for nchw, the last axis for nhwc) when a
// sample has rank 3, else 0 (one channel). scale defaults to 1 for float32 arrays and
// 1/255 for uint8 ones.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/data/dataset_internal.h"
#include "engine/data/npy.h"

namespace qbench::data::internal {
namespace {

class NpyDataset : public Dataset {
 public:
  NpyDataset(Tensor images, std::vector<int> labels, int64_t size, double scale, std::vector<double> mean,
             std::vector<double> std, int64_t channel_stride, int channels)
      : images_(std::move(images)), labels_(std::move(labels)), size_(size), scale_(scale),
        mean_(std::move(mean)), std_(std::move(std)), channel_stride_(channel_stride), channels_(channels) {
    shape_.assign(images_.shape().begin() + 1, images_.shape().end());
    num_classes_ = *std::max_element(labels_.begin(), labels_.end()) + 1;
  }

  int64_t size() const override { return size_; }
  const Shape& sample_shape() const override { return shape_; }
  int num_classes() const override { return num_classes_; }
  int label(int64_t index) const override { return labels_[index]; }
  std::string sample_name(int64_t index) const override { return absl::StrCat("npy:", index); }

  absl::Status Load(int64_t index, float* dst) const override {
    QB_RETURN_IF_ERROR(CheckIndex(index, size_));
    const int64_t n = NumElements(shape_);
    if (images_.dtype() == DType::kF32) Transform(images_.data<float>() + index * n, n, dst);
    else Transform(images_.data<uint8_t>() + index * n, n, dst);
    return absl::OkStatus();
  }

 private:
  template <class T>
  void Transform(const T* src, int64_t n, float* dst) const {
    for (int64_t i = 0; i < n; ++i) {
      const int c = static_cast<int>((i / channel_stride_) % channels_);
      const double mean = mean_.empty() ? 0.0 : mean_[c];
      const double std = std_.empty() ? 1.0 : std_[c];
      dst[i] = static_cast<float>((static_cast<double>(src[i]) * scale_ - mean) / std);
    }
  }

  Tensor images_;
  std::vector<int> labels_;
  int64_t size_;
  double scale_;
  std::vector<double> mean_, std_;
  int64_t channel_stride_;  // elements between consecutive channels of one sample
  int channels_;
  Shape shape_;
  int num_classes_ = 0;
};

// Reads labels of any supported integer dtype as int, rejecting negatives.
absl::StatusOr<std::vector<int>> LabelsFrom(const Tensor& t, const Manifest& m) {
  std::vector<int> out(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    int64_t v = 0;
    if (t.dtype() == DType::kS64) v = t.data<int64_t>()[i];
    else if (t.dtype() == DType::kS32) v = t.data<int32_t>()[i];
    else if (t.dtype() == DType::kU8) v = t.data<uint8_t>()[i];
    else return absl::InvalidArgumentError(absl::StrCat(m.source, ": labels ", m.labels, " has dtype ",
                                                        ToAbsl(Name(t.dtype())), ", expected int64, int32 or uint8"));
    if (v < 0 || v > (1 << 24))
      return absl::InvalidArgumentError(absl::StrCat(m.source, ": labels ", m.labels, "[", i, "] = ", v,
                                                     " is not a class index"));
    out[i] = static_cast<int>(v);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Dataset>> OpenNpyDataset(const Manifest& m) {
  QB_ASSIGN_OR_RETURN(Tensor images, ReadNpy(m.images));
  QB_ASSIGN_OR_RETURN(Tensor labels, ReadNpy(m.labels));
  if (images.dtype() != DType::kF32 && images.dtype() != DType::kU8)
    return absl::InvalidArgumentError(absl::StrCat(m.source, ": images ", m.images, " has dtype ",
                                                   ToAbsl(Name(images.dtype())), ", expected float32 or uint8"));
  if (images.rank() < 2)
    return absl::InvalidArgumentError(absl::StrCat(m.source, ": images ", m.images, " has shape ",
                                                   ShapeToString(images.shape()), ", expected [N, ...]"));
  if (labels.rank() != 1 || labels.dim(0) != images.dim(0))
    return absl::InvalidArgumentError(absl::StrCat(m.source, ": labels ", m.labels, " has shape ",
                                                   ShapeToString(labels.shape()), ", expected [", images.dim(0), "]"));
  if (images.dim(0) == 0) return absl::InvalidArgumentError(absl::StrCat(m.source, ": ", m.images, " has no samples"));
  QB_ASSIGN_OR_RETURN(std::vector<int> label_values, LabelsFrom(labels, m));

  // Channel axis for mean/std: rank-3 samples have one, anything else is one channel.
  const PreprocessConfig& pre = m.preprocess;
  int channels = 1;
  int64_t channel_stride = 1;
  if (images.rank() == 4) {
    const bool nchw = pre.layout == Layout::kNchw;
    channels = static_cast<int>(images.dim(nchw ? 1 : 3));
    channel_stride = nchw ? images.dim(2) * images.dim(3) : 1;
  }
  for (const auto& [field, values] : {std::pair{"preprocess.mean", &pre.mean}, std::pair{"preprocess.std", &pre.std}}) {
    if (!values->empty() && static_cast<int>(values->size()) != channels)
      return m.FieldError(field, absl::StrCat("must have ", channels, " values (channel axis of ", m.images,
                                              " with shape ", ShapeToString(images.shape()), "), got ",
                                              values->size()));
  }
  const double scale = m.scale_given ? pre.scale : images.dtype() == DType::kU8 ? 1.0 / 255 : 1.0;
  const int64_t size = ApplyLimit(images.dim(0), m.limit);
  label_values.resize(size);
  return std::unique_ptr<Dataset>(new NpyDataset(std::move(images), std::move(label_values), size, scale, pre.mean,
                                                 pre.std, channel_stride, channels));
}

}  // namespace qbench::data::internal
