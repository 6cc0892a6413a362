#include "tools/pdp_bench/request_mix.h"

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace pdp_bench {
namespace {

namespace v1 = ::pdp::v1;

constexpr double kServiceChain = 0.15;
constexpr double kWithAgent = 0.5;
constexpr double kAutonomousWithAgent = 0.3;
constexpr double kAutonomousWithoutAgent = 0.05;
constexpr double kSee = 0.2;
constexpr double kFilterInMixed = 0.2;
constexpr int kSyntheticUsers = 64;

// A user to put in delegated chains: a policy user, or a synthetic one
// asserting a role.
struct BenchUser {
  std::string id;
  std::string asserted_role;  // Empty for policy users.
};

class Drawer {
 public:
  Drawer(const pdp::Snapshot& snapshot, uint64_t seed)
      : snapshot_(snapshot), rng_(seed) {
    for (const pdp::Snapshot::User& user : snapshot.users()) {
      users_.push_back({user.id, ""});
    }
    if (users_.empty()) {
      for (int i = 0; i < kSyntheticUsers; ++i) {
        std::string role =
            snapshot.roles().empty()
                ? std::string()
                : snapshot.roles()[i % snapshot.roles().size()].id;
        users_.push_back(
            {absl::StrCat("bench-user-", i, "@bench.invalid"), role});
      }
    }
    for (const pdp::Snapshot::Client& client : snapshot.clients()) {
      std::vector<std::string> scopes;
      client.scopes.ForEach(
          [&](size_t i) { scopes.push_back(snapshot.scopes()[i]); });
      client_scopes_.push_back(std::move(scopes));
    }
  }

  bool Chance(double p) {
    return static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0) < p;
  }
  size_t Uniform(size_t n) { return static_cast<size_t>(rng_() % n); }

  void DrawChain(v1::IdentityChain* chain) {
    const bool delegated_possible = !snapshot_.clients().empty();
    const bool service = !snapshot_.services().empty() &&
                         (!delegated_possible || Chance(kServiceChain));
    if (service) {
      chain->set_service_id(
          snapshot_.services()[Uniform(snapshot_.services().size())].id);
      chain->set_autonomous(true);
      return;
    }
    const BenchUser& user = users_[Uniform(users_.size())];
    chain->set_user_id(user.id);
    if (!user.asserted_role.empty()) {
      chain->add_asserted_roles(user.asserted_role);
    }
    static const std::vector<std::vector<const char*>> kAmr = {
        {}, {"pwd"}, {"pwd", "otp"}, {"hwk"}};
    for (const char* amr : kAmr[Uniform(kAmr.size())]) chain->add_amr(amr);
    const size_t client = Uniform(snapshot_.clients().size());
    chain->set_client_id(snapshot_.clients()[client].id);
    for (const std::string& scope : client_scopes_[client]) {
      chain->add_scopes(scope);
    }
    const bool with_agent = !snapshot_.agents().empty() && Chance(kWithAgent);
    if (with_agent) {
      chain->set_agent_id(
          snapshot_.agents()[Uniform(snapshot_.agents().size())].id);
    }
    chain->set_autonomous(
        Chance(with_agent ? kAutonomousWithAgent : kAutonomousWithoutAgent));
  }

  void DrawCheck(v1::CheckRequest* check) {
    DrawChain(check->mutable_chain());
    check->set_tool_id(snapshot_.tools()[Uniform(snapshot_.tools().size())].id);
    check->set_action(Chance(kSee) ? v1::ACTION_SEE : v1::ACTION_CALL);
  }

  void DrawFilter(const std::string& pinned_server,
                  v1::FilterToolsRequest* filter) {
    DrawChain(filter->mutable_chain());
    filter->set_server_id(
        pinned_server.empty()
            ? snapshot_.servers()[Uniform(snapshot_.servers().size())].id
            : pinned_server);
  }

  size_t user_count() const { return users_.size(); }
  bool synthetic_users() const { return snapshot_.users().empty(); }

 private:
  const pdp::Snapshot& snapshot_;
  std::mt19937_64 rng_;
  std::vector<BenchUser> users_;
  std::vector<std::vector<std::string>> client_scopes_;
};

}  // namespace

absl::StatusOr<RequestMix> RequestMix::Draw(const pdp::Snapshot& snapshot,
                                            const RequestMixOptions& options) {
  if (snapshot.tools().empty()) {
    return absl::FailedPreconditionError(
        "the policy has no tools to draw requests from");
  }
  if (snapshot.clients().empty() && snapshot.services().empty()) {
    return absl::FailedPreconditionError(
        "the policy has neither clients nor services: no identity chain can "
        "be drawn from it");
  }
  if (!options.filter_server.empty() &&
      snapshot.FindServer(options.filter_server) == nullptr) {
    return absl::NotFoundError(absl::StrCat("--filter-server ",
                                            options.filter_server,
                                            ": no tool id in the "
                                            "policy starts with \"",
                                            options.filter_server, ".\""));
  }
  Drawer drawer(snapshot, options.seed);
  RequestMix mix;
  const int pool_size = options.pool_size > 0 ? options.pool_size : 1;
  mix.operations_.resize(pool_size);
  for (Operation& op : mix.operations_) {
    switch (options.mix) {
      case Mix::kCheck:
        op.kind = Operation::Kind::kCheck;
        break;
      case Mix::kFilter:
        op.kind = Operation::Kind::kFilter;
        break;
      case Mix::kMixed:
        op.kind = drawer.Chance(kFilterInMixed) ? Operation::Kind::kFilter
                                                : Operation::Kind::kCheck;
        break;
      case Mix::kBatch:
        op.kind = Operation::Kind::kBatch;
        break;
    }
    switch (op.kind) {
      case Operation::Kind::kCheck:
        drawer.DrawCheck(&op.check);
        break;
      case Operation::Kind::kFilter:
        drawer.DrawFilter(options.filter_server, &op.filter);
        break;
      case Operation::Kind::kBatch:
        for (int i = 0; i < options.batch_size; ++i) {
          drawer.DrawCheck(op.batch.add_checks());
        }
        break;
    }
  }
  mix.description_ = absl::StrCat(
      pool_size, " ", MixName(options.mix), " requests drawn from ",
      drawer.user_count(), drawer.synthetic_users() ? " synthetic" : "",
      " users x ", snapshot.clients().size(), " clients, ",
      snapshot.agents().size(), " agents, ", snapshot.services().size(),
      " services, ", snapshot.tools().size(), " tools on ",
      snapshot.servers().size(), " servers",
      options.filter_server.empty()
          ? ""
          : absl::StrCat(" (FilterTools on ", options.filter_server, ")"));
  return mix;
}

}  // namespace pdp_bench
