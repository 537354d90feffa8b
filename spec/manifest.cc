#include "spec/manifest.h"

#include <cmath>
#include <filesystem>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "spec/file_read.h"
#include "spec/path_util.h"

namespace qbench::data {
namespace {

using Json = nlohmann::json;

// What each format reads. "labels" is required by all of them.
struct FormatSpec {
  std::string_view name;
  DatasetFormat format;
  bool uses_images;      // "images" required; otherwise it is an error to give it
  bool uses_root;        // "root" required; likewise
  int default_channels;  // 0: not decoded images (npy): no image preprocessing
};

constexpr FormatSpec kFormatSpecs[] = {
    {"idx", DatasetFormat::kIdx, true, false, 1},
    {"image_folder", DatasetFormat::kImageFolder, false, true, 3},
    {"imagenet", DatasetFormat::kImageNet, false, true, 3},
    {"npy", DatasetFormat::kNpy, true, false, 0},
};

constexpr std::string_view kTopKeys[] = {"name", "format", "images", "labels", "root", "limit", "preprocess"};
constexpr std::string_view kImageKeys[] = {"resize_shorter", "resize", "center_crop", "channels", "scale",
                                           "mean", "std", "channel_order", "layout"};
constexpr std::string_view kArrayKeys[] = {"scale", "mean", "std", "layout"};  // npy

template <class E>
struct EnumName {
  std::string_view name;
  E value;
};
constexpr EnumName<ChannelOrder> kChannelOrders[] = {{"rgb", ChannelOrder::kRgb}, {"bgr", ChannelOrder::kBgr}};
constexpr EnumName<Layout> kLayouts[] = {{"nchw", Layout::kNchw}, {"nhwc", Layout::kNhwc}};

constexpr int64_t kMaxImageSide = 1 << 16;

std::string JoinNames(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) absl::StrAppend(&out, out.empty() ? "" : ", ", ToAbsl(n));
  return out;
}

constexpr size_t kMaxManifestBytes = 1 << 20;
constexpr int kMaxDepth = 16;  // manifests nest 2 levels; deep nesting is an attack on dump()

// A value for an error message: scalars as written (strings cut at 64 bytes), arrays and
// objects by type, so a message never carries a large or deeply nested document.
std::string Describe(const Json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    return s.size() <= 64 ? v.dump() : "a string of " + std::to_string(s.size()) + " bytes";
  }
  if (v.is_array() || v.is_object()) return absl::StrCat("an ", v.type_name(), " of ", v.size(), " elements");
  return v.dump();
}

// Thrown from the parse callback to stop at kMaxDepth (nlohmann has no depth limit).
struct TooDeep {};

// Typed accessors that turn every shape or type mistake into an error naming the field.
class FieldParser {
 public:
  FieldParser(const Manifest& m, std::string base_dir, const ManifestRules& rules)
      : m_(m), base_dir_(std::move(base_dir)), rules_(rules) {}

  absl::Status CheckKeys(const Json& obj, std::span<const std::string_view> known, std::string_view prefix,
                         std::string_view why_unknown = "") const {
    for (const auto& [key, value] : obj.items()) {
      bool found = false;
      for (std::string_view k : known) found = found || k == key;
      if (!found) {
        const std::string field = absl::StrCat(ToAbsl(prefix), key);
        return m_.FieldError(field, why_unknown.empty()
                                        ? absl::StrCat("is not a known key (known: ", JoinNames(known), ")")
                                        : why_unknown);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> String(const Json& v, std::string_view field) const {
    if (!v.is_string()) return m_.FieldError(field, absl::StrCat("must be a string, got ", v.type_name()));
    return v.get<std::string>();
  }

  // An integer in [1, max].
  absl::StatusOr<int64_t> PositiveInt(const Json& v, std::string_view field, int64_t max) const {
    if (!v.is_number_integer())
      return m_.FieldError(field, absl::StrCat("must be a positive integer, got ", Describe(v)));
    if (v.is_number_unsigned() ? (v.get<uint64_t>() == 0 || v.get<uint64_t>() > static_cast<uint64_t>(max))
                               : (v.get<int64_t>() < 1 || v.get<int64_t>() > max))
      return m_.FieldError(field, absl::StrCat("must be in 1..", max, ", got ", Describe(v)));
    return v.get<int64_t>();
  }

  absl::StatusOr<double> Number(const Json& v, std::string_view field) const {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      return m_.FieldError(field, absl::StrCat("must be a finite number, got ", Describe(v)));
    return v.get<double>();
  }

  absl::StatusOr<std::vector<double>> Numbers(const Json& v, std::string_view field) const {
    if (!v.is_array()) return m_.FieldError(field, absl::StrCat("must be an array of numbers, got ", Describe(v)));
    std::vector<double> out;
    for (size_t i = 0; i < v.size(); ++i) {
      QB_ASSIGN_OR_RETURN(double x, Number(v[i], absl::StrCat(ToAbsl(field), "[", i, "]")));
      out.push_back(x);
    }
    return out;
  }

  // [H, W], or a single integer S meaning S x S when allow_square.
  absl::StatusOr<Size> ImageSize(const Json& v, std::string_view field, bool allow_square) const {
    if (allow_square && v.is_number()) {
      QB_ASSIGN_OR_RETURN(int64_t s, PositiveInt(v, field, kMaxImageSide));
      return Size{static_cast<int>(s), static_cast<int>(s)};
    }
    if (!v.is_array() || v.size() != 2)
      return m_.FieldError(field, absl::StrCat("must be [height, width]", allow_square ? " or one integer" : "",
                                               ", got ", Describe(v)));
    QB_ASSIGN_OR_RETURN(int64_t h, PositiveInt(v[0], absl::StrCat(ToAbsl(field), "[0]"), kMaxImageSide));
    QB_ASSIGN_OR_RETURN(int64_t w, PositiveInt(v[1], absl::StrCat(ToAbsl(field), "[1]"), kMaxImageSide));
    return Size{static_cast<int>(h), static_cast<int>(w)};
  }

  template <class E, size_t N>
  absl::StatusOr<E> Enum(const Json& v, std::string_view field, const EnumName<E> (&table)[N]) const {
    QB_ASSIGN_OR_RETURN(std::string s, String(v, field));
    std::vector<std::string_view> names;
    for (const auto& e : table) {
      if (e.name == s) return e.value;
      names.push_back(e.name);
    }
    return m_.FieldError(field, absl::StrCat("must be one of ", JoinNames(names), ", got ", Describe(v)));
  }

  // Expands ${VAR} (trusted manifests only) and resolves against the manifest directory;
  // under confining rules, the real path, which must lie inside the rules' roots.
  absl::StatusOr<std::string> Path(const Json& v, std::string_view field) const {
    QB_ASSIGN_OR_RETURN(std::string raw, String(v, field));
    if (raw.empty()) return m_.FieldError(field, "must not be empty");
    if (raw.size() > 4096) return m_.FieldError(field, "is longer than 4096 bytes");
    if (raw.find('\0') != std::string::npos) return m_.FieldError(field, "must not contain NUL");
    std::string expanded = raw;
    if (rules_.expand_env) {
      absl::StatusOr<std::string> e = ExpandEnvVars(raw);
      if (!e.ok()) return m_.FieldError(field, absl::StrCat("has a bad path: ", e.status().message()));
      expanded = *std::move(e);
    } else if (raw.find("${") != std::string::npos) {
      return m_.FieldError(field, "uses ${...}: environment variables are not expanded in uploaded or shared "
                                  "manifests (use a path relative to the manifest)");
    }
    std::string resolved = ResolvePath(expanded, base_dir_);
    if (rules_.roots.empty()) return resolved;
    absl::StatusOr<std::string> real = ResolveInsideRoots(resolved, rules_.roots, "path");
    if (real.ok()) return real;
    if (real.status().code() == absl::StatusCode::kPermissionDenied)
      return absl::PermissionDeniedError(absl::StrCat(
          m_.source, ": field \"", ToAbsl(field), "\" names a file outside the dataset's folder (an archive's manifest "
          "may only name files inside the archive)"));
    return absl::Status(real.status().code(), absl::StrCat(m_.source, ": field \"", ToAbsl(field),
                                                          "\" names a file that does not exist"));
  }

 private:
  const Manifest& m_;
  std::string base_dir_;
  const ManifestRules& rules_;
};

absl::Status ParsePreprocess(const Json& pre, const FormatSpec& spec, const FieldParser& p, Manifest& m) {
  PreprocessConfig& c = m.preprocess;
  c.channels = spec.default_channels;
  if (pre.is_null()) return absl::OkStatus();
  if (!pre.is_object()) return m.FieldError("preprocess", "must be an object");
  if (spec.default_channels == 0) {
    QB_RETURN_IF_ERROR(p.CheckKeys(pre, kArrayKeys, "preprocess.",
                                   absl::StrCat("is not supported for format \"", ToAbsl(spec.name),
                                                "\" (its samples are used as stored; only scale, mean, std "
                                                "and layout apply)")));
  } else {
    QB_RETURN_IF_ERROR(p.CheckKeys(pre, kImageKeys, "preprocess."));
  }

  if (pre.contains("resize_shorter") && pre.contains("resize"))
    return m.FieldError("preprocess.resize", "cannot be combined with \"preprocess.resize_shorter\"");
  if (pre.contains("resize_shorter")) {
    QB_ASSIGN_OR_RETURN(int64_t s, p.PositiveInt(pre["resize_shorter"], "preprocess.resize_shorter", kMaxImageSide));
    c.resize_shorter = static_cast<int>(s);
  }
  if (pre.contains("resize")) {
    QB_ASSIGN_OR_RETURN(c.resize, p.ImageSize(pre["resize"], "preprocess.resize", false));
  }
  if (pre.contains("center_crop")) {
    QB_ASSIGN_OR_RETURN(c.center_crop, p.ImageSize(pre["center_crop"], "preprocess.center_crop", true));
  }
  if (pre.contains("channels")) {
    const Json& v = pre["channels"];
    if (!v.is_number_integer() || (v.get<int64_t>() != 1 && v.get<int64_t>() != 3))
      return m.FieldError("preprocess.channels", absl::StrCat("must be 1 or 3, got ", Describe(v)));
    c.channels = v.get<int>();
  }
  if (pre.contains("scale")) {
    QB_ASSIGN_OR_RETURN(c.scale, p.Number(pre["scale"], "preprocess.scale"));
    m.scale_given = true;
  }
  if (pre.contains("channel_order")) {
    QB_ASSIGN_OR_RETURN(c.channel_order, p.Enum(pre["channel_order"], "preprocess.channel_order", kChannelOrders));
  }
  if (pre.contains("layout")) {
    QB_ASSIGN_OR_RETURN(c.layout, p.Enum(pre["layout"], "preprocess.layout", kLayouts));
  }
  if (pre.contains("mean")) {
    QB_ASSIGN_OR_RETURN(c.mean, p.Numbers(pre["mean"], "preprocess.mean"));
  }
  if (pre.contains("std")) {
    QB_ASSIGN_OR_RETURN(c.std, p.Numbers(pre["std"], "preprocess.std"));
    for (size_t i = 0; i < c.std.size(); ++i)
      if (c.std[i] == 0) return m.FieldError(absl::StrCat("preprocess.std[", i, "]"), "must not be 0");
  }
  // npy datasets learn their channel count from the array; they check lengths at open.
  if (spec.default_channels != 0) {
    for (const auto& [field, values] : {std::pair{"preprocess.mean", &c.mean}, std::pair{"preprocess.std", &c.std}}) {
      if (!values->empty() && static_cast<int>(values->size()) != c.channels)
        return m.FieldError(field, absl::StrCat("must have ", c.channels, " values (one per channel), got ",
                                                values->size()));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseTop(const Json& doc, const FieldParser& p, Manifest& m) {
  if (!doc.is_object()) return absl::InvalidArgumentError(absl::StrCat(m.source, ": must be a JSON object"));
  QB_RETURN_IF_ERROR(p.CheckKeys(doc, kTopKeys, ""));
  if (doc.contains("name")) {
    QB_ASSIGN_OR_RETURN(m.name, p.String(doc["name"], "name"));
  }
  if (!doc.contains("format")) return m.FieldError("format", "is missing");
  QB_ASSIGN_OR_RETURN(std::string format, p.String(doc["format"], "format"));
  const FormatSpec* spec = nullptr;
  std::vector<std::string_view> names;
  for (const FormatSpec& s : kFormatSpecs) {
    if (s.name == format) spec = &s;
    names.push_back(s.name);
  }
  if (spec == nullptr)
    return m.FieldError("format", absl::StrCat("must be one of ", JoinNames(names), ", got \"", format, "\""));
  m.format = spec->format;

  // Each path field is either required or rejected for the format.
  const std::pair<const char*, bool> path_fields[] = {{"images", spec->uses_images}, {"labels", true}, {"root", spec->uses_root}};
  for (const auto& [field, used] : path_fields) {
    if (!used && doc.contains(field))
      return m.FieldError(field, absl::StrCat("is not used by format \"", format, "\""));
    if (used && !doc.contains(field))
      return m.FieldError(field, absl::StrCat("is required by format \"", format, "\""));
  }
  if (spec->uses_images) {
    QB_ASSIGN_OR_RETURN(m.images, p.Path(doc["images"], "images"));
  }
  QB_ASSIGN_OR_RETURN(m.labels, p.Path(doc["labels"], "labels"));
  if (spec->uses_root) {
    QB_ASSIGN_OR_RETURN(m.root, p.Path(doc["root"], "root"));
  }
  if (doc.contains("limit")) {
    QB_ASSIGN_OR_RETURN(m.limit, p.PositiveInt(doc["limit"], "limit", INT64_MAX));
  }
  return ParsePreprocess(doc.contains("preprocess") ? doc["preprocess"] : Json(), *spec, p, m);
}

}  // namespace

std::string_view FormatName(DatasetFormat format) {
  for (const FormatSpec& s : kFormatSpecs)
    if (s.format == format) return s.name;
  return "?";
}

absl::Status Manifest::FieldError(std::string_view field, std::string_view message) const {
  return absl::InvalidArgumentError(absl::StrCat(source, ": field \"", ToAbsl(field), "\" ", ToAbsl(message)));
}

absl::StatusOr<Manifest> ParseManifest(const std::string& json_text, const std::string& base_dir,
                                       const std::string& source, const ManifestRules& rules) {
  Manifest m;
  m.source = absl::StrCat("manifest ", source);
  m.base_dir = base_dir;
  m.rules = rules;
  if (json_text.size() > kMaxManifestBytes)
    return absl::InvalidArgumentError(absl::StrCat(m.source, ": is ", json_text.size(), " bytes, the limit is ",
                                                   kMaxManifestBytes));
  Json doc;
  try {
    const Json::parser_callback_t limit_depth = [](int depth, Json::parse_event_t, Json&) {
      if (depth > kMaxDepth) throw TooDeep{};
      return true;
    };
    doc = Json::parse(json_text, limit_depth, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const TooDeep&) {
    return absl::InvalidArgumentError(absl::StrCat(m.source, ": nests deeper than ", kMaxDepth, " levels"));
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(m.source, ": invalid JSON: ", e.what()));
  }
  FieldParser parser(m, base_dir, m.rules);
  // The accessors above check types before every get<>(), but keep nlohmann's exceptions
  // (type_error, out_of_range) from ever leaving the module.
  try {
    QB_RETURN_IF_ERROR(ParseTop(doc, parser, m));
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(m.source, ": ", e.what()));
  }
  return m;
}

absl::StatusOr<Manifest> ReadManifest(const std::string& path) {
  QB_ASSIGN_OR_RETURN(ManifestRules rules, RulesForManifest(path));
  return ReadManifest(path, rules);
}

absl::StatusOr<Manifest> ReadManifest(const std::string& path, const ManifestRules& rules) {
  std::string where = path;
  if (!rules.roots.empty()) {
    // Confined: the manifest itself must be inside the roots too; read it by real path.
    absl::StatusOr<std::string> real = ResolveInsideRoots(path, rules.roots, "manifest");
    if (!real.ok()) return real.status();
    where = *real;
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = ReadFileBytes(where, kMaxManifestBytes);
  if (!bytes.ok()) {
    if (rules.hide_paths) return absl::Status(bytes.status().code(), "manifest: cannot be read");
    return Annotate(bytes.status(), "manifest");
  }
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(where, ec);
  if (ec) abs = where;
  const std::string source = rules.hide_paths ? abs.filename().string() : abs.string();
  return ParseManifest(std::string(bytes->begin(), bytes->end()), abs.parent_path().string(), source, rules);
}

absl::Status ScrubPaths(const absl::Status& s, const Manifest& m) {
  if (s.ok() || !m.rules.hide_paths) return s;
  std::string msg(s.message());
  std::vector<std::string> prefixes;
  if (!m.base_dir.empty()) prefixes.push_back(m.base_dir + "/");
  for (const std::string& r : m.rules.roots) prefixes.push_back(r + "/");
  for (const std::string& r : m.rules.roots) prefixes.push_back(r);
  if (!m.base_dir.empty()) prefixes.push_back(m.base_dir);
  for (const std::string& p : prefixes) {
    if (p.empty() || p == "/") continue;
    for (size_t at; (at = msg.find(p)) != std::string::npos;) msg.replace(at, p.size(), "");
  }
  return absl::Status(s.code(), msg);
}

}  // namespace qbench::data
