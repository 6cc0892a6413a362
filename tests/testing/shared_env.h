#ifndef TESTS_TESTING_SHARED_ENV_H_
#define TESTS_TESTING_SHARED_ENV_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace pdp {
namespace testenv {

// A fixture whose environment (servers, certificates, a compiled policy) is
// made once for the whole suite by `Make` and shared by its tests. If it
// cannot be made, every test of the suite fails at SetUp with the reason.
//
//   absl::StatusOr<std::unique_ptr<Env>> MakeEnv();
//   class AuthorizerTest : public testenv::SharedEnvTest<Env, MakeEnv> {};
template <typename Env, absl::StatusOr<std::unique_ptr<Env>> (*Make)()>
class SharedEnvTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<Env>> env = Make();
    if (env.ok()) {
      env_ = env->release();
    } else {
      error_ = new std::string(env.status().ToString());
    }
  }

  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
    delete error_;
    error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(error_, nullptr) << "the suite's environment: " << *error_;
  }

  static Env& env() { return *env_; }

 private:
  inline static Env* env_ = nullptr;
  inline static std::string* error_ = nullptr;
};

}  // namespace testenv
}  // namespace pdp

#endif  // TESTS_TESTING_SHARED_ENV_H_
