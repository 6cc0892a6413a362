#include "pdp/testing/chain_generator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace pdp {
namespace testgen {
namespace {

// RFC 8176 values, alone and combined; "face" and "kba" are not mapped.
const std::vector<std::vector<std::string>> kAmrs = {
    {},      {"pwd"},        {"pwd", "otp"}, {"mfa"},        {"sms"},
    {"hwk"}, {"swk", "pwd"}, {"face"},       {"pwd", "hwk"}, {"kba", "pwd"},
    {"otp"},
};

}  // namespace

ChainGenerator::ChainGenerator(const Snapshot& snapshot,
                               const ChainGeneratorOptions& options)
    : s_(snapshot), options_(options), rng_(options.seed) {}

std::string ChainGenerator::UnknownId(const char* kind) {
  return absl::StrCat("ghost-", kind, "-", counter_++);
}

Chain ChainGenerator::NextChain() {
  Chain chain;
  const double unknown = options_.unknown_id;
  if (s_.services().empty() || !rng_.Chance(options_.service_chain)) {
    if (rng_.Chance(options_.asserted_roles) && !s_.roles().empty()) {
      chain.user_id = rng_.Chance(0.5) && !s_.users().empty()
                          ? rng_.Pick(s_.users()).id
                          : UnknownId("user");
      // Roles from an identity provider's token may be none at all.
      chain.roles_from_idp = rng_.Chance(0.3);
      for (int k = rng_.Range(chain.roles_from_idp ? 0 : 1, 3); k > 0; --k) {
        chain.asserted_roles.push_back(rng_.Chance(unknown)
                                           ? UnknownId("role")
                                           : rng_.Pick(s_.roles()).id);
      }
    } else {
      chain.user_id = s_.users().empty() || rng_.Chance(unknown)
                          ? UnknownId("user")
                          : rng_.Pick(s_.users()).id;
    }
    int client = -1;
    if (s_.clients().empty() || rng_.Chance(unknown)) {
      chain.client_id = UnknownId("client");
    } else {
      client = static_cast<int>(rng_.Uniform(s_.clients().size()));
      chain.client_id = s_.clients()[client].id;
    }
    if (rng_.Chance(options_.with_agent)) {
      chain.agent_id = s_.agents().empty() || rng_.Chance(unknown)
                           ? UnknownId("agent")
                           : rng_.Pick(s_.agents()).id;
      // A delegation: the agents it acts for (nested act claims).
      if (rng_.Chance(options_.delegation)) {
        for (int k = rng_.Range(1, 3); k > 0; --k) {
          chain.delegated_agents.push_back(
              s_.agents().empty() || rng_.Chance(unknown)
                  ? UnknownId("agent")
                  : rng_.Pick(s_.agents()).id);
        }
      }
    }
    // Token scopes: mostly the client's registered ones, some beyond them.
    if (client >= 0) {
      const double keep = rng_.Chance(0.3) ? 1.0 : 0.8;
      s_.clients()[client].scopes.ForEach([&](size_t scope) {
        if (rng_.Chance(keep)) chain.scopes.push_back(s_.scopes()[scope]);
      });
    }
    if (!s_.scopes().empty() && rng_.Chance(0.2)) {
      chain.scopes.push_back(rng_.Pick(s_.scopes()));
    }
    if (rng_.Chance(0.05)) chain.scopes.push_back("ghost:scope");
    // Shuffle, so that scope order never matters.
    for (size_t i = chain.scopes.size(); i > 1; --i) {
      std::swap(chain.scopes[i - 1], chain.scopes[rng_.Uniform(i)]);
    }
    chain.amr = rng_.Pick(kAmrs);
  } else {
    chain.service_id = rng_.Chance(unknown) ? UnknownId("service")
                                            : rng_.Pick(s_.services()).id;
    // A service token's scopes bound the service's; asserted, scopes
    // are ignored: send some anyway.
    chain.service_scopes_from_token = rng_.Chance(0.4);
    const double sent = chain.service_scopes_from_token ? 0.6 : 0.2;
    for (int k = s_.scopes().empty() ? 0 : rng_.Range(0, 4); k > 0; --k) {
      if (rng_.Chance(sent)) chain.scopes.push_back(rng_.Pick(s_.scopes()));
    }
  }
  chain.autonomous = rng_.Chance(options_.autonomous);
  return chain;
}

Chain ChainGenerator::NextMalformedChain() {
  Chain chain = NextChain();
  const std::string user =
      s_.users().empty() ? "someone" : rng_.Pick(s_.users()).id;
  const std::string client =
      s_.clients().empty() ? "some-client" : rng_.Pick(s_.clients()).id;
  const std::string agent =
      s_.agents().empty() ? "some-agent" : rng_.Pick(s_.agents()).id;
  const std::string service =
      s_.services().empty() ? "some-service" : rng_.Pick(s_.services()).id;
  switch (rng_.Uniform(10)) {
    case 0:
      chain = Chain{};
      break;
    case 1:  // A user alone.
      chain.service_id.clear();
      chain.user_id = user;
      chain.client_id.clear();
      break;
    case 2:  // A client alone, maybe with an agent.
      chain.service_id.clear();
      chain.user_id.clear();
      chain.asserted_roles.clear();
      chain.client_id = client;
      if (rng_.Chance(0.5)) chain.agent_id = agent;
      break;
    case 3:  // An agent alone.
      chain = Chain{};
      chain.agent_id = agent;
      break;
    case 4:  // Asserted roles with no user id.
      chain.service_id.clear();
      chain.user_id.clear();
      chain.client_id = client;
      chain.asserted_roles = {s_.roles().empty() ? "r"
                                                 : rng_.Pick(s_.roles()).id};
      break;
    default: {  // A service with something of a delegated chain.
      chain.service_id = service;
      switch (rng_.Uniform(5)) {
        case 0:
          chain.user_id = user;
          break;
        case 1:
          chain.client_id = client;
          break;
        case 2:
          chain.agent_id = agent;
          break;
        case 3:
          chain.amr = {"pwd"};
          break;
        default:
          chain.asserted_roles = {"admin"};
          break;
      }
      break;
    }
  }
  return chain;
}

std::string ChainGenerator::NextToolId() {
  if (s_.tools().empty() || rng_.Chance(options_.unknown_id)) {
    switch (rng_.Uniform(5)) {
      case 0:
        return UnknownId("tool");  // No dot at all.
      case 1:
        return absl::StrCat("ghost.", UnknownId("tool"));
      case 2:  // A known server, an unknown tool.
        return s_.servers().empty()
                   ? "x.y"
                   : absl::StrCat(rng_.Pick(s_.servers()).id, ".", "ghost");
      case 3:  // A known tool id with a suffix.
        return absl::StrCat(rng_.Pick(s_.tools()).id, "x");
      default:  // A glob is not a tool id.
        return s_.servers().empty()
                   ? "*"
                   : absl::StrCat(rng_.Pick(s_.servers()).id, ".*");
    }
  }
  return rng_.Pick(s_.tools()).id;
}

ToolSelection ChainGenerator::NextSelection() {
  ToolSelection selection;
  if (!s_.servers().empty() && rng_.Chance(0.6)) {
    if (rng_.Chance(options_.unknown_id)) {
      const std::string& known = rng_.Pick(s_.servers()).id;
      // A prefix of a known server, or an unknown one.
      selection.server_id = rng_.Chance(0.5) && known.size() > 1
                                ? known.substr(0, known.size() - 1)
                                : UnknownId("server");
    } else {
      selection.server_id = rng_.Pick(s_.servers()).id;
    }
    return selection;
  }
  for (int n = rng_.Range(1, 40); n > 0; --n) {
    if (!selection.tool_ids.empty() && rng_.Chance(0.05)) {
      selection.tool_ids.push_back(rng_.Pick(selection.tool_ids));  // Repeat.
    } else {
      selection.tool_ids.push_back(NextToolId());
    }
  }
  return selection;
}

std::string ChainGenerator::GrantedTool(const Chain& chain) {
  const Bitset* granted = nullptr;
  if (!chain.service_id.empty()) {
    int v = s_.FindService(chain.service_id);
    if (v >= 0) granted = &s_.services()[v].tools;
  } else if (chain.asserted_roles.empty()) {
    int u = s_.FindUser(chain.user_id);
    if (u >= 0) granted = &s_.users()[u].tools;
  } else {
    int r = s_.FindRole(chain.asserted_roles[0]);
    if (r >= 0) granted = &s_.roles()[r].tools;
  }
  if (granted == nullptr) return "";
  const size_t count = granted->Count();
  if (count == 0) return "";
  size_t k = rng_.Uniform(count);
  std::string id;
  granted->ForEach([&](size_t t) {
    if (k-- == 0) id = s_.tools()[t].id;
  });
  return id;
}

Request ChainGenerator::NextRequest() {
  Request request;
  request.chain = NextChain();
  if (rng_.Chance(options_.granted_tool)) {
    request.tool_id = GrantedTool(request.chain);
  }
  if (request.tool_id.empty()) request.tool_id = NextToolId();
  request.action = rng_.Chance(0.3) ? Action::kSee : Action::kCall;
  return request;
}

}  // namespace testgen
}  // namespace pdp
