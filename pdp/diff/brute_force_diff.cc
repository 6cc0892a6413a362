#include "pdp/diff/brute_force_diff.h"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/request.h"

namespace pdp::testing {
namespace {

std::string Text(const Snapshot& s, const Decision& d) {
  std::string text(EffectName(d.effect));
  if (d.effect == v1::EFFECT_STEP_UP) {
    absl::StrAppend(&text, " ", AuthStrengthName(d.step_up));
  }
  if (d.effect != v1::EFFECT_DENY && d.redact != 0) {
    std::vector<std::string> names = s.DataClassNames(d.redact);
    std::sort(names.begin(), names.end());
    absl::StrAppend(&text, " redact ", absl::StrJoin(names, ","));
  }
  return text;
}

int Rank(v1::Effect e) {
  switch (e) {
    case v1::EFFECT_ALLOW:
      return 3;
    case v1::EFFECT_REQUIRE_APPROVAL:
      return 2;
    case v1::EFFECT_STEP_UP:
      return 1;
    default:
      return 0;
  }
}

// Whether `now` is more permissive than `was` in some way, as
// docs/policy.md defines it, written again here on names.
bool Wider(const Snapshot& a, const Decision& was, const Snapshot& b,
           const Decision& now) {
  if (Rank(now.effect) > Rank(was.effect)) return true;
  if (was.effect == v1::EFFECT_DENY || now.effect == v1::EFFECT_DENY) {
    return false;
  }
  const std::vector<std::string> old_redact = a.DataClassNames(was.redact);
  const std::vector<std::string> new_redact = b.DataClassNames(now.redact);
  for (const std::string& name : old_redact) {
    if (std::find(new_redact.begin(), new_redact.end(), name) ==
        new_redact.end()) {
      return true;
    }
  }
  return was.effect == v1::EFFECT_STEP_UP && now.effect == v1::EFFECT_STEP_UP &&
         now.step_up < was.step_up;
}

template <typename F>
std::set<std::string> Ids(const Snapshot& a, const Snapshot& b, F f) {
  std::set<std::string> ids;
  f(a, ids);
  f(b, ids);
  return ids;
}

}  // namespace

BruteForceDiff DiffByBruteForce(const Snapshot& a, const Snapshot& b,
                                int max_agents) {
  const auto each = [](auto member) {
    return [member](const Snapshot& s, std::set<std::string>& ids) {
      for (const auto& x : (s.*member)()) ids.insert(x.id);
    };
  };
  const std::set<std::string> tools = Ids(a, b, each(&Snapshot::tools));
  const std::set<std::string> role_set = Ids(a, b, each(&Snapshot::roles));
  const std::set<std::string> agent_set = Ids(a, b, each(&Snapshot::agents));
  const std::set<std::string> clients = Ids(a, b, each(&Snapshot::clients));
  const std::set<std::string> services = Ids(a, b, each(&Snapshot::services));
  const std::set<std::string> users = Ids(a, b, each(&Snapshot::users));
  const std::set<std::string> scope_set =
      Ids(a, b, [](const Snapshot& s, std::set<std::string>& ids) {
        ids.insert(s.scopes().begin(), s.scopes().end());
      });
  std::set<std::string> rule_users = {"nobody-a-rule-names@example"};
  for (const Snapshot* s : {&a, &b}) {
    for (const Snapshot::DenyRule& rule : s->deny_rules()) {
      if (rule.users) rule_users.insert(rule.users->begin(), rule.users->end());
    }
  }
  const std::vector<std::string> roles(role_set.begin(), role_set.end());
  const std::vector<std::string> agents(agent_set.begin(), agent_set.end());
  const std::vector<std::string> scopes(scope_set.begin(), scope_set.end());

  std::vector<std::vector<std::string>> agent_sets = {{}};
  std::function<void(size_t, std::vector<std::string>&)> sets =
      [&](size_t from, std::vector<std::string>& set) {
        for (size_t i = from; i < agents.size(); ++i) {
          set.push_back(agents[i]);
          agent_sets.push_back(set);
          if (static_cast<int>(set.size()) < max_agents) sets(i + 1, set);
          set.pop_back();
        }
      };
  std::vector<std::string> scratch;
  sets(0, scratch);
  std::vector<std::vector<std::string>> scope_subsets;
  for (size_t mask = 0; mask < (size_t{1} << scopes.size()); ++mask) {
    scope_subsets.emplace_back();
    for (size_t i = 0; i < scopes.size(); ++i) {
      if ((mask >> i) & 1) scope_subsets.back().push_back(scopes[i]);
    }
  }

  std::vector<Chain> user_chains;
  for (const std::string& id : rule_users) {
    for (size_t mask = 0; mask < (size_t{1} << roles.size()); ++mask) {
      Chain c;
      c.user_id = id;
      c.roles_from_idp = true;
      for (size_t i = 0; i < roles.size(); ++i) {
        if ((mask >> i) & 1) c.asserted_roles.push_back(roles[i]);
      }
      user_chains.push_back(std::move(c));
    }
  }
  for (const std::string& id : users) {
    Chain c;
    c.user_id = id;
    user_chains.push_back(std::move(c));
  }

  BruteForceDiff out;
  Request request;
  auto check = [&](const std::string& key) {
    for (const std::string& tool : tools) {
      request.tool_id = tool;
      absl::StatusOr<Decision> was = Check(a, request);
      absl::StatusOr<Decision> now = Check(b, request);
      EXPECT_TRUE(was.ok() && now.ok());
      if (!was.ok() || !now.ok()) return;
      ++out.checks;
      std::string was_text = Text(a, *was);
      std::string now_text = Text(b, *now);
      if (was_text == now_text) continue;
      out.widens |= Wider(a, *was, b, *now);
      out.changes.emplace(tool, key, std::move(was_text), std::move(now_text));
    }
  };
  const std::vector<std::vector<std::string>> amrs = {{}, {"otp"}, {"hwk"}};
  for (const Chain& user : user_chains) {
    for (const std::string& client : clients) {
      for (const std::vector<std::string>& set : agent_sets) {
        for (const std::vector<std::string>& token : scope_subsets) {
          for (const std::vector<std::string>& amr : amrs) {
            for (bool autonomous : {false, true}) {
              request.chain = user;
              request.chain.client_id = client;
              if (!set.empty()) {
                request.chain.agent_id = set[0];
                request.chain.delegated_agents.assign(set.begin() + 1,
                                                      set.end());
              }
              request.chain.scopes = token;
              request.chain.amr = amr;
              request.chain.autonomous = autonomous;
              check(client);
            }
          }
        }
      }
    }
  }
  for (const std::string& service : services) {
    request.chain = Chain();
    request.chain.service_id = service;
    check("service:" + service);
    for (const std::vector<std::string>& token : scope_subsets) {
      request.chain = Chain();
      request.chain.service_id = service;
      request.chain.service_scopes_from_token = true;
      request.chain.scopes = token;
      check("service:" + service);
    }
  }
  return out;
}

}  // namespace pdp::testing
