#ifndef PDP_TOKEN_TOKEN_VERIFIER_H_
#define PDP_TOKEN_TOKEN_VERIFIER_H_

// Verifies JWT access tokens (RFC 9068) and agent/service tokens: compact
// JWS signed by a trusted issuer's key, with the time claims checked against
// an injected clock. What a token says (audience, lifetime, binding) is
// judged against the policy by the caller; this checks that the token is
// authentic and currently valid, and reads its claims.
//
// Rejections are results (TokenRejection), not errors: their messages name
// the problem in one sentence and never contain the token, its signature or
// more than a short, sanitized excerpt of any claim.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pdp/token/jwk_set.h"
#include "pdp/v1/authorizer.pb.h"

namespace pdp {
namespace token {

// An issuer ("iss") whose tokens are trusted, and its signing keys.
struct TrustedIssuer {
  std::string issuer;
  JwkSet keys;
  // When not empty, the claim (a string or an array of strings, e.g.
  // "groups") that carries the user's groups at this identity provider:
  // its tokens then say which policy roles the user holds.
  std::string roles_claim;
  // Group name -> policy role ids. Groups not listed grant nothing.
  absl::flat_hash_map<std::string, std::vector<std::string>> roles;
};

// More nested "act" claims than this make a token invalid, whatever the
// delegation depth the settings allow.
constexpr int kMaxActClaimDepth = 64;

// The claims of a verified token. Optional claims that are absent are empty.
// Every member counts in the cache's byte budget (ClaimsBytes in
// token_verifier.cc): a new member must be added there.
struct VerifiedToken {
  std::string issuer;                  // iss
  std::string subject;                 // sub (never empty)
  std::string client_id;               // client_id, else azp (RFC 9068 §2.2)
  std::vector<std::string> scopes;     // scope, split on spaces
  std::vector<std::string> amr;        // amr (RFC 8176)
  // The delegation (RFC 8693 §4.1): act.sub, then act.act.sub, and so on:
  // the current actor first, then the one it acts for, back to the one
  // acting for the subject. Empty without "act".
  std::vector<std::string> actors;
  // Whether the issuer carries roles (TrustedIssuer::roles_claim): then
  // `roles` are the policy roles its groups map to (possibly none), and
  // `unmapped_groups` the groups no mapping names.
  bool has_idp_roles = false;
  std::vector<std::string> roles;
  std::vector<std::string> unmapped_groups;
  std::vector<std::string> audiences;  // aud: a string or an array
  absl::Time issued_at;                // iat
  absl::Time not_before = absl::InfinitePast();  // nbf, if present
  absl::Time expires_at;                         // exp
  std::string cnf_x5t_s256;  // cnf["x5t#S256"] (RFC 8705 §3.1)
  std::string cnf_jkt;       // cnf.jkt (RFC 9449 §6.1)
  std::string acr;           // acr
  std::string jwt_id;        // jti
};

// Why a token was refused: a reason code for the decision and a sentence.
struct TokenRejection {
  // TOKEN_INVALID, TOKEN_EXPIRED or ISSUER_UNTRUSTED; CODE_UNSPECIFIED when
  // the token was accepted.
  v1::Reason::Code code = v1::Reason::CODE_UNSPECIFIED;
  // E.g. "the token expired at 2026-11-26T06:00:00Z". Never contains the
  // token; quoted claim values are sanitized and cut to ~100 characters.
  std::string message;
};

struct TokenVerifierOptions {
  // Tolerated difference between the issuer's clock and ours, for exp, nbf
  // and iat.
  absl::Duration clock_skew = absl::Seconds(60);
  // How many verified tokens are remembered, so that presenting the same
  // token again costs one lookup; 0 turns the cache off. Each entry holds
  // the token and its claims; only tokens that verified are ever stored.
  size_t cache_entries = 100000;
  // Most bytes the remembered tokens take, each accounted at what it holds
  // on the heap: its own length plus its claims (~1.6 KB for a 600-byte
  // token, ~33 KB for a 15 KB one; docs/operations.md). 0 turns the cache
  // off.
  size_t cache_max_bytes = size_t{32} << 20;
  // Longer tokens are refused before anything else is done with them.
  size_t max_token_bytes = 16384;
};

// Verifies tokens against the trusted issuers.
//
// A token is accepted when: it is at most max_token_bytes; it is a compact
// JWS (three base64url parts); its header is a JSON object whose "typ", if
// present, is "JWT" or "at+jwt" (case-insensitively, with or without the
// "application/" prefix), without "crit", with a string "kid" and an "alg"
// equal to that key's algorithm (so never "none" or an HMAC algorithm); its
// payload is a JSON object whose "iss" is a trusted issuer that has the key
// "kid"; the signature verifies with that key; "exp" and "iat" are
// NumericDates, "nbf" too if present, "sub" a non-empty string; and, with
// the clock skew s: exp > now - s, nbf <= now + s, iat <= now + s and
// exp > iat. Optional claims must have their types (aud a string or array of
// strings, scope a string, amr an array of strings, act an object with a
// string sub and at most kMaxActClaimDepth nested act objects, cnf an object
// of strings, client_id/azp/acr/jti strings, the issuer's roles_claim a
// string or an array of strings). No JSON object of the header or the
// claims may name a member twice (parsers differ on which one wins).
// Embedded keys ("jwk", "jku", "x5u", "x5c") are never used.
//
// Verified tokens are cached (bounded by cache_entries, keyed by a hash of
// the whole token and confirmed by comparing the whole token); a cached
// token's exp, nbf and iat are checked again against each call's `now`.
//
// Thread-safe: Verify() runs on any thread while SetIssuers() swaps the
// issuers; a call in flight finishes with the issuers it started with.
class TokenVerifier {
 public:
  explicit TokenVerifier(TokenVerifierOptions options = {});
  ~TokenVerifier();

  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;

  // Replaces the trusted issuers (none until the first call) and empties the
  // cache, so that a token of a removed issuer or key is refused from now
  // on. If two entries name the same issuer, the first is used.
  void SetIssuers(std::vector<TrustedIssuer> issuers);

  struct Result {
    // The claims; null when the token is rejected.
    std::shared_ptr<const VerifiedToken> token;
    // Why the token was rejected; code CODE_UNSPECIFIED when accepted.
    TokenRejection rejection;
    bool ok() const { return token != nullptr; }
  };

  // Verifies `token` as of `now`. Never fails otherwise: every problem is a
  // rejection (TOKEN_INVALID, TOKEN_EXPIRED or ISSUER_UNTRUSTED).
  Result Verify(absl::string_view token, absl::Time now) const;

  // How many verified tokens the cache holds now (at most cache_entries).
  size_t CachedTokens() const;
  // The bytes they take, as accounted (at most cache_max_bytes).
  size_t CachedBytes() const;

 private:
  struct State;

  std::shared_ptr<State> state() const;

  const TokenVerifierOptions options_;
  mutable absl::Mutex mu_;
  // The issuers and the cache of tokens verified with them; replaced, never
  // changed, by SetIssuers (the cache inside is itself thread-safe).
  std::shared_ptr<State> state_ ABSL_GUARDED_BY(mu_);
};

}  // namespace token
}  // namespace pdp

#endif  // PDP_TOKEN_TOKEN_VERIFIER_H_
