#include "pdp/token/token_verifier.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "pdp/token/base64url.h"
#include "pdp/token/jws_signature.h"
#include "pdp/quote.h"
#include "pdp/token/token_cache.h"

namespace pdp {
namespace token {

struct TokenVerifier::State {
  explicit State(const TokenVerifierOptions& options)
      : cache(options.cache_entries, options.cache_max_bytes) {}
  absl::flat_hash_map<std::string, TrustedIssuer> issuers;
  internal::TokenCache cache;
};

namespace {

using ::pdp::Quote;
using Json = nlohmann::json;

// NumericDates outside [0, year 9999] are refused rather than clamped.
constexpr double kMaxNumericDate = 253402300799.0;

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

TokenVerifier::Result Reject(v1::Reason::Code code, std::string message) {
  TokenVerifier::Result result;
  result.rejection.code = code;
  result.rejection.message = std::move(message);
  return result;
}

TokenVerifier::Result Invalid(std::string message) {
  return Reject(v1::Reason::TOKEN_INVALID, std::move(message));
}

// A decoded header or payload: the object, or nothing and, when that is
// why, the member name some object of it holds twice.
struct Decoded {
  std::optional<Json> object;
  std::string duplicate;
};

// Parses base64url JSON that must be an object in which no object, at any
// depth, names a member twice.
Decoded DecodeObject(absl::string_view encoded) {
  Decoded decoded;
  absl::StatusOr<std::string> bytes = Base64UrlDecode(encoded);
  if (!bytes.ok()) return decoded;
  // The member names seen in each object being parsed, innermost last.
  std::vector<absl::flat_hash_set<std::string>> open_objects;
  bool duplicate = false;
  auto watch = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second &&
            !duplicate) {
          duplicate = true;
          decoded.duplicate = parsed.get<std::string>();
        }
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  Json json = Json::parse(*bytes, watch, /*allow_exceptions=*/false);
  if (duplicate || json.is_discarded() || !json.is_object()) return decoded;
  decoded.object = std::move(json);
  return decoded;
}

// Why `decoded`, the token's `part` ("header" or "payload"), has no object.
std::string NotAnObject(const Decoded& decoded, absl::string_view part) {
  if (!decoded.duplicate.empty()) {
    return absl::StrCat("the token's ", part, " names the member ",
                        Quote(decoded.duplicate),
                        " twice (a token must be read the same way by every "
                        "parser)");
  }
  return absl::StrCat("the token's ", part,
                      " is not a base64url-encoded JSON object");
}

bool IsAcceptedType(absl::string_view typ) {
  absl::ConsumePrefix(&typ, "application/");  // RFC 7515 §4.1.9.
  return absl::EqualsIgnoreCase(typ, "JWT") ||
         absl::EqualsIgnoreCase(typ, "at+jwt");
}

// A claim's problem, as the sentence of a rejection.
using ClaimError = std::optional<std::string>;

// Reads a NumericDate (RFC 7519 §2) claim. `required` claims must be present.
ClaimError ReadNumericDate(const Json& claims, const char* name, bool required,
                           absl::Time* out) {
  auto it = claims.find(name);
  if (it == claims.end()) {
    if (!required) return std::nullopt;
    return absl::StrCat("the token has no \"", name, "\" claim");
  }
  double seconds = 0;
  if (it->is_number_integer() || it->is_number_unsigned() ||
      it->is_number_float()) {
    seconds = it->get<double>();
  } else {
    return absl::StrCat("the token's \"", name,
                        "\" claim is not a number of seconds (NumericDate)");
  }
  if (!std::isfinite(seconds) || seconds < 0 || seconds > kMaxNumericDate) {
    return absl::StrCat("the token's \"", name,
                        "\" claim is out of range for a NumericDate");
  }
  if (it->is_number_float()) {
    *out = absl::UnixEpoch() + absl::Seconds(seconds);
  } else {
    *out = absl::FromUnixSeconds(it->is_number_unsigned()
                                     ? static_cast<int64_t>(it->get<uint64_t>())
                                     : it->get<int64_t>());
  }
  return std::nullopt;
}

// Reads an optional string claim.
ClaimError ReadString(const Json& object, const char* name, const char* what,
                      std::string* out) {
  auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  if (!it->is_string()) {
    return absl::StrCat("the token's \"", what, "\" claim is not a string");
  }
  *out = it->get<std::string>();
  return std::nullopt;
}

// Reads an optional array of strings; `allow_string` accepts one string.
ClaimError ReadStrings(const Json& claims, const char* name, bool allow_string,
                       std::vector<std::string>* out) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (allow_string && it->is_string()) {
    out->push_back(it->get<std::string>());
    return std::nullopt;
  }
  const char* expected =
      allow_string ? "a string or an array of strings" : "an array of strings";
  if (!it->is_array()) {
    return absl::StrCat("the token's \"", name, "\" claim is not ", expected);
  }
  for (const Json& item : *it) {
    if (!item.is_string()) {
      return absl::StrCat("the token's \"", name, "\" claim is not ", expected);
    }
    out->push_back(item.get<std::string>());
  }
  return std::nullopt;
}

// Reads every claim the PDP uses into `token`.
ClaimError ReadClaims(const Json& claims, VerifiedToken* token) {
  ClaimError error;
  if ((error = ReadNumericDate(claims, "exp", true, &token->expires_at)) ||
      (error = ReadNumericDate(claims, "iat", true, &token->issued_at)) ||
      (error = ReadNumericDate(claims, "nbf", false, &token->not_before))) {
    return error;
  }
  auto sub = claims.find("sub");
  if (sub == claims.end()) return std::string("the token has no \"sub\" claim");
  if (!sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    return std::string("the token's \"sub\" claim is not a non-empty string");
  }
  token->subject = sub->get<std::string>();
  std::string azp;
  if ((error =
           ReadString(claims, "client_id", "client_id", &token->client_id)) ||
      (error = ReadString(claims, "azp", "azp", &azp)) ||
      (error = ReadString(claims, "acr", "acr", &token->acr)) ||
      (error = ReadString(claims, "jti", "jti", &token->jwt_id))) {
    return error;
  }
  if (token->client_id.empty()) token->client_id = std::move(azp);
  auto scope = claims.find("scope");
  if (scope != claims.end()) {
    if (!scope->is_string()) {
      return std::string(
          "the token's \"scope\" claim is not a string of space-separated "
          "scopes");
    }
    for (absl::string_view s : absl::StrSplit(
             scope->get_ref<const std::string&>(), ' ', absl::SkipEmpty())) {
      token->scopes.emplace_back(s);
    }
  }
  if ((error = ReadStrings(claims, "amr", false, &token->amr)) ||
      (error = ReadStrings(claims, "aud", true, &token->audiences))) {
    return error;
  }
  // Each hop of a delegation nests the one before it (RFC 8693 §4.1).
  const Json* act = &claims;
  for (int depth = 1;; ++depth) {
    auto next = act->find("act");
    if (next == act->end()) break;
    if (depth > kMaxActClaimDepth) {
      return absl::StrCat("the token's \"act\" claims nest more than ",
                          kMaxActClaimDepth, " deep");
    }
    act = &*next;
    if (!act->is_object()) {
      return std::string("the token's \"act\" claim is not an object");
    }
    auto actor = act->find("sub");
    if (actor == act->end() || !actor->is_string() ||
        actor->get_ref<const std::string&>().empty()) {
      return std::string(
          "the token's \"act\" claim has no non-empty string \"sub\"");
    }
    token->actors.push_back(actor->get<std::string>());
  }
  auto cnf = claims.find("cnf");
  if (cnf != claims.end()) {
    if (!cnf->is_object()) {
      return std::string("the token's \"cnf\" claim is not an object");
    }
    if ((error = ReadString(*cnf, "x5t#S256", "cnf.x5t#S256",
                            &token->cnf_x5t_s256)) ||
        (error = ReadString(*cnf, "jkt", "cnf.jkt", &token->cnf_jkt))) {
      return error;
    }
  }
  if (token->expires_at <= token->issued_at) {
    return absl::StrCat("the token expires (", TimeText(token->expires_at),
                        ") no later than it was issued (",
                        TimeText(token->issued_at), ")");
  }
  return std::nullopt;
}

// Reads the groups in the issuer's roles claim, if it has one, and maps
// them to policy roles. An absent claim means no groups.
ClaimError ReadRoles(const Json& claims, const TrustedIssuer& issuer,
                     VerifiedToken* token) {
  if (issuer.roles_claim.empty()) return std::nullopt;
  token->has_idp_roles = true;
  std::vector<std::string> groups;
  if (ClaimError error =
          ReadStrings(claims, issuer.roles_claim.c_str(), true, &groups)) {
    return error;
  }
  for (const std::string& group : groups) {
    auto mapping = issuer.roles.find(group);
    if (mapping == issuer.roles.end()) {
      token->unmapped_groups.push_back(group);
      continue;
    }
    for (const std::string& role : mapping->second) {
      if (std::find(token->roles.begin(), token->roles.end(), role) ==
          token->roles.end()) {
        token->roles.push_back(role);
      }
    }
  }
  return std::nullopt;
}

// Checks the time claims against `now`; false with `rejection` set if the
// token is not valid at `now`.
bool CheckTimes(const VerifiedToken& token, absl::Time now, absl::Duration skew,
                TokenRejection* rejection) {
  if (token.expires_at <= now - skew) {
    rejection->code = v1::Reason::TOKEN_EXPIRED;
    rejection->message =
        absl::StrCat("the token expired at ", TimeText(token.expires_at));
    return false;
  }
  if (token.not_before > now + skew) {
    rejection->code = v1::Reason::TOKEN_INVALID;
    rejection->message = absl::StrCat("the token is not valid before ",
                                      TimeText(token.not_before));
    return false;
  }
  if (token.issued_at > now + skew) {
    rejection->code = v1::Reason::TOKEN_INVALID;
    rejection->message = absl::StrCat("the token was issued in the future, at ",
                                      TimeText(token.issued_at));
    return false;
  }
  return true;
}

// What `token` (made by make_shared) takes on the heap, for the cache's
// byte budget.
size_t ClaimsBytes(const VerifiedToken& token) {
  using internal::TokenCache;
  size_t bytes = TokenCache::AllocationBytes(16 + sizeof(VerifiedToken));
  for (const std::string* s :
       {&token.issuer, &token.subject, &token.client_id, &token.cnf_x5t_s256,
        &token.cnf_jkt, &token.acr, &token.jwt_id}) {
    bytes += TokenCache::StringBytes(*s);
  }
  for (const std::vector<std::string>* list :
       {&token.scopes, &token.amr, &token.audiences, &token.actors,
        &token.roles, &token.unmapped_groups}) {
    if (list->capacity() > 0) {
      bytes += TokenCache::AllocationBytes(list->capacity() *
                                           sizeof(std::string));
    }
    for (const std::string& s : *list) bytes += TokenCache::StringBytes(s);
  }
  return bytes;
}

}  // namespace

TokenVerifier::TokenVerifier(TokenVerifierOptions options)
    : options_(options),
      state_(std::make_shared<State>(options)) {}

TokenVerifier::~TokenVerifier() = default;

void TokenVerifier::SetIssuers(std::vector<TrustedIssuer> issuers) {
  auto state = std::make_shared<State>(options_);
  for (TrustedIssuer& issuer : issuers) {
    std::string name = issuer.issuer;
    state->issuers.emplace(std::move(name), std::move(issuer));
  }
  absl::MutexLock lock(&mu_);
  state_ = std::move(state);
}

std::shared_ptr<TokenVerifier::State> TokenVerifier::state() const {
  absl::ReaderMutexLock lock(&mu_);
  return state_;
}

size_t TokenVerifier::CachedTokens() const { return state()->cache.size(); }

size_t TokenVerifier::CachedBytes() const { return state()->cache.bytes(); }

TokenVerifier::Result TokenVerifier::Verify(absl::string_view token,
                                            absl::Time now) const {
  if (token.size() > options_.max_token_bytes) {
    return Invalid(absl::StrCat("the token is ", token.size(),
                                " bytes long, more than the limit of ",
                                options_.max_token_bytes));
  }
  const std::shared_ptr<State> state = this->state();
  if (std::shared_ptr<const VerifiedToken> cached = state->cache.Find(token)) {
    Result result;
    if (!CheckTimes(*cached, now, options_.clock_skew, &result.rejection)) {
      if (result.rejection.code == v1::Reason::TOKEN_EXPIRED) {
        state->cache.Erase(token);
      }
      return result;
    }
    result.token = std::move(cached);
    return result;
  }

  // Compact serialization: header.payload.signature.
  const size_t first_dot = token.find('.');
  const size_t second_dot = first_dot == absl::string_view::npos
                                ? absl::string_view::npos
                                : token.find('.', first_dot + 1);
  if (second_dot == absl::string_view::npos ||
      token.find('.', second_dot + 1) != absl::string_view::npos) {
    const size_t parts = 1 + std::count(token.begin(), token.end(), '.');
    return Invalid(absl::StrCat(
        "the token is not a compact JWS: it has ", parts,
        parts == 1 ? " part" : " parts",
        ", not the 3 of header.payload.signature"));
  }
  const absl::string_view signing_input = token.substr(0, second_dot);
  const absl::string_view encoded_header = token.substr(0, first_dot);
  const absl::string_view encoded_payload =
      token.substr(first_dot + 1, second_dot - first_dot - 1);
  const absl::string_view encoded_signature = token.substr(second_dot + 1);

  // The header.
  const Decoded decoded_header = DecodeObject(encoded_header);
  if (!decoded_header.object.has_value()) {
    return Invalid(NotAnObject(decoded_header, "header"));
  }
  const std::optional<Json>& header = decoded_header.object;
  auto typ = header->find("typ");
  if (typ != header->end()) {
    if (!typ->is_string()) {
      return Invalid("the token's type (typ) is not a string");
    }
    if (!IsAcceptedType(typ->get_ref<const std::string&>())) {
      return Invalid(absl::StrCat("the token's type (typ) ",
                                  Quote(typ->get_ref<const std::string&>()),
                                  " is neither \"JWT\" nor \"at+jwt\""));
    }
  }
  if (header->contains("crit")) {
    return Invalid(
        "the token's header lists critical extensions (crit), which are not "
        "supported");
  }
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) {
    return Invalid("the token's header has no algorithm (alg)");
  }
  const std::optional<JwsAlgorithm> algorithm =
      ParseJwsAlgorithm(alg->get_ref<const std::string&>());
  if (!algorithm.has_value()) {
    return Invalid(absl::StrCat(
        "the token's algorithm (alg) ",
        Quote(alg->get_ref<const std::string&>()),
        " is not accepted; only RS256, PS256, ES256 and EdDSA are"));
  }
  auto kid = header->find("kid");
  if (kid == header->end() || !kid->is_string() ||
      kid->get_ref<const std::string&>().empty()) {
    return Invalid("the token's header has no key id (kid)");
  }
  const std::string& key_id = kid->get_ref<const std::string&>();

  // The issuer, before the signature: it says which keys apply.
  const Decoded decoded_claims = DecodeObject(encoded_payload);
  if (!decoded_claims.object.has_value()) {
    return Invalid(NotAnObject(decoded_claims, "payload"));
  }
  const std::optional<Json>& claims = decoded_claims.object;
  auto iss = claims->find("iss");
  if (iss == claims->end() || !iss->is_string()) {
    return Invalid("the token has no issuer (\"iss\" claim)");
  }
  const std::string& issuer_name = iss->get_ref<const std::string&>();
  auto issuer = state->issuers.find(issuer_name);
  if (issuer == state->issuers.end()) {
    return Reject(
        v1::Reason::ISSUER_UNTRUSTED,
        absl::StrCat("issuer ", Quote(issuer_name), " is not trusted"));
  }
  const JwkSet::Key* key = issuer->second.keys.Find(key_id);
  if (key == nullptr) {
    return Invalid(absl::StrCat("unknown key id ", Quote(key_id),
                                " for issuer ", Quote(issuer_name)));
  }
  if (key->alg != *algorithm) {
    return Invalid(absl::StrCat(
        "the token's algorithm ", JwsAlgorithmName(*algorithm),
        " is not the algorithm of key ", Quote(key_id), " of issuer ",
        Quote(issuer_name), " (", JwsAlgorithmName(key->alg), ")"));
  }

  // The signature.
  absl::StatusOr<std::string> signature = Base64UrlDecode(encoded_signature);
  if (!signature.ok()) {
    return Invalid("the token's signature is not base64url");
  }
  if (!internal::VerifyJwsSignature(key->alg, key->key.get(), signing_input,
                                    *signature)) {
    return Invalid(
        absl::StrCat("the token's signature does not verify with "
                     "key ",
                     Quote(key_id), " of issuer ", Quote(issuer_name)));
  }

  // The claims.
  auto verified = std::make_shared<VerifiedToken>();
  verified->issuer = issuer_name;
  if (ClaimError error = ReadClaims(*claims, verified.get())) {
    return Invalid(*std::move(error));
  }
  if (ClaimError error = ReadRoles(*claims, issuer->second, verified.get())) {
    return Invalid(*std::move(error));
  }
  Result result;
  if (!CheckTimes(*verified, now, options_.clock_skew, &result.rejection)) {
    return result;
  }
  state->cache.Insert(token, verified, ClaimsBytes(*verified));
  result.token = std::move(verified);
  return result;
}

}  // namespace token
}  // namespace pdp
