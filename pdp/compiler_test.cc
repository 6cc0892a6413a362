#include "pdp/compiler.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pdp {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// A fresh policy directory under TEST_TMPDIR, filled from {name: content}.
std::string WritePolicy(const std::map<std::string, std::string>& files) {
  static int counter = 0;
  const char* tmp = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(tmp != nullptr ? tmp : "/tmp") /
                 ("policy" + std::to_string(counter++));
  fs::remove_all(dir);
  for (const auto& [name, content] : files) {
    fs::create_directories((dir / name).parent_path());
    std::ofstream(dir / name) << content;
  }
  return dir.string();
}

// The compiler's errors, one "file:line: message" each.
std::vector<std::string> Errors(const std::map<std::string, std::string>& files) {
  std::string dir = WritePolicy(files);
  auto snapshot = Compiler::CompileDirectory(dir);
  if (snapshot.ok()) return {};
  EXPECT_EQ(snapshot.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> errors;
  for (absl::string_view line : absl::StrSplit(snapshot.status().message(), '\n')) {
    // Files are named as the caller can open them: under `dir`.
    EXPECT_TRUE(absl::ConsumePrefix(&line, dir + "/")) << line;
    errors.emplace_back(line);
  }
  return errors;
}

constexpr char kTools[] = R"(tools:
  - id: crm.search_contacts
    scopes: [contacts:read]
    data: [pii]
  - id: crm.export_contacts
    scopes: [contacts:read, contacts:export]
    data: [pii]
  - id: hr.get_salary
    data: [salary]
)";

TEST(CompilerTest, CompilesAValidPolicy) {
  auto snapshot = Compiler::CompileDirectory(WritePolicy({
      {"tools.yaml", kTools},
      {"roles.yaml", R"(roles:
  - id: sales
    tools: ["crm.*"]
    data: [pii]
  - id: executive
    inherits: [sales]
    tools: [hr.get_salary]
    data: [salary]
users:
  - id: alice
    roles: [executive]
)"},
  }));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const Snapshot& s = **snapshot;
  EXPECT_EQ(s.tools().size(), 3);
  // Sorted by id, so each server is a contiguous range.
  EXPECT_EQ(s.tools()[0].id, "crm.export_contacts");
  ASSERT_NE(s.FindServer("crm"), nullptr);
  EXPECT_EQ(s.FindServer("crm")->end - s.FindServer("crm")->begin, 2);
  EXPECT_EQ(s.FindServer("nope"), nullptr);
  // Inheritance is flattened: executive has sales' tools and data.
  const Snapshot::Role& exec = s.roles()[s.FindRole("executive")];
  EXPECT_EQ(exec.tools.Count(), 3);
  EXPECT_THAT(s.DataClassNames(exec.data), ElementsAre("pii", "salary"));
  const Snapshot::User& alice = s.users()[s.FindUser("alice")];
  EXPECT_TRUE(alice.tools.Test(s.FindTool("hr.get_salary")));
  EXPECT_TRUE(alice.role_closure.Test(s.FindRole("sales")));
  // Defaults.
  const Snapshot::Tool& tool = s.tools()[s.FindTool("hr.get_salary")];
  EXPECT_EQ(tool.risk, v1::RISK_MEDIUM);
  EXPECT_EQ(tool.autonomy, v1::AUTONOMY_ALLOWED);
  EXPECT_EQ(tool.auth, v1::AUTH_STRENGTH_PASSWORD);
  EXPECT_EQ(tool.min_client_trust, v1::CLIENT_TRUST_UNTRUSTED);
  EXPECT_EQ(s.version().substr(0, 4), "dev-");
}

TEST(CompilerTest, VersionIsStableAndFollowsContent) {
  std::map<std::string, std::string> files = {{"tools.yaml", kTools}};
  auto a = Compiler::CompileDirectory(WritePolicy(files));
  auto b = Compiler::CompileDirectory(WritePolicy(files));
  files["more.yaml"] = "tools:\n  - id: x.y\n";
  auto c = Compiler::CompileDirectory(WritePolicy(files));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)->version(), (*b)->version());
  EXPECT_NE((*a)->version(), (*c)->version());
}

TEST(CompilerTest, MissingDirectoryIsNotFound) {
  auto snapshot = Compiler::CompileDirectory("/nonexistent/policy");
  EXPECT_EQ(snapshot.status().code(), absl::StatusCode::kNotFound);
}

TEST(CompilerTest, SkipsPolicyTestsAndHiddenFiles) {
  auto snapshot = Compiler::CompileDirectory(WritePolicy({
      {"tools.yaml", kTools},
      {"cases_test.yaml", "this is not: [a policy"},
      {".hidden/x.yaml", "garbage: ["},
      {"notes.txt", "ignored"},
      {"sub/more.yml", "tools:\n  - id: calendar.create_event\n"},
  }));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_GE((*snapshot)->FindTool("calendar.create_event"), 0);
}

TEST(CompilerTest, MalformedYaml) {
  EXPECT_THAT(Errors({{"bad.yaml", "tools:\n  - id: a.b\n    scopes: [x\n"}}),
              ElementsAre(HasSubstr("bad.yaml:4: malformed YAML")));
}

TEST(CompilerTest, MalformedYamlSaysWhatWasExpected) {
  EXPECT_THAT(
      Errors({{"bad.yaml", "tools:\n  - id: a.b\n    scopes: [x\n"}}),
      ElementsAre(HasSubstr("expected \",\" and the next item, or \"]\" "
                            "closing the [...] list")));
  EXPECT_THAT(Errors({{"bad.yaml", "tools:\n  - id: a.b\n   x: y\n"}}),
              ElementsAre(HasSubstr("expected the next")));
}

// An unreadable file's error comes first: the errors of files read after it
// (here an unknown role that it may have defined) follow from it.
TEST(CompilerTest, ErrorsThatFollowFromAnUnreadableFileComeAfterIt) {
  EXPECT_THAT(Errors({{"a_users.yaml", "users:\n  - id: u\n    roles: [sales]\n"},
                      {"b_roles.yaml", "roles:\n  - id: sales\n    tools: [x\n"},
                      {"c_tools.yaml", "tools:\n  - id: a.b\n"}}),
              ElementsAre(StartsWith("b_roles.yaml:4: malformed YAML"),
                          StartsWith("a_users.yaml:3: ")));
}

// Warnings, in reading order, with the line of what they are about.
std::vector<std::string> Warnings(const std::map<std::string, std::string>& files) {
  const std::string dir = WritePolicy(files);
  absl::StatusOr<Compilation> compiled = Compiler::CompileDirectoryWithIssues(dir);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  if (!compiled.ok()) return {};
  EXPECT_NE(compiled->snapshot, nullptr) << compiled->status();
  std::vector<std::string> warnings;
  for (const Diagnostic& d : compiled->warnings()) {
    std::string line = d.ToString();
    absl::string_view view = line;
    absl::ConsumePrefix(&view, dir + "/");
    warnings.emplace_back(view);
  }
  return warnings;
}

TEST(CompilerTest, WarnsAboutWhatCompilesButIsProbablyNotMeant) {
  EXPECT_THAT(
      Warnings({{"registry.yaml", R"(scopes:
  - {id: contacts:read}
  - {id: contacts:export}
  - {id: billing:charge}
data_classes:
  - {id: pii}
  - {id: salary}
  - {id: health}
)"},
                {"tools.yaml", kTools},
                {"roles.yaml", R"(roles:
  - id: sales
    tools: ["crm.search_*", "crm.*"]
  - id: empty
  - id: salary-reader
    data: [salary]
  - id: contractor
deny:
  - id: no-contractors      # "hr.*" is the whole server: no warning.
    when: {roles: [contractor], tools: ["hr.*"]}
)"}}),
      ElementsAre(
          "registry.yaml:4: warning: scope \"billing:charge\" is declared but "
          "no tool requires it",
          "registry.yaml:8: warning: data class \"health\" is declared but no "
          "tool returns it",
          "roles.yaml:3: warning: role \"sales\": the glob \"crm.search_*\" in "
          "\"tools\" matches only \"crm.search_contacts\"; name the tool, "
          "unless the glob is meant for tools still to come",
          "roles.yaml:4: warning: role \"empty\" grants no tool and no data "
          "class, and no deny rule names it"));
}

TEST(CompilerTest, WarnsAboutAnEmptyPolicy) {
  const std::string dir = WritePolicy({{"notes.txt", "no policy here"}});
  absl::StatusOr<Compilation> compiled = Compiler::CompileDirectoryWithIssues(dir);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  ASSERT_NE(compiled->snapshot, nullptr);
  ASSERT_EQ(compiled->issues.size(), 1u);
  EXPECT_EQ(compiled->issues[0].severity, Severity::kWarning);
  EXPECT_EQ(compiled->issues[0].ToString(),
            "warning: the policy in \"" + dir +
                "\" is empty (no *.yaml or *.yml policy files?); it denies "
                "everything");
  EXPECT_THAT(Compiler::CompileWithIssues(v1::Bundle()).warnings(),
              ElementsAre(::testing::Field(
                  &Diagnostic::message,
                  "the bundle is empty; it denies everything")));
}

TEST(CompilerTest, AnErrorComesWithoutWarnings) {
  const std::string dir = WritePolicy({{"t.yaml", R"(tools:
  - id: a.b
roles:
  - id: r
    tools: ["a.b*", nope]
)"}});
  absl::StatusOr<Compilation> compiled = Compiler::CompileDirectoryWithIssues(dir);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_EQ(compiled->snapshot, nullptr);
  // The error alone: the glob's warning is dropped, it may follow from it.
  ASSERT_EQ(compiled->issues.size(), 1u);
  EXPECT_EQ(compiled->issues[0].severity, Severity::kError);
  EXPECT_EQ(compiled->issues[0].line, 5);
  // status() carries the errors alone, as Compile() always has.
  EXPECT_EQ(compiled->status().message(),
            dir + "/t.yaml:5: role \"r\": \"nope\" in \"tools\" matches no tool");
  EXPECT_EQ(Compiler::CompileDirectory(dir).status(), compiled->status());
}

TEST(CompilerTest, UnknownKey) {
  EXPECT_THAT(
      Errors({{"t.yaml", "tools:\n  - id: a.b\n    scope: [x]\n"}}),
      ElementsAre(
          "t.yaml:3: unknown key \"scope\" in tools; expected one of: id, "
          "scopes, data, risk, autonomy, auth, min_client_trust, description"));
  EXPECT_THAT(Errors({{"t.yaml", "tool:\n  - id: a.b\n"}}),
              ElementsAre(HasSubstr("t.yaml:1: unknown key \"tool\" in the policy file")));
  EXPECT_THAT(Errors({{"t.yaml", std::string(kTools) +
                                     "deny:\n  - id: r\n    when: {tool: [\"crm.*\"]}\n"}}),
              ElementsAre(HasSubstr("t.yaml:12: unknown key \"tool\" in when"),
                          HasSubstr("t.yaml:12: deny rule \"r\" has no condition")));
}

TEST(CompilerTest, DuplicateIdNamesBothPlaces) {
  EXPECT_THAT(
      Errors({{"a.yaml", "roles:\n  - id: sales\n"},
              {"b.yaml", "roles:\n  - id: ops\n  - id: sales\n"}}),
      ElementsAre("b.yaml:3: duplicate role id \"sales\" (first defined at "
                  "a.yaml:2)"));
}

TEST(CompilerTest, DuplicateKey) {
  EXPECT_THAT(Errors({{"t.yaml", "tools:\n  - id: a.b\n    risk: low\n    risk: high\n"}}),
              ElementsAre("t.yaml:4: duplicate key \"risk\" in tools"));
}

TEST(CompilerTest, UnknownRoleInInherits) {
  EXPECT_THAT(Errors({{"t.yaml", kTools},
                      {"r.yaml", "roles:\n  - id: exec\n    inherits:\n      - sales\n      - boss\n"}}),
              ElementsAre("r.yaml:4: role \"exec\": unknown role \"sales\" in \"inherits\"",
                          "r.yaml:5: role \"exec\": unknown role \"boss\" in \"inherits\""));
}

TEST(CompilerTest, InheritanceCycle) {
  EXPECT_THAT(Errors({{"r.yaml", R"(roles:
  - id: a
    inherits: [b]
  - id: b
    inherits: [c]
  - id: c
    inherits: [a]
  - id: self
    inherits: [self]
)"}}),
              ElementsAre("r.yaml:7: inheritance cycle: a -> b -> c -> a",
                          "r.yaml:9: inheritance cycle: self -> self"));
}

TEST(CompilerTest, UnknownRoleInUser) {
  EXPECT_THAT(Errors({{"u.yaml", "roles:\n  - id: sales\nusers:\n  - id: bob\n    roles: [sales, salse]\n"}}),
              ElementsAre("u.yaml:5: user \"bob\": unknown role \"salse\""));
}

TEST(CompilerTest, GlobMatchingNoTool) {
  EXPECT_THAT(Errors({{"t.yaml", kTools},
                      {"a.yaml", R"(agents:
  - id: helper
    tools:
      - "crm.*"
      - "calendar.*"
      - crm.serch_contacts
)"}}),
              ElementsAre("a.yaml:5: agent \"helper\": \"calendar.*\" in \"tools\" matches no tool",
                          "a.yaml:6: agent \"helper\": \"crm.serch_contacts\" in \"tools\" matches no tool"));
}

TEST(CompilerTest, BadEnumValue) {
  EXPECT_THAT(
      Errors({{"t.yaml", "tools:\n  - id: a.b\n    risk: extreme\n    auth: sms\n"}}),
      ElementsAre("t.yaml:3: \"extreme\" is not a valid risk; expected one of: "
                  "low, medium, high, critical",
                  "t.yaml:4: \"sms\" is not a valid auth; expected one of: "
                  "password, mfa, phishing_resistant"));
  EXPECT_THAT(Errors({{"c.yaml", "clients:\n  - id: c\n    trust: total\n"}}),
              ElementsAre(HasSubstr("c.yaml:3: \"total\" is not a valid trust")));
}

TEST(CompilerTest, WrongShapes) {
  EXPECT_THAT(Errors({{"t.yaml", "tools:\n  - id: a.b\n    scopes: x\n"}}),
              ElementsAre("t.yaml:3: \"scopes\" must be a list"));
  EXPECT_THAT(Errors({{"t.yaml", "tools: {id: a.b}\n"}}),
              ElementsAre("t.yaml:1: \"tools\" must be a list"));
  EXPECT_THAT(Errors({{"t.yaml", "- a\n- b\n"}}),
              ElementsAre(HasSubstr("t.yaml:1: a policy file must be a mapping")));
  EXPECT_THAT(Errors({{"a.yaml", "agents:\n  - id: x\n    autonomous: yes please\n"}}),
              ElementsAre("a.yaml:3: \"autonomous\" must be true or false"));
  EXPECT_THAT(Errors({{"t.yaml", "tools:\n  - scopes: [x]\n"}}),
              ElementsAre("t.yaml:2: an element of \"tools\" has no \"id\""));
  EXPECT_THAT(Errors({{"t.yaml", "tools:\n  - id: nodot\n"}}),
              ElementsAre(HasSubstr("t.yaml:2: tool id \"nodot\" must be \"<server>.<tool>\"")));
}

TEST(CompilerTest, EmptyDenyRuleIsAnError) {
  EXPECT_THAT(Errors({{"d.yaml", std::string(kTools) + R"(deny:
  - id: oops
    when: {}
  - id: nothing
  - id: null-when
    when:
)"}}),
              ElementsAre(HasSubstr("d.yaml:12: deny rule \"oops\" has no condition"),
                          HasSubstr("d.yaml:13: deny rule \"nothing\" has no condition"),
                          HasSubstr("d.yaml:14: deny rule \"null-when\" has no condition")));
}

TEST(CompilerTest, DenyRuleReferences) {
  EXPECT_THAT(Errors({{"t.yaml", kTools}, {"d.yaml", R"(roles:
  - id: sales
deny:
  - id: r1
    when:
      roles: [sales, ghost]
      agents: [nobody]
      servers: ["crm", "finance*"]
      tools: ["hr.*"]
      clients: [c1]
      services: [s1]
)"}}),
              ElementsAre("d.yaml:6: deny rule \"r1\": unknown role \"ghost\" in \"roles\"",
                          "d.yaml:7: deny rule \"r1\": unknown agent \"nobody\" in \"agents\"",
                          "d.yaml:8: deny rule \"r1\": \"finance*\" in \"servers\" matches no server",
                          "d.yaml:10: deny rule \"r1\": unknown client \"c1\" in \"clients\"",
                          "d.yaml:11: deny rule \"r1\": unknown service \"s1\" in \"services\""));
}

TEST(CompilerTest, RegistriesCatchUndeclaredScopesAndData) {
  EXPECT_THAT(Errors({{"t.yaml", kTools},
                      {"reg.yaml", R"(scopes:
  - contacts:read
  - id: contacts:export
    description: bulk export
data_classes: [pii]
)"}}),
              ElementsAre("t.yaml:9: unknown data class \"salary\": it is not declared in \"data_classes\""));
  EXPECT_THAT(Errors({{"t.yaml", kTools}, {"reg.yaml", "scopes: [contacts:read]\n"}}),
              ElementsAre("t.yaml:6: unknown scope \"contacts:export\": it is not declared in \"scopes\""));
  // Without registries, any scope or data class is fine.
  EXPECT_THAT(Errors({{"t.yaml", kTools}}), IsEmpty());
}

TEST(CompilerTest, ReportsEveryErrorAcrossFilesAtOnce) {
  std::vector<std::string> errors = Errors({
      {"a.yaml", "tools:\n  - id: a.b\n    risk: huge\n"},
      {"b.yaml", "roles:\n  - id: r\n    inherits: [missing]\n    tools: [\"z.*\"]\n"},
      {"c.yaml", "users: [\n"},
  });
  // Every error at once; the unreadable c.yaml first, since the others (the
  // unknown role) may follow from it.
  EXPECT_THAT(errors, ElementsAre(HasSubstr("c.yaml:"), HasSubstr("a.yaml:3:"),
                                  HasSubstr("b.yaml:3:"), HasSubstr("b.yaml:4:")));
}

TEST(CompilerTest, TooManyDataClasses) {
  std::string tools = "tools:\n";
  for (int i = 0; i < 65; ++i) {
    tools += "  - id: s.t" + std::to_string(i) + "\n    data: [d" + std::to_string(i) + "]\n";
  }
  EXPECT_THAT(Errors({{"t.yaml", tools}}),
              ElementsAre("t.yaml:131: the policy uses 65 data classes; at most 64 "
                          "are supported"));
}

TEST(CompilerTest, CompileBundleDirectly) {
  v1::Bundle bundle;
  bundle.mutable_metadata()->set_version(42);
  v1::Tool* tool = bundle.add_tools();
  tool->set_id("a.b");
  v1::Role* role = bundle.add_roles();
  role->set_id("r");
  role->add_tools("a.*");
  auto snapshot = Compiler::Compile(bundle);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->version(), "42");
  role->add_inherits("r");
  role->mutable_source()->set_file("remote.yaml");
  role->mutable_source()->set_line(7);
  EXPECT_THAT(Compiler::Compile(bundle).status().message(),
              HasSubstr("remote.yaml:7: inheritance cycle: r -> r"));
}

// ------------------------------------------------- clients and servers

// A policy with kTools and one client whose redirect_uris is `uris` (YAML).
std::vector<std::string> RedirectErrors(const std::string& uris) {
  return Errors({{"tools.yaml", kTools},
                 {"clients.yaml",
                  "clients:\n  - id: app\n    redirect_uris:\n" + uris}});
}

TEST(CompilerTest, ClientRequireBoundTokens) {
  auto snapshot = Compiler::CompileDirectory(WritePolicy({
      {"clients.yaml", R"(clients:
  - id: bound
    require_bound_tokens: true
  - id: plain
  - id: explicit
    require_bound_tokens: false
)"},
  }));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const Snapshot& s = **snapshot;
  EXPECT_TRUE(s.clients()[s.FindClient("bound")].require_bound_tokens);
  EXPECT_FALSE(s.clients()[s.FindClient("plain")].require_bound_tokens);
  EXPECT_FALSE(s.clients()[s.FindClient("explicit")].require_bound_tokens);
  EXPECT_THAT(
      Errors({{"c.yaml", "clients:\n  - id: c\n    require_bound_tokens: yes\n"}}),
      ElementsAre(
          "c.yaml:3: \"require_bound_tokens\" must be true or false"));
  EXPECT_THAT(Errors({{"c.yaml", "clients:\n  - id: c\n    bound: true\n"}}),
              ElementsAre(HasSubstr("c.yaml:3: unknown key \"bound\" in clients; "
                                    "expected one of: id, trust, scopes, "
                                    "redirect_uris, require_bound_tokens, "
                                    "interactive, description")));
}

TEST(CompilerTest, ClientsAreInteractiveUnlessRegisteredOtherwise) {
  auto snapshot = Compiler::CompileDirectory(WritePolicy({
      {"clients.yaml",
       "clients:\n  - id: desk\n  - id: worker\n    interactive: false\n"
       "  - id: said\n    interactive: true\n"},
  }));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const Snapshot& s = **snapshot;
  EXPECT_TRUE(s.clients()[s.FindClient("desk")].interactive);
  EXPECT_FALSE(s.clients()[s.FindClient("worker")].interactive);
  EXPECT_TRUE(s.clients()[s.FindClient("said")].interactive);
  EXPECT_THAT(Errors({{"c.yaml", "clients:\n  - id: c\n    interactive: no\n"}}),
              ElementsAre("c.yaml:3: \"interactive\" must be true or false"));
}

TEST(CompilerTest, AcceptedRedirectUris) {
  auto snapshot = Compiler::CompileDirectory(WritePolicy({
      {"clients.yaml", R"(clients:
  - id: app
    redirect_uris:
      - "https://app.example/cb"
      - "https://app.example:8443/oauth/callback?tenant=acme"
      - "https://app.example/cb%20x"
      - "http://127.0.0.1:33418/callback"
      - "http://[::1]:33418/callback"
      - "http://localhost/callback"
      - "com.example.app:/oauth2redirect"
      - "com.example.app://callback"
)"},
  }));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const Snapshot& s = **snapshot;
  EXPECT_THAT(s.clients()[s.FindClient("app")].redirect_uris,
              ElementsAre("https://app.example/cb",
                          "https://app.example:8443/oauth/callback?tenant=acme",
                          "https://app.example/cb%20x",
                          "http://127.0.0.1:33418/callback",
                          "http://[::1]:33418/callback",
                          "http://localhost/callback",
                          "com.example.app:/oauth2redirect",
                          "com.example.app://callback"));
}

TEST(CompilerTest, RejectedRedirectUris) {
  // Each is the client's only redirect URI, on line 4.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/callback", "is not an absolute URI"},
      {"app.example/cb", "is not an absolute URI"},
      {"1app:/cb", "is not an absolute URI"},
      {"https://app.example/cb#frag", "has a fragment ('#')"},
      {"https://app.example/cb#", "has a fragment ('#')"},
      {"https://*.app.example/cb", "wildcards are not allowed"},
      {"https://app.example/*", "wildcards are not allowed"},
      {"http://app.example/cb", "uses plain http for host \"app.example\""},
      {"http://127.0.0.2/cb", "uses plain http for host \"127.0.0.2\""},
      {"http://localhost.evil.example/cb", "uses plain http"},
      {"http://[::2]/cb", "uses plain http"},
      {"https://user@app.example/cb", "has user information"},
      {"https://app.example@evil.example/cb", "has user information"},
      {"https://app.example%40evil.example/cb", "percent-encoded host"},
      {"https:/app.example/cb", "has no host"},
      {"https:///cb", "has no host"},
      {"https://app.example:80a/cb", "has a malformed port"},
      {"https://app.example:/cb", "has a malformed port"},
      {"https://[::1/cb", "unclosed '['"},
      {"https://app.example/c b", "byte 0x20 at offset 21"},
      {"https://app.example/\xc3\xa9", "byte 0xc3"},
      {"https://app.example/cb%2", "'%' not followed by two hex digits"},
      {"https://app.example/cb%zz", "'%' not followed by two hex digits"},
      {"javascript:alert(1)", "\"javascript\" scheme"},
      {"data:text/html,x", "\"data\" scheme"},
  };
  for (const auto& [uri, problem] : cases) {
    EXPECT_THAT(RedirectErrors("      - \"" + uri + "\"\n"),
                ElementsAre(AllOf(StartsWith("clients.yaml:4: client \"app\": "
                                             "redirect URI \"" + uri + "\" "),
                                  HasSubstr(problem))))
        << uri;
  }
  // A backslash, which browsers read as '/' in http(s) URIs.
  EXPECT_THAT(RedirectErrors("      - 'https://app.example\\@evil.example/cb'\n"),
              ElementsAre(HasSubstr("(byte 0x5c at offset 19)")));
  EXPECT_THAT(RedirectErrors("      - \"\"\n"),
              ElementsAre("clients.yaml:4: client \"app\": redirect URI \"\" "
                          "is empty"));
}

TEST(CompilerTest, DuplicateRedirectUriInAClient) {
  EXPECT_THAT(RedirectErrors("      - https://app.example/cb\n"
                             "      - https://app.example/other\n"
                             "      - https://app.example/cb\n"),
              ElementsAre("clients.yaml:6: client \"app\": duplicate redirect "
                          "URI \"https://app.example/cb\""));
  // Two clients may register the same URI.
  EXPECT_THAT(Errors({{"clients.yaml", R"(clients:
  - id: a
    redirect_uris: ["https://app.example/cb"]
  - id: b
    redirect_uris: ["https://app.example/cb"]
)"}}),
              IsEmpty());
}

TEST(CompilerTest, ServersDeclareAudiences) {
  auto snapshot = Compiler::CompileDirectory(WritePolicy({
      {"tools.yaml", kTools},
      {"servers.yaml", R"(servers:
  - id: crm
    description: The CRM
    audiences: ["https://crm.mcp.example", "https://crm-eu.mcp.example"]
)"},
  }));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const Snapshot& s = **snapshot;
  ASSERT_NE(s.FindServer("crm"), nullptr);
  EXPECT_THAT(s.FindServer("crm")->audiences,
              ElementsAre("https://crm.mcp.example", "https://crm-eu.mcp.example"));
  // Undeclared: its id.
  ASSERT_NE(s.FindServer("hr"), nullptr);
  EXPECT_THAT(s.FindServer("hr")->audiences, ElementsAre("hr"));
  EXPECT_EQ(s.bundle().servers_size(), 1);
}

TEST(CompilerTest, ServerDeclaredWithoutAudiencesAcceptsItsId) {
  auto snapshot = Compiler::CompileDirectory(WritePolicy({
      {"tools.yaml", kTools},
      {"servers.yaml", "servers:\n  - id: crm\n    description: The CRM\n"},
  }));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_THAT((*snapshot)->FindServer("crm")->audiences, ElementsAre("crm"));
}

TEST(CompilerTest, ServerErrors) {
  EXPECT_THAT(Errors({{"tools.yaml", kTools},
                      {"servers.yaml", R"(servers:
  - id: crm
    audiences: ["https://crm.example"]
  - id: billing
    audiences: ["https://billing.example"]
  - id: crm
    audiences: ["https://crm2.example"]
  - id: hr
    audiences:
      - "https://hr.example"
      - ""
      - "https://crm.example"
      - "https://hr.example"
  - audiences: [x]
  - id: crm
    colour: blue
)"}}),
              ElementsAre(
                  "servers.yaml:4: server \"billing\" has no tools: no tool "
                  "id starts with \"billing.\"",
                  "servers.yaml:6: duplicate server id \"crm\" (first defined "
                  "at servers.yaml:2)",
                  "servers.yaml:11: server \"hr\": an audience is empty",
                  "servers.yaml:12: server \"hr\": audience "
                  "\"https://crm.example\" is also declared by server \"crm\" "
                  "(servers.yaml:3); a token for it would be good for both",
                  "servers.yaml:13: server \"hr\": duplicate audience "
                  "\"https://hr.example\"",
                  "servers.yaml:14: an element of \"servers\" has no \"id\"",
                  "servers.yaml:15: duplicate server id \"crm\" (first defined "
                  "at servers.yaml:2)",
                  "servers.yaml:16: unknown key \"colour\" in servers; expected "
                  "one of: id, audiences, description"));
}

TEST(CompilerTest, AudienceThatIsAnUndeclaredServersId) {
  EXPECT_THAT(Errors({{"tools.yaml", kTools},
                      {"servers.yaml",
                       "servers:\n  - id: crm\n    audiences: [hr]\n"}}),
              ElementsAre(HasSubstr(
                  "servers.yaml:3: server \"crm\": audience \"hr\" is the id "
                  "of server \"hr\", which declares no audiences")));
}

}  // namespace
}  // namespace pdp
