#include "pdp/server/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file/read_file.h"
#include "pdp/server/ip_allowlist.h"
#include "yaml-cpp/yaml.h"

namespace pdp::server {
namespace {

struct PermissionWord {
  Permission permission;
  absl::string_view word;
};
constexpr PermissionWord kPermissions[] = {
    {Permission::kCheck, "check"},
    {Permission::kFilter, "filter"},
    {Permission::kAdmin, "admin"},
    {Permission::kDirectory, "directory"},
    {Permission::kAssertRoles, "assert_roles"},
    {Permission::kReadBundles, "read_bundles"},
    {Permission::kExplain, "explain"},
};

// Reads one config file, collecting every error as "file:line: sentence".
class ConfigReader {
 public:
  explicit ConfigReader(absl::string_view file) : file_(file) {}

  void Read(const YAML::Node& root, ServerConfig* config);
  absl::Status status() const {
    if (errors_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrJoin(errors_, "\n"));
  }

 private:
  using Handler = std::function<void(const YAML::Node&)>;

  void Error(const YAML::Node& node, absl::string_view key,
             absl::string_view what) {
    errors_.push_back(absl::StrCat(file_, ":", node.Mark().line + 1, ": \"",
                                   key, "\" ", what));
  }

  // Calls the handler of each key of `node`; reports unknown keys.
  void Map(const YAML::Node& node, absl::string_view prefix,
           const std::vector<std::pair<absl::string_view, Handler>>& keys) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      Error(node, prefix.empty() ? "config" : prefix, "must be a mapping");
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
      std::string path = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
      bool known = false;
      for (const auto& [name, handler] : keys) {
        if (name == key) {
          handler(it->second);
          known = true;
        }
      }
      if (!known) {
        std::vector<absl::string_view> names;
        for (const auto& entry : keys) names.push_back(entry.first);
        Error(it->first, path,
              absl::StrCat("is not a config key; expected one of: ",
                           absl::StrJoin(names, ", ")));
      }
    }
  }

  Handler String(std::string key, std::string* out) {
    return [this, key, out](const YAML::Node& n) {
      if (n.IsScalar()) {
        *out = n.Scalar();
      } else {
        Error(n, key, "must be a single value");
      }
    };
  }

  Handler Int(std::string key, int* out) {
    return [this, key, out](const YAML::Node& n) {
      if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), out) || *out <= 0) {
        Error(n, key, "must be a positive whole number");
      }
    };
  }

  Handler Bytes(std::string key, int64_t* out) {
    return [this, key, out](const YAML::Node& n) {
      if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), out) || *out <= 0) {
        Error(n, key, "must be a positive whole number of bytes");
      }
    };
  }

  Handler NonNegativeInt(std::string key, int* out) {
    return [this, key, out](const YAML::Node& n) {
      if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), out) || *out < 0) {
        Error(n, key, "must be a whole number, 0 or more");
      }
    };
  }

  Handler Bool(std::string key, bool* out) {
    return [this, key, out](const YAML::Node& n) {
      if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) {
        *out = n.Scalar() == "true";
      } else {
        Error(n, key, "must be true or false");
      }
    };
  }

  Handler Strings(std::string key, std::vector<std::string>* out) {
    return [this, key, out](const YAML::Node& n) {
      if (n.IsNull()) return;
      if (!n.IsSequence()) return Error(n, key, "must be a list");
      for (const YAML::Node& item : n) {
        if (!item.IsScalar()) {
          Error(item, key, "must be a list of single values");
          continue;
        }
        out->push_back(item.Scalar());
      }
    };
  }

  void Callers(const YAML::Node& node, ServerConfig* config);
  void TrustedKeys(const YAML::Node& node, ServerConfig* config);

  std::string file_;
  std::vector<std::string> errors_;
};

void ConfigReader::Callers(const YAML::Node& node, ServerConfig* config) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) return Error(node, "callers", "must be a list");
  int index = 0;
  for (const YAML::Node& item : node) {
    std::string prefix = absl::StrCat("callers[", index++, "]");
    CallerGrant grant;
    std::vector<std::string> words;
    Map(item, prefix,
        {{"identity", String("identity", &grant.identity)},
         {"permissions", Strings("permissions", &words)}});
    if (item.IsMap() && grant.identity.empty()) {
      Error(item, prefix, "needs an \"identity\" (a SPIFFE id or DNS name)");
    }
    for (const std::string& word : words) {
      auto it = std::find_if(std::begin(kPermissions), std::end(kPermissions),
                             [&](const PermissionWord& p) { return p.word == word; });
      if (it == std::end(kPermissions)) {
        Error(item["permissions"], absl::StrCat(prefix, ".permissions"),
              absl::StrCat("has \"", word,
                           "\", which is not a permission; expected: check, "
                           "filter, admin, directory, assert_roles, "
                           "read_bundles, explain"));
        continue;
      }
      grant.permissions.push_back(it->permission);
    }
    config->callers.push_back(std::move(grant));
  }
}

void ConfigReader::TrustedKeys(const YAML::Node& node, ServerConfig* config) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) return Error(node, "trusted_keys", "must be a list");
  int index = 0;
  for (const YAML::Node& item : node) {
    std::string prefix = absl::StrCat("trusted_keys[", index++, "]");
    ServerConfig::TrustedKey key;
    Map(item, prefix,
        {{"id", String(absl::StrCat(prefix, ".id"), &key.id)},
         {"public_key",
          String(absl::StrCat(prefix, ".public_key"), &key.public_key)}});
    if (item.IsMap() && key.public_key.empty()) {
      Error(item, prefix, "needs a \"public_key\" file");
    }
    config->trusted_keys.push_back(std::move(key));
  }
}

void ConfigReader::Read(const YAML::Node& root, ServerConfig* c) {
  Map(root, "",
      {{"listen", String("listen", &c->listen)},
       {"insecure", Bool("insecure", &c->insecure)},
       {"tls",
        [this, c](const YAML::Node& n) {
          Map(n, "tls",
              {{"cert", String("tls.cert", &c->tls.cert)},
               {"key", String("tls.key", &c->tls.key)},
               {"client_ca", String("tls.client_ca", &c->tls.client_ca)},
               {"reload_interval_seconds",
                Int("tls.reload_interval_seconds",
                    &c->tls.reload_interval_seconds)}});
        }},
       {"policy", String("policy", &c->policy)},
       {"policy_overrides_store",
        Bool("policy_overrides_store", &c->policy_overrides_store)},
       {"store",
        [this, c](const YAML::Node& n) {
          Map(n, "store",
              {{"path", String("store.path", &c->store.path)},
               {"user_cache_entries", Int("store.user_cache_entries",
                                          &c->store.user_cache_entries)},
               {"user_cache_bytes", Bytes("store.user_cache_bytes",
                                          &c->store.user_cache_bytes)}});
        }},
       {"trusted_keys", [this, c](const YAML::Node& n) { TrustedKeys(n, c); }},
       {"bootstrap_peers", Strings("bootstrap_peers", &c->bootstrap_peers)},
       {"tokens",
        [this, c](const YAML::Node& n) {
          Map(n, "tokens",
              {{"settings", String("tokens.settings", &c->tokens.settings)},
               {"cache_entries",
                Int("tokens.cache_entries", &c->tokens.cache_entries)},
               {"cache_bytes",
                Bytes("tokens.cache_bytes", &c->tokens.cache_bytes)},
               {"reload_interval_seconds",
                Int("tokens.reload_interval_seconds",
                    &c->tokens.reload_interval_seconds)}});
        }},
       {"callers", [this, c](const YAML::Node& n) { Callers(n, c); }},
       {"ip_allowlist", Strings("ip_allowlist", &c->ip_allowlist)},
       {"limits",
        [this, c](const YAML::Node& n) {
          Map(n, "limits",
              {{"max_message_bytes",
                Int("limits.max_message_bytes", &c->limits.max_message_bytes)},
               {"max_batch_checks",
                Int("limits.max_batch_checks", &c->limits.max_batch_checks)},
               {"max_filter_tools",
                Int("limits.max_filter_tools", &c->limits.max_filter_tools)},
               {"max_directory_users",
                Int("limits.max_directory_users",
                    &c->limits.max_directory_users)},
               {"max_id_bytes",
                Int("limits.max_id_bytes", &c->limits.max_id_bytes)},
               {"max_list_entries",
                Int("limits.max_list_entries", &c->limits.max_list_entries)}});
        }},
       {"connections",
        [this, c](const YAML::Node& n) {
          ServerConfig::Connections& k = c->connections;
          Map(n, "connections",
              {{"max_connections",
                Int("connections.max_connections", &k.max_connections)},
               {"reserved_descriptors",
                Int("connections.reserved_descriptors",
                    &k.reserved_descriptors)},
               {"max_concurrent_streams",
                Int("connections.max_concurrent_streams",
                    &k.max_concurrent_streams)},
               {"max_header_bytes",
                Int("connections.max_header_bytes", &k.max_header_bytes)},
               {"handshake_timeout_seconds",
                Int("connections.handshake_timeout_seconds",
                    &k.handshake_timeout_seconds)},
               {"idle_timeout_seconds",
                Int("connections.idle_timeout_seconds",
                    &k.idle_timeout_seconds)},
               {"keepalive_seconds",
                Int("connections.keepalive_seconds", &k.keepalive_seconds)},
               {"keepalive_timeout_seconds",
                Int("connections.keepalive_timeout_seconds",
                    &k.keepalive_timeout_seconds)},
               {"memory_bytes",
                Int("connections.memory_bytes", &k.memory_bytes)}});
        }},
       {"decision_log",
        [this, c](const YAML::Node& n) {
          Map(n, "decision_log",
              {{"path", String("decision_log.path", &c->decision_log.path)},
               {"queue_capacity", Int("decision_log.queue_capacity",
                                      &c->decision_log.queue_capacity)}});
        }},
       {"shutdown", [this, c](const YAML::Node& n) {
          Map(n, "shutdown",
              {{"lame_duck_seconds",
                NonNegativeInt("shutdown.lame_duck_seconds",
                               &c->shutdown.lame_duck_seconds)},
               {"grace_seconds", NonNegativeInt("shutdown.grace_seconds",
                                                &c->shutdown.grace_seconds)}});
        }}});
}

// True for "localhost", 127.0.0.0/8 and ::1 hosts of a host:port address.
bool IsLoopback(absl::string_view address) {
  size_t colon = address.rfind(':');
  absl::string_view host =
      colon == absl::string_view::npos ? address : address.substr(0, colon);
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  if (host == "localhost") return true;
  std::string h(host);
  in_addr v4;
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  return inet_pton(AF_INET6, h.c_str(), &v6) == 1 &&
         IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

absl::string_view PermissionName(Permission permission) {
  for (const PermissionWord& p : kPermissions) {
    if (p.permission == permission) return p.word;
  }
  return "unknown";
}

absl::StatusOr<ServerConfig> ParseServerConfig(absl::string_view file,
                                               absl::string_view yaml) {
  YAML::Node root;
  // yaml-cpp reports malformed input by throwing; this is its one call site.
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ":", e.mark.is_null() ? 0 : e.mark.line + 1,
        ": malformed YAML: ", e.msg));
  }
  ServerConfig config;
  ConfigReader reader(file);
  reader.Read(root, &config);
  if (absl::Status status = reader.status(); !status.ok()) return status;
  return config;
}

absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path) {
  absl::StatusOr<std::string> content = common::ReadFile(path);
  if (!content.ok()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read config file \"", path, "\""));
  }
  return ParseServerConfig(path, *content);
}

absl::Status ApplyFlag(absl::string_view name, absl::string_view value,
                       ServerConfig* config) {
  if (name == "listen") {
    config->listen = std::string(value);
  } else if (name == "insecure") {
    if (value != "true" && value != "false" && !value.empty()) {
      return absl::InvalidArgumentError("--insecure takes no value, or true/false");
    }
    config->insecure = value != "false";
  } else if (name == "policy") {
    config->policy = std::string(value);
  } else if (name == "store") {
    config->store.path = std::string(value);
  } else if (name == "tls-cert") {
    config->tls.cert = std::string(value);
  } else if (name == "tls-key") {
    config->tls.key = std::string(value);
  } else if (name == "tls-client-ca") {
    config->tls.client_ca = std::string(value);
  } else if (name == "token-settings") {
    config->tokens.settings = std::string(value);
  } else if (name == "decision-log") {
    config->decision_log.path = std::string(value);
  } else if (name == "ip-allowlist") {
    config->ip_allowlist.clear();
    for (absl::string_view cidr : absl::StrSplit(value, ',')) {
      cidr = absl::StripAsciiWhitespace(cidr);
      if (!cidr.empty()) config->ip_allowlist.emplace_back(cidr);
    }
  } else if (name == "lame-duck-seconds") {
    int seconds = 0;
    if (!absl::SimpleAtoi(value, &seconds) || seconds < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--lame-duck-seconds must be a whole number, 0 or more, not \"",
          value, "\""));
    }
    config->shutdown.lame_duck_seconds = seconds;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
  }
  return absl::OkStatus();
}

absl::Status ValidateServerConfig(const ServerConfig& config) {
  std::vector<std::string> errors;
  if (config.listen.empty() || config.listen.rfind(':') == std::string::npos) {
    errors.push_back(absl::StrCat("\"listen\" must be host:port, not \"",
                                  config.listen, "\""));
  }
  if (config.insecure) {
    if (!IsLoopback(config.listen)) {
      errors.push_back(absl::StrCat(
          "\"insecure\" serves plaintext and is refused with the non-loopback "
          "listen address \"",
          config.listen, "\"; listen on 127.0.0.1 or ::1, or configure tls"));
    }
  } else {
    const std::pair<const char*, const std::string*> files[] = {
        {"tls.cert", &config.tls.cert},
        {"tls.key", &config.tls.key},
        {"tls.client_ca", &config.tls.client_ca}};
    for (const auto& [key, path] : files) {
      if (path->empty()) {
        errors.push_back(absl::StrCat(
            "\"", key,
            "\" is required: the server serves mTLS unless \"insecure\" is "
            "set"));
      } else if (!std::ifstream(*path)) {
        errors.push_back(
            absl::StrCat("\"", key, "\": cannot read \"", *path, "\""));
      }
    }
  }
  if (absl::StatusOr<IpAllowlist> allowlist =
          IpAllowlist::Parse(config.ip_allowlist);
      !allowlist.ok()) {
    errors.push_back(std::string(allowlist.status().message()));
  }
  for (size_t i = 0; i < config.trusted_keys.size(); ++i) {
    const std::string& path = config.trusted_keys[i].public_key;
    if (!std::ifstream(path)) {
      errors.push_back(absl::StrCat("\"trusted_keys[", i,
                                    "].public_key\": cannot read \"", path,
                                    "\""));
    }
  }
  for (size_t i = 0; i < config.bootstrap_peers.size(); ++i) {
    const std::string& peer = config.bootstrap_peers[i];
    const size_t colon = peer.rfind(':');
    uint32_t port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(peer.substr(colon + 1), &port) || port == 0 ||
        port > 65535) {
      errors.push_back(absl::StrCat("\"bootstrap_peers[", i, "]\": \"", peer,
                                    "\" is not host:port"));
    }
  }
  if (!config.bootstrap_peers.empty() && config.store.path.empty()) {
    errors.push_back(
        "\"bootstrap_peers\" needs a \"store\": a fetched bundle is stored");
  }
  if (config.limits.max_message_bytes <= 0 ||
      config.limits.max_batch_checks <= 0 ||
      config.limits.max_filter_tools <= 0 ||
      config.limits.max_directory_users <= 0 ||
      config.limits.max_id_bytes <= 0 || config.limits.max_list_entries <= 0 ||
      config.store.user_cache_entries <= 0) {
    errors.push_back("\"limits\" must all be positive");
  }
  if (config.store.user_cache_bytes <= 0 || config.tokens.cache_bytes <= 0) {
    errors.push_back(
        "\"store.user_cache_bytes\" and \"tokens.cache_bytes\" must be "
        "positive");
  }
  if (config.tokens.cache_entries <= 0 ||
      config.tokens.reload_interval_seconds <= 0) {
    errors.push_back(
        "\"tokens.cache_entries\" and \"tokens.reload_interval_seconds\" "
        "must be positive");
  }
  if (!config.tokens.settings.empty() &&
      !std::ifstream(config.tokens.settings)) {
    errors.push_back(absl::StrCat("\"tokens.settings\": cannot read \"",
                                  config.tokens.settings, "\""));
  }
  const ServerConfig::Connections& k = config.connections;
  if (k.max_connections <= 0 || k.reserved_descriptors <= 0 ||
      k.max_concurrent_streams <= 0 || k.max_header_bytes <= 0 ||
      k.handshake_timeout_seconds <= 0 || k.idle_timeout_seconds <= 0 ||
      k.keepalive_seconds <= 0 || k.keepalive_timeout_seconds <= 0 ||
      k.memory_bytes <= 0) {
    errors.push_back("\"connections\" settings must all be positive");
  } else if (k.memory_bytes < (16 << 20)) {
    errors.push_back(
        "\"connections.memory_bytes\" must be at least 16777216 (16 MiB)");
  }
  if (config.decision_log.queue_capacity <= 0) {
    errors.push_back("\"decision_log.queue_capacity\" must be positive");
  }
  if (config.shutdown.lame_duck_seconds < 0 ||
      config.shutdown.grace_seconds < 0) {
    errors.push_back(
        "\"shutdown.lame_duck_seconds\" and \"shutdown.grace_seconds\" must "
        "be 0 or more");
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
}

}  // namespace pdp::server
