#include "tools/pdp_bench/request_mix.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "pdp/evaluator.h"
#include "pdp/request.h"

namespace pdp_bench {
namespace {

namespace v1 = ::pdp::v1;
using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(
tools:
  - id: crm.search_contacts
    scopes: [contacts:read]
    data: [pii]
    risk: low
  - id: crm.import_contacts
    scopes: [contacts:write]
    data: [pii]
  - id: hr.get_salary
    scopes: [hr:read]
    data: [salary]
    auth: mfa
  - id: finance.pay_invoice
    scopes: [finance:write]
    autonomy: approval
    risk: high
roles:
  - id: sales
    tools: ["crm.*"]
    data: [pii]
  - id: executive
    inherits: [sales]
    tools: ["hr.*", "finance.*"]
    data: [salary]
agents:
  - id: sales-assistant
    tools: ["crm.*"]
    data: [pii]
    autonomous: true
clients:
  - id: desktop
    trust: standard
    scopes: [contacts:read, hr:read]
  - id: worker
    trust: internal
    scopes: [contacts:read, contacts:write, hr:read, finance:write]
services:
  - id: import-worker
    tools: ["crm.import_contacts"]
    scopes: [contacts:write]
    data: [pii]
)";

constexpr char kUsers[] = R"(
users:
  - id: alice@acme.example
    roles: [executive]
  - id: bob@acme.example
    roles: [sales]
)";

// Writes a policy directory under TEST_TMPDIR and compiles it.
std::shared_ptr<const pdp::Snapshot> CompilePolicy(const std::string& name,
                                                   const std::string& policy,
                                                   const std::string& users) {
  const std::filesystem::path dir =
      std::filesystem::path(std::getenv("TEST_TMPDIR")) / name;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "policy.yaml") << policy;
  if (!users.empty()) std::ofstream(dir / "users.yaml") << users;
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> snapshot =
      pdp::Compiler::CompileDirectory(dir.string());
  EXPECT_TRUE(snapshot.ok()) << snapshot.status();
  return snapshot.ok() ? *snapshot : nullptr;
}

pdp::Chain ToChain(const v1::IdentityChain& c) {
  pdp::Chain chain;
  chain.user_id = c.user_id();
  chain.asserted_roles.assign(c.asserted_roles().begin(),
                              c.asserted_roles().end());
  chain.amr.assign(c.amr().begin(), c.amr().end());
  chain.client_id = c.client_id();
  chain.scopes.assign(c.scopes().begin(), c.scopes().end());
  chain.agent_id = c.agent_id();
  chain.service_id = c.service_id();
  chain.autonomous = c.autonomous();
  return chain;
}

// What the drawn chains looked like.
struct Seen {
  int service = 0;
  int delegated = 0;
  int with_agent = 0;
  int autonomous = 0;
  int asserted = 0;
  int see = 0;
  int call = 0;
};

// Every chain is valid and made of the policy's ids; the token carries the
// client's full ceiling.
void ExpectValidChain(const pdp::Snapshot& snapshot,
                      const v1::IdentityChain& proto, Seen* seen) {
  const pdp::Chain chain = ToChain(proto);
  ASSERT_TRUE(pdp::ValidateChain(chain).ok())
      << pdp::ValidateChain(chain) << "\n"
      << proto.DebugString();
  if (!chain.service_id.empty()) {
    ++seen->service;
    EXPECT_GE(snapshot.FindService(chain.service_id), 0) << chain.service_id;
    EXPECT_TRUE(chain.autonomous);
    return;
  }
  ++seen->delegated;
  if (chain.asserted_roles.empty()) {
    EXPECT_GE(snapshot.FindUser(chain.user_id), 0) << chain.user_id;
  } else {
    ++seen->asserted;
    for (const std::string& role : chain.asserted_roles) {
      EXPECT_GE(snapshot.FindRole(role), 0) << role;
    }
  }
  const int client = snapshot.FindClient(chain.client_id);
  ASSERT_GE(client, 0) << chain.client_id;
  EXPECT_EQ(chain.scopes.size(), snapshot.clients()[client].scopes.Count());
  for (const std::string& scope : chain.scopes) {
    const int index = snapshot.FindScope(scope);
    ASSERT_GE(index, 0) << scope;
    EXPECT_TRUE(snapshot.clients()[client].scopes.Test(index)) << scope;
  }
  if (!chain.agent_id.empty()) {
    ++seen->with_agent;
    EXPECT_GE(snapshot.FindAgent(chain.agent_id), 0) << chain.agent_id;
  }
  if (chain.autonomous) ++seen->autonomous;
}

void ExpectValidCheck(const pdp::Snapshot& snapshot,
                      const v1::CheckRequest& check, Seen* seen) {
  ExpectValidChain(snapshot, check.chain(), seen);
  EXPECT_GE(snapshot.FindTool(check.tool_id()), 0) << check.tool_id();
  ASSERT_TRUE(check.action() == v1::ACTION_CALL ||
              check.action() == v1::ACTION_SEE);
  (check.action() == v1::ACTION_SEE ? seen->see : seen->call)++;
  // The engine takes it as a well-formed request.
  pdp::Request request;
  request.chain = ToChain(check.chain());
  request.tool_id = check.tool_id();
  request.action =
      check.action() == v1::ACTION_SEE ? pdp::Action::kSee : pdp::Action::kCall;
  EXPECT_TRUE(pdp::Check(snapshot, request).ok());
}

TEST(RequestMixTest, ChecksAreValidChainsOverPolicyTools) {
  auto snapshot = CompilePolicy("checks", kPolicy, kUsers);
  ASSERT_NE(snapshot, nullptr);
  RequestMixOptions options;
  options.mix = Mix::kCheck;
  absl::StatusOr<RequestMix> mix = RequestMix::Draw(*snapshot, options);
  ASSERT_TRUE(mix.ok()) << mix.status();
  ASSERT_EQ(mix->size(), 4096u);
  Seen seen;
  std::set<std::string> tools;
  for (size_t i = 0; i < mix->size(); ++i) {
    const Operation& op = mix->operation(i);
    ASSERT_EQ(op.kind, Operation::Kind::kCheck);
    ExpectValidCheck(*snapshot, op.check, &seen);
    tools.insert(op.check.tool_id());
  }
  // Every kind of chain and every tool shows up.
  EXPECT_GT(seen.service, 0);
  EXPECT_GT(seen.delegated, seen.service);
  EXPECT_GT(seen.with_agent, 0);
  EXPECT_GT(seen.autonomous, seen.service);
  EXPECT_EQ(seen.asserted, 0);
  EXPECT_GT(seen.see, 0);
  EXPECT_GT(seen.call, seen.see);
  EXPECT_EQ(tools.size(), snapshot->tools().size());
  EXPECT_THAT(mix->description(), HasSubstr("2 users x 2 clients"));
}

TEST(RequestMixTest, SameSeedSameRequests) {
  auto snapshot = CompilePolicy("seeds", kPolicy, kUsers);
  ASSERT_NE(snapshot, nullptr);
  RequestMixOptions options;
  options.mix = Mix::kMixed;
  options.pool_size = 64;
  auto a = RequestMix::Draw(*snapshot, options);
  auto b = RequestMix::Draw(*snapshot, options);
  options.seed = 2;
  auto c = RequestMix::Draw(*snapshot, options);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  std::string sa, sb, sc;
  for (size_t i = 0; i < 64; ++i) {
    sa += a->operation(i).check.SerializeAsString() +
          a->operation(i).filter.SerializeAsString();
    sb += b->operation(i).check.SerializeAsString() +
          b->operation(i).filter.SerializeAsString();
    sc += c->operation(i).check.SerializeAsString() +
          c->operation(i).filter.SerializeAsString();
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
  // operation() cycles.
  EXPECT_EQ(a->operation(64).check.SerializeAsString(),
            a->operation(0).check.SerializeAsString());
}

TEST(RequestMixTest, FilterByDrawnOrPinnedServer) {
  auto snapshot = CompilePolicy("filters", kPolicy, kUsers);
  ASSERT_NE(snapshot, nullptr);
  RequestMixOptions options;
  options.mix = Mix::kFilter;
  auto mix = RequestMix::Draw(*snapshot, options);
  ASSERT_TRUE(mix.ok()) << mix.status();
  Seen seen;
  std::set<std::string> servers;
  for (size_t i = 0; i < mix->size(); ++i) {
    const Operation& op = mix->operation(i);
    ASSERT_EQ(op.kind, Operation::Kind::kFilter);
    ExpectValidChain(*snapshot, op.filter.chain(), &seen);
    EXPECT_NE(snapshot->FindServer(op.filter.server_id()), nullptr);
    EXPECT_EQ(op.filter.tool_ids_size(), 0);
    servers.insert(op.filter.server_id());
  }
  EXPECT_EQ(servers, (std::set<std::string>{"crm", "finance", "hr"}));

  options.filter_server = "hr";
  mix = RequestMix::Draw(*snapshot, options);
  ASSERT_TRUE(mix.ok()) << mix.status();
  for (size_t i = 0; i < mix->size(); ++i) {
    EXPECT_EQ(mix->operation(i).filter.server_id(), "hr");
  }

  options.filter_server = "payroll";
  mix = RequestMix::Draw(*snapshot, options);
  EXPECT_EQ(mix.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(mix.status().message(), HasSubstr("--filter-server payroll"));
}

TEST(RequestMixTest, MixedIsMostlyChecks) {
  auto snapshot = CompilePolicy("mixed", kPolicy, kUsers);
  ASSERT_NE(snapshot, nullptr);
  RequestMixOptions options;
  options.mix = Mix::kMixed;
  auto mix = RequestMix::Draw(*snapshot, options);
  ASSERT_TRUE(mix.ok()) << mix.status();
  size_t filters = 0;
  Seen seen;
  for (size_t i = 0; i < mix->size(); ++i) {
    const Operation& op = mix->operation(i);
    if (op.kind == Operation::Kind::kFilter) {
      ++filters;
      ExpectValidChain(*snapshot, op.filter.chain(), &seen);
    } else {
      ASSERT_EQ(op.kind, Operation::Kind::kCheck);
      ExpectValidCheck(*snapshot, op.check, &seen);
    }
  }
  // 20% of 4096 is 819; the draw is seeded, so this is exact per seed.
  EXPECT_GT(filters, mix->size() / 10);
  EXPECT_LT(filters, mix->size() * 3 / 10);
}

TEST(RequestMixTest, BatchesHoldBatchSizeValidChecks) {
  auto snapshot = CompilePolicy("batches", kPolicy, kUsers);
  ASSERT_NE(snapshot, nullptr);
  RequestMixOptions options;
  options.mix = Mix::kBatch;
  options.batch_size = 7;
  options.pool_size = 128;
  auto mix = RequestMix::Draw(*snapshot, options);
  ASSERT_TRUE(mix.ok()) << mix.status();
  ASSERT_EQ(mix->size(), 128u);
  Seen seen;
  for (size_t i = 0; i < mix->size(); ++i) {
    const Operation& op = mix->operation(i);
    ASSERT_EQ(op.kind, Operation::Kind::kBatch);
    ASSERT_EQ(op.batch.checks_size(), 7);
    for (const v1::CheckRequest& check : op.batch.checks()) {
      ExpectValidCheck(*snapshot, check, &seen);
    }
  }
}

TEST(RequestMixTest, PolicyWithoutUsersAssertsPolicyRoles) {
  auto snapshot = CompilePolicy("no_users", kPolicy, "");
  ASSERT_NE(snapshot, nullptr);
  ASSERT_TRUE(snapshot->users().empty());
  auto mix = RequestMix::Draw(*snapshot, {});
  ASSERT_TRUE(mix.ok()) << mix.status();
  Seen seen;
  for (size_t i = 0; i < mix->size(); ++i) {
    ExpectValidCheck(*snapshot, mix->operation(i).check, &seen);
  }
  EXPECT_EQ(seen.asserted, seen.delegated);
  EXPECT_GT(seen.asserted, 0);
  EXPECT_THAT(mix->description(), HasSubstr("synthetic users"));
}

TEST(RequestMixTest, ServicesOnlyPolicy) {
  auto snapshot = CompilePolicy("services_only", R"(
tools:
  - id: crm.import_contacts
services:
  - id: import-worker
    tools: ["crm.*"]
)",
                                "");
  ASSERT_NE(snapshot, nullptr);
  auto mix = RequestMix::Draw(*snapshot, {});
  ASSERT_TRUE(mix.ok()) << mix.status();
  Seen seen;
  for (size_t i = 0; i < mix->size(); ++i) {
    ExpectValidCheck(*snapshot, mix->operation(i).check, &seen);
  }
  EXPECT_EQ(seen.service, static_cast<int>(mix->size()));
}

TEST(RequestMixTest, NoChainsNoMix) {
  auto snapshot = CompilePolicy("no_chains", R"(
tools:
  - id: crm.search
)",
                                "");
  ASSERT_NE(snapshot, nullptr);
  auto mix = RequestMix::Draw(*snapshot, {});
  EXPECT_EQ(mix.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(mix.status().message(),
              HasSubstr("neither clients nor services"));
}

}  // namespace
}  // namespace pdp_bench
