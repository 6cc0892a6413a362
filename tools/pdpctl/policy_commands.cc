#include "tools/pdpctl/policy_commands.h"

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/grpcpp.h"
#include "pdp/active_policy.h"
#include "pdp/api/translate.h"
#include "pdp/client_request.h"
#include "pdp/compiler.h"
#include "pdp/engine.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "tools/pdpctl/explain.h"
#include "tools/pdpctl/remote.h"
#include "tools/pdpctl/render.h"
#include "tools/pdpctl/token_commands.h"

namespace pdpctl {
namespace {

namespace v1 = ::pdp::v1;
using Kind = FlagSpec::Kind;

// The flags `check --explain --server` adds: the server and TLS flags of
// the single-server remote commands.
std::vector<FlagSpec> RemoteExplainFlags();

// `check --explain --server ADDR TLS`: asks the server's
// PolicyAdmin.Explain (permission `explain`) about `request` and prints what
// the offline check prints: the decision, then the explanation, with files
// named under --policy DIR when given. Returns the exit code.
int RunRemoteExplain(const Args& args, const pdp::Request& request,
                     std::ostream& out, std::ostream& err);


// For commands that decide: after LoadPolicy failed with `status`, says that
// no decision was made and returns kExitUsage.
int NoDecision(absl::string_view command, const std::string& dir,
               const absl::Status& status, std::ostream& err) {
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    err << "pdpctl " << command << ": the policy in \"" << dir
        << "\" does not compile; no decision was made\n";
  }
  return kExitUsage;
}

// pdp::Engine over one compiled policy, and the tokens the flags name: what
// check and filter decide on, as a server would.
class OfflineEngine {
 public:
  // Prints the problem with the token flags and returns InvalidArgument.
  static absl::StatusOr<std::unique_ptr<OfflineEngine>> Make(
      absl::string_view command, std::shared_ptr<const pdp::Snapshot> snapshot,
      const Args& args, std::ostream& err) {
    auto offline = absl::WrapUnique(new OfflineEngine());
    offline->policy_.Activate(std::move(snapshot));
    pdp::Engine::Options options;
    if (HasTokenFlags(args)) {
      absl::StatusOr<TokenArgs> tokens = TokensFromArgs(args);
      if (!tokens.ok()) {
        err << "pdpctl " << command << ": " << tokens.status().message()
            << "\n";
        return tokens.status();
      }
      offline->tokens_ = std::move(tokens->tokens);
      offline->token_source_ = std::move(tokens->source);
      options.tokens = offline->token_source_.get();
    }
    offline->engine_ = std::make_unique<pdp::Engine>(offline->policy_, options);
    return offline;
  }

  const pdp::Engine& engine() const { return *engine_; }
  const pdp::ChainTokens& tokens() const { return tokens_; }

 private:
  OfflineEngine() = default;

  pdp::ActivePolicy policy_;
  std::unique_ptr<pdp::TokenSource> token_source_;
  std::unique_ptr<pdp::Engine> engine_;
  pdp::ChainTokens tokens_;
};

// The flags that name an identity chain, shared by check and filter.
std::vector<FlagSpec> ChainFlags() {
  std::vector<FlagSpec> flags = {
      {"policy", Kind::kValue, "DIR", "the policy directory (required)"},
      {"user", Kind::kValue, "ID",
       "the user of a delegated chain (with --client)"},
      {"client", Kind::kValue, "ID",
       "the MCP client application (with --user)"},
      {"agent", Kind::kValue, "ID", "the agent acting for the user (optional)"},
      {"scopes", Kind::kList, "S,...",
       "the scopes granted to the client's token"},
      {"roles", Kind::kList, "R,...",
       "roles asserted for the user; they replace its policy roles"},
      {"amr", Kind::kList, "A,...",
       "RFC 8176 amr of the user's session (pwd, otp, hwk...)"},
      {"service", Kind::kValue, "ID",
       "a service chain: the service alone (no --user, --client)"},
      {"autonomous", Kind::kBool, "",
       "no human in the loop (services always are)"},
  };
  for (FlagSpec& flag : TokenChainFlags()) flags.push_back(std::move(flag));
  return flags;
}

pdp::Chain ChainFromArgs(const Args& args) {
  pdp::Chain chain;
  chain.user_id = args.Get("user");
  chain.asserted_roles = args.GetList("roles");
  chain.amr = args.GetList("amr");
  chain.client_id = args.Get("client");
  chain.scopes = args.GetList("scopes");
  chain.agent_id = args.Get("agent");
  chain.service_id = args.Get("service");
  chain.autonomous = args.Has("autonomous");
  return chain;
}

// The checks check and filter share before they load the policy. Returns
// kExitOk, or the exit code after printing the problem.
int CheckCommonArgs(absl::string_view command, const Args& args,
                    const pdp::Chain& chain, std::ostream& err) {
  if (!args.positional().empty()) {
    return UsageError(
        command,
        absl::StrCat("unexpected argument '", args.positional().front(),
                     "' (the policy directory is given with --policy DIR)"),
        err);
  }
  if (!args.Has("policy")) {
    return UsageError(command, "missing --policy DIR", err);
  }
  if (absl::Status status = pdp::ValidateChain(chain);
      !status.ok() && !HasTokenFlags(args)) {
    err << "pdpctl " << command << ": " << status.message() << "\n"
        << "give --user and --client (and optionally --agent), or --service "
           "alone\n";
    return kExitUsage;
  }
  return kExitOk;
}

int RunValidate(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.positional().empty()) {
    return UsageError("validate", "missing the policy directory DIR", err);
  }
  if (args.positional().size() > 1) {
    return UsageError(
        "validate",
        absl::StrCat("takes one policy directory; unexpected argument '",
                     args.positional()[1], "'"),
        err);
  }
  const std::string& dir = args.positional().front();
  absl::StatusOr<pdp::Compilation> compiled =
      CompilePolicy("validate", dir, err);
  if (!compiled.ok()) return kExitFailed;
  if (compiled->snapshot == nullptr) return kExitFailed;
  const pdp::Snapshot& s = *compiled->snapshot;
  out << "ok: " << Plural(s.tools().size(), "tool") << ", "
      << Plural(s.roles().size(), "role") << ", "
      << Plural(s.agents().size(), "agent") << ", "
      << Plural(s.clients().size(), "client") << ", "
      << Plural(s.services().size(), "service") << ", "
      << Plural(s.users().size(), "user") << ", "
      << Plural(s.deny_rules().size(), "deny rule") << " (version "
      << s.version() << ")";
  const size_t warnings = compiled->warnings().size();
  if (warnings > 0) out << ", " << Plural(warnings, "warning");
  out << "\n";
  return kExitOk;
}

int RunCheck(const Args& args, std::ostream& out, std::ostream& err) {
  pdp::Request request;
  request.chain = ChainFromArgs(args);
  request.tool_id = args.Get("tool");
  if (!args.Has("tool")) return UsageError("check", "missing --tool ID", err);
  if (args.Has("explain") && args.Has("json")) {
    return UsageError("check", "--explain prints text; drop --json", err);
  }
  const std::string action = args.Has("action") ? args.Get("action") : "call";
  if (action == "call") {
    request.action = pdp::Action::kCall;
  } else if (action == "see") {
    request.action = pdp::Action::kSee;
  } else {
    return UsageError(
        "check",
        absl::StrCat("--action must be call or see, not '", action, "'"), err);
  }
  if (args.Has("server")) {
    if (HasTokenFlags(args)) {
      return UsageError("check",
                        "--server explains asserted ids; verify tokens "
                        "offline (--policy) or with pdpctl token inspect",
                        err);
    }
    return RunRemoteExplain(args, request, out, err);
  }
  if (int code = CheckCommonArgs("check", args, request.chain, err);
      code != kExitOk) {
    return code;
  }
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> snapshot =
      LoadPolicy("check", args.Get("policy"), err);
  if (!snapshot.ok()) {
    return NoDecision("check", args.Get("policy"), snapshot.status(), err);
  }
  absl::StatusOr<std::unique_ptr<OfflineEngine>> offline =
      OfflineEngine::Make("check", *snapshot, args, err);
  if (!offline.ok()) return kExitUsage;
  const pdp::Engine& engine = (*offline)->engine();
  if (args.Has("explain")) {
    absl::StatusOr<pdp::Engine::Explained> explained = engine.Explain(
        std::move(request), (*offline)->tokens(), args.Get("policy"));
    if (!explained.ok()) {
      err << "pdpctl check: " << explained.status().message() << "\n";
      return kExitUsage;
    }
    out << DecisionText(*explained->snapshot, explained->request,
                        explained->decision)
        << RenderExplanation(explained->lines);
    return kExitOk;
  }
  absl::StatusOr<pdp::Engine::Checked> checked =
      engine.Check(std::move(request), (*offline)->tokens());
  if (!checked.ok()) {
    err << "pdpctl check: " << checked.status().message() << "\n";
    return kExitUsage;
  }
  if (args.Has("json")) {
    out << DecisionJson(*checked->snapshot, checked->decision) << "\n";
  } else {
    out << DecisionText(*checked->snapshot, checked->request,
                        checked->decision);
  }
  return kExitOk;
}

int RunFilter(const Args& args, std::ostream& out, std::ostream& err) {
  pdp::Chain chain = ChainFromArgs(args);
  if (args.Has("server") && args.Has("tools")) {
    return UsageError("filter", "give --server or --tools, not both", err);
  }
  const std::vector<std::string> listed = args.GetList("tools");
  if (args.Has("tools") && listed.empty()) {
    return UsageError("filter", "--tools needs at least one tool id", err);
  }
  if (int code = CheckCommonArgs("filter", args, chain, err); code != kExitOk) {
    return code;
  }
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> loaded =
      LoadPolicy("filter", args.Get("policy"), err);
  if (!loaded.ok()) {
    return NoDecision("filter", args.Get("policy"), loaded.status(), err);
  }
  const pdp::Snapshot& s = **loaded;
  absl::StatusOr<std::unique_ptr<OfflineEngine>> offline =
      OfflineEngine::Make("filter", *loaded, args, err);
  if (!offline.ok()) return kExitUsage;

  pdp::ToolSelection selection;
  FilterSelection shown;
  if (args.Has("server")) {
    selection.server_id = args.Get("server");
    shown.phrase = absl::StrCat("tools on server ", selection.server_id);
    if (const pdp::Snapshot::Server* server =
            s.FindServer(selection.server_id)) {
      shown.selected = server->end - server->begin;
    } else {
      shown.not_in_policy.push_back(
          absl::StrCat("server ", selection.server_id));
    }
  } else if (!listed.empty()) {
    selection.tool_ids = listed;
    shown.phrase = "listed tools";
    std::set<std::string> known;
    for (const std::string& id : listed) {
      if (s.FindTool(id) >= 0) {
        known.insert(id);
      } else if (std::find(shown.not_in_policy.begin(),
                           shown.not_in_policy.end(),
                           id) == shown.not_in_policy.end()) {
        shown.not_in_policy.push_back(id);
      }
    }
    shown.selected = static_cast<int>(known.size());
  } else {
    for (const pdp::Snapshot::Tool& tool : s.tools()) {
      selection.tool_ids.push_back(tool.id);
    }
    shown.phrase = "tools in the policy";
    shown.selected = static_cast<int>(s.tools().size());
  }

  std::vector<pdp::VisibleTool> visible;
  if (!selection.server_id.empty() || !selection.tool_ids.empty()) {
    absl::StatusOr<pdp::Engine::Filtered> filtered =
        (*offline)->engine().FilterTools(std::move(chain),
                                         (*offline)->tokens(), selection);
    if (!filtered.ok()) {
      err << "pdpctl filter: " << filtered.status().message() << "\n";
      return kExitUsage;
    }
    chain = std::move(filtered->chain);
    visible = std::move(filtered->tools);
  } else {
    // Nothing to select: the chain is still shown completed from its tokens.
    absl::StatusOr<pdp::Engine::Completed> completed =
        (*offline)->engine().Complete(std::move(chain), (*offline)->tokens());
    if (!completed.ok()) {
      err << "pdpctl filter: " << completed.status().message() << "\n";
      return kExitUsage;
    }
    chain = std::move(completed->chain);
  }
  if (args.Has("json")) {
    out << VisibleToolsJson(s, visible) << "\n";
  } else {
    out << VisibleToolsText(s, chain, shown, visible);
  }
  return kExitOk;
}

int RunClientRequest(const Args& args, std::ostream& out, std::ostream& err) {
  constexpr absl::string_view kName = "client-request";
  if (!args.positional().empty()) {
    return UsageError(
        kName,
        absl::StrCat("unexpected argument '", args.positional().front(),
                     "' (the policy directory is given with --policy DIR)"),
        err);
  }
  if (!args.Has("policy")) return UsageError(kName, "missing --policy DIR", err);
  if (!args.Has("client")) return UsageError(kName, "missing --client ID", err);
  pdp::ClientRequest request;
  request.client_id = args.Get("client");
  request.redirect_uri = args.Get("redirect-uri");
  request.scopes = args.GetList("scopes");
  request.code_challenge = args.Get("code-challenge");
  request.code_challenge_method = args.Get("code-challenge-method");
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> snapshot =
      LoadPolicy(kName, args.Get("policy"), err);
  if (!snapshot.ok()) {
    return NoDecision(kName, args.Get("policy"), snapshot.status(), err);
  }
  const pdp::ClientRequestDecision decision =
      pdp::CheckClientRequest(**snapshot, request);
  if (decision.allowed) {
    out << "ALLOWED client " << request.client_id << "\n"
        << "  granted scopes: "
        << (decision.granted_scopes.empty()
                ? "(none)"
                : absl::StrJoin(decision.granted_scopes, " "))
        << "\n";
  } else {
    out << "REFUSED client " << request.client_id << ": OAuth error "
        << decision.oauth_error << "\n";
    for (const pdp::Reason& reason : decision.reasons) {
      out << "  " << pdp::ReasonCodeName(reason.code) << " — "
          << reason.message << "\n";
    }
  }
  out << "policy version " << (*snapshot)->version() << "\n";
  return decision.allowed ? kExitOk : kExitFailed;
}

std::vector<FlagSpec> ClientRequestFlags() {
  return {
      {"policy", Kind::kValue, "DIR", "the policy directory (required)"},
      {"client", Kind::kValue, "ID", "the client_id (required)"},
      {"redirect-uri", Kind::kValue, "URI", "the redirect_uri"},
      {"scopes", Kind::kList, "S,...",
       "the requested scopes; none asks for the client's whole ceiling"},
      {"code-challenge", Kind::kValue, "C", "the PKCE code_challenge"},
      {"code-challenge-method", Kind::kValue, "M",
       "the PKCE code_challenge_method (S256 is required)"},
  };
}

std::vector<FlagSpec> CheckFlags() {
  std::vector<FlagSpec> flags = ChainFlags();
  flags.push_back(
      {"tool", Kind::kValue, "ID", "the tool, \"<server>.<tool>\" (required)"});
  flags.push_back({"action", Kind::kValue, "call|see",
                   "call it (default) or see it (discovery)"});
  flags.push_back({"json", Kind::kBool, "", "print the decision as JSON"});
  flags.push_back({"explain", Kind::kBool, "",
                   "then show what each link grants, with file:line"});
  for (FlagSpec& flag : RemoteExplainFlags()) flags.push_back(flag);
  return flags;
}

std::vector<FlagSpec> FilterFlags() {
  std::vector<FlagSpec> flags = ChainFlags();
  flags.push_back(
      {"server", Kind::kValue, "ID", "select the tools of this MCP server"});
  flags.push_back({"tools", Kind::kList, "T,...", "select these tool ids"});
  flags.push_back({"json", Kind::kBool, "", "print the visible tools as JSON"});
  return flags;
}

// ------------------------------------------------------ check --explain

std::vector<FlagSpec> RemoteExplainFlags() {
  std::vector<FlagSpec> flags = ServerFlags(false);
  flags[0].help =
      "with --explain: ask this PDP server (host:port) instead of compiling "
      "--policy";
  return flags;
}

int RunRemoteExplain(const Args& args, const pdp::Request& request,
                     std::ostream& out, std::ostream& err) {
  if (!args.Has("explain")) {
    return UsageError("check",
                      "--server is for --explain (a server explains to "
                      "callers granted `explain`; pdpctl check decides offline)",
                      err);
  }
  absl::StatusOr<Connection> connected = OneServerFromArgs(args);
  if (!connected.ok()) {
    return ConnectionFailed("check", connected.status(), err);
  }
  const Connection& connection = *connected;
  const std::string& server = connection.servers.front();
  auto stub = v1::PolicyAdmin::NewStub(connection.Channel(server));
  const std::unique_ptr<grpc::ClientContext> context =
      connection.NewContext();
  v1::ExplainRequest explain;
  *explain.mutable_check() = pdp::api::ToProto(request);
  explain.set_source_dir(args.Get("policy"));
  v1::ExplainResponse response;
  grpc::Status status = stub->Explain(context.get(), explain, &response);
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    err << "pdpctl check: " << server << ": " << status.error_message()
        << "\n";
    return kExitUsage;
  }
  if (!status.ok()) return RpcFailed("check", server, status, err);
  out << DecisionText(request, pdp::api::FromProto(response.decision()),
                      {response.decision().redact().begin(),
                       response.decision().redact().end()},
                      response.policy_version())
      << RenderExplanation(pdp::api::FromProto(response));
  return kExitOk;
}

}  // namespace

// How check and filter name the identity chain, for their help.
constexpr char kChainHelp[] =
    "CHAIN names who asks, a delegated chain or a service chain:\n"
    "  --user ID --client ID [--agent ID] [--scopes S,...] [--roles R,...]\n"
    "      [--amr A,...] [--autonomous]\n"
    "  --service ID\n"
    "No --amr counts as password authentication. Or from tokens, verified\n"
    "as the server would against --token-settings FILE:\n"
    "  --token FILE [--agent-token FILE] [--client-cert FILE] [--dpop-jkt T]\n"
    "  --service-token FILE\n";

std::vector<Command> PolicyCommands() {
  return {
      {
          "validate",
          "validate DIR",
          "compile a policy directory and report every error",
          "Compiles every *.yaml and *.yml file under DIR (policy tests,\n"
          "*_test.yaml, and hidden entries are skipped). Prints a one-line\n"
          "summary and exits 0, or prints every error as\n"
          "\"DIR/file:line: message\" and exits 1.\n",
          {},
          RunValidate,
      },
      {
          "check",
          "check --policy DIR CHAIN --tool ID [--action call|see] [--json]",
          "decide whether an identity chain may call (or see) a tool",
          absl::StrCat(
              "Prints the effect (ALLOW, DENY, REQUIRE_APPROVAL or STEP_UP),\n"
              "each link that decided it and why, the data classes to redact\n"
              "and the policy version. Exits 0 whenever a decision was made,\n"
              "DENY included. With --json, one object:\n"
              "  {\"effect\", \"reasons\": [{\"link\", \"code\", "
              "\"message\",\n"
              "   \"missing_scopes\" (MISSING_SCOPE), \"rule\" (RULE)}],\n"
              "   \"redact\", \"step_up\" (STEP_UP), \"policy_version\"}\n"
              "\n",
              kChainHelp),
          CheckFlags(),
          RunCheck,
      },
      {
          "filter",
          "filter --policy DIR CHAIN [--server ID | --tools T,...] [--json]",
          "list the tools an identity chain may see, with what a call needs",
          absl::StrCat(
              "Discovery, as a gateway asks on tools/list: the selected tools\n"
              "the chain may see, each with what a call would still need\n"
              "(approval, step-up) and the data classes it would redact.\n"
              "Without --server or --tools, every tool in the policy is\n"
              "selected. With --json, one object:\n"
              "  {\"tools\": [{\"id\", \"requires_approval\", "
              "\"step_up\" (or null),\n"
              "   \"redact\"}], \"policy_version\"}\n"
              "\n",
              kChainHelp),
          FilterFlags(),
          RunFilter,
      },
      {
          "client-request",
          "client-request --policy DIR --client ID [--redirect-uri URI] "
          "[--scopes S,...] [--code-challenge C --code-challenge-method S256]",
          "decide whether a client may start an OAuth authorization request",
          "What an authorization server asks (Authorizer.CheckClientRequest):\n"
          "the client is registered, the redirect URI is exactly one it\n"
          "registered, PKCE uses S256, and the scopes are within its ceiling.\n"
          "Prints ALLOWED with the scopes that would be granted, or REFUSED\n"
          "with the OAuth error to return and every failing check. Exits 0\n"
          "when allowed, 1 when refused, 2 for a usage error or a policy\n"
          "that does not compile.\n",
          ClientRequestFlags(),
          RunClientRequest,
      },
  };
}

}  // namespace pdpctl
