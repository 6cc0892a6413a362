#include "pdp/testing/policy_generator.h"

#include <cstdlib>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "pdp/evaluator.h"
#include "pdp/testing/chain_generator.h"

namespace pdp {
namespace testgen {
namespace {

std::string TempDir(absl::string_view name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
}

std::shared_ptr<const Snapshot> CompileGenerated(
    const PolicyGeneratorOptions& options, absl::string_view name) {
  const std::string dir = TempDir(name);
  EXPECT_TRUE(WritePolicyFiles(GeneratePolicy(options), dir).ok());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Compiler::CompileDirectory(dir);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status();
  return snapshot.ok() ? *snapshot : nullptr;
}

TEST(PolicyGeneratorTest, DefaultPolicyCompilesWithTheRequestedShape) {
  std::shared_ptr<const Snapshot> s = CompileGenerated({}, "default");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->tools().size(), 10000u);
  EXPECT_EQ(s->servers().size(), 10u);
  EXPECT_EQ(s->roles().size(), 200u);
  EXPECT_EQ(s->agents().size(), 50u);
  EXPECT_EQ(s->clients().size(), 20u);
  EXPECT_EQ(s->services().size(), 10u);
  EXPECT_EQ(s->users().size(), 1000u);
  EXPECT_EQ(s->scopes().size(), 100u);
  EXPECT_EQ(s->data_classes().size(), 10u);
  EXPECT_EQ(s->deny_rules().size(), 24u);
  const Snapshot::Server* big = s->FindServer("big");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->end - big->begin, 1000);
  // The other servers are uneven.
  std::set<int> sizes;
  for (const Snapshot::Server& server : s->servers()) {
    sizes.insert(server.end - server.begin);
  }
  EXPECT_GT(sizes.size(), 2u);
}

TEST(PolicyGeneratorTest, PolicyVariesEveryAttribute) {
  std::shared_ptr<const Snapshot> s = CompileGenerated({}, "variety");
  ASSERT_NE(s, nullptr);
  std::set<int> risks, autonomies, auths, trusts, client_trusts;
  size_t no_scopes = 0, with_data = 0;
  for (const Snapshot::Tool& t : s->tools()) {
    risks.insert(t.risk);
    autonomies.insert(t.autonomy);
    auths.insert(t.auth);
    trusts.insert(t.min_client_trust);
    no_scopes += t.scopes.empty();
    with_data += t.data != 0;
  }
  EXPECT_EQ(risks.size(), 4u);
  EXPECT_EQ(autonomies.size(), 3u);
  EXPECT_EQ(auths.size(), 3u);
  EXPECT_EQ(trusts.size(), 4u);
  EXPECT_GT(no_scopes, 0u);
  EXPECT_GT(with_data, 1000u);
  for (const Snapshot::Client& c : s->clients()) client_trusts.insert(c.trust);
  EXPECT_EQ(client_trusts.size(), 4u);

  // Inheritance several levels deep.
  size_t deepest = 0;
  for (const Snapshot::Role& r : s->roles()) {
    deepest = std::max(deepest, r.closure.Count());
  }
  EXPECT_GE(deepest, 5u);

  // Globs and exact ids in roles and agents; every `when` key in deny rules.
  const v1::Bundle& b = s->bundle();
  bool server_glob = false, big_glob = false, exact = false;
  for (const v1::Role& r : b.roles()) {
    for (const std::string& t : r.tools()) {
      server_glob |= absl::EndsWith(t, ".*");
      big_glob |= absl::StartsWith(t, "big.tool_") && absl::EndsWith(t, "*");
      exact |= s->FindTool(t) >= 0;
    }
  }
  EXPECT_TRUE(server_glob && big_glob && exact);
  std::set<std::string> keys;
  for (const v1::DenyRule& d : b.deny()) {
    const v1::DenyCondition& w = d.when();
    if (w.tools_size()) keys.insert("tools");
    if (w.servers_size()) keys.insert("servers");
    if (w.users_size()) keys.insert("users");
    if (w.roles_size()) keys.insert("roles");
    if (w.agents_size()) keys.insert("agents");
    if (w.clients_size()) keys.insert("clients");
    if (w.services_size()) keys.insert("services");
    if (w.data_size()) keys.insert("data");
    if (w.client_trust_below()) keys.insert("client_trust_below");
    if (w.risk_at_least()) keys.insert("risk_at_least");
    if (w.has_autonomous()) keys.insert(w.autonomous() ? "auto" : "supervised");
  }
  EXPECT_EQ(keys.size(), 12u);
}

TEST(PolicyGeneratorTest, DeterministicInItsSeed) {
  PolicyGeneratorOptions options;
  options.tools = 500;
  options.users = 50;
  EXPECT_EQ(GeneratePolicy(options), GeneratePolicy(options));
  PolicyGeneratorOptions other = options;
  other.seed = 2;
  EXPECT_NE(GeneratePolicy(options), GeneratePolicy(other));
}

TEST(PolicyGeneratorTest, SmallPoliciesOfManySeedsCompile) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    PolicyGeneratorOptions options;
    options.seed = seed;
    options.tools = 20 + static_cast<int>(seed) * 7;
    options.servers = 2 + static_cast<int>(seed % 5);
    options.big_server_tools = static_cast<int>(seed * 3);
    options.roles = 1 + static_cast<int>(seed % 9);
    options.agents = 1 + static_cast<int>(seed % 4);
    options.clients = 1 + static_cast<int>(seed % 3);
    options.services = 1 + static_cast<int>(seed % 2);
    options.users = 1 + static_cast<int>(seed);
    options.scopes = 1 + static_cast<int>(seed * 2);
    options.data_classes = 1 + static_cast<int>(seed % 12);
    options.deny_rules = static_cast<int>(seed % 15);
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    CompileGenerated(options, absl::StrCat("small", seed));
  }
}

TEST(ChainGeneratorTest, ChainsAreWellFormedAndMalformedOnesAreNot) {
  PolicyGeneratorOptions options;
  options.tools = 300;
  options.users = 40;
  std::shared_ptr<const Snapshot> s = CompileGenerated(options, "chains");
  ASSERT_NE(s, nullptr);
  ChainGenerator gen(*s);
  int services = 0, agents = 0, autonomous = 0;
  for (int i = 0; i < 2000; ++i) {
    Chain chain = gen.NextChain();
    ASSERT_TRUE(ValidateChain(chain).ok());
    services += !chain.service_id.empty();
    agents += !chain.agent_id.empty();
    autonomous += chain.autonomous;
    EXPECT_FALSE(ValidateChain(gen.NextMalformedChain()).ok());
    EXPECT_FALSE(gen.NextToolId().empty());
    ToolSelection selection = gen.NextSelection();
    EXPECT_NE(selection.server_id.empty(), selection.tool_ids.empty());
  }
  EXPECT_GT(services, 100);
  EXPECT_GT(agents, 400);
  EXPECT_GT(autonomous, 400);

  ChainGenerator a(*s), b(*s);
  for (int i = 0; i < 100; ++i) {
    Request x = a.NextRequest(), y = b.NextRequest();
    EXPECT_EQ(x.chain.user_id, y.chain.user_id);
    EXPECT_EQ(x.chain.scopes, y.chain.scopes);
    EXPECT_EQ(x.tool_id, y.tool_id);
  }
}

}  // namespace
}  // namespace testgen
}  // namespace pdp
