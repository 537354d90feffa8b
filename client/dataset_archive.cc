#include "client/dataset_archive.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/tar.h"
#include "common/status.h"
#include "spec/manifest.h"

namespace qbench::client {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// The manifest fields that name files or folders; everything else is copied verbatim.
struct PathField {
  const char* key;
  std::string data::Manifest::*member;
  bool directory;
};
constexpr PathField kPathFields[] = {
    {"images", &data::Manifest::images, false},
    {"labels", &data::Manifest::labels, false},
    {"root", &data::Manifest::root, true},
};

constexpr char kManifestName[] = "dataset.json";
constexpr char kDataDir[] = "data";

// Archive name -> source file; an empty source marks a directory. std::map keeps the
// entries sorted, which is what makes the archive deterministic.
using Entries = std::map<std::string, std::string>;

// The last component of a path, ignoring a trailing '/'.
std::string BaseName(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

// Adds the folder `source` (recursively) under `archive`.
absl::Status AddTree(const data::Manifest& m, const char* field, const std::string& source, const std::string& archive,
                     Entries* entries) {
  (*entries)[archive + "/"] = "";
  std::error_code ec;
  for (fs::recursive_directory_iterator it(source, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path rel = it->path().lexically_relative(source);
    const std::string name = absl::StrCat(archive, "/", rel.generic_string());
    if (it->is_symlink() && it->is_directory())  // not followed: it could loop or leave the dataset
      return m.FieldError(field, absl::StrCat("folder has a symbolic link to a folder, \"", it->path().string(),
                                              "\"; archives hold only real folders"));
    if (it->is_directory()) {
      (*entries)[name + "/"] = "";
    } else if (it->is_regular_file()) {  // symbolic links to files are archived as their content
      (*entries)[name] = it->path().string();
    } else {
      return m.FieldError(field, absl::StrCat("folder holds \"", it->path().string(),
                                              "\", which is neither a file nor a folder"));
    }
  }
  if (ec) return m.FieldError(field, absl::StrCat("cannot list \"", source, "\": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<Json> ReadRawManifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("manifest ", path, ": cannot open"));
  std::ostringstream text;
  text << in.rdbuf();
  try {  // ReadManifest accepted it already; this keeps the fields it does not interpret
    return Json::parse(text.str(), /*cb=*/nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("manifest ", path, ": ", e.what()));
  }
}

absl::Status WriteArchive(const Entries& entries, const std::string& manifest_text, const std::string& out_path) {
  QB_ASSIGN_OR_RETURN(auto tar, TarWriter::Create(out_path));
  // dataset.json sorts after "data/...": one ordered pass over both.
  Entries all = entries;
  all[kManifestName] = "";
  for (const auto& [name, source] : all) {
    if (name == kManifestName) {
      QB_RETURN_IF_ERROR(tar->AddBytes(name, manifest_text));
    } else if (name.back() == '/') {
      QB_RETURN_IF_ERROR(tar->AddDirectory(name));
    } else {
      QB_RETURN_IF_ERROR(tar->AddFile(name, source));
    }
  }
  return tar->Finish();
}

}  // namespace

absl::Status PackDataset(const std::string& manifest_path, const std::string& out_path) {
  QB_ASSIGN_OR_RETURN(data::Manifest m, data::ReadManifest(manifest_path));
  QB_ASSIGN_OR_RETURN(Json raw, ReadRawManifest(manifest_path));
  Entries entries;
  entries[std::string(kDataDir) + "/"] = "";
  for (const PathField& f : kPathFields) {
    const std::string& source = m.*f.member;
    if (source.empty()) continue;
    std::error_code ec;
    const fs::file_status st = fs::status(source, ec);
    if (f.directory ? !fs::is_directory(st) : !fs::is_regular_file(st))
      return m.FieldError(f.key, absl::StrCat("\"", source, "\" is not ", f.directory ? "a folder" : "a file",
                                              ec ? absl::StrCat(" (", ec.message(), ")") : ""));
    std::string base = BaseName(source);
    if (base.empty() || base == "." || base == "..") base = f.key;
    std::string archive = absl::StrCat(kDataDir, "/", base);
    // Two fields with the same file name ("a/data.npy", "b/data.npy"): the field
    // name keeps them apart.
    if (entries.count(archive) || entries.count(archive + "/")) archive = absl::StrCat(kDataDir, "/", f.key, "-", base);
    if (f.directory) {
      QB_RETURN_IF_ERROR(AddTree(m, f.key, source, archive, &entries));
    } else {
      entries[archive] = source;
    }
    raw[f.key] = archive;  // relative: resolved against dataset.json's folder
  }
  absl::Status s = WriteArchive(entries, raw.dump(2) + "\n", out_path);
  if (!s.ok()) {
    std::error_code ec;
    fs::remove(out_path, ec);
    return Annotate(s, absl::StrCat("packing ", m.source));
  }
  return absl::OkStatus();
}

namespace {

// The entry's path relative to the extraction folder: "./" and "." parts dropped;
// absolute paths and ".." rejected. Empty for the archive's own root ("./").
absl::StatusOr<std::string> SafeRelativePath(const std::string& archive, const std::string& name) {
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(absl::StrCat("archive \"", archive, "\": entry \"", name, "\": ", why));
  };
  if (name.empty()) return bad("empty name");
  if (name[0] == '/') return bad("absolute paths are not allowed");
  std::string out;
  for (absl::string_view part : absl::StrSplit(name, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") return bad("\"..\" is not allowed");
    absl::StrAppend(&out, out.empty() ? "" : "/", part);
  }
  return out;
}

absl::Status ExtractFile(TarReader& tar, const fs::path& dst) {
  std::error_code ec;
  fs::create_directories(dst.parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create \"", dst.parent_path().string(), "\": ", ec.message()));
  // O_NOFOLLOW: never write through a link that is already there.
  const int fd = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create \"", dst.string(), "\": ", std::strerror(errno)));
  std::vector<char> buf(1 << 20);
  absl::Status s;
  for (;;) {
    auto n = tar.Read(buf.data(), static_cast<int64_t>(buf.size()));
    if (!n.ok()) {
      s = n.status();
      break;
    }
    if (*n == 0) break;
    for (int64_t done = 0; done < *n;) {
      const ssize_t w = ::write(fd, buf.data() + done, static_cast<size_t>(*n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        s = absl::InternalError(absl::StrCat("cannot write \"", dst.string(), "\": ", std::strerror(errno)));
        break;
      }
      done += w;
    }
    if (!s.ok()) break;
  }
  if (::close(fd) != 0 && s.ok())
    s = absl::InternalError(absl::StrCat("cannot write \"", dst.string(), "\": ", std::strerror(errno)));
  return s;
}

}  // namespace

absl::Status ExtractArchive(const std::string& archive_path, const std::string& dir) {
  // Why an entry type is refused; files and folders are the only types a dataset needs.
  static constexpr std::pair<TarType, const char*> kRefused[] = {
      {TarType::kHardLink, "links are not allowed"},
      {TarType::kSymlink, "symbolic links are not allowed"},
      {TarType::kDevice, "devices and FIFOs are not allowed"},
      {TarType::kOther, "only regular files and folders are allowed"},
  };
  QB_ASSIGN_OR_RETURN(auto tar, TarReader::Open(archive_path));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create \"", dir, "\": ", ec.message()));
  TarEntry e;
  for (;;) {
    QB_ASSIGN_OR_RETURN(bool more, tar->Next(&e));
    if (!more) return absl::OkStatus();
    for (const auto& [type, why] : kRefused)
      if (e.type == type)
        return absl::InvalidArgumentError(absl::StrCat("archive \"", archive_path, "\": entry \"", e.name, "\": ", why));
    QB_ASSIGN_OR_RETURN(std::string rel, SafeRelativePath(archive_path, e.name));
    if (rel.empty()) continue;  // "./"
    const fs::path dst = fs::path(dir) / rel;
    if (e.type == TarType::kDirectory) {
      fs::create_directories(dst, ec);
      if (ec) return absl::InternalError(absl::StrCat("cannot create \"", dst.string(), "\": ", ec.message()));
      continue;
    }
    QB_RETURN_IF_ERROR(Annotate(ExtractFile(*tar, dst),
                                absl::StrCat("archive \"", archive_path, "\": entry \"", e.name, "\"")));
  }
}

}  // namespace qbench::client
