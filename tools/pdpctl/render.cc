#include "tools/pdpctl/render.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "pdp/names.h"

namespace pdpctl {
namespace {

using Json = nlohmann::ordered_json;

// Never throws: ids and messages that are not valid UTF-8 are replaced.
std::string Dump(const Json& json) {
  return json.dump(2, ' ', false, Json::error_handler_t::replace);
}

// The id of the chain element (or tool, or rule) a reason is about.
std::string LinkId(const pdp::Request& request, const pdp::Reason& reason) {
  switch (reason.link) {
    case pdp::v1::LINK_USER:
      return request.chain.user_id;
    case pdp::v1::LINK_CLIENT:
      return request.chain.client_id;
    case pdp::v1::LINK_AGENT:
      return request.chain.agent_id;
    case pdp::v1::LINK_SERVICE:
      return request.chain.service_id;
    case pdp::v1::LINK_TOOL:
      return request.tool_id;
    case pdp::v1::LINK_RULE:
      return reason.rule_id;
    default:
      return "";
  }
}

// Why nothing at all is visible to a chain with an unknown link.
std::vector<std::string> UnknownLinks(const pdp::Snapshot& snapshot,
                                      const pdp::Chain& chain) {
  std::vector<std::string> unknown;
  if (!chain.service_id.empty()) {
    if (snapshot.FindService(chain.service_id) < 0) {
      unknown.push_back(
          absl::StrCat("service ", chain.service_id, " is not in the policy"));
    }
    return unknown;
  }
  if (snapshot.FindClient(chain.client_id) < 0) {
    unknown.push_back(
        absl::StrCat("client ", chain.client_id, " is not registered"));
  }
  if (chain.asserted_roles.empty() && snapshot.FindUser(chain.user_id) < 0) {
    unknown.push_back(absl::StrCat(
        "user ", chain.user_id, " is not known (assert roles with --roles)"));
  }
  if (!chain.agent_id.empty() && snapshot.FindAgent(chain.agent_id) < 0) {
    unknown.push_back(
        absl::StrCat("agent ", chain.agent_id, " is not in the policy"));
  }
  return unknown;
}

}  // namespace

std::string DescribeChain(const pdp::Chain& chain) {
  if (!chain.service_id.empty()) {
    return absl::StrCat("service ", chain.service_id);
  }
  std::string text = absl::StrCat("user ", chain.user_id);
  if (!chain.asserted_roles.empty()) {
    absl::StrAppend(&text, " (asserted roles ",
                    absl::StrJoin(chain.asserted_roles, ", "), ")");
  }
  absl::StrAppend(&text, " via client ", chain.client_id);
  if (!chain.agent_id.empty()) {
    absl::StrAppend(&text, " with agent ", chain.agent_id);
  }
  if (chain.autonomous) absl::StrAppend(&text, ", no human in the loop");
  return text;
}

std::string DecisionJson(const pdp::Snapshot& snapshot,
                         const pdp::Decision& decision) {
  Json json = Json::object();
  json["effect"] = std::string(pdp::EffectName(decision.effect));
  Json reasons = Json::array();
  for (const pdp::Reason& reason : decision.reasons) {
    Json r = Json::object();
    r["link"] = std::string(pdp::LinkName(reason.link));
    r["code"] = std::string(pdp::ReasonCodeName(reason.code));
    r["message"] = reason.message;
    if (reason.code == pdp::v1::Reason::MISSING_SCOPE) {
      r["missing_scopes"] = reason.missing_scopes;
    }
    if (reason.code == pdp::v1::Reason::RULE) r["rule"] = reason.rule_id;
    reasons.push_back(std::move(r));
  }
  json["reasons"] = std::move(reasons);
  json["redact"] = snapshot.DataClassNames(decision.redact);
  if (decision.effect == pdp::v1::EFFECT_STEP_UP) {
    json["step_up"] = std::string(pdp::AuthStrengthName(decision.step_up));
  }
  json["policy_version"] = snapshot.version();
  return Dump(json);
}

std::string DecisionText(const pdp::Snapshot& snapshot,
                         const pdp::Request& request,
                         const pdp::Decision& decision) {
  return DecisionText(request, decision,
                      snapshot.DataClassNames(decision.redact),
                      snapshot.version());
}

std::string DecisionText(const pdp::Request& request,
                         const pdp::Decision& decision,
                         const std::vector<std::string>& redact_names,
                         const std::string& policy_version) {
  const bool see = request.action == pdp::Action::kSee;
  std::string text = absl::StrCat(pdp::EffectName(decision.effect), " ",
                                  request.tool_id, see ? " (see)" : "", " for ",
                                  DescribeChain(request.chain), "\n");
  for (const pdp::Reason& reason : decision.reasons) {
    absl::StrAppend(
        &text, "  ", pdp::LinkName(reason.link), " ", LinkId(request, reason),
        ": ", pdp::ReasonCodeName(reason.code), " — ", reason.message, "\n");
  }
  const std::string redact = absl::StrJoin(redact_names, ", ");
  switch (decision.effect) {
    case pdp::v1::EFFECT_ALLOW:
      absl::StrAppend(&text, "  every link permits it",
                      see ? " (a call may still need step-up or approval)" : "",
                      redact.empty()
                          ? "; nothing to redact"
                          : absl::StrCat("; redact ", redact,
                                         " from the result before it enters "
                                         "the AI context"),
                      "\n");
      break;
    case pdp::v1::EFFECT_STEP_UP:
    case pdp::v1::EFFECT_REQUIRE_APPROVAL:
      if (!redact.empty()) {
        absl::StrAppend(&text, "  then: redact ", redact, " from the result\n");
      }
      break;
    default:
      break;
  }
  absl::StrAppend(&text, "policy version ", policy_version, "\n");
  return text;
}

std::string VisibleToolsJson(const pdp::Snapshot& snapshot,
                             const std::vector<pdp::VisibleTool>& tools) {
  Json list = Json::array();
  for (const pdp::VisibleTool& tool : tools) {
    Json t = Json::object();
    t["id"] = snapshot.tools()[tool.tool].id;
    t["requires_approval"] = tool.requires_approval;
    if (tool.step_up == pdp::v1::AUTH_STRENGTH_UNSPECIFIED) {
      t["step_up"] = nullptr;
    } else {
      t["step_up"] = std::string(pdp::AuthStrengthName(tool.step_up));
    }
    t["redact"] = snapshot.DataClassNames(tool.redact);
    list.push_back(std::move(t));
  }
  Json json = Json::object();
  json["tools"] = std::move(list);
  json["policy_version"] = snapshot.version();
  return Dump(json);
}

std::string VisibleToolsText(const pdp::Snapshot& snapshot,
                             const pdp::Chain& chain,
                             const FilterSelection& selection,
                             const std::vector<pdp::VisibleTool>& tools) {
  std::string text = absl::StrCat(tools.size(), " of ", selection.selected, " ",
                                  selection.phrase, " visible to ",
                                  DescribeChain(chain), "\n");
  size_t width = 0;
  for (const pdp::VisibleTool& tool : tools) {
    width = std::max(width, snapshot.tools()[tool.tool].id.size());
  }
  for (const pdp::VisibleTool& tool : tools) {
    const std::string& id = snapshot.tools()[tool.tool].id;
    std::vector<std::string> needs;
    if (tool.requires_approval) needs.push_back("requires approval");
    if (tool.step_up != pdp::v1::AUTH_STRENGTH_UNSPECIFIED) {
      needs.push_back(
          absl::StrCat("step-up to ", pdp::AuthStrengthName(tool.step_up)));
    }
    std::vector<std::string> redact = snapshot.DataClassNames(tool.redact);
    if (!redact.empty()) {
      needs.push_back(absl::StrCat("redact ", absl::StrJoin(redact, ", ")));
    }
    if (needs.empty()) {
      absl::StrAppend(&text, "  ", id, "\n");
    } else {
      absl::StrAppend(&text, "  ", id, std::string(width - id.size() + 2, ' '),
                      absl::StrJoin(needs, "; "), "\n");
    }
  }
  if (!selection.not_in_policy.empty()) {
    absl::StrAppend(&text, "  not in the policy: ",
                    absl::StrJoin(selection.not_in_policy, ", "), "\n");
  }
  if (tools.empty()) {
    for (const std::string& why : UnknownLinks(snapshot, chain)) {
      absl::StrAppend(&text, "  nothing is visible: ", why, "\n");
    }
  }
  absl::StrAppend(&text, "policy version ", snapshot.version(), "\n");
  return text;
}

}  // namespace pdpctl
