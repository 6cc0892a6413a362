#include "pdp/token/token_settings.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file/read_file.h"
#include "nlohmann/json.hpp"
#include "pdp/quote.h"

namespace pdp {
namespace token {
namespace {

static_assert(v1::ClientTrust_ARRAYSIZE == 5,
              "TokenSettings::max_lifetime defaults list every ClientTrust");

constexpr int64_t kMaxClockSkewSeconds = 3600;
constexpr int64_t kMaxDelegationDepth = 32;
static_assert(kMaxDelegationDepth <= kMaxActClaimDepth,
              "the verifier reads every act claim the settings may allow");

using ::pdp::Quote;
using Json = nlohmann::json;

int LineOf(const YAML::Node& node) { return node.Mark().line + 1; }

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

// YAML (or JSON written as YAML) to JSON; scalars become strings, which is
// what every JWK member we read is.
Json ToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json object = Json::object();
      for (const auto& entry : node) {
        object[entry.first.Scalar()] = ToJson(entry.second);
      }
      return object;
    }
    case YAML::NodeType::Sequence: {
      Json array = Json::array();
      for (const auto& item : node) array.push_back(ToJson(item));
      return array;
    }
    case YAML::NodeType::Scalar:
      return node.Scalar();
    default:
      return nullptr;
  }
}

class Loader {
 public:
  explicit Loader(std::string path) : path_(std::move(path)) {}

  absl::StatusOr<TokenSettings> Load() {
    absl::StatusOr<std::string> read = common::ReadFile(path_);
    if (!read.ok()) {
      return absl::NotFoundError(
          absl::StrCat(path_, ": cannot read the token settings file"));
    }
    const std::string text = *std::move(read);
    settings_.files_read.push_back(path_);
    YAML::Node root;
    try {
      root = YAML::Load(text);
      absl::Status status = LoadRoot(root);
      if (!status.ok()) return status;
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(
          path_, ":", e.mark.is_null() ? 0 : e.mark.line + 1, ": ", e.msg));
    }
    return std::move(settings_);
  }

 private:
  absl::Status Error(const YAML::Node& node, absl::string_view sentence) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ":", LineOf(node), ": ", sentence));
  }

  absl::Status CheckKeys(const YAML::Node& map, absl::string_view what,
                         const std::vector<std::string>& known) {
    for (const auto& entry : map) {
      const std::string& key = entry.first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        return Error(
            entry.first,
            absl::StrCat("unknown key ", Quote(key), " in ", what,
                         " (expected ", absl::StrJoin(known, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Integer(const YAML::Node& node,
                                  absl::string_view name) {
    int64_t value = 0;
    if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value)) {
      return Error(node, absl::StrCat(name, " is not a whole number"));
    }
    return value;
  }

  absl::Status LoadRoot(const YAML::Node& root) {
    if (root.IsNull()) return absl::OkStatus();
    if (!root.IsMap()) {
      return Error(root, "the token settings are not a map of keys");
    }
    absl::Status status =
        CheckKeys(root, "the token settings",
                  {"clock_skew_seconds", "max_lifetime_seconds",
                   "max_delegation_depth", "issuers"});
    if (!status.ok()) return status;
    if (const YAML::Node depth = root["max_delegation_depth"]) {
      absl::StatusOr<int64_t> hops = Integer(depth, "max_delegation_depth");
      if (!hops.ok()) return hops.status();
      if (*hops < 1 || *hops > kMaxDelegationDepth) {
        return Error(depth, absl::StrCat("max_delegation_depth must be between "
                                         "1 and ",
                                         kMaxDelegationDepth));
      }
      settings_.max_delegation_depth = static_cast<int>(*hops);
    }
    if (const YAML::Node skew = root["clock_skew_seconds"]) {
      absl::StatusOr<int64_t> seconds = Integer(skew, "clock_skew_seconds");
      if (!seconds.ok()) return seconds.status();
      if (*seconds < 0 || *seconds > kMaxClockSkewSeconds) {
        return Error(skew, absl::StrCat("clock_skew_seconds must be between 0 "
                                        "and ",
                                        kMaxClockSkewSeconds));
      }
      settings_.clock_skew = absl::Seconds(*seconds);
    }
    if (const YAML::Node lifetimes = root["max_lifetime_seconds"]) {
      status = LoadLifetimes(lifetimes);
      if (!status.ok()) return status;
    }
    if (const YAML::Node issuers = root["issuers"]) {
      if (issuers.IsNull()) return absl::OkStatus();
      if (!issuers.IsSequence()) {
        return Error(issuers, "issuers is not a list");
      }
      for (const YAML::Node& issuer : issuers) {
        status = LoadIssuer(issuer);
        if (!status.ok()) return status;
      }
    }
    return absl::OkStatus();
  }

  absl::Status LoadLifetimes(const YAML::Node& lifetimes) {
    if (!lifetimes.IsMap()) {
      return Error(lifetimes, "max_lifetime_seconds is not a map");
    }
    const std::vector<std::string> names = {"untrusted", "standard", "trusted",
                                            "internal",  "agent",    "service"};
    absl::Status status = CheckKeys(lifetimes, "max_lifetime_seconds", names);
    if (!status.ok()) return status;
    for (const auto& entry : lifetimes) {
      const std::string& name = entry.first.Scalar();
      absl::StatusOr<int64_t> seconds =
          Integer(entry.second, absl::StrCat("max_lifetime_seconds.", name));
      if (!seconds.ok()) return seconds.status();
      if (*seconds <= 0) {
        return Error(entry.second, absl::StrCat("max_lifetime_seconds.", name,
                                                " must be positive"));
      }
      const absl::Duration lifetime = absl::Seconds(*seconds);
      if (name == "untrusted") {
        settings_.max_lifetime[v1::CLIENT_TRUST_UNSPECIFIED] = lifetime;
        settings_.max_lifetime[v1::CLIENT_TRUST_UNTRUSTED] = lifetime;
      } else if (name == "standard") {
        settings_.max_lifetime[v1::CLIENT_TRUST_STANDARD] = lifetime;
      } else if (name == "trusted") {
        settings_.max_lifetime[v1::CLIENT_TRUST_TRUSTED] = lifetime;
      } else if (name == "internal") {
        settings_.max_lifetime[v1::CLIENT_TRUST_INTERNAL] = lifetime;
      } else if (name == "agent") {
        settings_.max_agent_lifetime = lifetime;
      } else {
        settings_.max_service_lifetime = lifetime;
      }
    }
    return absl::OkStatus();
  }

  absl::Status LoadIssuer(const YAML::Node& entry) {
    if (!entry.IsMap()) return Error(entry, "an issuer entry is not a map");
    absl::Status status =
        CheckKeys(entry, "an issuer entry",
                  {"issuer", "jwks_file", "jwks", "roles_claim", "roles"});
    if (!status.ok()) return status;
    const YAML::Node name = entry["issuer"];
    if (!name || !name.IsScalar() || name.Scalar().empty()) {
      return Error(entry, "an issuer entry has no \"issuer\"");
    }
    const std::string& issuer = name.Scalar();
    if (!names_.insert(issuer).second) {
      return Error(name,
                   absl::StrCat("issuer ", Quote(issuer), " is listed twice"));
    }
    const YAML::Node file = entry["jwks_file"];
    const YAML::Node inline_jwks = entry["jwks"];
    if (file && inline_jwks) {
      return Error(entry, absl::StrCat("issuer ", Quote(issuer),
                                       " has both jwks and jwks_file; give "
                                       "one"));
    }
    if (!file && !inline_jwks) {
      return Error(entry, absl::StrCat("issuer ", Quote(issuer),
                                       " has neither jwks nor jwks_file"));
    }
    std::string json;
    const YAML::Node& source = file ? file : inline_jwks;
    if (file) {
      if (!file.IsScalar() || file.Scalar().empty()) {
        return Error(file, "jwks_file is not a file name");
      }
      std::string jwks_path = file.Scalar();
      if (jwks_path[0] != '/') jwks_path = DirectoryOf(path_) + jwks_path;
      absl::StatusOr<std::string> read = common::ReadFile(jwks_path);
      if (!read.ok()) {
        return Error(
            file, absl::StrCat("cannot read jwks_file '", file.Scalar(), "' (",
                               jwks_path, ") of issuer ", Quote(issuer)));
      }
      json = *std::move(read);
      settings_.files_read.push_back(jwks_path);
    } else if (inline_jwks.IsScalar()) {
      json = inline_jwks.Scalar();  // JSON text.
    } else {
      json = ToJson(inline_jwks)
                 .dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    absl::StatusOr<JwkSet> keys = JwkSet::Parse(json);
    if (!keys.ok()) {
      return Error(source, absl::StrCat("issuer ", Quote(issuer), ": ",
                                        keys.status().message()));
    }
    TrustedIssuer trusted{issuer, *std::move(keys)};
    status = LoadRoles(entry, &trusted);
    if (!status.ok()) return status;
    settings_.issuers.push_back(std::move(trusted));
    return absl::OkStatus();
  }

  // roles_claim and its mapping from group names to policy role ids.
  absl::Status LoadRoles(const YAML::Node& entry, TrustedIssuer* issuer) {
    const YAML::Node claim = entry["roles_claim"];
    const YAML::Node roles = entry["roles"];
    if (!claim && !roles) return absl::OkStatus();
    if (!claim || !roles) {
      return Error(entry, absl::StrCat("issuer ", Quote(issuer->issuer),
                                       " has ", claim ? "roles_claim" : "roles",
                                       " without ",
                                       claim ? "roles" : "roles_claim",
                                       "; give both (the claim and how its "
                                       "groups map to policy roles)"));
    }
    if (!claim.IsScalar() || claim.Scalar().empty()) {
      return Error(claim, "roles_claim is not a claim name");
    }
    if (!roles.IsMap()) {
      return Error(roles,
                   "roles is not a map of group names to policy role ids");
    }
    issuer->roles_claim = claim.Scalar();
    for (const auto& group : roles) {
      std::vector<std::string> ids;
      const YAML::Node& value = group.second;
      if (value.IsScalar() && !value.Scalar().empty()) {
        ids.push_back(value.Scalar());
      } else if (value.IsSequence()) {
        for (const YAML::Node& id : value) {
          if (!id.IsScalar() || id.Scalar().empty()) {
            return Error(id, absl::StrCat("roles.", group.first.Scalar(),
                                          " lists something that is not a "
                                          "role id"));
          }
          ids.push_back(id.Scalar());
        }
      } else {
        return Error(value, absl::StrCat("roles.", group.first.Scalar(),
                                         " is not a role id or a list of "
                                         "them"));
      }
      issuer->roles[group.first.Scalar()] = std::move(ids);
    }
    return absl::OkStatus();
  }

  const std::string path_;
  TokenSettings settings_;
  absl::flat_hash_set<std::string> names_;
};

}  // namespace

absl::StatusOr<TokenSettings> LoadTokenSettings(const std::string& path) {
  return Loader(path).Load();
}

std::unique_ptr<TokenVerifier> NewTokenVerifier(const TokenSettings& settings,
                                                size_t cache_entries,
                                                size_t cache_max_bytes) {
  TokenVerifierOptions options;
  options.clock_skew = settings.clock_skew;
  options.cache_entries = cache_entries;
  options.cache_max_bytes = cache_max_bytes;
  auto verifier = std::make_unique<TokenVerifier>(options);
  verifier->SetIssuers(settings.issuers);
  return verifier;
}

}  // namespace token
}  // namespace pdp
