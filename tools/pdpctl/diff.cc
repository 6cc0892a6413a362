#include "tools/pdpctl/diff.h"

#include <algorithm>
#include <bitset>
#include <map>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "pdp/bitset.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/request.h"

namespace pdpctl {
namespace {

namespace v1 = pdp::v1;
using pdp::Bitset;
using pdp::Snapshot;
// Data classes in the union of both policies' registries (at most 64 each).
using UnionMask = std::bitset<128>;

// Both policies' ids of one kind, merged: index i of the union is old index
// old_index[i] and new index new_index[i] (-1 where absent).
struct IdUnion {
  std::vector<std::string> ids;
  std::vector<int> old_index, new_index;
  std::vector<int> old_to_union, new_to_union;
};

template <typename T, typename IdOf>
IdUnion MergeIds(const std::vector<T>& old_items, const std::vector<T>& new_items,
                 IdOf id_of) {
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

// A bitset over one policy's indices, re-expressed over the union's.
Bitset ToUnion(const Bitset& side, const std::vector<int>& to_union,
               size_t size) {
  Bitset out(size);
  side.ForEach([&](size_t i) { out.Set(to_union[i]); });
  return out;
}

std::vector<std::string> IdsOf(const Bitset& side,
                               const std::vector<std::string>& names) {
  std::vector<std::string> ids;
  side.ForEach([&](size_t i) { ids.push_back(names[i]); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

template <typename T>
std::vector<std::string> EntityIds(const Bitset& side,
                                   const std::vector<T>& items) {
  std::vector<std::string> ids;
  side.ForEach([&](size_t i) { ids.push_back(items[i].id); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

Bitset Xor(const Bitset& a, const Bitset& b) {
  Bitset both = a;
  both.AndWith(b);
  Bitset out = a;
  out.OrWith(b);
  out.AndNotWith(both);
  return out;
}

// One side's decision about a call, comparable across policies.
struct Dec {
  v1::Effect effect = v1::EFFECT_DENY;
  UnionMask redact;
  v1::AuthStrength step_up = v1::AUTH_STRENGTH_UNSPECIFIED;
  bool operator==(const Dec& o) const {
    return effect == o.effect && redact == o.redact && step_up == o.step_up;
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
    const bool fewer = (now.redact & ~was.redact).none();
    const bool more = (was.redact & ~now.redact).none();
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

class Differ {
 public:
  Differ(const Snapshot& o, const Snapshot& n) : o_(o), n_(n) {
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
    all_ = Bitset(nt_);
    all_.SetAll();
  }

  DiffResult Run() {
    IndexTools();
    ComputeDirtyTools();
    DiffDelegated();
    DiffServices();
    return Finish();
  }

 private:
  UnionMask Mask(pdp::DataMask mask, bool old_side) const {
    UnionMask out;
    const std::vector<int>& to = old_side ? data_.old_to_union
                                          : data_.new_to_union;
    while (mask != 0) {
      const int i = __builtin_ctzll(mask);
      mask &= mask - 1;
      out.set(to[i]);
    }
    return out;
  }
  Bitset OldTools(const Bitset& b) const {
    return ToUnion(b, tools_.old_to_union, nt_);
  }
  Bitset NewTools(const Bitset& b) const {
    return ToUnion(b, tools_.new_to_union, nt_);
  }

  // Tools whose own definition, or a deny rule naming them, changed.
  void ComputeDirtyTools() {
    dirty_tools_ = Bitset(nt_);
    for (size_t u = 0; u < nt_; ++u) {
      const int a = tools_.old_index[u], b = tools_.new_index[u];
      if (a < 0 || b < 0) {
        dirty_tools_.Set(u);
        continue;
      }
      const Snapshot::Tool& x = o_.tools()[a];
      const Snapshot::Tool& y = n_.tools()[b];
      std::vector<std::string> xs, ys;
      for (int s : x.scopes) xs.push_back(o_.scopes()[s]);
      for (int s : y.scopes) ys.push_back(n_.scopes()[s]);
      std::sort(xs.begin(), xs.end());
      std::sort(ys.begin(), ys.end());
      if (xs != ys || Mask(x.data, true) != Mask(y.data, false) ||
          x.autonomy != y.autonomy || x.auth != y.auth ||
          x.min_client_trust != y.min_client_trust) {
        dirty_tools_.Set(u);
      }
    }
    for (size_t r = 0; r < rules_.ids.size(); ++r) {
      const int a = rules_.old_index[r], b = rules_.new_index[r];
      Bitset old_tools =
          a >= 0 ? OldTools(o_.deny_rules()[a].tools) : Bitset(nt_);
      Bitset new_tools =
          b >= 0 ? NewTools(n_.deny_rules()[b].tools) : Bitset(nt_);
      if (a >= 0 && b >= 0 &&
          SameChainConditions(o_.deny_rules()[a], n_.deny_rules()[b])) {
        dirty_tools_.OrWith(Xor(old_tools, new_tools));
      } else {
        dirty_tools_.OrWith(old_tools);
        dirty_tools_.OrWith(new_tools);
      }
    }
  }

  bool SameChainConditions(const Snapshot::DenyRule& x,
                           const Snapshot::DenyRule& y) const {
    if (x.users.has_value() != y.users.has_value()) return false;
    if (x.users) {
      std::set<std::string> xu(x.users->begin(), x.users->end());
      std::set<std::string> yu(y.users->begin(), y.users->end());
      if (xu != yu) return false;
    }
    auto same = [](const auto& xo, const auto& yo, const auto& xi,
                   const auto& yi) {
      if (xo.has_value() != yo.has_value()) return false;
      return !xo || EntityIds(*xo, xi) == EntityIds(*yo, yi);
    };
    return same(x.roles, y.roles, o_.roles(), n_.roles()) &&
           same(x.agents, y.agents, o_.agents(), n_.agents()) &&
           same(x.clients, y.clients, o_.clients(), n_.clients()) &&
           same(x.services, y.services, o_.services(), n_.services()) &&
           x.client_trust_below == y.client_trust_below &&
           x.autonomous == y.autonomous;
  }

  // Users named by a deny rule on either side: their id matters.
  std::set<std::string> NamedUsers() const {
    std::set<std::string> named;
    for (const Snapshot* s : {&o_, &n_}) {
      for (const Snapshot::DenyRule& rule : s->deny_rules()) {
        if (rule.users) named.insert(rule.users->begin(), rule.users->end());
      }
    }
    return named;
  }

  struct Link {
    Bitset may;    // Tools this link may call on either side.
    Bitset dirty;  // Tools whose decision this link's change can alter.
  };

  // `changed(x, y)` returns the tools whose decision the link's other
  // attributes can alter when present on both sides.
  template <typename T, typename Changed>
  Link MakeLink(const IdUnion& ids, size_t i, const std::vector<T>& o_items,
                const std::vector<T>& n_items, Changed changed) const {
    const int a = ids.old_index[i], b = ids.new_index[i];
    Bitset x = a >= 0 ? OldTools(o_items[a].tools) : Bitset(nt_);
    Bitset y = b >= 0 ? NewTools(n_items[b].tools) : Bitset(nt_);
    Link link;
    link.may = x;
    link.may.OrWith(y);
    if (a < 0 || b < 0) {
      link.dirty = link.may;
    } else {
      link.dirty = Xor(x, y);
      Bitset other = changed(o_items[a], n_items[b], link.may);
      other.AndWith(link.may);
      link.dirty.OrWith(other);
    }
    return link;
  }

  // Tools (on either side) with a data class of `classes`.
  Bitset DataTools(const UnionMask& classes) const {
    Bitset out(nt_);
    for (size_t i = 0; i < data_.ids.size(); ++i) {
      if (classes.test(i)) out.OrWith(data_tools_[i]);
    }
    return out;
  }
  // Tools (on either side) requiring a scope of `names`.
  Bitset ScopeTools(const std::vector<std::string>& x,
                    const std::vector<std::string>& y) const {
    std::vector<std::string> changed;
    std::set_symmetric_difference(x.begin(), x.end(), y.begin(), y.end(),
                                  std::back_inserter(changed));
    Bitset out(nt_);
    for (const std::string& name : changed) {
      auto it = scope_tools_.find(name);
      if (it != scope_tools_.end()) out.OrWith(it->second);
    }
    return out;
  }
  // Tools a client's trust change from `a` to `b` can affect: those whose
  // min_client_trust lies between, and those of trust-conditioned rules.
  Bitset TrustTools(int a, int b) const {
    Bitset out = trust_rule_tools_;
    const int lo = std::min(a, b), hi = std::max(a, b);
    for (int t = lo + 1; t <= hi && t < v1::ClientTrust_ARRAYSIZE; ++t) {
      out.OrWith(min_trust_tools_[t]);
    }
    return out;
  }

  void IndexTools() {
    data_tools_.assign(data_.ids.size(), Bitset(nt_));
    trust_rule_tools_ = Bitset(nt_);
    role_rule_tools_ = Bitset(nt_);
    for (size_t t = 0; t < v1::ClientTrust_ARRAYSIZE; ++t) {
      min_trust_tools_.push_back(Bitset(nt_));
    }
    for (int side = 0; side < 2; ++side) {
      const Snapshot& s = side == 0 ? o_ : n_;
      const std::vector<int>& to =
          side == 0 ? tools_.old_to_union : tools_.new_to_union;
      for (size_t i = 0; i < s.tools().size(); ++i) {
        const Snapshot::Tool& tool = s.tools()[i];
        const UnionMask data = Mask(tool.data, side == 0);
        for (size_t d = 0; d < data_.ids.size(); ++d) {
          if (data.test(d)) data_tools_[d].Set(to[i]);
        }
        for (int scope : tool.scopes) {
          auto [it, inserted] = scope_tools_.try_emplace(s.scopes()[scope]);
          if (inserted) it->second = Bitset(nt_);
          it->second.Set(to[i]);
        }
        if (tool.min_client_trust >= 0 &&
            tool.min_client_trust < v1::ClientTrust_ARRAYSIZE) {
          min_trust_tools_[tool.min_client_trust].Set(to[i]);
        }
      }
      for (const Snapshot::DenyRule& rule : s.deny_rules()) {
        Bitset tools = ToUnion(rule.tools, to, nt_);
        if (rule.client_trust_below) trust_rule_tools_.OrWith(tools);
        if (rule.roles) role_rule_tools_.OrWith(tools);
      }
    }
  }

  std::vector<std::string> RoleClosureIds(const Snapshot& s,
                                          const Snapshot::User& u) const {
    return EntityIds(u.role_closure, s.roles());
  }

  void DiffDelegated() {
    // Users with the same roles on both sides decide alike (unless a deny
    // rule names them): one representative each.
    const std::set<std::string> named = NamedUsers();
    std::map<std::string, int> group_of;
    for (size_t i = 0; i < users_.ids.size(); ++i) {
      std::string key;
      for (int side = 0; side < 2; ++side) {
        const Snapshot& s = side == 0 ? o_ : n_;
        const int index = side == 0 ? users_.old_index[i] : users_.new_index[i];
        if (index < 0) {
          absl::StrAppend(&key, "-|");
          continue;
        }
        std::vector<std::string> roles;
        for (int r : s.users()[index].roles) roles.push_back(s.roles()[r].id);
        absl::StrAppend(&key, "+", absl::StrJoin(roles, ","), "|");
      }
      if (named.count(users_.ids[i]) > 0) absl::StrAppend(&key, users_.ids[i]);
      auto [it, inserted] =
          group_of.emplace(key, static_cast<int>(user_groups_.size()));
      if (inserted) user_groups_.push_back({static_cast<int>(i), {}});
      user_groups_[it->second].members.push_back(static_cast<int>(i));
    }

    std::vector<Link> user_links;
    for (const UserGroup& g : user_groups_) {
      user_links.push_back(MakeLink(
          users_, g.rep, o_.users(), n_.users(),
          [&](const Snapshot::User& x, const Snapshot::User& y,
              const Bitset&) {
            Bitset out = DataTools(Mask(x.data, true) ^ Mask(y.data, false));
            if (RoleClosureIds(o_, x) != RoleClosureIds(n_, y)) {
              out.OrWith(role_rule_tools_);
            }
            return out;
          }));
    }
    std::vector<Link> agent_links;  // Index 0: no agent.
    agent_links.push_back({all_, Bitset(nt_)});
    for (size_t i = 0; i < agents_.ids.size(); ++i) {
      agent_links.push_back(MakeLink(
          agents_, i, o_.agents(), n_.agents(),
          [&](const Snapshot::Agent& x, const Snapshot::Agent& y,
              const Bitset& may) {
            if (x.autonomous != y.autonomous) return may;
            return DataTools(Mask(x.data, true) ^ Mask(y.data, false));
          }));
    }
    // Per client: nullopt when present on one side only (every tool may
    // change), else the tools its ceiling or trust change can alter.
    std::vector<std::optional<Bitset>> client_dirty;
    std::vector<std::vector<std::string>> client_scopes;
    for (size_t c = 0; c < clients_.ids.size(); ++c) {
      const int a = clients_.old_index[c], b = clients_.new_index[c];
      std::vector<std::string> x, y;
      if (a >= 0) x = IdsOf(o_.clients()[a].scopes, o_.scopes());
      if (b >= 0) y = IdsOf(n_.clients()[b].scopes, n_.scopes());
      if (a < 0 || b < 0) {
        client_dirty.push_back(std::nullopt);
      } else {
        Bitset dirty = ScopeTools(x, y);
        if (o_.clients()[a].trust != n_.clients()[b].trust) {
          dirty.OrWith(TrustTools(o_.clients()[a].trust, n_.clients()[b].trust));
        }
        client_dirty.push_back(std::move(dirty));
      }
      std::set<std::string> both(x.begin(), x.end());
      both.insert(y.begin(), y.end());
      client_scopes.emplace_back(both.begin(), both.end());
    }

    for (size_t g = 0; g < user_groups_.size(); ++g) {
      Bitset base = dirty_tools_;
      base.OrWith(user_links[g].dirty);
      for (size_t a = 0; a < agent_links.size(); ++a) {
        Bitset reach = user_links[g].may;
        reach.AndWith(agent_links[a].may);
        if (reach.None()) continue;
        Bitset clean_client = base;
        clean_client.OrWith(agent_links[a].dirty);
        clean_client.AndWith(reach);
        for (size_t c = 0; c < clients_.ids.size(); ++c) {
          Bitset candidates;
          if (!client_dirty[c].has_value()) {
            candidates = reach;
          } else if (client_dirty[c]->None()) {
            candidates = clean_client;
          } else {
            candidates = *client_dirty[c];
            candidates.AndWith(reach);
            candidates.OrWith(clean_client);
          }
          if (candidates.None()) continue;
          for (bool autonomous : {false, true}) {
            pdp::Chain chain;
            chain.user_id = users_.ids[user_groups_[g].rep];
            chain.client_id = clients_.ids[c];
            chain.scopes = client_scopes[c];
            if (a > 0) chain.agent_id = agents_.ids[a - 1];
            chain.autonomous = autonomous;
            Compare(chain, candidates, static_cast<int>(g),
                    static_cast<int>(c), static_cast<int>(a) - 1, -1,
                    static_cast<int64_t>(user_groups_[g].members.size()));
          }
        }
      }
    }
  }

  void DiffServices() {
    for (size_t v = 0; v < services_.ids.size(); ++v) {
      Link link = MakeLink(
          services_, v, o_.services(), n_.services(),
          [&](const Snapshot::Service& x, const Snapshot::Service& y,
              const Bitset&) {
            Bitset out = DataTools(Mask(x.data, true) ^ Mask(y.data, false));
            out.OrWith(ScopeTools(IdsOf(x.scopes, o_.scopes()),
                                  IdsOf(y.scopes, n_.scopes())));
            return out;
          });
      Bitset candidates = dirty_tools_;
      candidates.OrWith(link.dirty);
      candidates.AndWith(link.may);
      if (candidates.None()) continue;
      pdp::Chain chain;
      chain.service_id = services_.ids[v];
      Compare(chain, candidates, -1, -1, -1, static_cast<int>(v), 1);
    }
  }

  // Writes the call decisions of `chain` on one side for the candidate
  // tools into `out` (by union tool index; entries start as DENY), from
  // FilterTools: a tool not visible is DENY.
  void Decide(const Snapshot& s, bool old_side, const pdp::Chain& chain,
              const Bitset& candidates, const std::vector<std::string>& ids,
              std::vector<Dec>& out) const {
    const std::vector<int>& to =
        old_side ? tools_.old_to_union : tools_.new_to_union;
    auto record = [&](const std::vector<pdp::VisibleTool>& visible) {
      for (const pdp::VisibleTool& v : visible) {
        const int u = to[v.tool];
        if (!candidates.Test(u)) continue;
        Dec& d = out[u];
        d.redact = Mask(v.redact, old_side);
        if (v.step_up != v1::AUTH_STRENGTH_UNSPECIFIED) {
          d.effect = v1::EFFECT_STEP_UP;
          d.step_up = v.step_up;
        } else if (v.requires_approval) {
          d.effect = v1::EFFECT_REQUIRE_APPROVAL;
        } else {
          d.effect = v1::EFFECT_ALLOW;
        }
      }
    };
    // Chains built here are well formed: FilterTools cannot fail.
    pdp::ToolSelection selection;
    if (!ids.empty()) {
      selection.tool_ids = ids;
      absl::StatusOr<std::vector<pdp::VisibleTool>> visible =
          pdp::FilterTools(s, chain, selection);
      if (visible.ok()) record(*visible);
      return;
    }
    // Many candidates: whole servers avoid looking up every id.
    for (const Snapshot::Server& server : s.servers()) {
      selection.server_id = server.id;
      absl::StatusOr<std::vector<pdp::VisibleTool>> visible =
          pdp::FilterTools(s, chain, selection);
      if (visible.ok()) record(*visible);
    }
  }

  void Compare(const pdp::Chain& chain, const Bitset& candidates, int group,
               int client, int agent, int service, int64_t weight) {
    ++chains_examined_;
    if (was_.empty()) {
      was_.assign(nt_, Dec());
      now_.assign(nt_, Dec());
    }
    constexpr size_t kByIdLimit = 64;
    std::vector<std::string> ids;
    if (candidates.Count() <= kByIdLimit) {
      candidates.ForEach([&](size_t u) { ids.push_back(tools_.ids[u]); });
    }
    Decide(o_, true, chain, candidates, ids, was_);
    Decide(n_, false, chain, candidates, ids, now_);
    candidates.ForEach([&](size_t u) {
      const Dec x = was_[u];
      const Dec y = now_[u];
      was_[u] = Dec();
      now_[u] = Dec();
      if (x == y) return;
      const ChangeKind kind = Classify(x, y);
      const Key key = MakeKey(static_cast<int>(u), agent, service, x, y);
      auto [it, inserted] = change_index_.try_emplace(key, pending_.size());
      if (inserted) {
        pending_.emplace_back();
        pending_.back().kind = kind;
        pending_.back().was = x;
        pending_.back().now = y;
        pending_.back().clients.assign(clients_.ids.size(), false);
      }
      Pending& p = pending_[it->second];
      if (group >= 0 && (p.groups.empty() || p.groups.back() != group)) {
        p.groups.push_back(group);  // Groups are visited in order.
      }
      if (client >= 0) p.clients[client] = true;
      (chain.autonomous || service >= 0 ? p.autonomous : p.not_autonomous) =
          true;
      p.decisions += weight;
      (kind == ChangeKind::kWiden    ? widen_
       : kind == ChangeKind::kNarrow ? narrow_
                                     : other_) += weight;
    });
  }

  struct Key {
    int tool, agent, service;
    int was_effect, was_step_up, now_effect, now_step_up;
    uint64_t was_lo, was_hi, now_lo, now_hi;
    bool operator==(const Key& o) const {
      return std::tie(tool, agent, service, was_effect, was_step_up,
                      now_effect, now_step_up, was_lo, was_hi, now_lo,
                      now_hi) == std::tie(o.tool, o.agent, o.service,
                                          o.was_effect, o.was_step_up,
                                          o.now_effect, o.now_step_up,
                                          o.was_lo, o.was_hi, o.now_lo,
                                          o.now_hi);
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.tool, k.agent, k.service, k.was_effect,
                        k.was_step_up, k.now_effect, k.now_step_up, k.was_lo,
                        k.was_hi, k.now_lo, k.now_hi);
    }
  };

  static Key MakeKey(int tool, int agent, int service, const Dec& x,
                     const Dec& y) {
    const UnionMask low(~uint64_t{0});
    return {tool,
            agent,
            service,
            x.effect,
            x.step_up,
            y.effect,
            y.step_up,
            (x.redact & low).to_ullong(),
            ((x.redact >> 64) & low).to_ullong(),
            (y.redact & low).to_ullong(),
            ((y.redact >> 64) & low).to_ullong()};
  }

  std::string DecText(const Dec& d) const {
    std::string text(pdp::EffectName(d.effect));
    if (d.step_up != v1::AUTH_STRENGTH_UNSPECIFIED) {
      absl::StrAppend(&text, " ", pdp::AuthStrengthName(d.step_up));
    }
    if (d.redact.any()) {
      std::vector<std::string> names;
      for (size_t i = 0; i < data_.ids.size(); ++i) {
        if (d.redact.test(i)) names.push_back(data_.ids[i]);
      }
      absl::StrAppend(&text, " redact ", absl::StrJoin(names, ","));
    }
    return text;
  }

  DiffResult Finish() {
    DiffResult result;
    result.widen = widen_;
    result.narrow = narrow_;
    result.other = other_;
    result.chains_examined = chains_examined_;
    for (const auto& [key, index] : change_index_) {
      const Pending& p = pending_[index];
      ChangeGroup c;
      c.kind = p.kind;
      c.tool = tools_.ids[key.tool];
      if (key.agent >= 0) c.agent = agents_.ids[key.agent];
      if (key.service >= 0) c.service = services_.ids[key.service];
      for (int g : p.groups) {
        for (int u : user_groups_[g].members) c.users.push_back(users_.ids[u]);
      }
      const size_t user_count = c.users.size();
      std::sort(c.users.begin(), c.users.end());
      for (size_t client = 0; client < p.clients.size(); ++client) {
        if (p.clients[client]) c.clients.push_back(clients_.ids[client]);
      }
      c.autonomous = p.autonomous;
      c.not_autonomous = p.not_autonomous;
      c.old_decision = DecText(p.was);
      c.new_decision = DecText(p.now);
      c.decisions = p.decisions;

      const char* verb = c.kind == ChangeKind::kWiden    ? "gain"
                         : c.kind == ChangeKind::kNarrow ? "lose"
                                                         : "change";
      const std::string verb_s = absl::StrCat(verb, "s");
      if (!c.service.empty()) {
        c.line = absl::StrCat("service ", c.service, " ", verb_s, " ", c.tool);
      } else if (user_count == 1) {
        c.line = absl::StrCat("user ", c.users[0]);
        if (!c.agent.empty()) absl::StrAppend(&c.line, " with agent ", c.agent);
        absl::StrAppend(&c.line, " ", verb_s, " ", c.tool);
      } else if (!c.agent.empty()) {
        c.line = absl::StrCat("agent ", c.agent, " ", verb_s, " ", c.tool,
                              " for ", Plural(user_count, "user"));
      } else {
        c.line = absl::StrCat(Plural(user_count, "user"), " ",
                              verb, " ", c.tool,
                              " (no agent)");
      }
      if (c.clients.size() == 1) {
        absl::StrAppend(&c.line, " via client ", c.clients[0]);
      } else if (c.clients.size() > 1) {
        absl::StrAppend(&c.line, " via ", Plural(c.clients.size(), "client"));
      }
      if (c.service.empty() && c.autonomous != c.not_autonomous) {
        absl::StrAppend(&c.line, c.autonomous ? ", autonomous only"
                                              : ", not autonomous only");
      }
      absl::StrAppend(&c.line, " (", c.new_decision, ", was ", c.old_decision,
                      ")");
      result.groups.push_back(std::move(c));
    }
    std::sort(result.groups.begin(), result.groups.end(),
              [](const ChangeGroup& a, const ChangeGroup& b) {
                return std::tie(a.kind, a.tool, a.line) <
                       std::tie(b.kind, b.tool, b.line);
              });
    return result;
  }

  struct UserGroup {
    int rep = 0;               // Union user index.
    std::vector<int> members;  // Union user indices.
  };
  struct Pending {
    ChangeKind kind = ChangeKind::kOther;
    Dec was, now;
    std::vector<int> groups;    // Sorted user group indices.
    std::vector<bool> clients;  // By union client index.
    bool autonomous = false, not_autonomous = false;
    int64_t decisions = 0;
  };

  const Snapshot& o_;
  const Snapshot& n_;
  IdUnion tools_, agents_, clients_, services_, users_, rules_, data_;
  size_t nt_ = 0;
  Bitset all_;
  Bitset dirty_tools_;
  std::vector<UserGroup> user_groups_;
  std::vector<Bitset> data_tools_;       // By union data class.
  std::vector<Bitset> min_trust_tools_;  // By min_client_trust.
  std::map<std::string, Bitset> scope_tools_;
  Bitset trust_rule_tools_;  // Of rules with client_trust_below.
  Bitset role_rule_tools_;   // Of rules with roles.
  absl::flat_hash_map<Key, size_t> change_index_;  // Into pending_.
  std::vector<Pending> pending_;
  std::vector<Dec> was_, now_;  // Scratch, by union tool index.
  int64_t widen_ = 0, narrow_ = 0, other_ = 0, chains_examined_ = 0;
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
    nlohmann::json changes = nlohmann::json::array();
    for (const ChangeGroup& c : result.groups) {
      nlohmann::json j = {{"kind", KindName(c.kind)},
                          {"tool", c.tool},
                          {"users", c.users},
                          {"clients", c.clients},
                          {"old", c.old_decision},
                          {"new", c.new_decision},
                          {"decisions", c.decisions},
                          {"line", c.line}};
      if (!c.agent.empty()) j["agent"] = c.agent;
      if (!c.service.empty()) j["service"] = c.service;
      if (c.service.empty()) {
        j["autonomous"] = c.autonomous;
        j["not_autonomous"] = c.not_autonomous;
      }
      changes.push_back(std::move(j));
    }
    out << nlohmann::json{{"changes", changes},
                          {"widen", result.widen},
                          {"narrow", result.narrow},
                          {"other", result.other}}
               .dump()
        << "\n";
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
