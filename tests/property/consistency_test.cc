// Consistency properties of the evaluator over a generated policy and
// thousands of generated chains (pdp/testing/):
// - FilterTools returns exactly the selected tools for which Check(see) is
//   not DENY, with the redact mask Check reports, and with the approval and
//   step-up a Check(call) reports, for chains with and without the
//   audiences of verified tokens;
// - BatchCheck equals the Checks one by one;
// - a malformed chain is InvalidArgument for every API;
// - every decision is internally coherent (reasons explain the effect).

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/testing/chain_generator.h"
#include "pdp/testing/policy_generator.h"

namespace pdp {
namespace {

using testgen::ChainGenerator;
using testgen::ChainGeneratorOptions;

// The generated policy, compiled once for all tests.
const Snapshot& Policy() {
  static const std::shared_ptr<const Snapshot>* snapshot = [] {
    testgen::PolicyGeneratorOptions options;
    options.seed = 42;
    options.tools = 2000;
    options.servers = 8;
    options.big_server_tools = 300;
    options.roles = 60;
    options.agents = 15;
    options.clients = 10;
    options.services = 6;
    options.users = 200;
    options.scopes = 40;
    options.data_classes = 10;
    options.deny_rules = 24;
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string dir =
        absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/consistency_policy");
    absl::Status written =
        testgen::WritePolicyFiles(testgen::GeneratePolicy(options), dir);
    if (!written.ok()) {
      ADD_FAILURE() << written;
      std::abort();
    }
    absl::StatusOr<std::shared_ptr<const Snapshot>> compiled =
        Compiler::CompileDirectory(dir);
    if (!compiled.ok()) {
      ADD_FAILURE() << compiled.status();
      std::abort();
    }
    return new std::shared_ptr<const Snapshot>(*std::move(compiled));
  }();
  return **snapshot;
}

std::string Describe(const Chain& c) {
  if (!c.service_id.empty()) {
    return absl::StrCat("service=", c.service_id,
                        c.autonomous ? " autonomous" : "");
  }
  return absl::StrCat(
      "user=", c.user_id, " roles=[", absl::StrJoin(c.asserted_roles, ","),
      "] client=", c.client_id, " agent=", c.agent_id, " amr=[",
      absl::StrJoin(c.amr, ","), "] scopes=[", absl::StrJoin(c.scopes, ","),
      "]", c.autonomous ? " autonomous" : "");
}

std::string Describe(const Decision& d) {
  std::vector<std::string> reasons;
  for (const Reason& r : d.reasons) {
    reasons.push_back(absl::StrCat(LinkName(r.link), "/",
                                   ReasonCodeName(r.code), ": ", r.message));
  }
  return absl::StrCat(EffectName(d.effect), " redact=", d.redact,
                      " step_up=", d.step_up, " [",
                      absl::StrJoin(reasons, "; "), "]");
}

// The tool indices a selection names: the server's tools, or the known ids
// among the listed ones (unknown ids and servers select nothing).
std::set<int> Selected(const Snapshot& s, const ToolSelection& selection) {
  std::set<int> tools;
  if (!selection.server_id.empty()) {
    const Snapshot::Server* server = s.FindServer(selection.server_id);
    if (server != nullptr) {
      for (int t = server->begin; t < server->end; ++t) tools.insert(t);
    }
  } else {
    for (const std::string& id : selection.tool_ids) {
      int t = s.FindTool(id);
      if (t >= 0) tools.insert(t);
    }
  }
  return tools;
}

// A decision explains its effect (pdp/decision.h, DESIGN §2).
void ExpectCoherent(const Snapshot& s, const Request& request,
                    const Decision& d) {
  SCOPED_TRACE(absl::StrCat(
      Describe(request.chain), " tool=", request.tool_id, " action=",
      request.action == Action::kSee ? "see" : "call", " -> ", Describe(d)));
  switch (d.effect) {
    case v1::EFFECT_ALLOW:
      EXPECT_TRUE(d.reasons.empty());
      EXPECT_EQ(d.step_up, v1::AUTH_STRENGTH_UNSPECIFIED);
      break;
    case v1::EFFECT_DENY:
      ASSERT_FALSE(d.reasons.empty());
      EXPECT_EQ(d.redact, 0u);
      for (const Reason& r : d.reasons) {
        EXPECT_NE(r.code, v1::Reason::STEP_UP_REQUIRED);
        EXPECT_NE(r.code, v1::Reason::APPROVAL_REQUIRED);
        EXPECT_FALSE(r.message.empty());
        EXPECT_EQ(r.code == v1::Reason::MISSING_SCOPE,
                  !r.missing_scopes.empty());
        EXPECT_EQ(r.code == v1::Reason::RULE, !r.rule_id.empty());
      }
      break;
    case v1::EFFECT_STEP_UP:
      EXPECT_EQ(request.action, Action::kCall);
      ASSERT_EQ(d.reasons.size(), 1u);
      EXPECT_EQ(d.reasons[0].code, v1::Reason::STEP_UP_REQUIRED);
      EXPECT_EQ(d.reasons[0].link, v1::LINK_USER);
      EXPECT_GT(d.step_up, StrengthFromAmr(request.chain.amr));
      break;
    case v1::EFFECT_REQUIRE_APPROVAL:
      EXPECT_EQ(request.action, Action::kCall);
      EXPECT_TRUE(request.chain.autonomous ||
                  !request.chain.service_id.empty());
      ASSERT_FALSE(d.reasons.empty());
      for (const Reason& r : d.reasons) {
        EXPECT_EQ(r.code, v1::Reason::APPROVAL_REQUIRED);
        EXPECT_TRUE(r.link == v1::LINK_TOOL || r.link == v1::LINK_AGENT);
      }
      break;
    default:
      ADD_FAILURE() << "unexpected effect";
  }
  const int t = s.FindTool(request.tool_id);
  if (t >= 0) {
    EXPECT_EQ(d.redact & ~s.tools()[t].data, 0u)
        << "redacts a data class the tool does not carry";
  } else {
    EXPECT_EQ(d.effect, v1::EFFECT_DENY);
  }
}

void ExpectSameDecision(const Decision& a, const Decision& b) {
  EXPECT_EQ(a.effect, b.effect);
  EXPECT_EQ(a.redact, b.redact);
  EXPECT_EQ(a.step_up, b.step_up);
  ASSERT_EQ(a.reasons.size(), b.reasons.size());
  for (size_t i = 0; i < a.reasons.size(); ++i) {
    EXPECT_EQ(a.reasons[i].link, b.reasons[i].link);
    EXPECT_EQ(a.reasons[i].code, b.reasons[i].code);
    EXPECT_EQ(a.reasons[i].message, b.reasons[i].message);
    EXPECT_EQ(a.reasons[i].missing_scopes, b.reasons[i].missing_scopes);
    EXPECT_EQ(a.reasons[i].rule_id, b.reasons[i].rule_id);
  }
}

// Effects seen, so the properties are known to cover every outcome.
struct Coverage {
  int see[5] = {};
  int call[5] = {};
  int visible = 0;
  int visible_step_up = 0;
  int visible_approval = 0;
  int visible_both = 0;
  int visible_redact = 0;
  int audience_mismatch = 0;
};

// Every third chain carries the audiences of verified tokens (one or two,
// as an access and an agent token would): a few servers' ids, which are the
// generated policy's audiences (it declares no `servers:`).
void AddTokenAudiences(const Snapshot& s, int i, Chain& chain) {
  if (i % 3 != 0 || s.servers().empty()) return;
  const size_t n = s.servers().size();
  TokenAudience access{v1::LINK_CLIENT, {}};
  for (size_t k = 0; k < n; ++k) {
    if ((i / 3 + k) % 3 != 0) access.audiences.push_back(s.servers()[k].id);
  }
  chain.token_audiences.push_back(access);
  if (i % 2 == 0) {
    chain.token_audiences.push_back(
        {v1::LINK_AGENT, {s.servers()[(i / 6) % n].id, "elsewhere"}});
  }
}

TEST(ConsistencyTest, FilterToolsIsExactlyWhatCheckAllows) {
  const Snapshot& s = Policy();
  ChainGeneratorOptions options;
  options.seed = 1;
  ChainGenerator gen(s, options);
  Coverage coverage;
  for (int i = 0; i < 2500; ++i) {
    Chain chain = gen.NextChain();
    AddTokenAudiences(s, i, chain);
    const ToolSelection selection = gen.NextSelection();
    SCOPED_TRACE(absl::StrCat("chain #", i, ": ", Describe(chain),
                              " server=", selection.server_id, " tools=[",
                              absl::StrJoin(selection.tool_ids, ","), "]"));
    absl::StatusOr<std::vector<VisibleTool>> visible =
        FilterTools(s, chain, selection);
    ASSERT_TRUE(visible.ok()) << visible.status();

    // In tool id order, each at most once, and only selected tools.
    const std::set<int> selected = Selected(s, selection);
    for (size_t k = 1; k < visible->size(); ++k) {
      ASSERT_LT((*visible)[k - 1].tool, (*visible)[k].tool);
    }
    auto next = visible->begin();
    for (int t : selected) {
      Request request{chain, s.tools()[t].id, Action::kSee};
      absl::StatusOr<Decision> see = Check(s, request);
      ASSERT_TRUE(see.ok()) << see.status();
      ASSERT_TRUE(see->effect == v1::EFFECT_ALLOW ||
                  see->effect == v1::EFFECT_DENY)
          << "see is ALLOW or DENY only: " << Describe(*see);
      ++coverage.see[see->effect];
      request.action = Action::kCall;
      absl::StatusOr<Decision> call = Check(s, request);
      ASSERT_TRUE(call.ok()) << call.status();
      ++coverage.call[call->effect];
      for (const Reason& reason : see->reasons) {
        coverage.audience_mismatch +=
            reason.code == v1::Reason::TOKEN_AUDIENCE_MISMATCH;
      }

      const bool shown = next != visible->end() && next->tool == t;
      SCOPED_TRACE(absl::StrCat("tool ", s.tools()[t].id, ": see ",
                                Describe(*see), "; call ", Describe(*call)));
      ASSERT_EQ(shown, see->effect != v1::EFFECT_DENY);
      // Discovery hides exactly what a call would deny.
      ASSERT_EQ(see->effect == v1::EFFECT_DENY,
                call->effect == v1::EFFECT_DENY);
      if (!shown) continue;
      const VisibleTool& v = *next++;
      ++coverage.visible;
      EXPECT_EQ(v.redact, see->redact);
      EXPECT_EQ(v.redact, call->redact);
      if (call->effect == v1::EFFECT_STEP_UP) {
        ++coverage.visible_step_up;
        EXPECT_EQ(v.step_up, call->step_up);
        // STEP_UP hides approval from Check; with the strongest session the
        // same call shows it (amr decides nothing else).
        Request strong = request;
        strong.chain.amr = {"hwk"};
        absl::StatusOr<Decision> after = Check(s, strong);
        ASSERT_TRUE(after.ok());
        ASSERT_NE(after->effect, v1::EFFECT_STEP_UP);
        EXPECT_EQ(v.requires_approval,
                  after->effect == v1::EFFECT_REQUIRE_APPROVAL)
            << Describe(*after);
        coverage.visible_both += v.requires_approval;
      } else {
        EXPECT_EQ(v.step_up, v1::AUTH_STRENGTH_UNSPECIFIED);
        EXPECT_EQ(v.requires_approval,
                  call->effect == v1::EFFECT_REQUIRE_APPROVAL);
      }
      coverage.visible_approval += v.requires_approval;
      coverage.visible_redact += v.redact != 0;
    }
    ASSERT_TRUE(next == visible->end())
        << "FilterTools returned a tool that was not selected: "
        << s.tools()[next->tool].id;
  }
  // The properties were exercised on every outcome.
  EXPECT_GT(coverage.see[v1::EFFECT_ALLOW], 2000);
  EXPECT_GT(coverage.see[v1::EFFECT_DENY], 2000);
  EXPECT_GT(coverage.call[v1::EFFECT_ALLOW], 500);
  EXPECT_GT(coverage.call[v1::EFFECT_STEP_UP], 100);
  EXPECT_GT(coverage.call[v1::EFFECT_REQUIRE_APPROVAL], 100);
  EXPECT_GT(coverage.visible_step_up, 100);
  EXPECT_GT(coverage.visible_approval, 100);
  EXPECT_GT(coverage.visible_both, 10);
  EXPECT_GT(coverage.visible_redact, 100);
  EXPECT_GT(coverage.audience_mismatch, 100);
  std::cerr << "checked "
            << coverage.see[v1::EFFECT_ALLOW] + coverage.see[v1::EFFECT_DENY]
            << " tools: " << coverage.visible << " visible ("
            << coverage.visible_step_up << " step-up, "
            << coverage.visible_approval << " approval, "
            << coverage.visible_redact << " redacted); call effects ALLOW "
            << coverage.call[v1::EFFECT_ALLOW] << ", DENY "
            << coverage.call[v1::EFFECT_DENY] << ", STEP_UP "
            << coverage.call[v1::EFFECT_STEP_UP] << ", REQUIRE_APPROVAL "
            << coverage.call[v1::EFFECT_REQUIRE_APPROVAL] << "\n";
}

// A server's tools, listed one by one, filter as the server does; and the
// servers together filter as the list of every tool.
TEST(ConsistencyTest, ServerSelectionEqualsTheListOfItsTools) {
  const Snapshot& s = Policy();
  ChainGeneratorOptions options;
  options.seed = 2;
  ChainGenerator gen(s, options);
  ToolSelection all;
  for (const Snapshot::Tool& tool : s.tools()) all.tool_ids.push_back(tool.id);
  auto same = [](const std::vector<VisibleTool>& a,
                 const std::vector<VisibleTool>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].tool, b[i].tool);
      EXPECT_EQ(a[i].requires_approval, b[i].requires_approval);
      EXPECT_EQ(a[i].step_up, b[i].step_up);
      EXPECT_EQ(a[i].redact, b[i].redact);
    }
  };
  for (int i = 0; i < 150; ++i) {
    const Chain chain = gen.NextChain();
    SCOPED_TRACE(Describe(chain));
    std::vector<VisibleTool> union_of_servers;
    for (const Snapshot::Server& server : s.servers()) {
      ToolSelection by_server;
      by_server.server_id = server.id;
      ToolSelection by_list;
      for (int t = server.end - 1; t >= server.begin; --t) {  // Any order.
        by_list.tool_ids.push_back(s.tools()[t].id);
      }
      absl::StatusOr<std::vector<VisibleTool>> a =
          FilterTools(s, chain, by_server);
      absl::StatusOr<std::vector<VisibleTool>> b =
          FilterTools(s, chain, by_list);
      ASSERT_TRUE(a.ok() && b.ok());
      same(*a, *b);
      union_of_servers.insert(union_of_servers.end(), a->begin(), a->end());
    }
    absl::StatusOr<std::vector<VisibleTool>> everything =
        FilterTools(s, chain, all);
    ASSERT_TRUE(everything.ok());
    same(union_of_servers, *everything);
  }
}

TEST(ConsistencyTest, BatchCheckEqualsChecksOneByOne) {
  const Snapshot& s = Policy();
  ChainGeneratorOptions options;
  options.seed = 3;
  ChainGenerator gen(s, options);
  int effects[5] = {};
  for (int batch = 0; batch < 400; ++batch) {
    std::vector<Request> requests(gen.rng().Uniform(40));
    for (Request& r : requests) r = gen.NextRequest();
    absl::StatusOr<std::vector<Decision>> decisions = BatchCheck(s, requests);
    ASSERT_TRUE(decisions.ok()) << decisions.status();
    ASSERT_EQ(decisions->size(), requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      absl::StatusOr<Decision> one = Check(s, requests[i]);
      ASSERT_TRUE(one.ok()) << one.status();
      SCOPED_TRACE(absl::StrCat("batch ", batch, " request ", i, ": ",
                                Describe(requests[i].chain),
                                " tool=", requests[i].tool_id));
      ExpectSameDecision((*decisions)[i], *one);
      ExpectCoherent(s, requests[i], *one);
      ++effects[one->effect];
    }
  }
  EXPECT_GT(effects[v1::EFFECT_ALLOW], 100);
  EXPECT_GT(effects[v1::EFFECT_DENY], 100);
  EXPECT_GT(effects[v1::EFFECT_STEP_UP], 20);
  EXPECT_GT(effects[v1::EFFECT_REQUIRE_APPROVAL], 20);
}

// Token scope order, duplicates, and the order of asserted roles and amr
// values never change a decision.
TEST(ConsistencyTest, OrderOfListsInTheChainDoesNotMatter) {
  const Snapshot& s = Policy();
  ChainGeneratorOptions options;
  options.seed = 4;
  ChainGenerator gen(s, options);
  for (int i = 0; i < 3000; ++i) {
    const Request request = gen.NextRequest();
    Request shuffled = request;
    std::reverse(shuffled.chain.scopes.begin(), shuffled.chain.scopes.end());
    if (!shuffled.chain.scopes.empty()) {
      shuffled.chain.scopes.push_back(shuffled.chain.scopes.front());
    }
    std::reverse(shuffled.chain.asserted_roles.begin(),
                 shuffled.chain.asserted_roles.end());
    std::reverse(shuffled.chain.amr.begin(), shuffled.chain.amr.end());
    absl::StatusOr<Decision> a = Check(s, request);
    absl::StatusOr<Decision> b = Check(s, shuffled);
    ASSERT_TRUE(a.ok() && b.ok());
    SCOPED_TRACE(Describe(request.chain));
    EXPECT_EQ(a->effect, b->effect);
    EXPECT_EQ(a->redact, b->redact);
    EXPECT_EQ(a->step_up, b->step_up);
    ASSERT_EQ(a->reasons.size(), b->reasons.size());
    for (size_t k = 0; k < a->reasons.size(); ++k) {
      EXPECT_EQ(a->reasons[k].code, b->reasons[k].code);
      EXPECT_EQ(a->reasons[k].link, b->reasons[k].link);
      EXPECT_EQ(a->reasons[k].rule_id, b->reasons[k].rule_id);
      std::vector<std::string> x = a->reasons[k].missing_scopes;
      std::vector<std::string> y = b->reasons[k].missing_scopes;
      std::sort(x.begin(), x.end());
      std::sort(y.begin(), y.end());
      EXPECT_EQ(x, y);
    }
  }
}

TEST(ConsistencyTest, MalformedChainsAreInvalidArgumentForEveryApi) {
  const Snapshot& s = Policy();
  ChainGeneratorOptions options;
  options.seed = 5;
  ChainGenerator gen(s, options);
  for (int i = 0; i < 3000; ++i) {
    const Chain bad = gen.NextMalformedChain();
    SCOPED_TRACE(Describe(bad));
    EXPECT_EQ(ValidateChain(bad).code(), absl::StatusCode::kInvalidArgument);

    Request request{bad, gen.NextToolId(),
                    gen.rng().Chance(0.5) ? Action::kSee : Action::kCall};
    absl::StatusOr<Decision> check = Check(s, request);
    EXPECT_EQ(check.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(check.status().message().empty());

    absl::StatusOr<std::vector<VisibleTool>> filter =
        FilterTools(s, bad, gen.NextSelection());
    EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);

    // One malformed request anywhere spoils the batch, and is named.
    std::vector<Request> batch(gen.rng().Uniform(10));
    for (Request& r : batch) r = gen.NextRequest();
    const size_t at = gen.rng().Uniform(batch.size() + 1);
    batch.insert(batch.begin() + at, request);
    absl::StatusOr<std::vector<Decision>> batched = BatchCheck(s, batch);
    EXPECT_EQ(batched.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(batched.status().message().find(absl::StrCat("[", at, "]")),
              std::string::npos)
        << batched.status();
  }

  // Well-formed chains, malformed requests.
  for (int i = 0; i < 500; ++i) {
    const Chain chain = gen.NextChain();
    EXPECT_EQ(Check(s, Request{chain, "", Action::kCall}).status().code(),
              absl::StatusCode::kInvalidArgument);
    ToolSelection neither;
    EXPECT_EQ(FilterTools(s, chain, neither).status().code(),
              absl::StatusCode::kInvalidArgument);
    ToolSelection both = gen.NextSelection();
    both.server_id = s.servers()[0].id;
    both.tool_ids.push_back(s.tools()[0].id);
    EXPECT_EQ(FilterTools(s, chain, both).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace pdp
