// examples/ci/.github-workflow.yml cannot run here; this checks that it is
// valid YAML of the shape GitHub Actions reads, that it runs
// examples/ci/pipeline.sh (which pipeline_test runs for real) with the
// settings the script requires, and only with settings the script documents.

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class WorkflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    script_ = ReadFile("examples/ci/pipeline.sh");
    ASSERT_FALSE(script_.empty());
    ASSERT_NO_THROW(workflow_ =
                        YAML::LoadFile("examples/ci/.github-workflow.yml"));
    ASSERT_TRUE(workflow_["jobs"].IsMap());
    ASSERT_EQ(workflow_["jobs"].size(), 1u);
    job_ = workflow_["jobs"].begin()->second;
  }

  // The settings a pipeline step gets: the job's env, then the step's.
  std::map<std::string, std::string> EnvOf(const YAML::Node& step) {
    std::map<std::string, std::string> env;
    for (const YAML::Node& scope : {job_["env"], step["env"]}) {
      if (!scope) continue;
      for (const auto& kv : scope) {
        env[kv.first.as<std::string>()] = kv.second.as<std::string>();
      }
    }
    return env;
  }

  std::string script_;
  YAML::Node workflow_, job_;
};

TEST_F(WorkflowTest, RunsOnPullRequestsAndPushesToMain) {
  EXPECT_TRUE(workflow_["name"]);
  ASSERT_TRUE(workflow_["on"]) << "no triggers";
  EXPECT_TRUE(workflow_["on"]["pull_request"]);
  ASSERT_TRUE(workflow_["on"]["push"]);
  EXPECT_EQ(workflow_["on"]["push"]["branches"][0].as<std::string>(), "main");
  EXPECT_TRUE(job_["runs-on"]);
  // Two deploys must never interleave their pushes.
  EXPECT_EQ(workflow_["concurrency"]["cancel-in-progress"].as<bool>(), false);
}

TEST_F(WorkflowTest, PipelineStepsHaveTheSettingsTheScriptNeeds) {
  int pipeline_steps = 0;
  bool dry_run = false, deploy = false;
  for (const YAML::Node& step : job_["steps"]) {
    ASSERT_TRUE(step["run"] || step["uses"]) << "a step does nothing";
    if (!step["run"] ||
        !absl::StrContains(step["run"].as<std::string>(),
                           "examples/ci/pipeline.sh")) {
      continue;
    }
    ++pipeline_steps;
    SCOPED_TRACE(step["name"].as<std::string>());
    std::map<std::string, std::string> env = EnvOf(step);
    for (const char* required : {"PDP_CA", "PDP_CERT", "PDP_KEY", "PDPCTL"}) {
      EXPECT_TRUE(env.count(required)) << required;
    }
    EXPECT_TRUE(env.count("PDP_SERVICE") || env.count("PDP_SERVERS"));
    if (env["PDP_DRY_RUN"] == "1") {
      dry_run = true;
    } else {
      deploy = true;
      EXPECT_TRUE(env.count("PDP_SIGNING_KEY"));
    }
    for (const auto& [name, value] : env) {
      if (!absl::StartsWith(name, "PDP")) continue;
      EXPECT_TRUE(absl::StrContains(script_, absl::StrCat("#   ", name, " ")))
          << name << " is not a setting pipeline.sh documents";
    }
  }
  EXPECT_EQ(pipeline_steps, 2);
  EXPECT_TRUE(dry_run) << "pull requests should validate, test and diff";
  EXPECT_TRUE(deploy) << "main should deploy";
}

TEST_F(WorkflowTest, JobEnvUsesOnlyContextsAvailableThere) {
  // GitHub evaluates jobs.<id>.env before the runner is assigned: `runner`
  // and `steps` are not available there (they are in a step's env).
  for (const auto& kv : job_["env"]) {
    const std::string value = kv.second.as<std::string>();
    EXPECT_FALSE(absl::StrContains(value, "runner.") ||
                 absl::StrContains(value, "steps."))
        << kv.first.as<std::string>() << ": " << value;
  }
}

}  // namespace
