#ifndef PDP_TOKEN_SOURCE_H_
#define PDP_TOKEN_SOURCE_H_

#include <memory>
#include <utility>

#include "pdp/token/token_settings.h"
#include "pdp/token/token_verifier.h"

namespace pdp {

// What a chain's tokens are verified with: the token settings in force and
// a verifier over them. The server's implementation replaces both when its
// settings files change (pdp/server/token_trust.h); FixedTokenSource never
// does. Implementations must be thread-safe: current() runs on every
// request that carries tokens.
class TokenSource {
 public:
  struct Current {
    std::shared_ptr<const token::TokenSettings> settings;
    std::shared_ptr<const token::TokenVerifier> verifier;
  };

  virtual ~TokenSource() = default;

  // The settings and verifier in force now; both non-null.
  virtual Current current() const = 0;
};

// A TokenSource that never changes (pdpctl, tests, benchmarks).
// Immutable; thread-safe as its verifier is.
class FixedTokenSource final : public TokenSource {
 public:
  // REQUIRES: both non-null.
  explicit FixedTokenSource(Current current) : current_(std::move(current)) {}

  Current current() const override { return current_; }

 private:
  const Current current_;
};

}  // namespace pdp

#endif  // PDP_TOKEN_SOURCE_H_
