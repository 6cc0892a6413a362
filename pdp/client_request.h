#ifndef PDP_CLIENT_REQUEST_H_
#define PDP_CLIENT_REQUEST_H_

#include <string>
#include <vector>

#include "pdp/decision.h"
#include "pdp/snapshot.h"

namespace pdp {

// The start of an OAuth authorization request (RFC 6749 4.1.1 with PKCE,
// RFC 7636), as an authorization server sees it before showing consent.
struct ClientRequest {
  std::string client_id;
  std::string redirect_uri;
  // The requested scopes, already split; empty asks for the full ceiling.
  std::vector<std::string> scopes;
  std::string code_challenge;
  std::string code_challenge_method;
};

// Whether the client may start the request. A refusal is a result, not an
// error.
struct ClientRequestDecision {
  bool allowed = false;
  // Every failing check (link client), in the order registry, redirect URI,
  // PKCE, scopes; empty when allowed. SCOPE_NOT_ALLOWED names the scopes
  // beyond the ceiling in missing_scopes, sorted.
  std::vector<Reason> reasons;
  // When allowed: the requested scopes, deduplicated and sorted, or the
  // client's whole ceiling (sorted) when none were requested. Empty when
  // refused.
  std::vector<std::string> granted_scopes;
  // When refused, the OAuth error of the first failing check (RFC 6749
  // 4.1.2.1): "unauthorized_client" (not registered), "invalid_request"
  // (redirect URI, PKCE) or "invalid_scope". Empty when allowed.
  // The order puts the redirect URI first: with a bad redirect URI the
  // authorization server must not redirect at all (RFC 6749 3.1.2.4, 4.1.2.1),
  // so that error, not a later one, decides what it does.
  std::string oauth_error;
};

// Checks `request` against the client registry of `snapshot`:
//  - the client is registered, else CLIENT_NOT_REGISTERED and nothing more
//    is checked;
//  - the redirect URI equals one the client registered, byte for byte (no
//    prefix match, no case folding, no normalisation of any kind), else
//    REDIRECT_URI_MISMATCH; a missing one is a mismatch too;
//  - code_challenge_method is exactly "S256" and code_challenge is 43
//    base64url characters (the encoding of a SHA-256), else PKCE_REQUIRED;
//  - every requested scope is within the client's ceiling, else
//    SCOPE_NOT_ALLOWED (a scope the policy does not know is beyond it).
// Reason messages quote the request's values, shortened when long.
// A pure function of its arguments; thread-safe.
ClientRequestDecision CheckClientRequest(const Snapshot& snapshot,
                                         const ClientRequest& request);

}  // namespace pdp

#endif  // PDP_CLIENT_REQUEST_H_
