#include "pdp/engine.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "pdp/evaluator.h"
#include "pdp/policy_loader.h"

namespace pdp {
namespace {

constexpr char kPolicy[] = R"(
tools:
  - id: crm.search_contacts
    scopes: [contacts:read]
    data: [pii]
  - id: hr.get_salary
    scopes: [hr:read]
    data: [salary]
roles:
  - id: sales
    tools: ["crm.*"]
    data: [pii]
clients:
  - id: desktop
    trust: standard
    scopes: [contacts:read, hr:read]
users:
  - id: sam
    roles: [sales]
)";

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Diagnostics diags;
    v1::Bundle bundle;
    LoadPolicyYaml("policy.yaml", kPolicy, &bundle, &diags);
    ASSERT_TRUE(diags.empty()) << diags.ToStatus();
    auto compiled = Compiler::Compile(bundle);
    ASSERT_TRUE(compiled.ok()) << compiled.status();
    snapshot_ = *compiled;
  }

  static Request Sam(std::string tool) {
    Request request;
    request.chain.user_id = "sam";
    request.chain.client_id = "desktop";
    request.chain.scopes = {"contacts:read", "hr:read"};
    request.tool_id = std::move(tool);
    return request;
  }

  std::shared_ptr<const Snapshot> snapshot_;
  ActivePolicy policy_;
  Engine engine_{policy_, {}};
};

TEST_F(EngineTest, UnavailableUntilAPolicyIsActive) {
  absl::StatusOr<Engine::Checked> checked =
      engine_.Check(Sam("crm.search_contacts"));
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(checked.status().message(),
            "no policy is active on this server; it decides nothing until "
            "one is");
  policy_.SetUnavailableReason("the stored bundle v2 cannot be served");
  EXPECT_EQ(engine_.FilterTools({}, {}, {}).status().message(),
            "the stored bundle v2 cannot be served; this server decides "
            "nothing until a push or an Activate repairs it");
}

TEST_F(EngineTest, DecidesAsTheEvaluatorDoes) {
  policy_.Activate(snapshot_);
  for (const std::string tool : {"crm.search_contacts", "hr.get_salary"}) {
    absl::StatusOr<Engine::Checked> checked = engine_.Check(Sam(tool));
    ASSERT_TRUE(checked.ok()) << checked.status();
    EXPECT_EQ(checked->snapshot, snapshot_);
    EXPECT_EQ(checked->request.tool_id, tool);
    absl::StatusOr<Decision> direct = Check(*snapshot_, Sam(tool));
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(checked->decision.effect, direct->effect);
    EXPECT_EQ(checked->decision.redact, direct->redact);
  }
}

TEST_F(EngineTest, BatchCheckKeepsOrderAndNamesTheBadRequest) {
  policy_.Activate(snapshot_);
  absl::StatusOr<Engine::BatchChecked> batch = engine_.BatchCheck(
      {Sam("crm.search_contacts"), Sam("hr.get_salary")}, {});
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->decisions.size(), 2u);
  EXPECT_EQ(batch->decisions[0].effect, v1::EFFECT_ALLOW);
  EXPECT_EQ(batch->decisions[1].effect, v1::EFFECT_DENY);

  Request bad = Sam("crm.search_contacts");
  bad.chain.client_id.clear();
  batch = engine_.BatchCheck({Sam("crm.search_contacts"), bad}, {});
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(batch.status().message().substr(0, 11), "checks[1]: ");
}

TEST_F(EngineTest, APassedDeadlineDecidesNothing) {
  policy_.Activate(snapshot_);
  const absl::Time past = absl::Now() - absl::Seconds(1);
  EXPECT_EQ(engine_.Check(Sam("crm.search_contacts"), {}, past).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(engine_.BatchCheck({Sam("crm.search_contacts")}, {}, past)
                .status()
                .code(),
            absl::StatusCode::kDeadlineExceeded);
  ToolSelection selection;
  selection.server_id = "crm";
  EXPECT_EQ(engine_.FilterTools(Sam("").chain, {}, selection, past)
                .status()
                .code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(EngineTest, FiltersAndExplains) {
  policy_.Activate(snapshot_);
  ToolSelection selection;
  selection.server_id = "crm";
  absl::StatusOr<Engine::Filtered> filtered =
      engine_.FilterTools(Sam("").chain, {}, selection);
  ASSERT_TRUE(filtered.ok()) << filtered.status();
  ASSERT_EQ(filtered->tools.size(), 1u);
  EXPECT_EQ(snapshot_->tools()[filtered->tools[0].tool].id,
            "crm.search_contacts");

  absl::StatusOr<Engine::Explained> explained =
      engine_.Explain(Sam("hr.get_salary"), {}, "policy");
  ASSERT_TRUE(explained.ok()) << explained.status();
  EXPECT_EQ(explained->decision.effect, v1::EFFECT_DENY);
  EXPECT_FALSE(explained->lines.empty());
}

}  // namespace
}  // namespace pdp
