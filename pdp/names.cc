#include "pdp/names.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pdp {
namespace {

template <typename E>
struct Word {
  E value;
  absl::string_view word;
};

constexpr Word<v1::Risk> kRisks[] = {{v1::RISK_LOW, "low"},
                                     {v1::RISK_MEDIUM, "medium"},
                                     {v1::RISK_HIGH, "high"},
                                     {v1::RISK_CRITICAL, "critical"}};
constexpr Word<v1::Autonomy> kAutonomies[] = {
    {v1::AUTONOMY_ALLOWED, "allowed"},
    {v1::AUTONOMY_APPROVAL, "approval"},
    {v1::AUTONOMY_FORBIDDEN, "forbidden"}};
constexpr Word<v1::AuthStrength> kStrengths[] = {
    {v1::AUTH_STRENGTH_PASSWORD, "password"},
    {v1::AUTH_STRENGTH_MFA, "mfa"},
    {v1::AUTH_STRENGTH_PHISHING_RESISTANT, "phishing_resistant"}};
constexpr Word<v1::ClientTrust> kTrusts[] = {
    {v1::CLIENT_TRUST_UNTRUSTED, "untrusted"},
    {v1::CLIENT_TRUST_STANDARD, "standard"},
    {v1::CLIENT_TRUST_TRUSTED, "trusted"},
    {v1::CLIENT_TRUST_INTERNAL, "internal"}};

template <typename E, size_t N>
absl::string_view NameOf(const Word<E> (&table)[N], E value) {
  for (const auto& w : table) {
    if (w.value == value) return w.word;
  }
  return "unspecified";
}

template <typename E, size_t N>
std::optional<E> Parse(const Word<E> (&table)[N], absl::string_view word) {
  for (const auto& w : table) {
    if (w.word == word) return w.value;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string Values(const Word<E> (&table)[N]) {
  return absl::StrJoin(table, ", ", [](std::string* out, const Word<E>& w) {
    out->append(w.word.data(), w.word.size());
  });
}

}  // namespace

absl::string_view RiskName(v1::Risk risk) { return NameOf(kRisks, risk); }
std::optional<v1::Risk> ParseRisk(absl::string_view word) {
  return Parse(kRisks, word);
}
std::string RiskValues() { return Values(kRisks); }

absl::string_view AutonomyName(v1::Autonomy autonomy) {
  return NameOf(kAutonomies, autonomy);
}
std::optional<v1::Autonomy> ParseAutonomy(absl::string_view word) {
  return Parse(kAutonomies, word);
}
std::string AutonomyValues() { return Values(kAutonomies); }

absl::string_view AuthStrengthName(v1::AuthStrength auth) {
  return NameOf(kStrengths, auth);
}
std::optional<v1::AuthStrength> ParseAuthStrength(absl::string_view word) {
  return Parse(kStrengths, word);
}
std::string AuthStrengthValues() { return Values(kStrengths); }

absl::string_view ClientTrustName(v1::ClientTrust trust) {
  return NameOf(kTrusts, trust);
}
std::optional<v1::ClientTrust> ParseClientTrust(absl::string_view word) {
  return Parse(kTrusts, word);
}
std::string ClientTrustValues() { return Values(kTrusts); }

absl::string_view EffectName(v1::Effect effect) {
  switch (effect) {
    case v1::EFFECT_ALLOW:
      return "ALLOW";
    case v1::EFFECT_DENY:
      return "DENY";
    case v1::EFFECT_REQUIRE_APPROVAL:
      return "REQUIRE_APPROVAL";
    case v1::EFFECT_STEP_UP:
      return "STEP_UP";
    default:
      return "UNSPECIFIED";
  }
}

absl::string_view LinkName(v1::Link link) {
  switch (link) {
    case v1::LINK_USER:
      return "user";
    case v1::LINK_CLIENT:
      return "client";
    case v1::LINK_AGENT:
      return "agent";
    case v1::LINK_SERVICE:
      return "service";
    case v1::LINK_TOOL:
      return "tool";
    case v1::LINK_RULE:
      return "rule";
    default:
      return "unspecified";
  }
}

std::string TokenName(v1::Link link) {
  if (link == v1::LINK_CLIENT) return "the access token";
  return absl::StrCat("the ", LinkName(link), "'s token");
}

absl::string_view ReasonCodeName(v1::Reason::Code code) {
  return v1::Reason::Code_Name(code);
}

v1::AuthStrength StrengthFromAmr(const std::vector<std::string>& amr) {
  v1::AuthStrength strength = v1::AUTH_STRENGTH_PASSWORD;
  for (const std::string& method : amr) {
    v1::AuthStrength s = v1::AUTH_STRENGTH_PASSWORD;
    if (method == "otp" || method == "sms" || method == "mfa") {
      s = v1::AUTH_STRENGTH_MFA;
    } else if (method == "hwk" || method == "swk") {
      s = v1::AUTH_STRENGTH_PHISHING_RESISTANT;
    }
    strength = std::max(strength, s);
  }
  return strength;
}

}  // namespace pdp
