#include "tools/pdpctl/policy_tests.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/pdpctl/commands.h"
#include "tools/pdpctl/pdpctl_testing.h"
#include "tools/pdpctl/policy_test_reader.h"

namespace pdpctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Runfiles paths, relative to the workspace root.
constexpr char kAcme[] = "examples/policies/acme";
constexpr char kBroken[] = "tools/pdpctl/testdata/policy_tests_broken";
constexpr char kMalformed[] = "tools/pdpctl/testdata/policy_tests_malformed";
constexpr char kBadPolicy[] = "tools/pdpctl/testdata/broken";

using Result = PdpctlResult;

std::string TmpPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// A minimal XML well-formedness check: balanced, properly nested elements,
// quoted attributes, and no raw '<' or stray '&' in text or attribute
// values. Returns "" or the first problem.
std::string XmlProblem(const std::string& xml) {
  std::vector<std::string> open;
  size_t i = 0;
  auto check_text = [&](const std::string& text) -> std::string {
    for (size_t at = text.find('&'); at != std::string::npos;
         at = text.find('&', at + 1)) {
      const size_t semi = text.find(';', at);
      if (semi == std::string::npos) return "a stray &";
      const std::string entity = text.substr(at, semi - at + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" &&
          entity != "&quot;" && entity != "&apos;" &&
          !absl::StartsWith(entity, "&#")) {
        return "an unknown entity " + entity;
      }
    }
    if (text.find('<') != std::string::npos) return "a raw <";
    return "";
  };
  if (!absl::StartsWith(xml, "<?xml ")) return "no XML declaration";
  i = xml.find("?>") + 2;
  bool root_seen = false;
  while (i < xml.size()) {
    const size_t lt = xml.find('<', i);
    const std::string text =
        xml.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    if (std::string p = check_text(text); !p.empty()) return p;
    if (open.empty() && text.find_first_not_of(" \n") != std::string::npos) {
      return "text outside the root element";
    }
    if (lt == std::string::npos) break;
    const size_t gt = xml.find('>', lt);
    if (gt == std::string::npos) return "an unterminated tag";
    std::string tag = xml.substr(lt + 1, gt - lt - 1);
    i = gt + 1;
    if (absl::StartsWith(tag, "/")) {
      if (open.empty() || open.back() != tag.substr(1)) {
        return "a mismatched end tag </" + tag.substr(1) + ">";
      }
      open.pop_back();
      continue;
    }
    const bool empty = absl::EndsWith(tag, "/");
    if (empty) tag.pop_back();
    const std::string name = tag.substr(0, tag.find(' '));
    // Attributes: name="value" pairs, values checked like text (no '<', no
    // raw quote: a '"' would end the value early and break the pairing).
    std::string rest =
        tag.find(' ') == std::string::npos ? "" : tag.substr(tag.find(' '));
    while (!rest.empty()) {
      const size_t start = rest.find_first_not_of(' ');
      if (start == std::string::npos) break;
      const size_t eq = rest.find("=\"", start);
      if (eq == std::string::npos) return "an unquoted attribute in <" + name;
      const size_t close = rest.find('"', eq + 2);
      if (close == std::string::npos) return "an unterminated attribute";
      if (std::string p = check_text(rest.substr(eq + 2, close - eq - 2));
          !p.empty()) {
        return p;
      }
      rest = rest.substr(close + 1);
      if (!rest.empty() && rest[0] != ' ') return "attributes run together";
    }
    if (open.empty() && root_seen) return "a second root element";
    root_seen = true;
    if (!empty) open.push_back(name);
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  return root_seen ? "" : "no root element";
}

TEST(XmlProblemTest, CatchesBrokenXml) {
  EXPECT_EQ(XmlProblem("<?xml version=\"1.0\"?>\n<a><b x=\"1\"/></a>\n"), "");
  EXPECT_NE(XmlProblem("<?xml version=\"1.0\"?>\n<a><b></a>\n"), "");
  EXPECT_NE(XmlProblem("<?xml version=\"1.0\"?>\n<a x=\"<\"/>\n"), "");
  EXPECT_NE(XmlProblem("<?xml version=\"1.0\"?>\n<a>&</a>\n"), "");
  EXPECT_NE(XmlProblem("<?xml version=\"1.0\"?>\n<a x=\"\"\"/>\n"), "");
}

TEST(PolicyTestCommand, AcmeSuitePasses) {
  Result r = RunPdpctl({"test", kAcme});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  EXPECT_THAT(r.out, Not(HasSubstr("FAIL")));
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines.back(), testing::EndsWith(" passed, 0 failed"));
  // The suite is thorough: at least 30 cases.
  EXPECT_GE(std::atoi(lines.back().c_str()), 30) << lines.back();
}

TEST(PolicyTestCommand, AcmeSuiteCoversEveryEffectAndDiscovery) {
  absl::StatusOr<std::vector<std::string>> files = FindPolicyTestFiles(kAcme);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_FALSE(files->empty());
  std::set<std::string> effects, reasons;
  int discovery = 0, services = 0;
  for (const std::string& path : *files) {
    absl::StatusOr<PolicyTestFile> file = ReadPolicyTestFile(path);
    ASSERT_TRUE(file.ok()) << file.status();
    for (const PolicyCheckCase& c : file->cases) {
      effects.insert(c.expect);
      if (c.reasons) reasons.insert(c.reasons->begin(), c.reasons->end());
      if (!c.request.chain.service_id.empty()) ++services;
    }
    discovery += file->discovery.size();
  }
  EXPECT_THAT(effects,
              ElementsAre("ALLOW", "DENY", "REQUIRE_APPROVAL", "STEP_UP"));
  EXPECT_GE(reasons.size(), 8u);
  EXPECT_TRUE(reasons.count("AGENT_NOT_PERMITTED"));  // The seed case.
  EXPECT_GE(services, 3);
  EXPECT_GE(discovery, 3);
}

TEST(PolicyTestCommand, BrokenExpectationsFailWithFileLine) {
  Result r = RunPdpctl({"test", kBroken});
  EXPECT_EQ(r.code, kExitFailed) << r.out << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  const std::string a = absl::StrCat(kBroken, "/a_test.yaml");
  const std::string b = absl::StrCat(kBroken, "/nested/b_test.yml");
  EXPECT_THAT(r.out,
              HasSubstr(absl::StrCat(a,
                                     ":9: FAIL wrong effect <&> \"quoted\"\n"
                                     "  expected: ALLOW\n"
                                     "  decided:  DENY reasons "
                                     "[AGENT_NOT_PERMITTED] redact []\n")));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(
                         a,
                         ":14: FAIL wrong redact\n"
                         "  expected: ALLOW redact [salary]\n"
                         "  decided:  ALLOW reasons [] redact []\n")));
  EXPECT_THAT(r.out,
              HasSubstr(absl::StrCat(b,
                                     ":7: FAIL wrong visible list\n"
                                     "  expected visible: [crm.delete_contact, "
                                     "crm.get_contact]\n"
                                     "  decided visible:  [crm.get_contact]\n"
                                     "  missing:    [crm.delete_contact]\n")));
  // Passing cases are not printed.
  EXPECT_THAT(r.out, Not(HasSubstr("executive reads salary")));
  EXPECT_THAT(r.out, Not(HasSubstr("assistant sees crm")));
  EXPECT_TRUE(absl::EndsWith(r.out, "\n2 passed, 3 failed\n")) << r.out;
  // Files run in sorted order: a_test.yaml before nested/b_test.yml.
  EXPECT_LT(r.out.find(a), r.out.find(b));
}

TEST(PolicyTestCommand, JunitXmlIsWellFormedWithTheRightCounts) {
  const std::string path = TmpPath("broken.xml");
  Result r = RunPdpctl({"test", kBroken, "--junit", path});
  EXPECT_EQ(r.code, kExitFailed);
  const std::string xml = ReadAll(path);
  EXPECT_EQ(XmlProblem(xml), "") << xml;
  const std::string a = absl::StrCat(kBroken, "/a_test.yaml");
  const std::string b = absl::StrCat(kBroken, "/nested/b_test.yml");
  EXPECT_THAT(xml, HasSubstr("<testsuites name=\"pdpctl test\" tests=\"5\" "
                             "failures=\"3\" errors=\"0\">"));
  EXPECT_THAT(xml, HasSubstr(absl::StrCat("<testsuite name=\"", a,
                                          "\" tests=\"3\" failures=\"2\"")));
  EXPECT_THAT(xml, HasSubstr(absl::StrCat("<testsuite name=\"", b,
                                          "\" tests=\"2\" failures=\"1\"")));
  EXPECT_EQ(Count(xml, "<testsuite "), 2);
  EXPECT_EQ(Count(xml, "<testcase "), 5);
  EXPECT_EQ(Count(xml, "<failure "), 3);
  // classname is the file, name the case, escaped.
  EXPECT_THAT(xml, HasSubstr(absl::StrCat(
                       "<testcase classname=\"", a,
                       "\" name=\"wrong effect &lt;&amp;&gt; &quot;quoted&quot;"
                       "\"")));
  EXPECT_THAT(xml, HasSubstr("<failure message=\"expected: ALLOW&#10;decided:  "
                             "DENY reasons [AGENT_NOT_PERMITTED] redact []\""));
}

TEST(PolicyTestCommand, JunitXmlForAPassingSuite) {
  const std::string path = TmpPath("acme.xml");
  Result r = RunPdpctl({"test", kAcme, "--junit", path});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  const std::string xml = ReadAll(path);
  EXPECT_EQ(XmlProblem(xml), "") << xml;
  EXPECT_THAT(xml, HasSubstr("failures=\"0\""));
  EXPECT_EQ(Count(xml, "<failure"), 0);
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  const int passed = std::atoi(lines.back().c_str());
  EXPECT_EQ(Count(xml, "<testcase "), passed);
}

TEST(PolicyTestCommand, MalformedTestFilesReportFileLine) {
  const std::string junit = TmpPath("malformed.xml");
  Result r = RunPdpctl({"test", kMalformed, "--junit", junit});
  EXPECT_EQ(r.code, kExitFailed);
  const std::string bad = absl::StrCat(kMalformed, "/bad_test.yaml");
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(bad,
                                            ":5: unknown key \"expected\" "
                                            "in a case")));
  EXPECT_THAT(r.err,
              HasSubstr(absl::StrCat(bad, ":2: a case needs \"expect\"")));
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(
                         bad,
                         ":9: \"expect\" must be ALLOW, DENY, STEP_UP or "
                         "REQUIRE_APPROVAL, not \"PERMIT\"")));
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(bad, ":11: bad chain: ")));
  EXPECT_THAT(r.err,
              HasSubstr(absl::StrCat(bad, ":10: a case needs \"tool\"")));
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(
                         bad, ":13: \"NOT_A_CODE\" is not a reason code")));
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(
                         bad, ":15: a discovery case needs \"visible\"")));
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(
                         kMalformed, "/syntax_test.yaml:4: not valid YAML")));
  EXPECT_THAT(r.err, HasSubstr("no case was run"));
  // No case ran, so no summary and no JUnit file.
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_FALSE(std::ifstream(junit).good());
}

// The problems ReadPolicyTestFile reports for `path`, which must have some.
std::string ReadErrors(const std::string& path,
                       const PolicyTestFormat& format = {}) {
  absl::StatusOr<PolicyTestFile> file = ReadPolicyTestFile(path, format);
  EXPECT_FALSE(file.ok()) << path;
  return file.ok() ? "" : std::string(file.status().message());
}

TEST(PolicyTestCommand, ReaderRejectsTyposInEveryPlace) {
  const std::string path = TmpPath("typos_test.yaml");
  std::ofstream(path) << "cases:\n"
                         "  - name: x\n"
                         "    chain: {user: u, client: c, scope: [a]}\n"
                         "    tool: t\n"
                         "    expect: ALLOW\n"
                         "    step_up: mfa\n"
                         "    action: run\n"
                         "  - name: x\n"
                         "    chain: {service: s, autonomous: maybe}\n"
                         "    tool: t\n"
                         "    expect: STEP_UP\n"
                         "    step_up: retina\n"
                         "discovery:\n"
                         "  - name: d\n"
                         "    chain: {service: s}\n"
                         "    server: crm\n"
                         "    tools: [crm.a]\n"
                         "    visible: crm.a\n"
                         "extra: 1\n";
  const std::string errors = ReadErrors(path);
  EXPECT_THAT(errors, HasSubstr(path + ":3: unknown key \"scope\" in a chain"));
  EXPECT_THAT(errors, HasSubstr(path + ":6: \"step_up\" goes with expect: "
                                       "STEP_UP only"));
  EXPECT_THAT(errors, HasSubstr(path + ":7: \"action\" must be call or see"));
  EXPECT_THAT(errors, HasSubstr(path + ":8: duplicate case name \"x\""));
  EXPECT_THAT(errors, HasSubstr(path + ":9: \"autonomous\" must be true or "
                                       "false"));
  EXPECT_THAT(errors, HasSubstr(path + ":12: \"step_up\" must be one of"));
  EXPECT_THAT(errors, HasSubstr(path + ":14: give \"server\" or \"tools\", "
                                       "not both"));
  EXPECT_THAT(errors, HasSubstr(path + ":18: \"visible\" must be a list"));
  EXPECT_THAT(errors, HasSubstr(path + ":19: unknown key \"extra\" in a test "
                                       "file"));
}

TEST(PolicyTestCommand, EmptyFileIsAnError) {
  const std::string path = TmpPath("empty_test.yaml");
  std::ofstream(path) << "# nothing\n";
  absl::StatusOr<PolicyTestFile> file = ReadPolicyTestFile(path);
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr(path + ":1: empty test file"));
}

// The golden table's extensions (tests/golden/acme_cases.yaml), which only
// PolicyTestFormat::extended accepts.
constexpr char kExtended[] =
    "cases:\n"
    "  - name: malformed\n"
    "    chain: {user: u}\n"
    "    tool: crm.a\n"
    "    error: INVALID_ARGUMENT\n"
    "  - name: denied\n"
    "    chain: {user: u, client: c}\n"
    "    tool: crm.a\n"
    "    expect: DENY\n"
    "    reasons: [rule:RULE, client:MISSING_SCOPE, client:MISSING_SCOPE]\n"
    "    missing_scopes: [b, a, a]\n"
    "    rules: [no-crm]\n"
    "discovery:\n"
    "  - name: d\n"
    "    chain: {service: s}\n"
    "    server: crm\n"
    "    visible:\n"
    "      - crm.b\n"
    "      - {id: crm.a, requires_approval: true, step_up: mfa, redact: [y, "
    "x]}\n";

TEST(PolicyTestReader, ExtendedFormatReadsExactExpectations) {
  const std::string path = TmpPath("extended.yaml");
  std::ofstream(path) << kExtended;
  absl::StatusOr<PolicyTestFile> file =
      ReadPolicyTestFile(path, PolicyTestFormat{/*extended=*/true});
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->cases.size(), 2u);
  const PolicyCheckCase& malformed = file->cases[0];
  EXPECT_EQ(malformed.error, "INVALID_ARGUMENT");  // Chain not validated.
  EXPECT_EQ(malformed.expect, "");
  EXPECT_EQ(malformed.request.chain.user_id, "u");
  const PolicyCheckCase& denied = file->cases[1];
  EXPECT_FALSE(denied.error.has_value());
  EXPECT_EQ(denied.expect, "DENY");
  // Multisets: sorted, duplicates kept.
  EXPECT_EQ(denied.reasons,
            (std::vector<std::string>{"client:MISSING_SCOPE",
                                      "client:MISSING_SCOPE", "rule:RULE"}));
  EXPECT_EQ(denied.missing_scopes, (std::vector<std::string>{"a", "a", "b"}));
  EXPECT_EQ(denied.rules, (std::vector<std::string>{"no-crm"}));
  EXPECT_FALSE(denied.redact.has_value());
  EXPECT_FALSE(denied.step_up.has_value());
  ASSERT_EQ(file->discovery.size(), 1u);
  const PolicyDiscoveryCase& d = file->discovery[0];
  EXPECT_EQ(d.visible, (std::vector<std::string>{"crm.a", "crm.b"}));
  ASSERT_EQ(d.visible_tools.size(), 2u);  // In file order.
  EXPECT_EQ(d.visible_tools[0].id, "crm.b");
  EXPECT_FALSE(d.visible_tools[0].requires_approval);
  EXPECT_EQ(d.visible_tools[1].id, "crm.a");
  EXPECT_TRUE(d.visible_tools[1].requires_approval);
  EXPECT_EQ(d.visible_tools[1].step_up, "mfa");
  EXPECT_EQ(d.visible_tools[1].redact, (std::vector<std::string>{"x", "y"}));
}

TEST(PolicyTestReader, PdpctlTestRejectsTheExtensions) {
  const std::string path = TmpPath("not_extended_test.yaml");
  std::ofstream(path) << kExtended;
  const std::string errors = ReadErrors(path);
  EXPECT_THAT(errors, HasSubstr(path + ":5: unknown key \"error\" in a case"));
  EXPECT_THAT(errors, HasSubstr(path + ":3: bad chain: "));
  EXPECT_THAT(errors, HasSubstr(path + ":2: a case needs \"expect\""));
  EXPECT_THAT(errors, HasSubstr(path + ":10: \"rule:RULE\" is not a reason "
                                       "code"));
  EXPECT_THAT(errors, HasSubstr(path + ":11: unknown key \"missing_scopes\""));
  EXPECT_THAT(errors, HasSubstr(path + ":12: unknown key \"rules\""));
  EXPECT_THAT(errors, HasSubstr(path + ":19: \"visible\" must be a single "
                                       "value"));
}

TEST(PolicyTestReader, ExtendedFormatIsStrictToo) {
  const std::string path = TmpPath("strict.yaml");
  std::ofstream(path) << "cases:\n"
                         "  - name: a\n"
                         "    chain: {user: u}\n"
                         "    tool: t\n"
                         "    error: NOT_FOUND\n"
                         "    expect: DENY\n"
                         "  - name: b\n"
                         "    chain: {user: u, client: c}\n"
                         "    tool: t\n"
                         "    expect: STEP_UP\n"
                         "    reasons: [TOOL_UNKNOWN, users:STEP_UP_REQUIRED]\n"
                         "discovery:\n"
                         "  - name: d\n"
                         "    chain: {service: s}\n"
                         "    visible:\n"
                         "      - {id: crm.a, approval: true}\n"
                         "      - {redact: [x]}\n";
  const std::string errors =
      ReadErrors(path, PolicyTestFormat{/*extended=*/true});
  EXPECT_THAT(errors, HasSubstr(path + ":5: \"error\" must be "
                                       "INVALID_ARGUMENT"));
  EXPECT_THAT(errors, HasSubstr(path + ":2: give \"expect\" or \"error\", "
                                       "not both"));
  EXPECT_THAT(errors, HasSubstr(path + ":7: expect: STEP_UP needs "
                                       "\"step_up\""));
  EXPECT_THAT(errors, HasSubstr(path + ":11: \"TOOL_UNKNOWN\" is not "
                                       "\"link:CODE\""));
  EXPECT_THAT(errors, HasSubstr(path + ":11: \"users:STEP_UP_REQUIRED\" is "
                                       "not \"link:CODE\""));
  EXPECT_THAT(errors, HasSubstr(path + ":16: unknown key \"approval\" in a "
                                       "visible tool"));
  EXPECT_THAT(errors, HasSubstr(path + ":17: a visible tool needs \"id\""));
}

TEST(PolicyTestCommand, PolicyErrorsArePrintedAsValidatePrintsThem) {
  Result test = RunPdpctl({"test", kBadPolicy});
  Result validate = RunPdpctl({"validate", kBadPolicy});
  EXPECT_EQ(test.code, kExitFailed);
  EXPECT_EQ(test.err, validate.err);
  EXPECT_THAT(test.out, IsEmpty());
}

TEST(PolicyTestCommand, NoTestFilesIsAFailure) {
  // The fixture policy of the other commands holds a deliberately broken
  // ignored_test.yaml; a directory with policy and no tests:
  const std::string dir = TmpPath("no_tests");
  std::system(("mkdir -p " + dir).c_str());
  std::ofstream(dir + "/tools.yaml") << "tools:\n  - id: a.b\n";
  Result r = RunPdpctl({"test", dir});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.err, HasSubstr("no *_test.yaml or *_test.yml files"));
}

TEST(PolicyTestCommand, UsageErrors) {
  EXPECT_EQ(RunPdpctl({"test"}).code, kExitUsage);
  EXPECT_EQ(RunPdpctl({"test", kAcme, kBroken}).code, kExitUsage);
  EXPECT_EQ(RunPdpctl({"test", kAcme, "--junit"}).code, kExitUsage);
  EXPECT_EQ(RunPdpctl({"test", kAcme, "--bogus"}).code, kExitUsage);
  Result help = RunPdpctl({"help", "test"});
  EXPECT_EQ(help.code, kExitOk);
  EXPECT_THAT(help.out, HasSubstr("usage: pdpctl test DIR [--junit FILE]"));
  EXPECT_THAT(help.out, HasSubstr("visible:"));
  EXPECT_THAT(RunPdpctl({"help"}).out, HasSubstr("  test "));
}

}  // namespace
}  // namespace pdpctl
