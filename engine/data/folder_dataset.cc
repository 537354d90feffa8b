// Datasets of image files decoded lazily, one per Load():
//   image_folder: root/<class name>/<file>, classes listed in index order in `labels`;
//                 order: class index, then file name.
//   imagenet:     root/<wnid>_<anything>.<ext>, class index = line of <wnid> in the
//                 synset list `labels`; order: file name.
// Files whose extension is not an image extension (jpg, jpeg, png, any case) are skipped,
// as torchvision's ImageFolder does.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/data/dataset_internal.h"
#include "engine/data/file_util.h"
#include "engine/data/image_decode.h"
#include "spec/path_util.h"
#include "engine/data/preprocess.h"

namespace qbench::data::internal {
namespace {

struct ImageEntry {
  std::string path;  // absolute or manifest-relative resolved path
  std::string name;  // relative to root, reported by sample_name()
  int label = 0;
};

class ImageFileDataset : public Dataset {
 public:
  ImageFileDataset(std::vector<ImageEntry> entries, int num_classes, const PreprocessConfig& config)
      : entries_(std::move(entries)), num_classes_(num_classes), preprocessor_(config) {}

  // The sample shape is fixed by resize/center_crop; without them every image must have
  // the size of the first one, which is decoded here to learn it.
  absl::Status Init() {
    if (preprocessor_.has_fixed_size()) {
      shape_ = preprocessor_.OutputShape({1, 1});
      return absl::OkStatus();
    }
    QB_ASSIGN_OR_RETURN(Image first, DecodeImageFile(entries_[0].path));
    shape_ = preprocessor_.OutputShape({first.height, first.width});
    return absl::OkStatus();
  }

  int64_t size() const override { return static_cast<int64_t>(entries_.size()); }
  const Shape& sample_shape() const override { return shape_; }
  int num_classes() const override { return num_classes_; }
  int label(int64_t index) const override { return entries_[index].label; }
  std::string sample_name(int64_t index) const override { return entries_[index].name; }

  absl::Status Load(int64_t index, float* dst) const override {
    QB_RETURN_IF_ERROR(CheckIndex(index, size()));
    const ImageEntry& e = entries_[index];
    QB_ASSIGN_OR_RETURN(Image img, DecodeImageFile(e.path));
    const Shape shape = preprocessor_.OutputShape({img.height, img.width});
    if (shape != shape_)
      return absl::InvalidArgumentError(absl::StrCat(
          e.path, ": a ", img.width, "x", img.height, " image gives samples of shape ", ShapeToString(shape),
          " but the dataset's is ", ShapeToString(shape_), " (set preprocess.resize or preprocess.center_crop)"));
    preprocessor_.Run(img, dst);
    return absl::OkStatus();
  }

 private:
  std::vector<ImageEntry> entries_;
  int num_classes_;
  Preprocessor preprocessor_;
  Shape shape_;
};

bool IsImageFile(const DirEntry& e) {
  if (e.is_dir) return false;
  std::string ext = std::filesystem::path(e.name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// name -> 0-based line index; a repeated name is an error naming both lines.
absl::StatusOr<std::map<std::string, int>> IndexNames(const std::vector<std::string>& names,
                                                      const std::string& path) {
  std::map<std::string, int> index;
  for (size_t i = 0; i < names.size(); ++i) {
    auto [it, inserted] = index.emplace(names[i], static_cast<int>(i));
    if (!inserted)
      return absl::InvalidArgumentError(absl::StrCat(path, ": \"", names[i], "\" is on both line ", it->second + 1,
                                                     " and line ", i + 1));
  }
  return index;
}

absl::StatusOr<std::unique_ptr<Dataset>> Finish(std::vector<ImageEntry> entries, int num_classes,
                                                const Manifest& m) {
  // Confined manifests: every image must really be inside the roots (a symlink in a
  // shared folder must not lead out of it). Reads then use the checked real path.
  if (!m.rules.roots.empty()) {
    for (ImageEntry& e : entries) {
      absl::StatusOr<std::string> real = ResolveInsideRoots(e.path, m.rules.roots, "image");
      if (!real.ok())
        return absl::PermissionDeniedError(
            absl::StrCat(m.source, ": image ", e.name, " is outside the dataset's folder or cannot be resolved"));
      e.path = *std::move(real);
    }
  }
  if (entries.empty())
    return absl::InvalidArgumentError(absl::StrCat(m.source, ": no .jpg/.jpeg/.png images found under root ", m.root));
  entries.resize(ApplyLimit(static_cast<int64_t>(entries.size()), m.limit));
  auto ds = std::make_unique<ImageFileDataset>(std::move(entries), num_classes, m.preprocess);
  absl::Status s = ds->Init();
  if (!s.ok()) return Annotate(s, m.source);
  return std::unique_ptr<Dataset>(std::move(ds));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Dataset>> OpenImageFolderDataset(const Manifest& m) {
  QB_ASSIGN_OR_RETURN(std::vector<std::string> classes, ReadNonEmptyLines(m.labels));
  QB_ASSIGN_OR_RETURN(auto class_index, IndexNames(classes, m.labels));
  QB_ASSIGN_OR_RETURN(std::vector<DirEntry> top, ListDir(m.root));
  // A sub-folder missing from the class list means the list is the wrong one. A class
  // without a folder is fine: a subset keeps the full list so indices stay the model's.
  for (const DirEntry& d : top) {
    if (d.is_dir && !class_index.count(d.name))
      return absl::InvalidArgumentError(absl::StrCat(m.source, ": sub-folder \"", d.name, "\" of root ", m.root,
                                                     " is not a class in labels ", m.labels));
  }
  std::vector<ImageEntry> entries;
  for (size_t c = 0; c < classes.size(); ++c) {
    const std::filesystem::path dir = std::filesystem::path(m.root) / classes[c];
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    QB_ASSIGN_OR_RETURN(std::vector<DirEntry> files, ListDir(dir.string()));
    for (const DirEntry& f : files) {
      if (!IsImageFile(f)) continue;
      entries.push_back({(dir / f.name).string(), classes[c] + "/" + f.name, static_cast<int>(c)});
    }
  }
  return Finish(std::move(entries), static_cast<int>(classes.size()), m);
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenImageNetDataset(const Manifest& m) {
  QB_ASSIGN_OR_RETURN(std::vector<std::string> lines, ReadNonEmptyLines(m.labels));
  std::vector<std::string> wnids;
  for (const std::string& line : lines) wnids.push_back(line.substr(0, line.find_first_of(" \t")));
  QB_ASSIGN_OR_RETURN(auto wnid_index, IndexNames(wnids, m.labels));
  QB_ASSIGN_OR_RETURN(std::vector<DirEntry> files, ListDir(m.root));
  std::vector<ImageEntry> entries;
  for (const DirEntry& f : files) {
    if (!IsImageFile(f)) continue;
    const size_t underscore = f.name.find('_');
    auto it = underscore == std::string::npos ? wnid_index.end() : wnid_index.find(f.name.substr(0, underscore));
    if (it == wnid_index.end())
      return absl::InvalidArgumentError(absl::StrCat(m.source, ": file ", m.root, "/", f.name,
                                                     " is not named <wnid>_*.JPEG with a wnid from ", m.labels));
    entries.push_back({(std::filesystem::path(m.root) / f.name).string(), f.name, it->second});
  }
  return Finish(std::move(entries), static_cast<int>(wnids.size()), m);
}

}  // namespace qbench::data::internal
