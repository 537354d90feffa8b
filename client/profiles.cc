#include "client/profiles.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qbench::client {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Profile keys: JSON name, member, and whether it is a path (made absolute on save so a
// profile works from any folder).
struct StringKey {
  const char* key;
  std::string Profile::*member;
};
constexpr StringKey kStringKeys[] = {
    {"server", &Profile::server}, {"ca", &Profile::ca_file}, {"token_file", &Profile::token_file}};

absl::Status KeyError(const std::string& path, const std::string& key, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("profiles file \"", path, "\": \"", key, "\" ", what));
}

absl::StatusOr<Profile> ParseProfile(const std::string& path, const std::string& name, const Json& j) {
  const std::string where = "profiles." + name;
  if (!j.is_object()) return KeyError(path, where, "must be an object");
  Profile p;
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const StringKey& k : kStringKeys) {
      if (key != k.key) continue;
      if (!value.is_string()) return KeyError(path, where + "." + key, "must be a string");
      p.*k.member = value.get<std::string>();
      known = true;
    }
    if (key == "insecure") {
      if (!value.is_boolean()) return KeyError(path, where + ".insecure", "must be true or false");
      p.insecure = value.get<bool>();
      known = true;
    }
    if (!known) return KeyError(path, where + "." + key, "is not a known key (server, insecure, ca, token_file)");
  }
  return p;
}

}  // namespace

std::string ProfilesPath() {
  if (const char* p = std::getenv("QBENCH_CONFIG"); p != nullptr && *p != '\0') return p;
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : ".", "/.config/qbench/profiles.json");
}

absl::StatusOr<ProfileFile> LoadProfiles(const std::string& path) {
  ProfileFile out;
  std::ifstream in(path);
  if (!in) return out;  // no file yet: no profiles
  std::ostringstream text;
  text << in.rdbuf();
  Json j;
  try {
    j = Json::parse(text.str());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("profiles file \"", path, "\": ", e.what()));
  }
  if (!j.is_object()) return KeyError(path, "(top level)", "must be an object");
  for (const auto& [key, value] : j.items()) {
    if (key == "default") {
      if (!value.is_string()) return KeyError(path, "default", "must be a string");
      out.default_profile = value.get<std::string>();
    } else if (key == "profiles") {
      if (!value.is_object()) return KeyError(path, "profiles", "must be an object");
      for (const auto& [name, p] : value.items()) {
        QB_ASSIGN_OR_RETURN(out.profiles[name], ParseProfile(path, name, p));
      }
    } else {
      return KeyError(path, key, "is not a known key (default, profiles)");
    }
  }
  if (!out.default_profile.empty() && !out.profiles.count(out.default_profile))
    return KeyError(path, "default", absl::StrCat("names \"", out.default_profile, "\", which is not in \"profiles\""));
  return out;
}

absl::Status SaveProfiles(const std::string& path, const ProfileFile& file) {
  Json j = Json::object();
  if (!file.default_profile.empty()) j["default"] = file.default_profile;
  j["profiles"] = Json::object();
  for (const auto& [name, p] : file.profiles) {
    Json o = Json::object();
    for (const StringKey& k : kStringKeys)
      if (!(p.*k.member).empty()) o[k.key] = p.*k.member;
    if (p.insecure) o["insecure"] = true;
    j["profiles"][name] = o;
  }
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create \"", parent.string(), "\": ", ec.message()));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write \"", tmp, "\""));
  }
  ::chmod(tmp.c_str(), 0600);
  fs::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot write \"", path, "\": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("token file \"", path, "\": cannot read"));
  std::ostringstream text;
  text << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(text.str()));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat("token file \"", path, "\" is empty"));
  return token;
}

absl::StatusOr<ResolvedConnection> ResolveConnection(const ConnectionFlags& flags, const std::string& profiles_path) {
  if (flags.token && flags.token_file) return absl::InvalidArgumentError("give --token or --token-file, not both");
  ResolvedConnection r;
  Connection& c = r.connection;
  QB_ASSIGN_OR_RETURN(ProfileFile file, LoadProfiles(profiles_path));
  r.profile = flags.profile.value_or(file.default_profile);
  if (!r.profile.empty()) {
    auto it = file.profiles.find(r.profile);
    if (it == file.profiles.end())
      return absl::InvalidArgumentError(
          absl::StrCat("profile \"", r.profile, "\" is not in \"", profiles_path, "\" (see `qbench profile set`)"));
    const Profile& p = it->second;
    c.server = p.server;
    c.insecure = p.insecure;
    c.ca_file = p.ca_file;
    if (!c.server.empty()) r.server_from = "profile " + r.profile;
    if (!p.token_file.empty()) {
      QB_ASSIGN_OR_RETURN(c.token, ReadTokenFile(p.token_file));
      r.token_from = "token file " + p.token_file + " (profile " + r.profile + ")";
    }
  }
  if (const char* s = std::getenv("QBENCH_SERVER"); s != nullptr && *s != '\0') {
    c.server = s;
    r.server_from = "QBENCH_SERVER";
  }
  if (const char* t = std::getenv("QBENCH_TOKEN"); t != nullptr && *t != '\0') {
    c.token = t;
    r.token_from = "QBENCH_TOKEN";
  }
  if (flags.server) {
    c.server = *flags.server;
    r.server_from = "--server";
  }
  if (flags.insecure) c.insecure = true;
  if (flags.ca_file) c.ca_file = *flags.ca_file;
  if (flags.token) {
    c.token = *flags.token;
    r.token_from = "--token";
  }
  if (flags.token_file) {
    QB_ASSIGN_OR_RETURN(c.token, ReadTokenFile(*flags.token_file));
    r.token_from = "token file " + *flags.token_file;
  }
  return r;
}

}  // namespace qbench::client
