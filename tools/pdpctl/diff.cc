#include "tools/pdpctl/diff.h"

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "pdp/names.h"

namespace pdpctl {
namespace {

const char* KindName(pdp::ChangeKind kind) {
  switch (kind) {
    case pdp::ChangeKind::kWiden:
      return "widen";
    case pdp::ChangeKind::kNarrow:
      return "narrow";
    default:
      return "mixed";
  }
}

std::string Summary(const pdp::DecisionDiff& d) {
  return absl::StrCat(Plural(d.widen, "change"), " widen, ", d.narrow,
                      " narrow, ", d.mixed, " widen and narrow");
}

std::vector<std::string> Ids(const std::vector<int>& indices,
                             const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  out.reserve(indices.size());
  for (int i : indices) out.push_back(ids[i]);
  return out;
}

std::vector<std::vector<std::string>> Ids(
    const std::vector<std::vector<int>>& lists,
    const std::vector<std::string>& ids) {
  std::vector<std::vector<std::string>> out;
  for (const std::vector<int>& list : lists) out.push_back(Ids(list, ids));
  return out;
}

nlohmann::json ChangeJson(const pdp::DecisionDiff& d,
                          const pdp::DecisionChange& c) {
  nlohmann::json j;
  j["kind"] = KindName(c.kind);
  j["tool"] = d.tool_ids[c.tool];
  if (c.service >= 0) {
    j["service"] = d.service_ids[c.service];
  } else {
    if (c.role_set) {
      j["roles"] = Ids(c.roles, d.role_ids);
      if (!c.user_id.empty()) j["user_id"] = c.user_id;
    } else {
      j["users"] = Ids(c.users, d.user_ids);
    }
    j["agents"] = Ids(c.agents, d.agent_ids);
    j["clients"] = Ids(c.clients, d.client_ids);
    std::vector<std::string> strengths;
    for (pdp::v1::AuthStrength st : c.strengths) {
      strengths.emplace_back(pdp::AuthStrengthName(st));
    }
    j["strengths"] = strengths;
    j["autonomous"] = c.autonomous;
    j["not_autonomous"] = c.not_autonomous;
  }
  j["token_scopes"] = Ids(c.token_scopes, d.scope_ids);
  j["old"] = c.old_decision;
  j["new"] = c.new_decision;
  j["line"] = pdp::DescribeChange(d, c);
  return j;
}

int RunDiff(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.positional().size() != 2) {
    return UsageError("diff", "give two policy directories: OLD_DIR NEW_DIR",
                      err);
  }
  pdp::DiffOptions options;
  if (args.Has("max-delegation-depth")) {
    const std::string value = args.Get("max-delegation-depth");
    if (!absl::SimpleAtoi(value, &options.max_chain_agents) ||
        options.max_chain_agents < 1 || options.max_chain_agents > 32) {
      return UsageError("diff",
                        "--max-delegation-depth takes a number from 1 to 32",
                        err);
    }
  }
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> old_policy =
      LoadPolicy("diff", args.positional()[0], err);
  if (!old_policy.ok()) return kExitUsage;
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> new_policy =
      LoadPolicy("diff", args.positional()[1], err);
  if (!new_policy.ok()) return kExitUsage;
  absl::StatusOr<pdp::DecisionDiff> diff =
      pdp::DiffPolicies(**old_policy, **new_policy, options);
  if (!diff.ok()) {
    // No answer is not "no widening": a gate must not pass.
    err << "pdpctl diff: " << diff.status().message() << "\n";
    return kExitFailed;
  }
  if (args.Has("json")) {
    WriteDiffJson(*diff, out);
  } else {
    WriteDiffText(*diff, out);
  }
  if (args.Has("fail-on-widen") && diff->Widens()) return kExitFailed;
  return kExitOk;
}

}  // namespace

void WriteDiffText(const pdp::DecisionDiff& diff, std::ostream& out) {
  const struct {
    pdp::ChangeKind kind;
    const char* heading;
  } sections[] = {{pdp::ChangeKind::kWiden, "widens:"},
                  {pdp::ChangeKind::kNarrow, "narrows:"},
                  {pdp::ChangeKind::kMixed, "widens and narrows:"}};
  for (const auto& section : sections) {
    bool first = true;
    for (const pdp::DecisionChange& c : diff.changes) {
      if (c.kind != section.kind) continue;
      if (first) out << section.heading << "\n";
      first = false;
      out << "  " << pdp::DescribeChange(diff, c) << "\n";
    }
  }
  out << Summary(diff) << "\n";
}

void WriteDiffJson(const pdp::DecisionDiff& diff, std::ostream& out) {
  // One change at a time: a wholesale change of a large policy has
  // hundreds of thousands of them.
  out << "{\"changes\":[";
  for (size_t i = 0; i < diff.changes.size(); ++i) {
    if (i > 0) out << ",";
    out << ChangeJson(diff, diff.changes[i]).dump();
  }
  out << "],\"mixed\":" << diff.mixed << ",\"narrow\":" << diff.narrow
      << ",\"widen\":" << diff.widen << "}\n";
}

Command DiffCommand() {
  using Kind = FlagSpec::Kind;
  return {
      "diff",
      "diff OLD_DIR NEW_DIR [--fail-on-widen] [--json] "
      "[--max-delegation-depth N]",
      "show how two policy directories decide requests differently",
      "Compiles both directories and compares the call decisions of every\n"
      "request either policy can receive, exactly, by classes of requests\n"
      "that decide alike: every role set a user can hold (directory,\n"
      "asserted roles, a roles claim; also the users of either policy's\n"
      "users:), every client, every set of up to N agents (default 4, the\n"
      "token settings' max_delegation_depth) and none, every token scope\n"
      "set, every authentication strength, autonomous or not, and every\n"
      "service. Prints one line per (tool, class of users or service,\n"
      "agents, old and new decision), naming a witness role set, the\n"
      "clients, token scopes and strengths concerned, under \"widens:\",\n"
      "\"narrows:\" and \"widens and narrows:\", then a summary. Wider:\n"
      "DENY < STEP_UP < REQUIRE_APPROVAL < ALLOW; a data class no longer\n"
      "redacted, or a weaker step-up. Exits 1 with --fail-on-widen if and\n"
      "only if some request is decided more permissively (or the diff\n"
      "cannot be computed), else 0.\n",
      {
          {"fail-on-widen", Kind::kBool, "",
           "exit 1 when any request is decided more permissively"},
          {"json", Kind::kBool, "", "print the changes as JSON"},
          {"max-delegation-depth", Kind::kValue, "N",
           "the most agents in one chain (default 4)"},
      },
      RunDiff,
  };
}

}  // namespace pdpctl
