#include "pdp/chain_tokens.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pdp/names.h"
#include "pdp/quote.h"
#include "pdp/token/thumbprint.h"

namespace pdp {
namespace {

using token::TokenVerifier;
using token::VerifiedToken;

Reason Problem(v1::Link link, v1::Reason::Code code, std::string message) {
  Reason reason;
  reason.link = link;
  reason.code = code;
  reason.message = std::move(message);
  return reason;
}

absl::Status BothGiven(std::vector<std::string> asserted,
                       absl::string_view token_field) {
  return absl::InvalidArgumentError(absl::StrCat(
      "malformed identity chain: chain.", absl::StrJoin(asserted, ", chain."),
      " asserted together with chain.", token_field,
      ", which carries them; send one or the other"));
}

// Compares the presented binding with the token's `cnf`; returns the
// mismatch, if any, as a sentence.
std::string BindingMismatch(const VerifiedToken& token,
                            const ChainTokens& presented, bool required,
                            const std::string& client_id) {
  if (token.cnf_x5t_s256.empty() && token.cnf_jkt.empty()) {
    if (!required) return "";
    return absl::StrCat("client \"", client_id,
                        "\" is registered to use sender-constrained tokens "
                        "only, and this access token is unbound (no cnf)");
  }
  if (!token.cnf_x5t_s256.empty()) {
    std::string thumbprint = presented.client_certificate_sha256;
    if (!presented.client_certificate.empty()) {
      absl::StatusOr<std::string> computed =
          token::CertificateThumbprint(presented.client_certificate);
      if (!computed.ok()) {
        return "binding.client_certificate is not a certificate, so the "
               "token's certificate binding (cnf.x5t#S256) cannot hold";
      }
      if (!thumbprint.empty() && thumbprint != *computed) {
        return "binding.client_certificate and "
               "binding.client_certificate_sha256 disagree";
      }
      thumbprint = *std::move(computed);
    }
    if (thumbprint.empty()) {
      return "the token is bound to a client certificate (cnf.x5t#S256) and "
             "the request carries none";
    }
    if (thumbprint != token.cnf_x5t_s256) {
      return "the token is bound to another client certificate than the one "
             "presented (cnf.x5t#S256 differs)";
    }
  }
  if (!token.cnf_jkt.empty()) {
    if (presented.dpop_jkt.empty()) {
      return "the token is bound to a DPoP key (cnf.jkt) and the request "
             "carries no verified DPoP key thumbprint";
    }
    if (presented.dpop_jkt != token.cnf_jkt) {
      return "the token is bound to another DPoP key than the one that "
             "signed the proof (cnf.jkt differs)";
    }
  }
  return "";
}

// Verifies one token. Returns it, or null after adding why it is refused.
std::shared_ptr<const VerifiedToken> Verify(const TokenVerifier& verifier,
                                            absl::string_view raw,
                                            v1::Link link, absl::Time now,
                                            Chain& chain) {
  TokenVerifier::Result result = verifier.Verify(raw, now);
  if (!result.ok()) {
    chain.token_problems.push_back(
        Problem(link, result.rejection.code,
                absl::StrCat(TokenName(link), " is refused: ",
                             result.rejection.message)));
    return nullptr;
  }
  chain.token_audiences.push_back({link, result.token->audiences});
  return std::move(result.token);
}

// Short lifetimes are enforced: exp - iat may not exceed `max`, the limit
// for `holder`.
void AddLifetimeProblem(const VerifiedToken& token, v1::Link link,
                        absl::Duration max, absl::string_view holder,
                        Chain& chain) {
  const absl::Duration lifetime = token.expires_at - token.issued_at;
  if (lifetime <= max) return;
  chain.token_problems.push_back(Problem(
      link, v1::Reason::TOKEN_LIFETIME_TOO_LONG,
      absl::StrCat(TokenName(link), " lives ", absl::FormatDuration(lifetime),
                   "; ", holder, " may hold one for ",
                   absl::FormatDuration(max), " at most")));
}

void AddBindingProblem(const VerifiedToken& token, const ChainTokens& tokens,
                       bool required, const std::string& client_id,
                       v1::Link link, Chain& chain) {
  std::string mismatch = BindingMismatch(token, tokens, required, client_id);
  if (mismatch.empty()) return;
  chain.token_problems.push_back(
      Problem(link, v1::Reason::TOKEN_BINDING_MISMATCH,
              absl::StrCat(TokenName(link), " is refused: ", mismatch)));
}

}  // namespace

absl::StatusOr<Chain> ApplyTokens(const Snapshot& s,
                                  const TokenVerifier& verifier,
                                  const token::TokenSettings& settings,
                                  const ChainTokens& tokens, Chain chain,
                                  absl::Time now) {
  if (!tokens.access_token.empty() && !tokens.service_token.empty()) {
    return absl::InvalidArgumentError(
        "malformed identity chain: chain.access_token and "
        "chain.service_token are both set; a chain is either delegated or a "
        "service alone");
  }
  if (!tokens.access_token.empty()) {
    std::vector<std::string> asserted;
    if (!chain.user_id.empty()) asserted.push_back("user_id");
    if (!chain.client_id.empty()) asserted.push_back("client_id");
    if (!chain.scopes.empty()) asserted.push_back("scopes");
    if (!chain.amr.empty()) asserted.push_back("amr");
    if (!asserted.empty()) return BothGiven(asserted, "access_token");
  }
  if (!tokens.agent_token.empty() && !chain.agent_id.empty()) {
    return BothGiven({"agent_id"}, "agent_token");
  }
  if (!tokens.service_token.empty()) {
    std::vector<std::string> asserted;
    if (!chain.service_id.empty()) asserted.push_back("service_id");
    if (!chain.scopes.empty()) asserted.push_back("scopes");
    if (!asserted.empty()) return BothGiven(asserted, "service_token");
  }

  // The agents the access token's act claims name, the acting one first.
  std::vector<std::string> actors;
  if (!tokens.access_token.empty()) {
    auto token =
        Verify(verifier, tokens.access_token, v1::LINK_CLIENT, now, chain);
    if (token != nullptr) {
      // The client's trust bounds the lifetime; an unregistered client is
      // held to the lowest trust (and denied by the evaluator anyway).
      const int client = s.FindClient(token->client_id);
      const v1::ClientTrust trust =
          client >= 0 ? s.clients()[client].trust : v1::CLIENT_TRUST_UNTRUSTED;
      AddLifetimeProblem(
          *token, v1::LINK_CLIENT, settings.max_lifetime[trust],
          absl::StrCat("a client trusted as ", ClientTrustName(trust)), chain);
      if (token->client_id.empty()) {
        chain.token_problems.push_back(
            Problem(v1::LINK_CLIENT, v1::Reason::TOKEN_INVALID,
                    "the access token names no client (client_id or azp)"));
      } else {
        AddBindingProblem(
            *token, tokens,
            client >= 0 && s.clients()[client].require_bound_tokens,
            token->client_id, v1::LINK_CLIENT, chain);
        if (token->has_idp_roles) {
          if (!chain.asserted_roles.empty()) {
            return BothGiven({"asserted_roles"},
                             "access_token (its issuer says the user's roles)");
          }
          chain.asserted_roles = token->roles;
          chain.roles_from_idp = true;
        }
        chain.user_id = token->subject;
        chain.client_id = token->client_id;
        chain.scopes = token->scopes;
        chain.amr = token->amr;
        actors = token->actors;
      }
    }
  }
  if (!actors.empty()) {
    if (!chain.agent_id.empty() && chain.agent_id != actors.front()) {
      chain.token_problems.push_back(Problem(
          v1::LINK_AGENT, v1::Reason::TOKEN_INVALID,
          "chain.agent_id names another agent than the access token's "
          "act.sub"));
    }
    if (actors.size() > static_cast<size_t>(settings.max_delegation_depth)) {
      std::vector<std::string> quoted;
      for (const std::string& actor : actors) quoted.push_back(Quote(actor));
      chain.token_problems.push_back(Problem(
          v1::LINK_AGENT, v1::Reason::DELEGATION_TOO_DEEP,
          absl::StrCat("the access token's delegation names ", actors.size(),
                       " agents (", absl::StrJoin(quoted, " for "),
                       "); at most ", settings.max_delegation_depth,
                       " may act in one chain")));
    }
    chain.agent_id = actors.front();
    chain.delegated_agents.assign(actors.begin() + 1, actors.end());
  }
  if (!tokens.agent_token.empty()) {
    auto token =
        Verify(verifier, tokens.agent_token, v1::LINK_AGENT, now, chain);
    if (token != nullptr) {
      AddLifetimeProblem(*token, v1::LINK_AGENT, settings.max_agent_lifetime,
                         "an agent", chain);
      if (!actors.empty() && actors.front() != token->subject) {
        chain.token_problems.push_back(Problem(
            v1::LINK_AGENT, v1::Reason::TOKEN_INVALID,
            "the agent's token is for another agent than the access token's "
            "act.sub"));
      }
      AddBindingProblem(*token, tokens, false, "", v1::LINK_AGENT, chain);
      chain.agent_id = token->subject;
    }
  }
  if (!tokens.service_token.empty()) {
    auto token =
        Verify(verifier, tokens.service_token, v1::LINK_SERVICE, now, chain);
    if (token != nullptr) {
      AddLifetimeProblem(*token, v1::LINK_SERVICE,
                         settings.max_service_lifetime, "a service", chain);
      AddBindingProblem(*token, tokens, false, "", v1::LINK_SERVICE, chain);
      chain.service_id = token->subject;
      chain.scopes = token->scopes;
      chain.service_scopes_from_token = true;
    }
  }
  return chain;
}

}  // namespace pdp
