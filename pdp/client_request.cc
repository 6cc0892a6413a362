#include "pdp/client_request.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pdp/quote.h"

namespace pdp {
namespace {

// The length of base64url(SHA-256(verifier)) without padding.
constexpr size_t kS256ChallengeLength = 43;

bool IsBase64UrlChar(char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '_';
}

Reason ClientReason(v1::Reason::Code code, std::string message) {
  Reason reason;
  reason.link = v1::LINK_CLIENT;
  reason.code = code;
  reason.message = std::move(message);
  return reason;
}

// Why the PKCE parameters are not an S256 challenge; "" when they are.
std::string PkceProblem(const ClientRequest& request) {
  if (request.code_challenge.empty()) {
    return "there is no code_challenge (PKCE, RFC 7636)";
  }
  if (request.code_challenge_method.empty()) {
    return "code_challenge_method is missing (its default is plain); it must "
           "be S256";
  }
  if (request.code_challenge_method != "S256") {
    return absl::StrCat("code_challenge_method is ",
                        Quote(request.code_challenge_method),
                        "; it must be S256");
  }
  if (request.code_challenge.size() != kS256ChallengeLength ||
      !std::all_of(request.code_challenge.begin(), request.code_challenge.end(),
                   IsBase64UrlChar)) {
    return absl::StrCat("code_challenge is not an S256 challenge (",
                        kS256ChallengeLength, " base64url characters); it has ",
                        request.code_challenge.size(), " bytes");
  }
  return "";
}

}  // namespace

ClientRequestDecision CheckClientRequest(const Snapshot& snapshot,
                                         const ClientRequest& request) {
  ClientRequestDecision decision;
  auto refuse = [&decision](Reason reason, absl::string_view oauth_error) {
    if (decision.reasons.empty()) {
      decision.oauth_error = std::string(oauth_error);
    }
    decision.reasons.push_back(std::move(reason));
  };

  const int index = snapshot.FindClient(request.client_id);
  if (index < 0) {
    refuse(ClientReason(v1::Reason::CLIENT_NOT_REGISTERED,
                        absl::StrCat("client ", Quote(request.client_id),
                                     " is not registered")),
           "unauthorized_client");
    return decision;
  }
  const Snapshot::Client& client = snapshot.clients()[index];
  const std::string name = absl::StrCat("client \"", client.id, "\"");

  const std::vector<std::string>& registered = client.redirect_uris;
  if (request.redirect_uri.empty()) {
    refuse(ClientReason(v1::Reason::REDIRECT_URI_MISMATCH,
                        absl::StrCat("no redirect_uri was given; ", name,
                                     " must name one of its registered "
                                     "redirect URIs")),
           "invalid_request");
  } else if (std::find(registered.begin(), registered.end(),
                       request.redirect_uri) == registered.end()) {
    refuse(
        ClientReason(v1::Reason::REDIRECT_URI_MISMATCH,
                     absl::StrCat("redirect_uri ", Quote(request.redirect_uri),
                                  " is not one of the ", registered.size(),
                                  " redirect URI(s) registered for ", name,
                                  " (compared exactly)")),
        "invalid_request");
  }

  if (std::string problem = PkceProblem(request); !problem.empty()) {
    refuse(
        ClientReason(v1::Reason::PKCE_REQUIRED,
                     absl::StrCat(name, " must use PKCE with S256: ", problem)),
        "invalid_request");
  }

  std::vector<std::string> requested = request.scopes;
  std::sort(requested.begin(), requested.end());
  requested.erase(std::unique(requested.begin(), requested.end()),
                  requested.end());
  std::vector<std::string> beyond;
  for (const std::string& scope : requested) {
    const int s = snapshot.FindScope(scope);
    if (s < 0 || !client.scopes.Test(s)) beyond.push_back(scope);
  }
  if (!beyond.empty()) {
    Reason reason = ClientReason(
        v1::Reason::SCOPE_NOT_ALLOWED,
        absl::StrCat(name, " may not request ",
                     absl::StrJoin(beyond, ", ",
                                   [](std::string* out, const std::string& s) {
                                     out->append(Quote(s));
                                   }),
                     ": beyond its registered scopes"));
    reason.missing_scopes = beyond;
    refuse(std::move(reason), "invalid_scope");
  }

  if (!decision.reasons.empty()) return decision;
  decision.allowed = true;
  if (requested.empty()) {
    client.scopes.ForEach([&](size_t s) {
      decision.granted_scopes.push_back(snapshot.scopes()[s]);
    });
  } else {
    decision.granted_scopes = std::move(requested);
  }
  return decision;
}

}  // namespace pdp
