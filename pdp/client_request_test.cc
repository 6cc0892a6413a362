#include "pdp/client_request.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pdp/testing/compile.h"
#include "pdp/testing/status_matchers.h"

namespace pdp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The RFC 7636 appendix B challenge: S256 of its example verifier.
constexpr char kChallenge[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
constexpr char kCallback[] = "https://app.example/cb";
constexpr char kLoopback[] = "http://127.0.0.1:33418/callback";

constexpr char kPolicy[] = R"(
scopes: [contacts:read, contacts:write, deals:read, hr:read]
tools:
  - id: crm.search
    scopes: [contacts:read]
clients:
  - id: app
    scopes: [deals:read, contacts:read]
    redirect_uris:
      - "https://app.example/cb"
      - "http://127.0.0.1:33418/callback"
      - "com.example.app:/oauth2redirect"
  - id: no-uris
    scopes: [contacts:read]
  - id: no-scopes
    redirect_uris: ["https://app.example/cb"]
)";

class ClientRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(snapshot_, testgen::CompileYaml(kPolicy));
  }

  // A request the policy allows; tests change one field.
  static ClientRequest Good() {
    ClientRequest request;
    request.client_id = "app";
    request.redirect_uri = kCallback;
    request.scopes = {"contacts:read"};
    request.code_challenge = kChallenge;
    request.code_challenge_method = "S256";
    return request;
  }

  ClientRequestDecision Decide(const ClientRequest& request) const {
    return CheckClientRequest(*snapshot_, request);
  }

  static std::vector<v1::Reason::Code> Codes(const ClientRequestDecision& d) {
    std::vector<v1::Reason::Code> codes;
    for (const Reason& reason : d.reasons) {
      EXPECT_EQ(reason.link, v1::LINK_CLIENT);
      EXPECT_FALSE(reason.message.empty());
      codes.push_back(reason.code);
    }
    return codes;
  }

  // Asserts that `uri` is refused as a mismatch, and only for that.
  void ExpectRedirectRefused(const std::string& uri) const {
    ClientRequest request = Good();
    request.redirect_uri = uri;
    ClientRequestDecision d = Decide(request);
    EXPECT_FALSE(d.allowed) << uri;
    EXPECT_THAT(Codes(d), ElementsAre(v1::Reason::REDIRECT_URI_MISMATCH))
        << uri;
    EXPECT_EQ(d.oauth_error, "invalid_request") << uri;
    EXPECT_THAT(d.granted_scopes, IsEmpty()) << uri;
  }

  std::shared_ptr<const Snapshot> snapshot_;
};

TEST_F(ClientRequestTest, AllowsAGoodRequest) {
  ClientRequestDecision d = Decide(Good());
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.reasons, IsEmpty());
  EXPECT_THAT(d.granted_scopes, ElementsAre("contacts:read"));
  EXPECT_EQ(d.oauth_error, "");
}

TEST_F(ClientRequestTest, EveryRegisteredUriMatchesItself) {
  for (const char* uri :
       {kCallback, kLoopback, "com.example.app:/oauth2redirect"}) {
    ClientRequest request = Good();
    request.redirect_uri = uri;
    EXPECT_TRUE(Decide(request).allowed) << uri;
  }
}

TEST_F(ClientRequestTest, GrantsRequestedScopesSortedAndDeduplicated) {
  ClientRequest request = Good();
  request.scopes = {"deals:read", "contacts:read", "deals:read"};
  ClientRequestDecision d = Decide(request);
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.granted_scopes, ElementsAre("contacts:read", "deals:read"));
}

TEST_F(ClientRequestTest, NoScopesRequestedGrantsTheCeiling) {
  ClientRequest request = Good();
  request.scopes.clear();
  ClientRequestDecision d = Decide(request);
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.granted_scopes, ElementsAre("contacts:read", "deals:read"));

  request.client_id = "no-scopes";
  d = Decide(request);
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.granted_scopes, IsEmpty());
}

TEST_F(ClientRequestTest, UnregisteredClientStopsThere) {
  ClientRequest request;  // Nothing else is right either.
  request.client_id = "evil-app";
  request.redirect_uri = "https://evil.example/cb";
  request.scopes = {"hr:read"};
  ClientRequestDecision d = Decide(request);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(Codes(d), ElementsAre(v1::Reason::CLIENT_NOT_REGISTERED));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("\"evil-app\""));
  EXPECT_EQ(d.oauth_error, "unauthorized_client");
  EXPECT_THAT(d.granted_scopes, IsEmpty());

  request.client_id = "";
  EXPECT_THAT(Codes(Decide(request)),
              ElementsAre(v1::Reason::CLIENT_NOT_REGISTERED));
  request.client_id = "APP";  // Ids are case-sensitive.
  EXPECT_THAT(Codes(Decide(request)),
              ElementsAre(v1::Reason::CLIENT_NOT_REGISTERED));
}

TEST_F(ClientRequestTest, MissingRedirectUriIsAMismatch) {
  ExpectRedirectRefused("");
  ClientRequest request = Good();
  request.client_id = "no-uris";
  ClientRequestDecision d = Decide(request);
  EXPECT_THAT(Codes(d), ElementsAre(v1::Reason::REDIRECT_URI_MISMATCH));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("0 redirect URI(s)"));
}

// The open-redirect attempts against "https://app.example/cb".
TEST_F(ClientRequestTest, RedirectUriPrefixesAndExtensionsAreRefused) {
  for (const char* uri : {
           "https://app.example/cb/../evil",
           "https://app.example/cb.evil.com",
           "https://app.example/cb/",
           "https://app.example/cbx",
           "https://app.example/c",
           "https://app.example",
           "https://app.example/",
           "https://app.example/cb?next=https://evil",
           "https://app.example/cb?",
           "https://app.example/cb#x",
           "https://app.example/cb#",
           "https://app.example/cb;x",
           "https://app.example/cb%00",
           "https://app.example/cb\n",
           " https://app.example/cb",
           "https://app.example/cb ",
           "https://app.example.evil.com/cb",
           "https://app.example:443/cb",
           "https://app.example./cb",
       }) {
    ExpectRedirectRefused(uri);
  }
  ExpectRedirectRefused(std::string(kCallback) + std::string(1, '\0'));
}

TEST_F(ClientRequestTest, RedirectUriUserinfoIsRefused) {
  ExpectRedirectRefused("https://app.example@evil.com/cb");
  ExpectRedirectRefused("https://app.example%40evil.com/cb");
  ExpectRedirectRefused("https://user@app.example/cb");
}

TEST_F(ClientRequestTest, RedirectUriIsNotCaseFolded) {
  ExpectRedirectRefused("https://app.example/CB");
  ExpectRedirectRefused("https://app.example/Cb");
  ExpectRedirectRefused("https://APP.example/cb");
  ExpectRedirectRefused("HTTPS://app.example/cb");
  ExpectRedirectRefused("Https://app.example/cb");
}

TEST_F(ClientRequestTest, RedirectUriIsNotPercentDecoded) {
  ExpectRedirectRefused("https://app.example/%63b");  // %63 is 'c'.
  ExpectRedirectRefused("https://app.example/c%62");  // %62 is 'b'.
  ExpectRedirectRefused("https://app.example%2Fcb");  // An encoded '/'.
  ExpectRedirectRefused("https://app.example/cb%2F");
  ExpectRedirectRefused("https://app.example/cb%2F..%2Fevil");
  ExpectRedirectRefused("https://app.example/cb%23x");    // An encoded '#'.
  ExpectRedirectRefused("https://app.example/cb%3Fx=1");  // An encoded '?'.
  ExpectRedirectRefused("https%3A%2F%2Fapp.example%2Fcb");
}

TEST_F(ClientRequestTest, LoopbackRedirectUriIsExactToo) {
  ExpectRedirectRefused("http://127.0.0.1:33419/callback");  // Another port.
  ExpectRedirectRefused("http://127.0.0.1/callback");        // No port.
  ExpectRedirectRefused("http://localhost:33418/callback");  // Not registered.
  ExpectRedirectRefused("http://[::1]:33418/callback");
  ExpectRedirectRefused("https://127.0.0.1:33418/callback");
  ExpectRedirectRefused("http://127.0.0.1:33418/callback/");
}

TEST_F(ClientRequestTest, PrivateSchemeRedirectUriIsExact) {
  ExpectRedirectRefused("com.example.app:/oauth2redirect/x");
  ExpectRedirectRefused("com.example.app://oauth2redirect");
  ExpectRedirectRefused("COM.example.app:/oauth2redirect");
  ExpectRedirectRefused("com.example.evil:/oauth2redirect");
}

TEST_F(ClientRequestTest, PkceS256IsRequired) {
  struct Case {
    const char* challenge;
    const char* method;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{
           {"", "S256", "no code_challenge"},
           {"", "", "no code_challenge"},
           {kChallenge, "", "code_challenge_method is missing"},
           {kChallenge, "plain", "code_challenge_method is \"plain\""},
           {kChallenge, "s256", "code_challenge_method is \"s256\""},
           {kChallenge, "S256 ", "code_challenge_method is \"S256 \""},
           {kChallenge, "SHA256", "code_challenge_method is \"SHA256\""},
           // Not 43 base64url characters.
           {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c", "S256", "42 bytes"},
           {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=", "S256", "44 bytes"},
           {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", "S256", "43 bytes"},
           {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw/cM", "S256", "43 bytes"},
           {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw cM", "S256", "43 bytes"},
           {"a-plain-verifier-that-is-long-enough-to-pass-length-checks",
            "S256", "not an S256 challenge"},
       }) {
    ClientRequest request = Good();
    request.code_challenge = c.challenge;
    request.code_challenge_method = c.method;
    ClientRequestDecision d = Decide(request);
    const std::string where = std::string("challenge \"") + c.challenge +
                              "\" method \"" + c.method + "\"";
    EXPECT_FALSE(d.allowed) << where;
    ASSERT_THAT(Codes(d), ElementsAre(v1::Reason::PKCE_REQUIRED)) << where;
    EXPECT_THAT(d.reasons[0].message, HasSubstr(c.why)) << where;
    EXPECT_EQ(d.oauth_error, "invalid_request") << where;
  }
}

TEST_F(ClientRequestTest, ScopesBeyondTheCeilingAreRefused) {
  ClientRequest request = Good();
  // contacts:write and hr:read exist but are not app's; "admin" is unknown;
  // "" and a space-joined list are not scopes.
  request.scopes = {"contacts:read", "hr:read", "admin", "contacts:write"};
  request.scopes.push_back("hr:read");
  request.scopes.push_back("");
  request.scopes.push_back("contacts:read deals:read");
  ClientRequestDecision d = Decide(request);
  EXPECT_FALSE(d.allowed);
  ASSERT_THAT(Codes(d), ElementsAre(v1::Reason::SCOPE_NOT_ALLOWED));
  EXPECT_THAT(d.reasons[0].missing_scopes,
              ElementsAre("", "admin", "contacts:read deals:read",
                          "contacts:write", "hr:read"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("\"admin\""));
  EXPECT_EQ(d.oauth_error, "invalid_scope");
  EXPECT_THAT(d.granted_scopes, IsEmpty());

  request.client_id = "no-scopes";
  request.scopes = {"contacts:read"};
  d = Decide(request);
  ASSERT_THAT(Codes(d), ElementsAre(v1::Reason::SCOPE_NOT_ALLOWED));
  EXPECT_THAT(d.reasons[0].missing_scopes, ElementsAre("contacts:read"));
}

TEST_F(ClientRequestTest, EveryFailureIsReportedAndTheRedirectErrorComesFirst) {
  ClientRequest request = Good();
  request.redirect_uri = "https://evil.example/cb";
  request.code_challenge_method = "plain";
  request.scopes = {"hr:read"};
  ClientRequestDecision d = Decide(request);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(Codes(d), ElementsAre(v1::Reason::REDIRECT_URI_MISMATCH,
                                    v1::Reason::PKCE_REQUIRED,
                                    v1::Reason::SCOPE_NOT_ALLOWED));
  EXPECT_EQ(d.oauth_error, "invalid_request");

  // With a good redirect URI, scope after PKCE: still invalid_request.
  request.redirect_uri = kCallback;
  d = Decide(request);
  EXPECT_THAT(Codes(d), ElementsAre(v1::Reason::PKCE_REQUIRED,
                                    v1::Reason::SCOPE_NOT_ALLOWED));
  EXPECT_EQ(d.oauth_error, "invalid_request");

  // Only the scope left.
  request.code_challenge_method = "S256";
  d = Decide(request);
  EXPECT_THAT(Codes(d), ElementsAre(v1::Reason::SCOPE_NOT_ALLOWED));
  EXPECT_EQ(d.oauth_error, "invalid_scope");
}

TEST_F(ClientRequestTest, LongValuesAreShortenedInMessages) {
  ClientRequest request = Good();
  request.redirect_uri = std::string(kCallback) + std::string(10000, 'a');
  request.client_id = "app";
  ClientRequestDecision d = Decide(request);
  ASSERT_THAT(Codes(d), ElementsAre(v1::Reason::REDIRECT_URI_MISMATCH));
  EXPECT_LT(d.reasons[0].message.size(), 400u);
  EXPECT_THAT(d.reasons[0].message, HasSubstr("(10022 bytes)"));

  request = Good();
  request.client_id = std::string("evil\n\x01", 6);
  d = Decide(request);
  EXPECT_THAT(d.reasons[0].message, HasSubstr("\"evil\\n\\x01\""));
}

}  // namespace
}  // namespace pdp
