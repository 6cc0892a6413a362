#include "pdp/api/translate.h"

#include <utility>

namespace pdp::api {
Chain FromProto(const v1::IdentityChain& chain, bool may_assert_roles) {
  Chain out;
  out.user_id = chain.user_id();
  if (may_assert_roles) {
    out.asserted_roles.assign(chain.asserted_roles().begin(),
                              chain.asserted_roles().end());
  }
  out.amr.assign(chain.amr().begin(), chain.amr().end());
  out.client_id = chain.client_id();
  out.scopes.assign(chain.scopes().begin(), chain.scopes().end());
  out.agent_id = chain.agent_id();
  out.service_id = chain.service_id();
  out.autonomous = chain.autonomous();
  return out;
}

ChainTokens TokensFromProto(const v1::IdentityChain& chain) {
  ChainTokens out;
  out.access_token = chain.access_token();
  out.agent_token = chain.agent_token();
  out.service_token = chain.service_token();
  out.client_certificate = chain.binding().client_certificate();
  out.client_certificate_sha256 = chain.binding().client_certificate_sha256();
  out.dpop_jkt = chain.binding().dpop_jkt();
  return out;
}

Request FromProto(const v1::CheckRequest& request, bool may_assert_roles) {
  Request out;
  out.chain = FromProto(request.chain(), may_assert_roles);
  out.tool_id = request.tool_id();
  out.action = request.action() == v1::ACTION_SEE ? Action::kSee : Action::kCall;
  return out;
}

ToolSelection FromProto(const v1::FilterToolsRequest& request) {
  ToolSelection out;
  out.server_id = request.server_id();
  out.tool_ids.assign(request.tool_ids().begin(), request.tool_ids().end());
  return out;
}

namespace {

void ToProto(const Reason& reason, v1::Reason* out) {
  out->set_link(reason.link);
  out->set_code(reason.code);
  out->set_message(reason.message);
  for (const std::string& scope : reason.missing_scopes) {
    out->add_missing_scopes(scope);
  }
  out->set_rule_id(reason.rule_id);
}

}  // namespace

void ToProto(const Snapshot& snapshot, const Decision& decision,
             v1::Decision* out) {
  out->set_effect(decision.effect);
  for (const Reason& reason : decision.reasons) {
    ToProto(reason, out->add_reasons());
  }
  for (std::string& name : snapshot.DataClassNames(decision.redact)) {
    out->add_redact(std::move(name));
  }
  out->set_step_up(decision.step_up);
  out->set_policy_version(snapshot.version());
}

void ToProto(const Snapshot& snapshot, const std::vector<VisibleTool>& tools,
             v1::FilterToolsResponse* out) {
  out->mutable_tools()->Reserve(static_cast<int>(tools.size()));
  for (const VisibleTool& tool : tools) {
    v1::VisibleTool* t = out->add_tools();
    t->set_tool_id(snapshot.tools()[tool.tool].id);
    t->set_requires_approval(tool.requires_approval);
    t->set_step_up(tool.step_up);
    for (std::string& name : snapshot.DataClassNames(tool.redact)) {
      t->add_redact(std::move(name));
    }
  }
  out->set_policy_version(snapshot.version());
}

ClientRequest FromProto(const v1::CheckClientRequestRequest& request) {
  ClientRequest out;
  out.client_id = request.client_id();
  out.redirect_uri = request.redirect_uri();
  out.scopes.assign(request.scopes().begin(), request.scopes().end());
  out.code_challenge = request.code_challenge();
  out.code_challenge_method = request.code_challenge_method();
  return out;
}

void ToProto(const Snapshot& snapshot, const ClientRequestDecision& decision,
             v1::CheckClientRequestResponse* out) {
  out->set_allowed(decision.allowed);
  for (const Reason& reason : decision.reasons) {
    ToProto(reason, out->add_reasons());
  }
  for (const std::string& scope : decision.granted_scopes) {
    out->add_granted_scopes(scope);
  }
  out->set_oauth_error(decision.oauth_error);
  out->set_policy_version(snapshot.version());
}

void ToProto(const std::vector<ExplainLine>& lines, v1::ExplainResponse* out) {
  for (const ExplainLine& line : lines) {
    v1::ExplainLine* l = out->add_lines();
    l->set_link(line.link);
    l->set_depth(line.depth);
    l->set_text(line.text);
  }
}

v1::CheckRequest ToProto(const Request& request) {
  v1::CheckRequest out;
  v1::IdentityChain* chain = out.mutable_chain();
  chain->set_user_id(request.chain.user_id);
  for (const std::string& role : request.chain.asserted_roles) {
    chain->add_asserted_roles(role);
  }
  for (const std::string& amr : request.chain.amr) chain->add_amr(amr);
  chain->set_client_id(request.chain.client_id);
  for (const std::string& scope : request.chain.scopes) {
    chain->add_scopes(scope);
  }
  chain->set_agent_id(request.chain.agent_id);
  chain->set_service_id(request.chain.service_id);
  chain->set_autonomous(request.chain.autonomous);
  out.set_tool_id(request.tool_id);
  out.set_action(request.action == Action::kSee ? v1::ACTION_SEE
                                                : v1::ACTION_CALL);
  return out;
}

Decision FromProto(const v1::Decision& decision) {
  Decision out;
  out.effect = decision.effect();
  for (const v1::Reason& reason : decision.reasons()) {
    Reason r;
    r.link = reason.link();
    r.code = reason.code();
    r.message = reason.message();
    r.missing_scopes.assign(reason.missing_scopes().begin(),
                            reason.missing_scopes().end());
    r.rule_id = reason.rule_id();
    out.reasons.push_back(std::move(r));
  }
  out.step_up = decision.step_up();
  return out;
}

std::vector<ExplainLine> FromProto(const v1::ExplainResponse& response) {
  std::vector<ExplainLine> lines;
  lines.reserve(response.lines_size());
  for (const v1::ExplainLine& line : response.lines()) {
    lines.push_back({line.link(), line.depth(), line.text()});
  }
  return lines;
}

}  // namespace pdp::api
