#include "pdp/server/translate.h"

#include "absl/strings/str_cat.h"

namespace pdp::server {
namespace {

// Checks ids and lists of one request, naming fields under a prefix.
class Bounds {
 public:
  explicit Bounds(const ServerConfig::Limits& limits) : limits_(limits) {}

  // `field` of at most max_id_bytes.
  Bounds& Id(absl::string_view prefix, absl::string_view field,
             const std::string& value) {
    if (status_.ok() && value.size() > static_cast<size_t>(limits_.max_id_bytes)) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          prefix, field, " is ", value.size(), " bytes; at most ",
          limits_.max_id_bytes, " (limits.max_id_bytes) are allowed"));
    }
    return *this;
  }

  // A list of at most max_list_entries ids (`count_list`), each an Id().
  template <typename List>
  Bounds& Ids(absl::string_view prefix, absl::string_view field,
              const List& values, bool count_list = true) {
    if (!status_.ok()) return *this;
    if (count_list && static_cast<size_t>(values.size()) >
                          static_cast<size_t>(limits_.max_list_entries)) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          prefix, field, " has ", values.size(), " entries; at most ",
          limits_.max_list_entries, " (limits.max_list_entries) are allowed"));
      return *this;
    }
    int i = 0;
    for (const std::string& value : values) {
      Id(prefix, absl::StrCat(field, "[", i++, "]"), value);
    }
    return *this;
  }

  Bounds& Chain(absl::string_view prefix, const v1::IdentityChain& chain) {
    const std::string p = absl::StrCat(prefix, "chain.");
    return Id(p, "user_id", chain.user_id())
        .Id(p, "client_id", chain.client_id())
        .Id(p, "agent_id", chain.agent_id())
        .Id(p, "service_id", chain.service_id())
        .Ids(p, "asserted_roles", chain.asserted_roles())
        .Ids(p, "amr", chain.amr())
        .Ids(p, "scopes", chain.scopes());
  }

  Bounds& Check(absl::string_view prefix, const v1::CheckRequest& check) {
    return Chain(prefix, check.chain()).Id(prefix, "tool_id", check.tool_id());
  }

  Bounds& User(absl::string_view prefix, const v1::User& user) {
    Id(prefix, "id", user.id()).Ids(prefix, "roles", user.roles());
    if (status_.ok() &&
        user.attributes().size() > static_cast<size_t>(limits_.max_list_entries)) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          prefix, "attributes has ", user.attributes().size(),
          " entries; at most ", limits_.max_list_entries,
          " (limits.max_list_entries) are allowed"));
    }
    for (const auto& [name, value] : user.attributes()) {
      Id(prefix, "attributes (a name)", name);
    }
    return *this;
  }

  absl::Status status() const { return status_; }

 private:
  const ServerConfig::Limits& limits_;
  absl::Status status_;
};

}  // namespace

absl::Status CheckBounds(const v1::CheckRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits).Check("", request).status();
}

absl::Status CheckBounds(const v1::BatchCheckRequest& request,
                         const ServerConfig::Limits& limits) {
  Bounds bounds(limits);
  for (int i = 0; i < request.checks_size() && bounds.status().ok(); ++i) {
    bounds.Check(absl::StrCat("checks[", i, "]."), request.checks(i));
  }
  return bounds.status();
}

absl::Status CheckBounds(const v1::FilterToolsRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits)
      .Chain("", request.chain())
      .Id("", "server_id", request.server_id())
      .Ids("", "tool_ids", request.tool_ids(), /*count_list=*/false)
      .status();
}

absl::Status CheckBounds(const v1::CheckClientRequestRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits)
      .Id("", "client_id", request.client_id())
      .Ids("", "scopes", request.scopes())
      .status();
}

absl::Status CheckBounds(const v1::ExplainRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits).Check("check.", request.check()).status();
}

absl::Status CheckBounds(const v1::UpsertUsersRequest& request,
                         const ServerConfig::Limits& limits) {
  Bounds bounds(limits);
  for (int i = 0; i < request.users_size() && bounds.status().ok(); ++i) {
    bounds.User(absl::StrCat("users[", i, "]."), request.users(i));
  }
  return bounds.status();
}

absl::Status CheckBounds(const v1::DeleteUsersRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits)
      .Ids("", "user_ids", request.user_ids(), /*count_list=*/false)
      .status();
}

absl::Status CheckBounds(const v1::GetUserRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits).Id("", "user_id", request.user_id()).status();
}

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

}  // namespace pdp::server
