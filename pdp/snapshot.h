#ifndef PDP_SNAPSHOT_H_
#define PDP_SNAPSHOT_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "pdp/bitset.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {

class CompilerRun;

// A set of data classes: bit i is the snapshot's data class i. A policy
// declares at most 64 data classes (the compiler enforces it).
using DataMask = uint64_t;

// A compiled policy: every id interned to a dense index, role inheritance
// flattened, globs expanded and every "may" relation a precomputed bitset
// over tool indices. Built only by the compiler (pdp/compiler.h).
// Immutable, so thread-safe; share it as std::shared_ptr<const Snapshot>.
class Snapshot {
 public:
  // Tools are sorted by id, so each server's tools are a contiguous range.
  struct Tool {
    std::string id;
    std::string server;       // The part of the id before the first '.'.
    std::vector<int> scopes;  // Scope indices, all required.
    DataMask data = 0;
    v1::Risk risk = v1::RISK_MEDIUM;
    v1::Autonomy autonomy = v1::AUTONOMY_ALLOWED;
    v1::AuthStrength auth = v1::AUTH_STRENGTH_PASSWORD;
    v1::ClientTrust min_client_trust = v1::CLIENT_TRUST_UNTRUSTED;
  };
  struct Role {
    std::string id;
    Bitset closure;  // Role indices: this role and every role it inherits.
    Bitset tools;    // Granted by this role or any role it inherits.
    DataMask data = 0;
  };
  struct Agent {
    std::string id;
    Bitset tools;
    DataMask data = 0;
    bool autonomous = false;
  };
  struct Client {
    std::string id;
    v1::ClientTrust trust = v1::CLIENT_TRUST_UNTRUSTED;
    Bitset scopes;  // The registered ceiling, over scope indices.
    // Absolute URIs, validated by the compiler; compared byte for byte.
    std::vector<std::string> redirect_uris;
    // Access tokens must be sender-constrained (carry `cnf`).
    bool require_bound_tokens = false;
    // False: no human ever sits behind this client, so every chain through
    // it is autonomous.
    bool interactive = true;
  };
  struct Service {
    std::string id;
    Bitset tools;
    Bitset scopes;
    DataMask data = 0;
  };
  struct User {
    std::string id;
    std::vector<int> roles;  // As listed.
    Bitset role_closure;     // Listed roles and everything they inherit.
    Bitset tools;
    DataMask data = 0;
  };
  // Every condition present must hold. The tool-side conditions (tools,
  // servers, risk_at_least, data) are folded into `tools`.
  struct DenyRule {
    std::string id;
    std::string description;
    Bitset tools;
    std::optional<absl::flat_hash_set<std::string>> users;
    std::optional<Bitset> roles;     // Role indices.
    std::optional<Bitset> agents;    // Agent indices.
    std::optional<Bitset> clients;   // Client indices.
    std::optional<Bitset> services;  // Service indices.
    std::optional<v1::ClientTrust> client_trust_below;
    std::optional<bool> autonomous;
  };
  // An MCP server: the prefix of some tools' ids. Every server has tools.
  struct Server {
    std::string id;
    int begin = 0;  // Tool index range [begin, end).
    int end = 0;
    // The token audiences (RFC 8707 resource URIs) accepted for its tools:
    // those declared under `servers:`, or {id} when none are declared.
    // No audience belongs to two servers.
    std::vector<std::string> audiences;

    // Whether a token for `token_audiences` (its `aud`) may be used on
    // this server's tools: they include one of its audiences.
    bool Accepts(const std::vector<std::string>& token_audiences) const {
      for (const std::string& audience : token_audiences) {
        if (std::find(audiences.begin(), audiences.end(), audience) !=
            audiences.end()) {
          return true;
        }
      }
      return false;
    }
  };

  // Finders return -1 when the id is not in the policy.
  int FindTool(absl::string_view id) const { return Find(tool_index_, id); }
  int FindRole(absl::string_view id) const { return Find(role_index_, id); }
  int FindAgent(absl::string_view id) const { return Find(agent_index_, id); }
  int FindClient(absl::string_view id) const { return Find(client_index_, id); }
  int FindService(absl::string_view id) const {
    return Find(service_index_, id);
  }
  int FindUser(absl::string_view id) const { return Find(user_index_, id); }
  int FindScope(absl::string_view id) const { return Find(scope_index_, id); }
  // Returns nullptr when no tool id starts with "<id>.".
  const Server* FindServer(absl::string_view id) const;

  const std::vector<Tool>& tools() const { return tools_; }
  const std::vector<Role>& roles() const { return roles_; }
  const std::vector<Agent>& agents() const { return agents_; }
  const std::vector<Client>& clients() const { return clients_; }
  const std::vector<Service>& services() const { return services_; }
  const std::vector<User>& users() const { return users_; }
  const std::vector<DenyRule>& deny_rules() const { return deny_rules_; }
  const std::vector<Server>& servers() const { return servers_; }
  const std::vector<std::string>& scopes() const { return scopes_; }
  const std::vector<std::string>& data_classes() const {
    return data_classes_;
  }

  // Tools a client of trust `trust` may call (min_client_trust <= trust).
  const Bitset& ToolsForTrust(v1::ClientTrust trust) const {
    return tools_for_trust_[trust];
  }
  // Tools with autonomy: forbidden.
  const Bitset& AutonomyForbidden() const { return autonomy_forbidden_; }

  // The names of the data classes in `mask`, in index order.
  std::vector<std::string> DataClassNames(DataMask mask) const;

  // The bundle's version, or "dev-" and a hash of its contents when the
  // bundle has none (a directory compiled locally).
  const std::string& version() const { return version_; }
  // The bundle this snapshot was compiled from.
  const v1::Bundle& bundle() const { return bundle_; }

 private:
  friend class CompilerRun;
  Snapshot() = default;

  static int Find(const absl::flat_hash_map<std::string, int>& index,
                  absl::string_view id) {
    auto it = index.find(id);
    return it == index.end() ? -1 : it->second;
  }

  std::vector<Tool> tools_;
  std::vector<Role> roles_;
  std::vector<Agent> agents_;
  std::vector<Client> clients_;
  std::vector<Service> services_;
  std::vector<User> users_;
  std::vector<DenyRule> deny_rules_;
  std::vector<Server> servers_;
  std::vector<std::string> scopes_;
  std::vector<std::string> data_classes_;
  absl::flat_hash_map<std::string, int> tool_index_, role_index_,
      agent_index_, client_index_, service_index_, user_index_, scope_index_,
      server_index_;
  Bitset tools_for_trust_[v1::ClientTrust_ARRAYSIZE];
  Bitset autonomy_forbidden_;
  std::string version_;
  v1::Bundle bundle_;
};

}  // namespace pdp

#endif  // PDP_SNAPSHOT_H_
