#include "tools/pdpctl/token_commands.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/file/read_file.h"
#include "nlohmann/json.hpp"
#include "pdp/active_policy.h"
#include "pdp/chain_tokens.h"
#include "pdp/engine.h"
#include "pdp/names.h"
#include "pdp/quote.h"
#include "pdp/token/base64url.h"
#include "pdp/token/token_settings.h"
#include "pdp/token/token_verifier.h"

namespace pdpctl {
namespace {

using Kind = FlagSpec::Kind;

// The file's content, surrounding whitespace removed.
absl::StatusOr<std::string> ReadTrimmed(const std::string& path) {
  absl::StatusOr<std::string> content = common::ReadFile(path);
  if (!content.ok()) return content.status();
  return std::string(absl::StripAsciiWhitespace(*content));
}

// Reads each token flag's file into `tokens`.
absl::Status ReadTokens(const Args& args, pdp::ChainTokens& tokens) {
  const std::pair<const char*, std::string*> files[] = {
      {"token", &tokens.access_token},
      {"agent-token", &tokens.agent_token},
      {"service-token", &tokens.service_token},
      {"client-cert", &tokens.client_certificate},
  };
  for (const auto& [flag, field] : files) {
    if (!args.Has(flag)) continue;
    absl::StatusOr<std::string> content = ReadTrimmed(args.Get(flag));
    if (!content.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": ", content.status().message()));
    }
    *field = *std::move(content);
  }
  tokens.dpop_jkt = args.Get("dpop-jkt");
  return absl::OkStatus();
}

absl::StatusOr<pdp::TokenSource::Current> LoadTrust(const Args& args) {
  if (!args.Has("token-settings")) {
    return absl::InvalidArgumentError(
        "tokens are verified against a token settings file: give "
        "--token-settings FILE (the server's tokens.settings)");
  }
  absl::StatusOr<pdp::token::TokenSettings> settings =
      pdp::token::LoadTokenSettings(args.Get("token-settings"));
  if (!settings.ok()) return settings.status();
  pdp::TokenSource::Current trust;
  trust.verifier = pdp::token::NewTokenVerifier(*settings, 0);
  trust.settings =
      std::make_shared<const pdp::token::TokenSettings>(*std::move(settings));
  return trust;
}

// The JSON of one base64url part of a token, pretty; or why it is not.
std::string DecodedPart(absl::string_view part) {
  absl::StatusOr<std::string> bytes = pdp::token::Base64UrlDecode(part);
  if (!bytes.ok()) return "(not base64url)";
  nlohmann::json json = nlohmann::json::parse(*bytes, nullptr, false);
  if (json.is_discarded()) return "(not JSON)";
  // ensure_ascii: nothing the token carries can drive the terminal.
  return json.dump(2, ' ', true, nlohmann::json::error_handler_t::replace);
}

// Claim values, quoted and joined with `separator` ("none" for no value):
// nothing a token carries can drive the terminal.
std::string QuotedList(const std::vector<std::string>& values,
                       absl::string_view separator = ", ") {
  if (values.empty()) return "none";
  std::vector<std::string> quoted;
  for (const std::string& value : values) quoted.push_back(pdp::Quote(value));
  return absl::StrJoin(quoted, separator);
}

std::string Time(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

int RunTokenInspect(const Args& args, std::ostream& out, std::ostream& err) {
  const std::vector<std::string>& positional = args.positional();
  if (positional.size() != 2 || positional[0] != "inspect") {
    return UsageError("token", "usage: pdpctl token inspect FILE "
                               "--token-settings FILE [--policy DIR]", err);
  }
  absl::StatusOr<std::string> raw = ReadTrimmed(positional[1]);
  if (!raw.ok()) {
    err << "pdpctl token: " << raw.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<pdp::TokenSource::Current> trust = LoadTrust(args);
  if (!trust.ok()) {
    err << "pdpctl token: " << trust.status().message() << "\n";
    return kExitUsage;
  }

  std::vector<absl::string_view> parts = absl::StrSplit(*raw, '.');
  if (parts.size() == 3) {
    out << "header: " << DecodedPart(parts[0]) << "\n"
        << "claims: " << DecodedPart(parts[1]) << "\n";
  } else {
    out << "not a compact JWS: " << parts.size() << " parts, not 3\n";
  }

  const absl::Time now = absl::Now();
  pdp::token::TokenVerifier::Result result = trust->verifier->Verify(*raw, now);
  if (!result.ok()) {
    out << "REFUSED " << pdp::ReasonCodeName(result.rejection.code) << ": "
        << result.rejection.message << "\n";
    return kExitFailed;
  }
  const pdp::token::VerifiedToken& token = *result.token;
  out << "VERIFIED: signed by a key of issuer \"" << token.issuer
      << "\"; valid from " << Time(token.issued_at) << " to "
      << Time(token.expires_at) << " (lifetime "
      << absl::FormatDuration(token.expires_at - token.issued_at) << ")\n";
  if (!token.actors.empty()) {
    out << "delegation: " << QuotedList(token.actors, " acting for ")
        << " acting for the user (" << token.actors.size() << " of at most "
        << trust->settings->max_delegation_depth << " agents)\n";
  }
  if (token.has_idp_roles) {
    out << "roles from the identity provider: "
        << QuotedList(token.roles) << "\n";
    if (!token.unmapped_groups.empty()) {
      out << "groups that grant nothing (no mapping in the token settings): "
          << QuotedList(token.unmapped_groups) << "\n";
    }
  }
  if (!args.Has("policy")) return kExitOk;

  // Against the policy: what a server would still refuse, as a delegated
  // chain (or a service chain with --service-token semantics).
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> snapshot =
      LoadPolicy("token", args.Get("policy"), err);
  if (!snapshot.ok()) return kExitUsage;
  pdp::ChainTokens tokens;
  if (absl::Status status = ReadTokens(args, tokens); !status.ok()) {
    err << "pdpctl token: " << status.message() << "\n";
    return kExitUsage;
  }
  (args.Has("as-service") ? tokens.service_token : tokens.access_token) = *raw;
  pdp::ActivePolicy policy;
  policy.Activate(*snapshot);
  const pdp::FixedTokenSource source(*std::move(trust));
  pdp::Engine::Options options;
  options.tokens = &source;
  const pdp::Engine engine(policy, options);
  absl::StatusOr<pdp::Engine::Completed> chain = engine.Complete({}, tokens);
  if (!chain.ok()) {
    err << "pdpctl token: " << chain.status().message() << "\n";
    return kExitUsage;
  }
  std::vector<std::string> undefined_roles;
  for (const std::string& role : token.roles) {
    if ((*snapshot)->FindRole(role) < 0) undefined_roles.push_back(role);
  }
  if (!undefined_roles.empty()) {
    out << "mapped roles the policy does not define (they grant nothing): "
        << QuotedList(undefined_roles) << "\n";
  }
  std::vector<std::string> servers;
  for (const pdp::Snapshot::Server& server : (*snapshot)->servers()) {
    if (server.Accepts(token.audiences)) servers.push_back(server.id);
  }
  out << "usable on MCP servers: "
      << (servers.empty() ? "none (no server of the policy accepts its "
                            "audience)"
                          : absl::StrJoin(servers, ", "))
      << "\n";
  for (const pdp::Reason& problem : chain->chain.token_problems) {
    out << "REFUSED " << pdp::ReasonCodeName(problem.code) << ": "
        << problem.message << "\n";
  }
  return chain->chain.token_problems.empty() && !servers.empty() ? kExitOk
                                                            : kExitFailed;
}

}  // namespace

std::vector<FlagSpec> TokenChainFlags() {
  return {
      {"token", Kind::kValue, "FILE",
       "the client's access token (JWT): gives user, client, scopes, amr, "
       "agent"},
      {"agent-token", Kind::kValue, "FILE", "the acting agent's own token"},
      {"service-token", Kind::kValue, "FILE", "a service's own token"},
      {"token-settings", Kind::kValue, "FILE",
       "trusted issuers and limits (the server's tokens.settings)"},
      {"client-cert", Kind::kValue, "FILE",
       "the client certificate a bound token (cnf.x5t#S256) needs"},
      {"dpop-jkt", Kind::kValue, "THUMBPRINT",
       "the verified DPoP key thumbprint a bound token (cnf.jkt) needs"},
  };
}

bool HasTokenFlags(const Args& args) {
  return args.Has("token") || args.Has("agent-token") ||
         args.Has("service-token");
}

absl::StatusOr<TokenArgs> TokensFromArgs(const Args& args) {
  TokenArgs out;
  if (absl::Status status = ReadTokens(args, out.tokens); !status.ok()) {
    return status;
  }
  absl::StatusOr<pdp::TokenSource::Current> trust = LoadTrust(args);
  if (!trust.ok()) return trust.status();
  out.source = std::make_unique<pdp::FixedTokenSource>(*std::move(trust));
  return out;
}

std::vector<Command> TokenCommands() {
  std::vector<FlagSpec> flags = {
      {"token-settings", Kind::kValue, "FILE",
       "trusted issuers and limits (the server's tokens.settings; required)"},
      {"policy", Kind::kValue, "DIR",
       "also judge the token against this policy: lifetime for its client's "
       "trust, binding, audience"},
      {"client-cert", Kind::kValue, "FILE",
       "with --policy: the client certificate presented with the token"},
      {"dpop-jkt", Kind::kValue, "THUMBPRINT",
       "with --policy: the verified DPoP key thumbprint"},
      {"as-service", Kind::kBool, "",
       "with --policy: judge it as a service's token, not an access token"},
  };
  return {{
      "token",
      "token inspect FILE --token-settings FILE [--policy DIR]",
      "decode a JWT and say whether the PDP would accept it, and why not",
      "Prints the token's header and claims (never trust them: they are\n"
      "shown before verification), then VERIFIED with its issuer and\n"
      "validity, or REFUSED with the reason code a decision would carry\n"
      "(TOKEN_INVALID, TOKEN_EXPIRED, ISSUER_UNTRUSTED) and why. With\n"
      "--policy, also the MCP servers its audience is accepted by and what\n"
      "the policy refuses (TOKEN_LIFETIME_TOO_LONG for the client's trust,\n"
      "TOKEN_BINDING_MISMATCH). Exits 0 when the PDP would accept the\n"
      "token, 1 when it would refuse it.\n",
      flags,
      RunTokenInspect,
  }};
}

}  // namespace pdpctl
