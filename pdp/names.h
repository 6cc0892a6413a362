#ifndef PDP_NAMES_H_
#define PDP_NAMES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "pdp/v1/authorizer.pb.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {

// The policy language's and the API's words for each enum, in both
// directions. Parse* return nullopt for a word that is not one of the values;
// *Values list the accepted words, lowest to highest, for error messages.

absl::string_view RiskName(v1::Risk risk);  // "low" ... "critical"
std::optional<v1::Risk> ParseRisk(absl::string_view word);
std::string RiskValues();

absl::string_view AutonomyName(v1::Autonomy autonomy);  // "allowed" ...
std::optional<v1::Autonomy> ParseAutonomy(absl::string_view word);
std::string AutonomyValues();

absl::string_view AuthStrengthName(v1::AuthStrength auth);  // "password" ...
std::optional<v1::AuthStrength> ParseAuthStrength(absl::string_view word);
std::string AuthStrengthValues();

absl::string_view ClientTrustName(v1::ClientTrust trust);  // "untrusted" ...
std::optional<v1::ClientTrust> ParseClientTrust(absl::string_view word);
std::string ClientTrustValues();

absl::string_view EffectName(v1::Effect effect);  // "ALLOW", "DENY", ...
absl::string_view LinkName(v1::Link link);        // "user", "client", ...
// The token a link's identity comes from, for sentences: "the access token"
// (client), "the agent's token", "the service's token".
std::string TokenName(v1::Link link);
absl::string_view ReasonCodeName(v1::Reason::Code code);  // "TOOL_UNKNOWN"...

// The authentication strength RFC 8176 `amr` values prove: pwd is password;
// otp, sms and mfa are mfa; hwk and swk are phishing resistant. No value, or
// only unknown ones, counts as password.
v1::AuthStrength StrengthFromAmr(const std::vector<std::string>& amr);

}  // namespace pdp

#endif  // PDP_NAMES_H_
