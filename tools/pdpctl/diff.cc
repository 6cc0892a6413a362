#include "tools/pdpctl/diff.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "pdp/bitset.h"
#include "pdp/names.h"

namespace pdpctl {
namespace {

namespace v1 = pdp::v1;
using pdp::Bitset;
using pdp::Snapshot;
// A set of deny rules, over the union's rule indices.
using RuleSet = std::vector<uint64_t>;

// Both policies' ids of one kind, merged and sorted: index i of the union is
// old index old_index[i] and new index new_index[i] (-1 where absent).
struct IdUnion {
  std::vector<std::string> ids;
  std::vector<int> old_index, new_index;
  std::vector<int> old_to_union, new_to_union;

  int Index(int side, size_t i) const {
    return side == 0 ? old_index[i] : new_index[i];
  }
  const std::vector<int>& ToUnion(int side) const {
    return side == 0 ? old_to_union : new_to_union;
  }
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
  u.old_to_union.assign(old_items.size(), -1);
  u.new_to_union.assign(new_items.size(), -1);
  for (const auto& [id, indices] : merged) {
    const int i = static_cast<int>(u.ids.size());
    u.ids.push_back(id);
    u.old_index.push_back(indices.first);
    u.new_index.push_back(indices.second);
    if (indices.first >= 0) u.old_to_union[indices.first] = i;
    if (indices.second >= 0) u.new_to_union[indices.second] = i;
  }
  return u;
}

bool Any(const std::vector<uint64_t>& words) {
  for (uint64_t w : words) {
    if (w != 0) return true;
  }
  return false;
}

template <typename Words>
void SetBit(Words& words, size_t i) {
  words[i >> 6] |= uint64_t{1} << (i & 63);
}

template <typename Words>
bool TestBit(const Words& words, size_t i) {
  return (words[i >> 6] >> (i & 63)) & 1;
}

// Data classes of either policy: bit i is the union's class i (each policy
// declares at most 64, so the union has at most 128).
struct DataSet {
  uint64_t lo = 0, hi = 0;

  static DataSet All() { return {~uint64_t{0}, ~uint64_t{0}}; }
  void Set(size_t i) { (i < 64 ? lo : hi) |= uint64_t{1} << (i & 63); }
  bool Test(size_t i) const { return ((i < 64 ? lo : hi) >> (i & 63)) & 1; }
  bool None() const { return (lo | hi) == 0; }
  DataSet operator&(const DataSet& o) const { return {lo & o.lo, hi & o.hi}; }
  DataSet operator~() const { return {~lo, ~hi}; }
  bool operator==(const DataSet& o) const { return lo == o.lo && hi == o.hi; }
  bool operator!=(const DataSet& o) const { return !(*this == o); }
  template <typename H>
  friend H AbslHashValue(H h, const DataSet& d) {
    return H::combine(std::move(h), d.lo, d.hi);
  }
};

// One side's decision about a call, comparable across policies.
struct Dec {
  v1::Effect effect = v1::EFFECT_DENY;
  v1::AuthStrength step_up = v1::AUTH_STRENGTH_UNSPECIFIED;
  DataSet redact;

  bool operator==(const Dec& o) const {
    return effect == o.effect && step_up == o.step_up && redact == o.redact;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Dec& d) {
    return H::combine(std::move(h), d.effect, d.step_up, d.redact);
  }
};

struct DecPair {
  Dec was, now;
  bool operator==(const DecPair& o) const {
    return was == o.was && now == o.now;
  }
  template <typename H>
  friend H AbslHashValue(H h, const DecPair& p) {
    return H::combine(std::move(h), p.was, p.now);
  }
};

int Rank(v1::Effect effect) {
  switch (effect) {
    case v1::EFFECT_ALLOW:
      return 2;
    case v1::EFFECT_STEP_UP:
    case v1::EFFECT_REQUIRE_APPROVAL:
      return 1;
    default:
      return 0;
  }
}

ChangeKind Classify(const Dec& was, const Dec& now) {
  if (Rank(was.effect) != Rank(now.effect)) {
    return Rank(now.effect) > Rank(was.effect) ? ChangeKind::kWiden
                                               : ChangeKind::kNarrow;
  }
  if (was.effect != now.effect) return ChangeKind::kOther;
  bool widen = false, narrow = false;
  if (was.redact != now.redact) {
    const bool fewer = (now.redact & ~was.redact).None();
    const bool more = (was.redact & ~now.redact).None();
    widen |= fewer;
    narrow |= more;
    if (!fewer && !more) widen = narrow = true;
  }
  if (was.step_up != now.step_up) {
    (now.step_up < was.step_up ? widen : narrow) = true;
  }
  if (widen && !narrow) return ChangeKind::kWiden;
  if (narrow && !widen) return ChangeKind::kNarrow;
  return ChangeKind::kOther;
}

// Computes the diff. A decision of DESIGN §2 for a delegated chain (user u,
// client c, agent a or none, autonomous b) on one side is
//   visible = U[u] & A[a] & C[c] & ~(b ? F : {}) & ~(tools of the deny
//             rules matching the chain),
// C[c] being the tools the client's trust and full ceiling admit, with, for
// a visible tool, an effect that depends only on the tool, b and whether
// the agent may act autonomously (the session is always password), and a
// redaction that depends only on the tool and U.data & A.data. Everything
// is kept as bitsets over the union of both sides' tool ids; a rule matches
// when its user, agent, client and autonomy parts all do, each part a set
// of rules. Users with the same role closure, data and tools on both sides
// (and not named by a rule) are decided once, as one group.
class Differ {
 public:
  Differ(const Snapshot& o, const Snapshot& n) : s_{&o, &n} {
    auto id = [](const auto& item) -> const std::string& { return item.id; };
    tools_ = MergeIds(o.tools(), n.tools(), id);
    agents_ = MergeIds(o.agents(), n.agents(), id);
    clients_ = MergeIds(o.clients(), n.clients(), id);
    services_ = MergeIds(o.services(), n.services(), id);
    users_ = MergeIds(o.users(), n.users(), id);
    rules_ = MergeIds(o.deny_rules(), n.deny_rules(), id);
    auto name = [](const std::string& s) -> const std::string& { return s; };
    data_ = MergeIds(o.data_classes(), n.data_classes(), name);
    nt_ = tools_.ids.size();
    nw_ = (nt_ + 63) / 64;
    nr_ = rules_.ids.size();
    nrw_ = (nr_ + 63) / 64;
    nc_ = clients_.ids.size();
    nwc_ = std::max<size_t>(1, (nc_ + 63) / 64);
    zeros_.assign(nw_ + 1, 0);
    for (int side = 0; side < 2; ++side) {
      const std::vector<int>& to = tools_.ToUnion(side);
      identity_[side] = to.size() == nt_;
      for (size_t i = 0; identity_[side] && i < to.size(); ++i) {
        identity_[side] = to[i] == static_cast<int>(i);
      }
    }
  }

  DiffResult Run() {
    result_.user_ids = users_.ids;
    result_.client_ids = clients_.ids;
    PrepareTools();
    PrepareRules();
    PrepareGroups();
    PrepareAgents();
    PrepareClients();
    PrepareEffects();
    for (size_t a = 0; a < agent_links_.size(); ++a) {
      DiffAgent(a);
      FlushAgent(a);
    }
    DiffServices();
    DiffInteractivity();
    std::sort(result_.groups.begin(), result_.groups.end(),
              [](const ChangeGroup& a, const ChangeGroup& b) {
                return std::tie(a.kind, a.tool, a.line) <
                       std::tie(b.kind, b.tool, b.line);
              });
    return std::move(result_);
  }

 private:
  // A tool as one side defines it, as far as decisions go.
  struct ToolSide {
    bool present = false;
    v1::AuthStrength step_up = v1::AUTH_STRENGTH_UNSPECIFIED;
    bool approval = false;  // autonomy: approval.
    DataSet data;
  };
  // Users who decide alike: the same role closure, data and tools on each
  // side, and not named by any deny rule (else alone).
  struct Group {
    std::vector<int> members;  // Union user indices, ascending.
    bool present[2] = {false, false};
    Bitset tools[2];
    DataSet data[2];
    RuleSet rules[2];  // Rules whose user part the group matches.
  };
  // An agent, or (index 0) no agent.
  struct AgentLink {
    bool present[2] = {false, false};
    Bitset tools[2];
    DataSet data[2];
    bool supervised[2] = {false, false};  // May not act autonomously.
    RuleSet rules[2];  // Rules whose agent part the agent matches.
  };
  struct ClientLink {
    bool present[2] = {false, false};
    Bitset tools[2];      // Admitted by trust and the full ceiling.
    RuleSet rules[2][2];  // [side][autonomous]: client and autonomy parts.
    bool same = false;    // Admits the same tools on both sides.
    // False: registered `interactive: false`, so every chain through it is
    // autonomous on that side.
    bool interactive[2] = {true, true};
  };
  // The changes of the agent being diffed for one (tool, decision pair).
  struct Pending {
    int tool = 0;
    int decisions_pair = 0;
    int next = -1;        // The next Pending of the same tool, or -1.
    int last_group = -1;  // The last group recorded in group_log_.
    bool autonomous = false, not_autonomous = false;
    int64_t decisions = 0;
    absl::InlinedVector<uint64_t, 1> clients;  // Over union client indices.
  };
  struct RedactKey {
    DataSet was, now;
    bool operator==(const RedactKey& o) const {
      return was == o.was && now == o.now;
    }
    template <typename H>
    friend H AbslHashValue(H h, const RedactKey& k) {
      return H::combine(std::move(h), k.was, k.now);
    }
  };

  DataSet Data(int side, pdp::DataMask mask) const {
    DataSet out;
    const std::vector<int>& to = data_.ToUnion(side);
    while (mask != 0) {
      out.Set(to[__builtin_ctzll(mask)]);
      mask &= mask - 1;
    }
    return out;
  }

  // A bitset over one side's tool indices, over the union's.
  Bitset Tools(int side, const Bitset& b) const {
    if (identity_[side]) return b;
    Bitset out(nt_);
    const std::vector<int>& to = tools_.ToUnion(side);
    b.ForEach([&](size_t i) { out.Set(to[i]); });
    return out;
  }

  const Snapshot::DenyRule* Rule(int side, size_t r) const {
    const int i = rules_.Index(side, r);
    return i < 0 ? nullptr : &s_[side]->deny_rules()[i];
  }

  void PrepareTools() {
    const v1::AuthStrength strength = pdp::StrengthFromAmr({});
    absl::flat_hash_map<std::tuple<bool, int, bool, uint64_t, uint64_t, bool,
                                   int, bool, uint64_t, uint64_t>,
                        int>
        signatures;
    for (int side = 0; side < 2; ++side) {
      tool_[side].assign(nt_, ToolSide());
      const std::vector<int>& to = tools_.ToUnion(side);
      for (size_t i = 0; i < s_[side]->tools().size(); ++i) {
        const Snapshot::Tool& tool = s_[side]->tools()[i];
        ToolSide& t = tool_[side][to[i]];
        t.present = true;
        if (strength < tool.auth) t.step_up = tool.auth;
        t.approval = tool.autonomy == v1::AUTONOMY_APPROVAL;
        t.data = Data(side, tool.data);
      }
      forbidden_[side] = Tools(side, s_[side]->AutonomyForbidden());
    }
    signature_.resize(nt_);
    for (size_t t = 0; t < nt_; ++t) {
      const ToolSide& x = tool_[0][t];
      const ToolSide& y = tool_[1][t];
      signature_[t] =
          signatures
              .try_emplace(
                  std::make_tuple(x.present, static_cast<int>(x.step_up),
                                  x.approval, x.data.lo, x.data.hi, y.present,
                                  static_cast<int>(y.step_up), y.approval,
                                  y.data.lo, y.data.hi),
                  static_cast<int>(signatures.size()))
              .first->second;
    }
    pair_cache_.assign(signatures.size() * 6, {-1, 0});
    entry_clients_.assign(nt_ * 6 * nwc_, 0);
    entry_touched_.assign(nt_ * 6, 0);
    first_pending_.assign(nt_, -1);
  }

  void PrepareRules() {
    for (int side = 0; side < 2; ++side) {
      rule_tools_[side].clear();
      for (size_t r = 0; r < nr_; ++r) {
        const Snapshot::DenyRule* rule = Rule(side, r);
        rule_tools_[side].push_back(rule != nullptr ? Tools(side, rule->tools)
                                                    : Bitset(nt_));
      }
      for (int b = 0; b < 2; ++b) {
        autonomy_rules_[side][b].assign(nrw_, 0);
        for (size_t r = 0; r < nr_; ++r) {
          const Snapshot::DenyRule* rule = Rule(side, r);
          if (rule != nullptr &&
              (!rule->autonomous || *rule->autonomous == (b == 1))) {
            SetBit(autonomy_rules_[side][b], r);
          }
        }
      }
    }
  }

  void PrepareGroups() {
    std::set<std::string> named;
    for (const Snapshot* s : s_) {
      for (const Snapshot::DenyRule& rule : s->deny_rules()) {
        if (rule.users) named.insert(rule.users->begin(), rule.users->end());
      }
    }
    std::map<std::string, int> group_of;
    for (size_t i = 0; i < users_.ids.size(); ++i) {
      std::string key;
      for (int side = 0; side < 2; ++side) {
        const int index = users_.Index(side, i);
        if (index < 0) {
          key += "-|";
          continue;
        }
        const Snapshot& s = *s_[side];
        const Snapshot::User& user = s.users()[index];
        std::vector<std::string> roles;
        user.role_closure.ForEach(
            [&](size_t r) { roles.push_back(s.roles()[r].id); });
        std::sort(roles.begin(), roles.end());
        const DataSet data = Data(side, user.data);
        absl::StrAppend(&key, "+", absl::StrJoin(roles, ","), "/", data.lo, ",",
                        data.hi, "/", absl::StrJoin(user.tools.words(), ","),
                        "|");
      }
      if (named.count(users_.ids[i]) > 0) absl::StrAppend(&key, users_.ids[i]);
      auto [it, inserted] =
          group_of.emplace(key, static_cast<int>(groups_.size()));
      if (inserted) groups_.push_back(MakeGroup(i));
      groups_[it->second].members.push_back(static_cast<int>(i));
    }
  }

  Group MakeGroup(size_t user) const {
    Group g;
    for (int side = 0; side < 2; ++side) {
      g.rules[side].assign(nrw_, 0);
      const int index = users_.Index(side, user);
      g.present[side] = index >= 0;
      if (index < 0) continue;
      const Snapshot& s = *s_[side];
      const Snapshot::User& u = s.users()[index];
      g.tools[side] = Tools(side, u.tools);
      g.data[side] = Data(side, u.data);
      for (size_t r = 0; r < nr_; ++r) {
        const Snapshot::DenyRule* rule = Rule(side, r);
        if (rule == nullptr || rule->services) continue;
        if (rule->users && !rule->users->contains(u.id)) continue;
        if (rule->roles && !u.role_closure.Intersects(*rule->roles)) continue;
        SetBit(g.rules[side], r);
      }
    }
    return g;
  }

  void PrepareAgents() {
    AgentLink none;
    for (int side = 0; side < 2; ++side) {
      none.present[side] = true;
      none.tools[side] = Bitset(nt_);
      none.tools[side].SetAll();
      none.data[side] = DataSet::All();
      none.rules[side].assign(nrw_, 0);
      for (size_t r = 0; r < nr_; ++r) {
        const Snapshot::DenyRule* rule = Rule(side, r);
        if (rule != nullptr && !rule->agents) SetBit(none.rules[side], r);
      }
    }
    agent_links_.push_back(std::move(none));
    for (size_t i = 0; i < agents_.ids.size(); ++i) {
      AgentLink link;
      for (int side = 0; side < 2; ++side) {
        link.rules[side].assign(nrw_, 0);
        const int index = agents_.Index(side, i);
        link.present[side] = index >= 0;
        if (index < 0) continue;
        const Snapshot::Agent& agent = s_[side]->agents()[index];
        link.tools[side] = Tools(side, agent.tools);
        link.data[side] = Data(side, agent.data);
        link.supervised[side] = !agent.autonomous;
        for (size_t r = 0; r < nr_; ++r) {
          const Snapshot::DenyRule* rule = Rule(side, r);
          if (rule != nullptr && (!rule->agents || rule->agents->Test(index))) {
            SetBit(link.rules[side], r);
          }
        }
      }
      agent_links_.push_back(std::move(link));
    }
  }

  void PrepareClients() {
    client_changed_ = Bitset(nt_);
    std::vector<RuleSet> client_rules[2];
    for (size_t c = 0; c < nc_; ++c) {
      ClientLink link;
      RuleSet rules[2];
      for (int side = 0; side < 2; ++side) {
        rules[side].assign(nrw_, 0);
        for (int b = 0; b < 2; ++b) link.rules[side][b].assign(nrw_, 0);
        const int index = clients_.Index(side, c);
        link.present[side] = index >= 0;
        link.tools[side] = Bitset(nt_);
        if (index < 0) continue;
        const Snapshot& s = *s_[side];
        const Snapshot::Client& client = s.clients()[index];
        link.interactive[side] = client.interactive;
        const std::vector<int>& to = tools_.ToUnion(side);
        const Bitset& trusted = s.ToolsForTrust(client.trust);
        for (size_t t = 0; t < s.tools().size(); ++t) {
          if (!trusted.Test(t)) continue;
          bool covered = true;
          for (int scope : s.tools()[t].scopes) {
            covered = covered && client.scopes.Test(scope);
          }
          if (covered) link.tools[side].Set(to[t]);
        }
        for (size_t r = 0; r < nr_; ++r) {
          const Snapshot::DenyRule* rule = Rule(side, r);
          if (rule == nullptr) continue;
          if (rule->clients && !rule->clients->Test(index)) continue;
          if (rule->client_trust_below &&
              !(client.trust < *rule->client_trust_below)) {
            continue;
          }
          SetBit(rules[side], r);
        }
        for (int b = 0; b < 2; ++b) {
          for (size_t w = 0; w < nrw_; ++w) {
            link.rules[side][b][w] =
                rules[side][w] & autonomy_rules_[side][b][w];
          }
        }
      }
      link.same =
          link.present[0] && link.present[1] && link.tools[0] == link.tools[1];
      for (size_t w = 0; w < nw_; ++w) {
        client_changed_.mutable_words()[w] |=
            link.tools[0].words()[w] ^ link.tools[1].words()[w];
      }
      for (int side = 0; side < 2; ++side) {
        client_rules[side].push_back(std::move(rules[side]));
      }
      client_links_.push_back(std::move(link));
    }
    // Rules that may match differently for some (user, agent) whatever the
    // user and agent: absent on a side, other tools, other client or
    // autonomy parts.
    unstable_rules_.assign(nrw_, 0);
    for (size_t r = 0; r < nr_; ++r) {
      bool stable = Rule(0, r) != nullptr && Rule(1, r) != nullptr &&
                    rule_tools_[0][r] == rule_tools_[1][r];
      for (int b = 0; stable && b < 2; ++b) {
        stable = TestBit(autonomy_rules_[0][b], r) ==
                 TestBit(autonomy_rules_[1][b], r);
      }
      for (size_t c = 0; stable && c < nc_; ++c) {
        stable =
            TestBit(client_rules[0][c], r) == TestBit(client_rules[1][c], r);
      }
      if (!stable) SetBit(unstable_rules_, r);
    }
  }

  // Per [autonomous][supervised old][supervised new]: the tools, on both
  // sides, whose effect when visible on both sides differs.
  void PrepareEffects() {
    Bitset forbidden_changed(nt_);
    for (size_t w = 0; w < nw_; ++w) {
      forbidden_changed.mutable_words()[w] =
          forbidden_[0].words()[w] ^ forbidden_[1].words()[w];
    }
    for (int so = 0; so < 2; ++so) {
      for (int sn = 0; sn < 2; ++sn) {
        effect_changed_any_[so][sn] = forbidden_changed;
        for (int b = 0; b < 2; ++b) {
          Bitset& changed = effect_changed_[b][so][sn];
          changed = Bitset(nt_);
          for (size_t t = 0; t < nt_; ++t) {
            if (!tool_[0][t].present || !tool_[1][t].present) continue;
            const Dec x = MakeDec(0, t, b == 1, so == 1, DataSet());
            const Dec y = MakeDec(1, t, b == 1, sn == 1, DataSet());
            if (x.effect != y.effect || x.step_up != y.step_up) changed.Set(t);
          }
          effect_changed_any_[so][sn].OrWith(changed);
        }
      }
    }
  }

  // The decision about a tool visible on `side`.
  Dec MakeDec(int side, size_t t, bool autonomous, bool supervised,
              const DataSet& allowed) const {
    const ToolSide& tool = tool_[side][t];
    Dec d;
    d.redact = tool.data & ~allowed;
    if (tool.step_up != v1::AUTH_STRENGTH_UNSPECIFIED) {
      d.effect = v1::EFFECT_STEP_UP;
      d.step_up = tool.step_up;
    } else if (autonomous && (tool.approval || supervised)) {
      d.effect = v1::EFFECT_REQUIRE_APPROVAL;
    } else {
      d.effect = v1::EFFECT_ALLOW;
    }
    return d;
  }

  // The tools of the rules in `rules` on `side` (2: on either side).
  const uint64_t* RuleTools(int side, const RuleSet& rules) {
    if (!Any(rules)) return zeros_.data();
    auto [it, inserted] = rule_tools_cache_[side].try_emplace(rules);
    if (inserted) {
      it->second = Bitset(nt_);
      for (size_t r = 0; r < nr_; ++r) {
        if (!TestBit(rules, r)) continue;
        if (side != 1) it->second.OrWith(rule_tools_[0][r]);
        if (side != 0) it->second.OrWith(rule_tools_[1][r]);
      }
    }
    return it->second.words().empty() ? zeros_.data()
                                      : it->second.words().data();
  }

  // The tools visible on both sides whose redaction differs.
  const uint64_t* RedactChanged(const DataSet& was, const DataSet& now) {
    auto [it, inserted] = redact_cache_.try_emplace(RedactKey{was, now});
    if (inserted) {
      it->second = Bitset(nt_);
      for (size_t t = 0; t < nt_; ++t) {
        const ToolSide& x = tool_[0][t];
        const ToolSide& y = tool_[1][t];
        if (x.present && y.present && (x.data & ~was) != (y.data & ~now)) {
          it->second.Set(t);
        }
      }
    }
    return it->second.words().empty() ? zeros_.data()
                                      : it->second.words().data();
  }

  int PairIndex(const DecPair& pair) {
    auto [it, inserted] =
        pair_index_.try_emplace(pair, static_cast<int>(pairs_.size()));
    if (inserted) pairs_.push_back(pair);
    return it->second;
  }

  static void And(const RuleSet& a, const RuleSet& b, RuleSet& out) {
    for (size_t w = 0; w < out.size(); ++w) out[w] = a[w] & b[w];
  }

  // Every chain with agent `a` (0: none): each group, client and autonomy.
  void DiffAgent(size_t a) {
    const AgentLink& agent = agent_links_[a];
    std::vector<uint64_t> p[2] = {std::vector<uint64_t>(nw_),
                                  std::vector<uint64_t>(nw_)};
    std::vector<uint64_t> differ[2] = {std::vector<uint64_t>(nw_),
                                       std::vector<uint64_t>(nw_)};
    std::vector<size_t> some_words, all_words;
    RuleSet user_agent[2], chain_rules[2], changed_rules(nrw_);
    for (int side = 0; side < 2; ++side) {
      user_agent[side].assign(nrw_, 0);
      chain_rules[side].assign(nrw_, 0);
    }
    const bool supervised[2] = {agent.present[0] && agent.supervised[0],
                                agent.present[1] && agent.supervised[1]};
    const Bitset& effect_changed_any =
        effect_changed_any_[supervised[0]][supervised[1]];
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
      const Group& g = groups_[gi];
      bool on[2];
      for (int side = 0; side < 2; ++side) {
        on[side] = g.present[side] && agent.present[side];
      }
      if (!on[0] && !on[1]) continue;
      const DataSet allowed[2] = {g.data[0] & agent.data[0],
                                  g.data[1] & agent.data[1]};
      for (size_t w = 0; w < nrw_; ++w) {
        changed_rules[w] = unstable_rules_[w] |
                           (g.rules[0][w] ^ g.rules[1][w]) |
                           (agent.rules[0][w] ^ agent.rules[1][w]);
      }
      const uint64_t* rules_changed = RuleTools(2, changed_rules);
      const uint64_t* redact_changed =
          on[0] && on[1] ? RedactChanged(allowed[0], allowed[1])
                         : zeros_.data();
      // The words where some decision of a chain of (g, agent) may differ:
      // `some_words` for clients admitting the same tools on both sides,
      // `all_words` for the others.
      some_words.clear();
      all_words.clear();
      const uint64_t* effect_any = effect_changed_any.words().data();
      const uint64_t* client_any = client_changed_.words().data();
      for (size_t w = 0; w < nw_; ++w) {
        const uint64_t x =
            on[0] ? g.tools[0].words()[w] & agent.tools[0].words()[w] : 0;
        const uint64_t y =
            on[1] ? g.tools[1].words()[w] & agent.tools[1].words()[w] : 0;
        p[0][w] = x;
        p[1][w] = y;
        const uint64_t reach = x | y;
        if (reach == 0) continue;
        const uint64_t changed =
            (x ^ y) | effect_any[w] | rules_changed[w] | redact_changed[w];
        if ((changed & reach) != 0) some_words.push_back(w);
        if (((changed | client_any[w]) & reach) != 0) all_words.push_back(w);
      }
      if (all_words.empty()) continue;
      for (int b = 0; b < 2; ++b) {
        const uint64_t* effect =
            effect_changed_[b][supervised[0]][supervised[1]].words().data();
        for (size_t w : all_words) differ[b][w] = effect[w] | redact_changed[w];
      }
      for (int side = 0; side < 2; ++side) {
        And(g.rules[side], agent.rules[side], user_agent[side]);
      }
      for (size_t c = 0; c < nc_; ++c) {
        const ClientLink& client = client_links_[c];
        const std::vector<size_t>& words = client.same ? some_words : all_words;
        if (words.empty()) continue;
        const uint64_t* admit[2];
        for (int side = 0; side < 2; ++side) {
          admit[side] = on[side] && client.present[side]
                            ? client.tools[side].words().data()
                            : zeros_.data();
        }
        for (int b = 0; b < 2; ++b) {
          // A chain with a human in the loop through a client that is not
          // interactive is autonomous: on both sides, the same as b == 1;
          // on one side, DiffInteractivity() reports the change.
          if (b == 0 && (!client.interactive[0] || !client.interactive[1])) {
            continue;
          }
          ++result_.chains_examined;
          const uint64_t* deny[2];
          const uint64_t* forbidden[2];
          for (int side = 0; side < 2; ++side) {
            And(user_agent[side], client.rules[side][b], chain_rules[side]);
            deny[side] = RuleTools(side, chain_rules[side]);
            forbidden[side] =
                b == 1 ? forbidden_[side].words().data() : zeros_.data();
          }
          const uint64_t* d = differ[b].data();
          for (size_t w : words) {
            const uint64_t x =
                p[0][w] & admit[0][w] & ~forbidden[0][w] & ~deny[0][w];
            const uint64_t y =
                p[1][w] & admit[1][w] & ~forbidden[1][w] & ~deny[1][w];
            uint64_t changed = (x ^ y) | (x & y & d[w]);
            while (changed != 0) {
              const int bit = __builtin_ctzll(changed);
              changed &= changed - 1;
              const size_t t = w * 64 + bit;
              const int seen = static_cast<int>((x >> bit) & 1) |
                               static_cast<int>(((y >> bit) & 1) << 1);
              const size_t e = (b * 3 + (seen - 1)) * nt_ + t;
              if (!entry_touched_[e]) {
                entry_touched_[e] = 1;
                touched_.push_back(e);
              }
              entry_clients_[e * nwc_ + (c >> 6)] |= uint64_t{1} << (c & 63);
            }
          }
        }
      }
      FlushGroup(static_cast<int>(gi), supervised, allowed);
    }
  }

  // Moves the changes of the group just diffed into pending_.
  void FlushGroup(int gi, const bool supervised[2], const DataSet allowed[2]) {
    ++stamp_;
    const int64_t members = static_cast<int64_t>(groups_[gi].members.size());
    for (size_t e : touched_) {
      const size_t t = e % nt_;
      const int combo = static_cast<int>(e / nt_);  // b * 3 + seen - 1.
      const int b = combo / 3;
      const int seen = combo % 3 + 1;
      std::pair<int64_t, int>& cached = pair_cache_[signature_[t] * 6 + combo];
      if (cached.first != stamp_) {
        DecPair pair;
        if (seen & 1)
          pair.was = MakeDec(0, t, b == 1, supervised[0], allowed[0]);
        if (seen & 2)
          pair.now = MakeDec(1, t, b == 1, supervised[1], allowed[1]);
        cached = {stamp_, PairIndex(pair)};
      }
      int index = first_pending_[t];
      while (index >= 0 && pending_[index].decisions_pair != cached.second) {
        index = pending_[index].next;
      }
      if (index < 0) {
        index = static_cast<int>(pending_.size());
        pending_.emplace_back();
        Pending& p = pending_.back();
        p.tool = static_cast<int>(t);
        p.decisions_pair = cached.second;
        p.next = first_pending_[t];
        p.clients.assign(nwc_, 0);
        first_pending_[t] = index;
      }
      Pending& p = pending_[index];
      if (p.last_group != gi) {
        p.last_group = gi;
        group_log_.emplace_back(index, gi);
      }
      entry_touched_[e] = 0;
      uint64_t* entry = &entry_clients_[e * nwc_];
      int64_t chains = 0;
      for (size_t k = 0; k < nwc_; ++k) {
        p.clients[k] |= entry[k];
        chains += __builtin_popcountll(entry[k]);
        entry[k] = 0;
      }
      (b == 1 ? p.autonomous : p.not_autonomous) = true;
      p.decisions += chains * members;
    }
    touched_.clear();
  }

  const std::string& DecText(int pair, bool now) {
    if (texts_.size() < pairs_.size()) texts_.resize(pairs_.size());
    std::pair<std::string, std::string>& texts = texts_[pair];
    if (texts.first.empty()) {
      texts.first = Text(pairs_[pair].was);
      texts.second = Text(pairs_[pair].now);
    }
    return now ? texts.second : texts.first;
  }

  std::string Text(const Dec& d) const {
    std::string text(pdp::EffectName(d.effect));
    if (d.step_up != v1::AUTH_STRENGTH_UNSPECIFIED) {
      absl::StrAppend(&text, " ", pdp::AuthStrengthName(d.step_up));
    }
    if (!d.redact.None()) {
      std::vector<std::string> names;
      for (size_t i = 0; i < data_.ids.size(); ++i) {
        if (d.redact.Test(i)) names.push_back(data_.ids[i]);
      }
      absl::StrAppend(&text, " redact ", absl::StrJoin(names, ","));
    }
    return text;
  }

  void Count(ChangeKind kind, int64_t decisions) {
    (kind == ChangeKind::kWiden    ? result_.widen
     : kind == ChangeKind::kNarrow ? result_.narrow
                                   : result_.other) += decisions;
  }

  // Turns the changes gathered for agent `a` into groups.
  void FlushAgent(size_t a) {
    // The groups of each Pending, from the log: a counting sort.
    std::vector<int> group_start(pending_.size() + 1, 0);
    for (const auto& [index, group] : group_log_) ++group_start[index + 1];
    for (size_t i = 0; i < pending_.size(); ++i) {
      group_start[i + 1] += group_start[i];
    }
    std::vector<int> group_of(group_log_.size());
    {
      std::vector<int> next(group_start.begin(), group_start.end() - 1);
      for (const auto& [index, group] : group_log_) {
        group_of[next[index]++] = group;
      }
    }
    group_log_.clear();
    for (size_t i = 0; i < pending_.size(); ++i) {
      const Pending& p = pending_[i];
      first_pending_[p.tool] = -1;
      ChangeGroup c;
      const DecPair& pair = pairs_[p.decisions_pair];
      c.kind = Classify(pair.was, pair.now);
      c.tool = tools_.ids[p.tool];
      if (a > 0) c.agent = agents_.ids[a - 1];
      for (int k = group_start[i]; k < group_start[i + 1]; ++k) {
        const std::vector<int>& members = groups_[group_of[k]].members;
        c.users.insert(c.users.end(), members.begin(), members.end());
      }
      std::sort(c.users.begin(), c.users.end());
      for (size_t client = 0; client < nc_; ++client) {
        if (TestBit(p.clients, client)) {
          c.clients.push_back(static_cast<int>(client));
        }
      }
      c.autonomous = p.autonomous;
      c.not_autonomous = p.not_autonomous;
      c.old_decision = DecText(p.decisions_pair, false);
      c.new_decision = DecText(p.decisions_pair, true);
      c.decisions = p.decisions;
      Count(c.kind, c.decisions);
      c.line = Line(c);
      result_.groups.push_back(std::move(c));
    }
    pending_.clear();
  }

  std::string Line(const ChangeGroup& c) const {
    const char* verb = c.kind == ChangeKind::kWiden    ? "gain"
                       : c.kind == ChangeKind::kNarrow ? "lose"
                                                       : "change";
    const std::string verb_s = absl::StrCat(verb, "s");
    std::string line;
    if (!c.service.empty()) {
      line = absl::StrCat("service ", c.service, " ", verb_s, " ", c.tool);
    } else if (c.users.size() == 1) {
      line = absl::StrCat("user ", users_.ids[c.users[0]]);
      if (!c.agent.empty()) absl::StrAppend(&line, " with agent ", c.agent);
      absl::StrAppend(&line, " ", verb_s, " ", c.tool);
    } else if (!c.agent.empty()) {
      line = absl::StrCat("agent ", c.agent, " ", verb_s, " ", c.tool, " for ",
                          Plural(c.users.size(), "user"));
    } else {
      line = absl::StrCat(Plural(c.users.size(), "user"), " ", verb, " ",
                          c.tool, " (no agent)");
    }
    if (c.clients.size() == 1) {
      absl::StrAppend(&line, " via client ", clients_.ids[c.clients[0]]);
    } else if (c.clients.size() > 1) {
      absl::StrAppend(&line, " via ", Plural(c.clients.size(), "client"));
    }
    if (c.service.empty() && c.autonomous != c.not_autonomous) {
      absl::StrAppend(
          &line, c.autonomous ? ", autonomous only" : ", not autonomous only");
    }
    absl::StrAppend(&line, " (", c.new_decision, ", was ", c.old_decision, ")");
    return line;
  }

  // Service chains: autonomous, no step-up, the service's own tools, scopes
  // and data; a rule matches when its only chain conditions are services
  // (naming this one) and autonomous: true.
  void DiffServices() {
    for (size_t v = 0; v < services_.ids.size(); ++v) {
      ++result_.chains_examined;
      Bitset visible[2];
      DataSet allowed[2];
      for (int side = 0; side < 2; ++side) {
        visible[side] = Bitset(nt_);
        const int index = services_.Index(side, v);
        if (index < 0) continue;
        const Snapshot& s = *s_[side];
        const Snapshot::Service& service = s.services()[index];
        allowed[side] = Data(side, service.data);
        Bitset own(s.tools().size());
        service.tools.ForEach([&](size_t t) {
          for (int scope : s.tools()[t].scopes) {
            if (!service.scopes.Test(scope)) return;
          }
          own.Set(t);
        });
        own.AndNotWith(s.AutonomyForbidden());
        for (const Snapshot::DenyRule& rule : s.deny_rules()) {
          if (rule.users || rule.roles || rule.agents || rule.clients ||
              rule.client_trust_below ||
              (rule.autonomous && !*rule.autonomous) ||
              (rule.services && !rule.services->Test(index))) {
            continue;
          }
          own.AndNotWith(rule.tools);
        }
        visible[side] = Tools(side, own);
      }
      Bitset either = visible[0];
      either.OrWith(visible[1]);
      either.ForEach([&](size_t t) {
        DecPair pair;
        for (int side = 0; side < 2; ++side) {
          if (!visible[side].Test(t)) continue;
          Dec& d = side == 0 ? pair.was : pair.now;
          d.effect = tool_[side][t].approval ? v1::EFFECT_REQUIRE_APPROVAL
                                             : v1::EFFECT_ALLOW;
          d.redact = tool_[side][t].data & ~allowed[side];
        }
        if (pair.was == pair.now) return;
        const int index = PairIndex(pair);
        ChangeGroup c;
        c.kind = Classify(pair.was, pair.now);
        c.tool = tools_.ids[t];
        c.service = services_.ids[v];
        c.autonomous = true;
        c.old_decision = DecText(index, false);
        c.new_decision = DecText(index, true);
        c.decisions = 1;
        Count(c.kind, 1);
        c.line = Line(c);
        result_.groups.push_back(std::move(c));
      });
    }
  }

  // Clients registered on both sides whose `interactive` changed: the
  // chains that say a human is in the loop become autonomous (narrower:
  // approvals, tools forbidden without a human) or stop being so (wider).
  void DiffInteractivity() {
    for (size_t c = 0; c < nc_; ++c) {
      const ClientLink& client = client_links_[c];
      if (!client.present[0] || !client.present[1] ||
          client.interactive[0] == client.interactive[1]) {
        continue;
      }
      ChangeGroup g;
      g.kind = client.interactive[1] ? ChangeKind::kWiden : ChangeKind::kNarrow;
      g.tool = "*";
      g.clients = {static_cast<int>(c)};
      g.not_autonomous = true;
      g.old_decision = client.interactive[0] ? "interactive" : "not interactive";
      g.new_decision = client.interactive[1] ? "interactive" : "not interactive";
      g.decisions = 1;
      g.line = absl::StrCat(
          "client ", clients_.ids[c], " is now registered interactive: ",
          client.interactive[1] ? "true" : "false",
          client.interactive[1]
              ? ": chains through it that say a human is in the loop are no "
                "longer decided as autonomous (approvals and autonomy bans "
                "lifted for them)"
              : ": every chain through it is decided as autonomous, "
                "whatever the request says");
      Count(g.kind, 1);
      result_.groups.push_back(std::move(g));
    }
  }

  const Snapshot* s_[2];
  IdUnion tools_, agents_, clients_, services_, users_, rules_, data_;
  size_t nt_ = 0, nw_ = 0;   // Union tools, and words of a tool bitset.
  size_t nr_ = 0, nrw_ = 0;  // Union rules, and words of a RuleSet.
  size_t nc_ = 0, nwc_ = 1;  // Union clients, and words of a client set.
  bool identity_[2] = {false, false};  // Side's tool index == union index.
  std::vector<uint64_t> zeros_;        // nw_ + 1 zero words.

  std::vector<ToolSide> tool_[2];  // By union tool index.
  std::vector<int> signature_;     // Tools with the same ToolSides share one.
  Bitset forbidden_[2];            // autonomy: forbidden.
  std::vector<Bitset> rule_tools_[2];  // By union rule index.
  RuleSet autonomy_rules_[2][2];       // [side][autonomous].
  RuleSet unstable_rules_;
  std::vector<Group> groups_;
  std::vector<AgentLink> agent_links_;  // 0: no agent; i + 1: agents_ i.
  std::vector<ClientLink> client_links_;
  Bitset client_changed_;  // Admitted on one side only, by some client.
  Bitset effect_changed_[2][2][2];
  Bitset effect_changed_any_[2][2];  // Either autonomy, or forbidden changed.

  absl::node_hash_map<RuleSet, Bitset> rule_tools_cache_[3];
  absl::node_hash_map<RedactKey, Bitset> redact_cache_;
  absl::flat_hash_map<DecPair, int> pair_index_;
  std::vector<DecPair> pairs_;
  std::vector<std::pair<std::string, std::string>> texts_;

  // Per (autonomous, seen on old/new/both, tool): clients, for one group.
  std::vector<uint64_t> entry_clients_;
  std::vector<uint8_t> entry_touched_;  // Whether in touched_.
  std::vector<size_t> touched_;
  // Per (signature, autonomous, seen): the decision pair, for one group.
  std::vector<std::pair<int64_t, int>> pair_cache_;
  int64_t stamp_ = 0;
  std::vector<Pending> pending_;    // Of the agent being diffed.
  std::vector<int> first_pending_;  // By tool: into pending_, or -1.
  std::vector<std::pair<int, int>> group_log_;  // (pending_ index, group).

  DiffResult result_;
};

const char* KindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kWiden:
      return "widen";
    case ChangeKind::kNarrow:
      return "narrow";
    default:
      return "other";
  }
}

std::string Summary(const DiffResult& r) {
  return absl::StrCat(Plural(r.widen, "decision"), " widen, ", r.narrow,
                      " narrow, ", r.other, " change otherwise");
}

// Appends `text` as nlohmann::json::dump() writes a string.
void AppendJson(absl::string_view text, std::string& out) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      out += nlohmann::json(std::string(text)).dump();
      return;
    }
  }
  out += '"';
  out.append(text.data(), text.size());
  out += '"';
}

// Appends ["ids[i]", ...] for each index.
void AppendJson(const std::vector<int>& indices,
                const std::vector<std::string>& quoted_ids, std::string& out) {
  out += '[';
  for (size_t i = 0; i < indices.size(); ++i) {
    if (i > 0) out += ',';
    out += quoted_ids[indices[i]];
  }
  out += ']';
}

std::vector<std::string> Quoted(const std::vector<std::string>& ids) {
  std::vector<std::string> quoted;
  quoted.reserve(ids.size());
  for (const std::string& id : ids) {
    quoted.emplace_back();
    AppendJson(id, quoted.back());
  }
  return quoted;
}

// Writes what nlohmann::json::dump() would write for {"changes": [...],
// "narrow": N, "other": N, "widen": N} (keys sorted), one change at a time: a
// large diff has tens of millions of user ids in its changes.
void WriteJson(const DiffResult& result, std::ostream& out) {
  const std::vector<std::string> users = Quoted(result.user_ids);
  const std::vector<std::string> clients = Quoted(result.client_ids);
  std::string text = "{\"changes\":[";
  for (size_t i = 0; i < result.groups.size(); ++i) {
    const ChangeGroup& c = result.groups[i];
    if (i > 0) text += ',';
    text += '{';
    if (!c.agent.empty()) {
      text += "\"agent\":";
      AppendJson(c.agent, text);
      text += ',';
    }
    if (c.service.empty()) {
      absl::StrAppend(&text, "\"autonomous\":", c.autonomous ? "true" : "false",
                      ",");
    }
    text += "\"clients\":";
    AppendJson(c.clients, clients, text);
    absl::StrAppend(&text, ",\"decisions\":", c.decisions, ",\"kind\":\"",
                    KindName(c.kind), "\",\"line\":");
    AppendJson(c.line, text);
    text += ",\"new\":";
    AppendJson(c.new_decision, text);
    if (c.service.empty()) {
      absl::StrAppend(
          &text, ",\"not_autonomous\":", c.not_autonomous ? "true" : "false");
    }
    text += ",\"old\":";
    AppendJson(c.old_decision, text);
    if (!c.service.empty()) {
      text += ",\"service\":";
      AppendJson(c.service, text);
    }
    text += ",\"tool\":";
    AppendJson(c.tool, text);
    text += ",\"users\":";
    AppendJson(c.users, users, text);
    text += '}';
    if (text.size() >= (1 << 20)) {
      out << text;
      text.clear();
    }
  }
  absl::StrAppend(&text, "],\"narrow\":", result.narrow,
                  ",\"other\":", result.other, ",\"widen\":", result.widen,
                  "}\n");
  out << text;
}

int RunDiff(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.positional().size() != 2) {
    return UsageError("diff", "give two policy directories: OLD_DIR NEW_DIR",
                      err);
  }
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> old_policy =
      LoadPolicy("diff", args.positional()[0], err);
  if (!old_policy.ok()) return kExitUsage;
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> new_policy =
      LoadPolicy("diff", args.positional()[1], err);
  if (!new_policy.ok()) return kExitUsage;
  const DiffResult result = DiffPolicies(**old_policy, **new_policy);
  if (args.Has("json")) {
    WriteJson(result, out);
  } else {
    const char* headings[] = {"widens:", "narrows:", "changes otherwise:"};
    for (ChangeKind kind :
         {ChangeKind::kWiden, ChangeKind::kNarrow, ChangeKind::kOther}) {
      bool first = true;
      for (const ChangeGroup& c : result.groups) {
        if (c.kind != kind) continue;
        if (first) out << headings[static_cast<int>(kind)] << "\n";
        first = false;
        out << "  " << c.line << "\n";
      }
    }
    out << Summary(result) << "\n";
  }
  if (args.Has("fail-on-widen") && result.widen > 0) return kExitFailed;
  return kExitOk;
}

}  // namespace

DiffResult DiffPolicies(const pdp::Snapshot& old_policy,
                        const pdp::Snapshot& new_policy) {
  return Differ(old_policy, new_policy).Run();
}

Command DiffCommand() {
  using Kind = FlagSpec::Kind;
  return {
      "diff",
      "diff OLD_DIR NEW_DIR [--fail-on-widen] [--json]",
      "show every decision that changes between two policy directories",
      "Compiles both directories and compares the call decisions of every\n"
      "chain either policy can express: all users x clients x agents (and\n"
      "no agent) x autonomous or not, and every service, over the union of\n"
      "ids, each client's token holding its full scope ceiling, password\n"
      "authentication. Prints the changed decisions grouped by tool, agent\n"
      "(or service) and change, under \"widens:\", \"narrows:\" and\n"
      "\"changes otherwise:\", then \"N decisions widen, M narrow, K change\n"
      "otherwise\". Widening: DENY < STEP_UP, REQUIRE_APPROVAL < ALLOW;\n"
      "fewer redactions or a weaker step-up also widen. Exits 1 with\n"
      "--fail-on-widen when any decision widens, else 0.\n",
      {
          {"fail-on-widen", Kind::kBool, "",
           "exit 1 when any decision becomes more permissive"},
          {"json", Kind::kBool, "", "print the changes as JSON"},
      },
      RunDiff,
  };
}

}  // namespace pdpctl
