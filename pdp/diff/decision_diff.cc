#include "pdp/diff/decision_diff.h"

#include <algorithm>
#include <array>
#include <deque>
#include <iterator>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pdp/names.h"
#include "pdp/rules.h"

namespace pdp {
namespace {

// Both policies' ids of one kind, merged and sorted: index i of the union is
// index[0][i] in the old policy and index[1][i] in the new (-1: absent).
struct IdUnion {
  std::vector<std::string> ids;
  std::vector<int> index[2];
  std::vector<int> to_union[2];
};

template <typename T, typename IdOf>
IdUnion MergeIds(const std::vector<T>& old_items,
                 const std::vector<T>& new_items, IdOf id_of) {
  std::map<std::string, std::pair<int, int>> merged;
  for (size_t i = 0; i < old_items.size(); ++i) {
    merged.emplace(id_of(old_items[i]), std::make_pair(-1, -1))
        .first->second.first = static_cast<int>(i);
  }
  for (size_t i = 0; i < new_items.size(); ++i) {
    merged.emplace(id_of(new_items[i]), std::make_pair(-1, -1))
        .first->second.second = static_cast<int>(i);
  }
  IdUnion u;
  u.to_union[0].assign(old_items.size(), -1);
  u.to_union[1].assign(new_items.size(), -1);
  for (const auto& [id, indices] : merged) {
    const int i = static_cast<int>(u.ids.size());
    u.ids.push_back(id);
    u.index[0].push_back(indices.first);
    u.index[1].push_back(indices.second);
    if (indices.first >= 0) u.to_union[0][indices.first] = i;
    if (indices.second >= 0) u.to_union[1][indices.second] = i;
  }
  return u;
}

// What a set of roles, or of agents, contributes to the decisions about one
// tool on each side, as bits that a set ORs together (DESIGN §2's role and
// agent conditions are all "some member ..." or, negated, "every member").
//   rules[s]: bit k: the deny rule in slot k has a roles (agents) part that
//             the member satisfies.
//   misc[s] of a role:  bit 0 grants the tool; bit 1 + d holds data slot d.
//   misc[s] of an agent: bit 0 lacks the tool; bit 1 unknown on that side;
//             bit 2 may not act alone; bit 3 + d lacks data slot d.
struct Sig {
  uint64_t rules[2] = {0, 0};
  uint64_t misc[2] = {0, 0};

  Sig operator|(const Sig& o) const {
    Sig x;
    for (int s = 0; s < 2; ++s) {
      x.rules[s] = rules[s] | o.rules[s];
      x.misc[s] = misc[s] | o.misc[s];
    }
    return x;
  }
  bool operator==(const Sig& o) const {
    return rules[0] == o.rules[0] && rules[1] == o.rules[1] &&
           misc[0] == o.misc[0] && misc[1] == o.misc[1];
  }
  template <typename H>
  friend H AbslHashValue(H h, const Sig& s) {
    return H::combine(std::move(h), s.rules[0], s.rules[1], s.misc[0],
                      s.misc[1]);
  }
};

constexpr uint64_t kGrant = 1;
constexpr int kRoleDataShift = 1;
constexpr uint64_t kAgentLacksTool = 1;
constexpr uint64_t kAgentUnknown = 2;
constexpr uint64_t kAgentNeedsAHuman = 4;
constexpr int kAgentDataShift = 3;
constexpr int kMaxDataSlots = 61;
constexpr int kMaxRuleSlots = 64;

// One side's decision, over the tool's data slots.
struct Dec {
  v1::Effect effect = v1::EFFECT_DENY;
  v1::AuthStrength step_up = v1::AUTH_STRENGTH_UNSPECIFIED;
  uint64_t redact = 0;
  bool operator==(const Dec& o) const {
    return effect == o.effect && step_up == o.step_up && redact == o.redact;
  }
  bool operator!=(const Dec& o) const { return !(*this == o); }
  bool operator<(const Dec& o) const {
    return std::tie(effect, step_up, redact) <
           std::tie(o.effect, o.step_up, o.redact);
  }
};

// Whether `now` is wider, narrower, or both, than `was` (which differ).
ChangeKind Classify(const Dec& was, const Dec& now) {
  const int a = rules::Permissiveness(was.effect);
  const int b = rules::Permissiveness(now.effect);
  bool widen = b > a, narrow = b < a;
  if (was.effect != v1::EFFECT_DENY && now.effect != v1::EFFECT_DENY) {
    widen |= (was.redact & ~now.redact) != 0;
    narrow |= (now.redact & ~was.redact) != 0;
    if (was.effect == v1::EFFECT_STEP_UP && now.effect == v1::EFFECT_STEP_UP &&
        was.step_up != now.step_up) {
      (now.step_up < was.step_up ? widen : narrow) = true;
    }
  }
  if (widen && narrow) return ChangeKind::kMixed;
  return widen ? ChangeKind::kWiden : ChangeKind::kNarrow;
}

// A class of users, for one tool.
struct UserClass {
  bool known[2] = {true, true};
  Sig sig;                       // Only misc[s], rules[s] of known sides.
  uint64_t users_ok[2] = {0, 0};  // Rule slots whose `users` part holds.
  // Label: a role-set witness (union role indices) and user id, or a list
  // of named users.
  bool named = false;
  std::vector<int> roles;
  std::string user_id;
  std::vector<int> users;  // Union user indices.
};

// A class of agent sets (the empty set: no agent), for one tool.
struct AgentClass {
  Sig sig;
  std::vector<int> agents;  // Witness, union agent indices.
};

// A class of clients, for one tool.
struct ClientClass {
  const Snapshot::Client* client[2] = {nullptr, nullptr};  // Of any member.
  bool trust_ok[2] = {false, false};
  uint64_t rules_ok[2] = {0, 0};  // Slots whose client parts hold.
  // The reachable (old scopes granted, new scopes granted) pairs: bit
  // 2 * old + new.
  int scope_pairs = 0;
  std::vector<int> members;  // Union client indices.
};

// The change records of one tool, merged into lines.
struct LineKey {
  int user_class;
  int agent_class;
  Dec was, now;
  bool operator<(const LineKey& o) const {
    return std::tie(user_class, agent_class, was, now) <
           std::tie(o.user_class, o.agent_class, o.was, o.now);
  }
};
struct LineAcc {
  std::set<int> clients;      // Union client indices.
  int scope_pairs = 0;        // Bits as ClientClass::scope_pairs.
  std::set<int> strengths;
  bool autonomous = false, not_autonomous = false;
};

// "a or b, c": one of each list of indices into `ids`.
std::string Alternatives(const std::vector<std::vector<int>>& lists,
                         const std::vector<std::string>& ids) {
  std::vector<std::string> parts;
  for (const std::vector<int>& list : lists) {
    std::vector<std::string> names;
    for (int i : list) names.push_back(ids[i]);
    parts.push_back(absl::StrJoin(names, " or "));
  }
  return absl::StrJoin(parts, ", ");
}

std::string Names(const std::vector<int>& indices,
                  const std::vector<std::string>& ids) {
  std::vector<std::string> names;
  for (int i : indices) names.push_back(ids[i]);
  return absl::StrJoin(names, ", ");
}

class Differ {
 public:
  Differ(const Snapshot& o, const Snapshot& n, const DiffOptions& options)
      : s_{&o, &n}, options_(options) {
    auto id = [](const auto& item) -> const std::string& { return item.id; };
    auto name = [](const std::string& s) -> const std::string& { return s; };
    tools_ = MergeIds(o.tools(), n.tools(), id);
    roles_ = MergeIds(o.roles(), n.roles(), id);
    agents_ = MergeIds(o.agents(), n.agents(), id);
    clients_ = MergeIds(o.clients(), n.clients(), id);
    services_ = MergeIds(o.services(), n.services(), id);
    users_ = MergeIds(o.users(), n.users(), id);
    data_ = MergeIds(o.data_classes(), n.data_classes(), name);
    scopes_ = MergeIds(o.scopes(), n.scopes(), name);
  }

  absl::StatusOr<DecisionDiff> Run() {
    result_.user_ids = users_.ids;
    result_.tool_ids = tools_.ids;
    result_.role_ids = roles_.ids;
    result_.agent_ids = agents_.ids;
    result_.client_ids = clients_.ids;
    result_.service_ids = services_.ids;
    result_.scope_ids = scopes_.ids;
    GroupNamedUsers();
    for (size_t t = 0; t < tools_.ids.size(); ++t) {
      if (absl::Status status = DiffTool(t); !status.ok()) return status;
    }
    result_.widen = static_cast<int64_t>(by_kind_[0].size());
    result_.narrow = static_cast<int64_t>(by_kind_[1].size());
    result_.mixed = static_cast<int64_t>(by_kind_[2].size());
    result_.changes.reserve(result_.widen + result_.narrow + result_.mixed);
    for (std::deque<DecisionChange>& changes : by_kind_) {
      std::move(changes.begin(), changes.end(),
                std::back_inserter(result_.changes));
      changes = {};
    }
    return std::move(result_);
  }

 private:
  // Named users who hold the same roles on each side and are named by the
  // same deny rules decide alike on every tool.
  struct UserBundle {
    int index[2] = {-1, -1};  // Of one member, per side.
    std::string rule_name;    // The id, when some deny rule names it.
    std::vector<int> members;
  };

  void GroupNamedUsers() {
    std::set<std::string> named_by_rules;
    for (const Snapshot* s : s_) {
      for (const Snapshot::DenyRule& rule : s->deny_rules()) {
        if (rule.users) {
          named_by_rules.insert(rule.users->begin(), rule.users->end());
        }
      }
    }
    std::map<std::tuple<std::vector<std::string>, std::vector<std::string>,
                        std::string>,
             int>
        bundle_of;
    for (size_t u = 0; u < users_.ids.size(); ++u) {
      std::vector<std::string> roles[2];
      for (int s = 0; s < 2; ++s) {
        const int i = users_.index[s][u];
        if (i < 0) {
          roles[s].push_back("\n-");  // Unknown on this side.
          continue;
        }
        for (int r : s_[s]->users()[i].roles) {
          roles[s].push_back(s_[s]->roles()[r].id);
        }
        std::sort(roles[s].begin(), roles[s].end());
      }
      const std::string rule_name =
          named_by_rules.count(users_.ids[u]) > 0 ? users_.ids[u] : "";
      auto [it, inserted] = bundle_of.emplace(
          std::make_tuple(roles[0], roles[1], rule_name),
          static_cast<int>(bundles_.size()));
      if (inserted) {
        UserBundle b;
        b.index[0] = users_.index[0][u];
        b.index[1] = users_.index[1][u];
        b.rule_name = rule_name;
        bundles_.push_back(std::move(b));
      }
      bundles_[it->second].members.push_back(static_cast<int>(u));
    }
  }

  // The deny rules bearing on the tool, merged by id into slots.
  struct Slots {
    std::vector<std::string> ids;
    std::vector<int> index[2];  // Rule index per side, or -1.
    uint64_t exists[2] = {0, 0};
    uint64_t needs_roles[2] = {0, 0};
    uint64_t needs_agents[2] = {0, 0};
    uint64_t services_ok[2] = {0, 0};  // Parts for a delegated chain.
    uint64_t autonomy_ok[2][2] = {{0, 0}, {0, 0}};  // [side][autonomous].
    std::set<std::string> named_users;
  };

  const Snapshot::DenyRule& Rule(const Slots& slots, int s, int k) const {
    return s_[s]->deny_rules()[slots.index[s][k]];
  }

  absl::Status DiffTool(size_t t) {
    int ti[2];
    const Snapshot::Tool* tool[2] = {nullptr, nullptr};
    for (int s = 0; s < 2; ++s) {
      ti[s] = tools_.index[s][t];
      if (ti[s] >= 0) tool[s] = &s_[s]->tools()[ti[s]];
    }
    const std::string& tool_id = tools_.ids[t];

    // Rule slots.
    Slots slots;
    {
      std::map<std::string, std::pair<int, int>> merged;
      for (int s = 0; s < 2; ++s) {
        if (ti[s] < 0) continue;
        const auto& rules = s_[s]->deny_rules();
        for (size_t r = 0; r < rules.size(); ++r) {
          if (!rules[r].tools.Test(ti[s])) continue;
          auto& e = merged.emplace(rules[r].id, std::make_pair(-1, -1))
                        .first->second;
          (s == 0 ? e.first : e.second) = static_cast<int>(r);
        }
      }
      if (merged.size() > kMaxRuleSlots) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "more than ", kMaxRuleSlots, " deny rules bear on tool ", tool_id));
      }
      for (const auto& [id, indices] : merged) {
        const int k = static_cast<int>(slots.ids.size());
        const uint64_t bit = uint64_t{1} << k;
        slots.ids.push_back(id);
        slots.index[0].push_back(indices.first);
        slots.index[1].push_back(indices.second);
        for (int s = 0; s < 2; ++s) {
          if (slots.index[s][k] < 0) continue;
          const Snapshot::DenyRule& rule = Rule(slots, s, k);
          slots.exists[s] |= bit;
          if (rule.roles) slots.needs_roles[s] |= bit;
          if (rule.agents) slots.needs_agents[s] |= bit;
          if (rules::RuleServicePartHolds(rule, -1)) {
            slots.services_ok[s] |= bit;
          }
          for (int b = 0; b < 2; ++b) {
            if (rules::RuleAutonomyPartHolds(rule, b == 1)) {
              slots.autonomy_ok[s][b] |= bit;
            }
          }
          if (rule.users) {
            slots.named_users.insert(rule.users->begin(), rule.users->end());
          }
        }
      }
    }

    // Data slots: the union classes the tool carries on either side.
    std::vector<int> data_slots;  // Union data class per slot.
    uint64_t tool_data[2] = {0, 0};
    // Per side: the side's data class index of each slot, or -1.
    std::vector<int> slot_class[2];
    {
      std::set<int> classes;
      for (int s = 0; s < 2; ++s) {
        if (tool[s] == nullptr) continue;
        for (DataMask m = tool[s]->data; m != 0; m &= m - 1) {
          classes.insert(data_.to_union[s][__builtin_ctzll(m)]);
        }
      }
      if (classes.size() > kMaxDataSlots) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "more than ", kMaxDataSlots, " data classes on tool ", tool_id));
      }
      data_slots.assign(classes.begin(), classes.end());
      for (int s = 0; s < 2; ++s) {
        for (int u : data_slots) slot_class[s].push_back(data_.index[s][u]);
        if (tool[s] == nullptr) continue;
        for (size_t d = 0; d < data_slots.size(); ++d) {
          const int c = slot_class[s][d];
          if (c >= 0 && ((tool[s]->data >> c) & 1)) {
            tool_data[s] |= uint64_t{1} << d;
          }
        }
      }
    }
    auto side_data = [&](int s, DataMask mask) {
      uint64_t out = 0;
      for (size_t d = 0; d < data_slots.size(); ++d) {
        const int c = slot_class[s][d];
        if (c >= 0 && ((mask >> c) & 1)) out |= uint64_t{1} << d;
      }
      return out;
    };

    // Roles.
    auto role_sig = [&](int s, int r) {
      Sig sig;
      if (tool[s] == nullptr) return sig;
      if (rules::RoleGrants(*s_[s], r, ti[s])) sig.misc[s] |= kGrant;
      sig.misc[s] |= side_data(s, rules::RoleData(*s_[s], r))
                     << kRoleDataShift;
      for (size_t k = 0; k < slots.ids.size(); ++k) {
        if (slots.index[s][k] < 0) continue;
        if (rules::RoleInRule(*s_[s], r, Rule(slots, s, k))) {
          sig.rules[s] |= uint64_t{1} << k;
        }
      }
      return sig;
    };
    std::vector<Sig> side_role_sig[2];
    for (int s = 0; s < 2; ++s) {
      for (size_t r = 0; r < s_[s]->roles().size(); ++r) {
        side_role_sig[s].push_back(role_sig(s, static_cast<int>(r)));
      }
    }
    // Distinct signatures of union roles (an id means its own role on each
    // side), each with one role having it.
    // Each with every role having it (alternatives in a witness).
    std::vector<std::pair<Sig, std::vector<int>>> role_gens;
    {
      absl::flat_hash_map<Sig, int> seen;
      for (size_t u = 0; u < roles_.ids.size(); ++u) {
        Sig sig;
        for (int s = 0; s < 2; ++s) {
          if (roles_.index[s][u] >= 0) {
            sig = sig | side_role_sig[s][roles_.index[s][u]];
          }
        }
        if (sig == Sig()) continue;
        auto [it, inserted] =
            seen.emplace(sig, static_cast<int>(role_gens.size()));
        if (inserted) role_gens.emplace_back(sig, std::vector<int>());
        role_gens[it->second].second.push_back(static_cast<int>(u));
      }
    }
    // The OR-closure, breadth first: each class with a smallest set of
    // generators (indices into role_gens).
    std::vector<Sig> role_classes = {Sig()};
    std::vector<std::vector<int>> role_witness = {{}};
    {
      absl::flat_hash_map<Sig, int> index = {{Sig(), 0}};
      for (size_t i = 0; i < role_classes.size(); ++i) {
        for (size_t gi = 0; gi < role_gens.size(); ++gi) {
          const Sig x = role_classes[i] | role_gens[gi].first;
          if (!index.emplace(x, static_cast<int>(role_classes.size())).second) {
            continue;
          }
          if (static_cast<int>(role_classes.size()) >= options_.max_classes) {
            return absl::ResourceExhaustedError(absl::StrCat(
                "more than ", options_.max_classes,
                " classes of role sets for tool ", tool_id));
          }
          role_classes.push_back(x);
          std::vector<int> w = role_witness[i];
          w.push_back(static_cast<int>(gi));
          std::sort(w.begin(), w.end());
          role_witness.push_back(std::move(w));
        }
      }
    }

    // Users: role-set classes for each user id that matters, then the
    // policies' named users.
    std::vector<UserClass> users;
    auto users_ok = [&](int s, absl::string_view id, bool any_other) {
      uint64_t ok = 0;
      for (size_t k = 0; k < slots.ids.size(); ++k) {
        if (slots.index[s][k] < 0) continue;
        const Snapshot::DenyRule& rule = Rule(slots, s, k);
        if (any_other ? !rule.users : rules::RuleNamesUser(rule, id)) {
          ok |= uint64_t{1} << k;
        }
      }
      return ok;
    };
    std::vector<std::string> user_ids = {""};
    user_ids.insert(user_ids.end(), slots.named_users.begin(),
                    slots.named_users.end());
    for (const std::string& id : user_ids) {
      for (size_t i = 0; i < role_classes.size(); ++i) {
        UserClass u;
        u.sig = role_classes[i];
        for (int s = 0; s < 2; ++s) u.users_ok[s] = users_ok(s, id, id.empty());
        u.roles = role_witness[i];
        u.user_id = id;
        users.push_back(std::move(u));
      }
    }
    {
      absl::flat_hash_map<std::tuple<bool, bool, uint64_t, uint64_t, uint64_t,
                                     uint64_t, uint64_t, uint64_t>,
                          int>
          seen;
      for (const UserBundle& b : bundles_) {
        UserClass u;
        u.named = true;
        for (int s = 0; s < 2; ++s) {
          u.known[s] = b.index[s] >= 0;
          if (!u.known[s]) continue;
          const Snapshot::User& user = s_[s]->users()[b.index[s]];
          for (int r : user.roles) {
            const Sig& g = side_role_sig[s][r];
            u.sig.misc[s] |= g.misc[s];
            u.sig.rules[s] |= g.rules[s];
          }
          u.users_ok[s] = users_ok(s, user.id, false);
        }
        // Granted on neither side: DENY on both, for every chain.
        if (!(u.known[0] && (u.sig.misc[0] & kGrant)) &&
            !(u.known[1] && (u.sig.misc[1] & kGrant))) {
          continue;
        }
        auto key = std::make_tuple(u.known[0], u.known[1], u.sig.misc[0],
                                   u.sig.misc[1], u.sig.rules[0],
                                   u.sig.rules[1], u.users_ok[0],
                                   u.users_ok[1]);
        auto [it, inserted] = seen.emplace(key, static_cast<int>(users.size()));
        if (inserted) users.push_back(std::move(u));
        std::vector<int>& members = users[it->second].users;
        members.insert(members.end(), b.members.begin(), b.members.end());
      }
    }

    // Agents: the OR-closure over sets of up to max_chain_agents.
    std::vector<std::pair<Sig, std::vector<int>>> agent_gens;
    {
      absl::flat_hash_map<Sig, int> seen;
      for (size_t a = 0; a < agents_.ids.size(); ++a) {
        Sig sig;
        for (int s = 0; s < 2; ++s) {
          const int i = agents_.index[s][a];
          if (i < 0) {
            sig.misc[s] |= kAgentUnknown;
            continue;
          }
          if (tool[s] == nullptr) continue;
          if (!rules::AgentPermits(*s_[s], i, ti[s])) {
            sig.misc[s] |= kAgentLacksTool;
          }
          if (!rules::AgentMayActAlone(*s_[s], i)) {
            sig.misc[s] |= kAgentNeedsAHuman;
          }
          sig.misc[s] |= (tool_data[s] & ~side_data(s, s_[s]->agents()[i].data))
                         << kAgentDataShift;
          for (size_t k = 0; k < slots.ids.size(); ++k) {
            if (slots.index[s][k] < 0) continue;
            if (rules::AgentInRule(i, Rule(slots, s, k))) {
              sig.rules[s] |= uint64_t{1} << k;
            }
          }
        }
        auto [it, inserted] =
            seen.emplace(sig, static_cast<int>(agent_gens.size()));
        if (inserted) agent_gens.emplace_back(sig, std::vector<int>());
        agent_gens[it->second].second.push_back(static_cast<int>(a));
      }
    }
    std::vector<AgentClass> agent_classes = {AgentClass()};
    {
      absl::flat_hash_map<Sig, int> index = {{Sig(), 0}};
      size_t begin = 0, end = 1;
      for (int depth = 1; depth <= options_.max_chain_agents; ++depth) {
        for (size_t i = begin; i < end; ++i) {
          for (size_t gi = 0; gi < agent_gens.size(); ++gi) {
            const Sig x = agent_classes[i].sig | agent_gens[gi].first;
            // Agents that allow everything decide as no agent (class 0).
            if (!index.emplace(x, static_cast<int>(agent_classes.size()))
                     .second) {
              continue;
            }
            if (static_cast<int>(agent_classes.size()) >=
                options_.max_classes) {
              return absl::ResourceExhaustedError(absl::StrCat(
                  "more than ", options_.max_classes,
                  " classes of agent sets for tool ", tool_id));
            }
            AgentClass c;
            c.sig = x;
            c.agents = agent_classes[i].agents;
            c.agents.push_back(static_cast<int>(gi));
            agent_classes.push_back(std::move(c));
          }
        }
        begin = end;
        end = agent_classes.size();
      }
    }

    // Scopes the tool requires on each side, as union scope indices.
    std::vector<int> required[2];
    for (int s = 0; s < 2; ++s) {
      if (tool[s] == nullptr) continue;
      for (int scope : tool[s]->scopes) {
        required[s].push_back(scopes_.to_union[s][scope]);
      }
      std::sort(required[s].begin(), required[s].end());
    }
    // Whether every scope of `need` is in `have` (union indices) and in the
    // side's ceiling.
    auto covered = [&](int s, const std::vector<int>& need,
                       const std::vector<int>* have, const Bitset& ceiling) {
      for (int u : need) {
        const int i = scopes_.index[s][u];
        const bool in_token =
            have == nullptr || std::binary_search(have->begin(), have->end(), u);
        if (i < 0 || !rules::ScopeGranted(ceiling, i, true, in_token)) {
          return false;
        }
      }
      return true;
    };
    // Witness token scopes of each (old granted, new granted) pair.
    std::vector<int> witness[4];
    witness[3] = required[0];
    witness[3].insert(witness[3].end(), required[1].begin(), required[1].end());
    std::sort(witness[3].begin(), witness[3].end());
    witness[3].erase(std::unique(witness[3].begin(), witness[3].end()),
                     witness[3].end());
    witness[2] = required[0];
    witness[1] = required[1];
    // The reachable pairs for holders of these ceilings (nullptr: none).
    const Bitset empty;
    auto scope_pairs = [&](const Bitset* c0, const Bitset* c1) {
      const Bitset* ceiling[2] = {c0 != nullptr ? c0 : &empty,
                                  c1 != nullptr ? c1 : &empty};
      int pairs = 0;
      for (int p = 0; p < 4; ++p) {
        const bool want[2] = {(p & 2) != 0, (p & 1) != 0};
        bool ok = true;
        for (int s = 0; s < 2 && ok; ++s) {
          ok = covered(s, required[s], &witness[p], *ceiling[s]) == want[s];
        }
        if (ok) pairs |= 1 << p;
      }
      return pairs;
    };

    // Clients.
    std::vector<ClientClass> clients;
    {
      std::map<std::tuple<int, int, bool, bool, bool, bool, uint64_t, uint64_t,
                          int>,
               int>
          seen;
      for (size_t c = 0; c < clients_.ids.size(); ++c) {
        ClientClass k;
        const Bitset* ceiling[2] = {nullptr, nullptr};
        for (int s = 0; s < 2; ++s) {
          const int i = clients_.index[s][c];
          if (i < 0) continue;
          k.client[s] = &s_[s]->clients()[i];
          ceiling[s] = &k.client[s]->scopes;
          if (tool[s] != nullptr) {
            k.trust_ok[s] = rules::TrustSuffices(k.client[s]->trust, *tool[s]);
          }
          for (size_t r = 0; r < slots.ids.size(); ++r) {
            if (slots.index[s][r] >= 0 &&
                rules::RuleClientPartHolds(*s_[s], Rule(slots, s, r), i)) {
              k.rules_ok[s] |= uint64_t{1} << r;
            }
          }
        }
        k.scope_pairs = scope_pairs(ceiling[0], ceiling[1]);
        auto key = std::make_tuple(
            k.client[0] == nullptr ? -1 : int{k.client[0]->interactive},
            k.client[1] == nullptr ? -1 : int{k.client[1]->interactive},
            k.trust_ok[0], k.trust_ok[1], false, false, k.rules_ok[0],
            k.rules_ok[1], k.scope_pairs);
        auto [it, inserted] = seen.emplace(key, static_cast<int>(clients.size()));
        if (inserted) clients.push_back(k);
        clients[it->second].members.push_back(static_cast<int>(c));
      }
    }

    // Strengths, by the step-up each side asks of them.
    const v1::AuthStrength strengths[] = {v1::AUTH_STRENGTH_PASSWORD,
                                          v1::AUTH_STRENGTH_MFA,
                                          v1::AUTH_STRENGTH_PHISHING_RESISTANT};
    v1::AuthStrength step_up[3][2];
    for (int st = 0; st < 3; ++st) {
      for (int s = 0; s < 2; ++s) {
        step_up[st][s] = tool[s] != nullptr
                             ? rules::StepUp(*tool[s], strengths[st])
                             : v1::AUTH_STRENGTH_UNSPECIFIED;
      }
    }

    // What a chain's links decide on each side, hoisted out of the loops:
    // per (client class, autonomy) what depends on neither the user nor
    // the agents; per (user class, agent class) what depends on neither
    // the client nor the token.
    struct ClientSide {
      bool autonomous = false;
      bool denied = true;     // Tool or client unknown, trust, autonomy ban.
      uint64_t rules = 0;     // Slots whose client, service, autonomy parts
                              // hold.
    };
    std::vector<std::array<std::array<ClientSide, 2>, 2>> client_side(
        clients.size());  // [class][autonomous][side].
    for (size_t ci = 0; ci < clients.size(); ++ci) {
      const ClientClass& c = clients[ci];
      for (int b = 0; b < 2; ++b) {
        for (int s = 0; s < 2; ++s) {
          ClientSide& x = client_side[ci][b][s];
          if (tool[s] == nullptr || c.client[s] == nullptr) continue;
          x.autonomous = rules::Autonomous(false, b == 1, c.client[s]);
          x.denied = !c.trust_ok[s] ||
                     rules::AutonomyForbids(*tool[s], x.autonomous);
          x.rules = slots.exists[s] & c.rules_ok[s] & slots.services_ok[s] &
                    slots.autonomy_ok[s][x.autonomous];
        }
      }
    }

    struct Acc {
      Dec was, now;
      LineAcc acc;
    };
    std::map<LineKey, LineAcc> lines;
    std::vector<Acc> found;
    for (size_t ai = 0; ai < agent_classes.size(); ++ai) {
      const AgentClass& a = agent_classes[ai];
      for (size_t ui = 0; ui < users.size(); ++ui) {
        const UserClass& u = users[ui];
        bool denied[2];
        uint64_t rule_parts[2], allowed[2];
        bool needs_a_human[2];
        for (int s = 0; s < 2; ++s) {
          denied[s] = tool[s] == nullptr || !u.known[s] ||
                      (u.sig.misc[s] & kGrant) == 0 ||
                      (a.sig.misc[s] & (kAgentUnknown | kAgentLacksTool)) != 0;
          // Step 5, every rule slot at once: a rule matches when each part
          // it uses holds (rules::RuleHolds); the user's and agents' parts.
          rule_parts[s] = u.users_ok[s] &
                          (~slots.needs_roles[s] | u.sig.rules[s]) &
                          (~slots.needs_agents[s] | a.sig.rules[s]);
          allowed[s] = (u.sig.misc[s] >> kRoleDataShift) &
                       ~(a.sig.misc[s] >> kAgentDataShift);
          needs_a_human[s] = (a.sig.misc[s] & kAgentNeedsAHuman) != 0;
        }
        if (denied[0] && denied[1]) continue;
        found.clear();
        for (size_t ci = 0; ci < clients.size(); ++ci) {
          const ClientClass& c = clients[ci];
          for (int b = 0; b < 2; ++b) {
            const auto& cs = client_side[ci][b];
            bool link_denied[2];
            for (int s = 0; s < 2; ++s) {
              link_denied[s] = denied[s] || cs[s].denied ||
                               (cs[s].rules & rule_parts[s]) != 0;
            }
            if (link_denied[0] && link_denied[1]) continue;
            for (int p = 0; p < 4; ++p) {
              if (((c.scope_pairs >> p) & 1) == 0) continue;
              const bool granted[2] = {(p & 2) != 0, (p & 1) != 0};
              for (int st = 0; st < 3; ++st) {
                if (st > 0 && step_up[st][0] == step_up[st - 1][0] &&
                    step_up[st][1] == step_up[st - 1][1]) {
                  continue;  // Recorded with the weaker strength below.
                }
                Dec d[2];
                for (int s = 0; s < 2; ++s) {
                  const bool no = link_denied[s] || !granted[s];
                  d[s].effect = rules::CallEffect(
                      no, step_up[st][s],
                      !no && rules::NeedsApproval(*tool[s], cs[s].autonomous,
                                                  needs_a_human[s]));
                  if (no) continue;
                  if (d[s].effect == v1::EFFECT_STEP_UP) {
                    d[s].step_up = step_up[st][s];
                  }
                  d[s].redact = rules::Redact(tool_data[s], allowed[s]);
                }
                if (d[0] == d[1]) continue;
                Acc* acc = nullptr;
                for (Acc& f : found) {
                  if (f.was == d[0] && f.now == d[1]) acc = &f;
                }
                if (acc == nullptr) {
                  found.push_back(Acc{d[0], d[1], LineAcc()});
                  acc = &found.back();
                }
                acc->acc.clients.insert(c.members.begin(), c.members.end());
                acc->acc.scope_pairs |= 1 << p;
                for (int x = st; x < 3; ++x) {
                  if (x > st && (step_up[x][0] != step_up[st][0] ||
                                 step_up[x][1] != step_up[st][1])) {
                    break;
                  }
                  acc->acc.strengths.insert(x);
                }
                (b == 1 ? acc->acc.autonomous : acc->acc.not_autonomous) = true;
              }
            }
          }
        }
        for (Acc& f : found) {
          lines.emplace(LineKey{static_cast<int>(ui), static_cast<int>(ai),
                                f.was, f.now},
                        std::move(f.acc));
        }
      }
    }

    auto dec_text = [&](const Dec& d) {
      std::string text(EffectName(d.effect));
      if (d.effect == v1::EFFECT_STEP_UP) {
        absl::StrAppend(&text, " ", AuthStrengthName(d.step_up));
      }
      if (d.redact != 0) {
        std::vector<std::string> names;
        for (size_t k = 0; k < data_slots.size(); ++k) {
          if ((d.redact >> k) & 1) names.push_back(data_.ids[data_slots[k]]);
        }
        absl::StrAppend(&text, " redact ", absl::StrJoin(names, ","));
      }
      return text;
    };
    auto scope_sets = [&](int pairs) {
      std::vector<std::vector<int>> sets;
      for (int p = 3; p >= 0; --p) {
        if (((pairs >> p) & 1) == 0) continue;
        if (std::find(sets.begin(), sets.end(), witness[p]) == sets.end()) {
          sets.push_back(witness[p]);
        }
      }
      return sets;
    };
    for (const auto& [key, acc] : lines) {
      DecisionChange c;
      c.kind = Classify(key.was, key.now);
      c.tool = static_cast<int>(t);
      const UserClass& u = users[key.user_class];
      if (u.named) {
        c.users = u.users;
        std::sort(c.users.begin(), c.users.end());
      } else {
        c.role_set = true;
        for (int g : u.roles) {
          c.roles.emplace_back();
          c.roles.back() = role_gens[g].second;
        }
        c.user_id = u.user_id;
      }
      for (int g : agent_classes[key.agent_class].agents) {
        c.agents.emplace_back();
        c.agents.back() = agent_gens[g].second;
      }
      c.clients.assign(acc.clients.begin(), acc.clients.end());
      c.token_scopes = scope_sets(acc.scope_pairs);
      for (int st : acc.strengths) c.strengths.push_back(strengths[st]);
      c.autonomous = acc.autonomous;
      c.not_autonomous = acc.not_autonomous;
      c.old_decision = dec_text(key.was);
      c.new_decision = dec_text(key.now);
      Record(std::move(c), key.was, key.now);
    }
    DiffServices(t, ti, tool, slots, data_slots, tool_data, side_data,
                 scope_pairs, scope_sets, dec_text);
    return absl::OkStatus();
  }

  template <typename SideData, typename ScopePairs, typename ScopeSets,
            typename DecText>
  void DiffServices(size_t t, const int ti[2], const Snapshot::Tool* tool[2],
                    const Slots& slots, const std::vector<int>& data_slots,
                    const uint64_t tool_data[2], SideData side_data,
                    ScopePairs scope_pairs, ScopeSets scope_sets,
                    DecText dec_text) {
    for (size_t v = 0; v < services_.ids.size(); ++v) {
      const Snapshot::Service* service[2] = {nullptr, nullptr};
      for (int s = 0; s < 2; ++s) {
        const int i = services_.index[s][v];
        if (i >= 0) service[s] = &s_[s]->services()[i];
      }
      const int pairs =
          scope_pairs(service[0] != nullptr ? &service[0]->scopes : nullptr,
                      service[1] != nullptr ? &service[1]->scopes : nullptr);
      std::map<std::pair<Dec, Dec>, int> changed;  // -> scope pairs.
      for (int p = 0; p < 4; ++p) {
        if (((pairs >> p) & 1) == 0) continue;
        Dec d[2];
        for (int s = 0; s < 2; ++s) {
          if (tool[s] == nullptr || service[s] == nullptr) continue;
          const int i = services_.index[s][v];
          const bool granted = s == 0 ? (p & 2) != 0 : (p & 1) != 0;
          bool matched = false;
          for (size_t k = 0; k < slots.ids.size(); ++k) {
            if (slots.index[s][k] < 0) continue;
            const Snapshot::DenyRule& rule = Rule(slots, s, k);
            rules::RuleParts parts;
            parts.users = !rule.users;
            parts.roles = !rule.roles;
            parts.agents = !rule.agents;
            parts.clients = rules::RuleClientPartHolds(*s_[s], rule, -1);
            parts.services = rules::RuleServicePartHolds(rule, i);
            parts.autonomous = rules::RuleAutonomyPartHolds(rule, true);
            matched |= rules::RuleHolds(parts);
          }
          const bool autonomous = rules::Autonomous(true, false, nullptr);
          const bool denied = !service[s]->tools.Test(ti[s]) || !granted ||
                              matched ||
                              rules::AutonomyForbids(*tool[s], autonomous);
          d[s].effect = rules::CallEffect(
              denied, v1::AUTH_STRENGTH_UNSPECIFIED,
              rules::NeedsApproval(*tool[s], autonomous, false));
          if (!denied) {
            d[s].redact =
                rules::Redact(tool_data[s], side_data(s, service[s]->data));
          }
        }
        if (d[0] != d[1]) changed[{d[0], d[1]}] |= 1 << p;
      }
      for (const auto& [pair, scope_pair_bits] : changed) {
        DecisionChange c;
        c.kind = Classify(pair.first, pair.second);
        c.tool = static_cast<int>(t);
        c.service = static_cast<int>(v);
        c.token_scopes = scope_sets(scope_pair_bits);
        c.autonomous = true;
        c.old_decision = dec_text(pair.first);
        c.new_decision = dec_text(pair.second);
        Record(std::move(c), pair.first, pair.second);
      }
    }
  }

  void Record(DecisionChange c, const Dec& was, const Dec& now) {
    c.old_effect = was.effect;
    c.new_effect = now.effect;
    c.redaction_changed = was.redact != now.redact;
    by_kind_[static_cast<int>(c.kind)].push_back(std::move(c));
  }

  const Snapshot* s_[2];
  const DiffOptions& options_;
  IdUnion tools_, roles_, agents_, clients_, services_, users_, data_, scopes_;
  std::vector<UserBundle> bundles_;
  std::deque<DecisionChange> by_kind_[3];  // By ChangeKind.
  DecisionDiff result_;
};

}  // namespace

std::string DescribeChange(const DecisionDiff& d, const DecisionChange& c) {
  std::string line;
  if (c.service >= 0) {
    line = absl::StrCat("service ", d.service_ids[c.service]);
  } else {
    if (!c.users.empty()) {
      constexpr size_t kShown = 3;
      std::vector<int> shown(c.users.begin(),
                             c.users.begin() + std::min(kShown, c.users.size()));
      line = absl::StrCat(c.users.size() == 1 ? "user " : "users ",
                          Names(shown, d.user_ids));
      if (c.users.size() > kShown) {
        absl::StrAppend(&line, " and ", c.users.size() - kShown, " more");
      }
    } else {
      line = c.roles.empty()
                 ? std::string("users with no roles")
                 : absl::StrCat("users with roles [",
                                Alternatives(c.roles, d.role_ids), "]");
      if (!c.user_id.empty()) absl::StrAppend(&line, " named ", c.user_id);
    }
    if (c.agents.empty()) {
      absl::StrAppend(&line, " with no agent (or agents allowing all)");
    } else {
      absl::StrAppend(&line,
                      c.agents.size() == 1 ? " with agent "
                                           : " with a delegation of agents ",
                      Alternatives(c.agents, d.agent_ids));
    }
    absl::StrAppend(&line,
                    c.clients.size() == 1 ? " via client " : " via clients ",
                    Names(c.clients, d.client_ids));
  }
  std::vector<std::string> tokens;
  for (const std::vector<int>& set : c.token_scopes) {
    tokens.push_back(absl::StrCat("[", Names(set, d.scope_ids), "]"));
  }
  absl::StrAppend(&line, ", token scopes ", absl::StrJoin(tokens, " or "));
  if (c.service < 0) {
    if (c.strengths.size() == 3) {
      absl::StrAppend(&line, ", any strength");
    } else {
      std::vector<std::string> names;
      for (v1::AuthStrength st : c.strengths) {
        names.emplace_back(AuthStrengthName(st));
      }
      absl::StrAppend(&line, ", ", absl::StrJoin(names, " or "));
    }
    if (c.autonomous != c.not_autonomous) {
      absl::StrAppend(&line,
                      c.autonomous ? ", autonomous" : ", a human in the loop");
    }
  }
  // What changed, in words: the effect first, else the redaction, else the
  // step-up.
  const int a = rules::Permissiveness(c.old_effect);
  const int b = rules::Permissiveness(c.new_effect);
  const char* verb;
  if (a != b) {
    verb = b > a ? "gain" : "lose";
  } else if (c.redaction_changed) {
    verb = c.kind == ChangeKind::kWiden    ? "redact less of"
           : c.kind == ChangeKind::kNarrow ? "redact more of"
                                           : "redact otherwise";
  } else {
    verb = c.kind == ChangeKind::kWiden ? "need a weaker step-up for"
                                        : "need a stronger step-up for";
  }
  absl::StrAppend(&line, ": ", verb, " ", d.tool_ids[c.tool], " (",
                  c.new_decision, ", was ", c.old_decision, ")");
  return line;
}

absl::StatusOr<DecisionDiff> DiffPolicies(const Snapshot& old_policy,
                                          const Snapshot& new_policy,
                                          const DiffOptions& options) {
  return Differ(old_policy, new_policy, options).Run();
}

}  // namespace pdp
