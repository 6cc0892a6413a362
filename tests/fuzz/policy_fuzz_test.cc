// Robustness of the policy loader and compiler: random, truncated and
// mutated YAML never crashes them, and every result is either a snapshot or
// InvalidArgument whose message is one "file:line: message" (or
// "file: message") per line, each naming the file it came from.
//
// A bounded, deterministic loop (seeded), so that it runs in every
// `bazel test //...`; tests/fuzz/policy_fuzzer.cc is the open-ended
// libFuzzer version of the same property.

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "pdp/testing/policy_generator.h"
#include "pdp/testing/rng.h"
#include "tests/fuzz/fuzz_check.h"

namespace pdp {
namespace {

using testgen::Rng;

// The policy of DESIGN §3, with registries, users and every `when` key.
constexpr char kDesignPolicy[] = R"(# The example of DESIGN §3.
scopes: [contacts:read, contacts:write, projects:read, emails:draft,
         calendar:create, reminders:write, salary:read]
data_classes:
  - pii
  - {id: salary, description: "Compensation"}
tools:
  - id: crm.search_contacts
    scopes: [contacts:read]
    data: [pii]
    risk: low
    autonomy: allowed
    auth: password
    min_client_trust: untrusted
  - id: crm.import_contacts
    scopes: [contacts:write]
    data: [pii]
  - id: hr.get_salary
    scopes: [salary:read]
    data: [pii, salary]
    risk: high
    autonomy: approval
    auth: mfa
    min_client_trust: trusted
  - id: finance.pay_invoice
    risk: critical
    autonomy: forbidden
    auth: phishing_resistant
  - id: calendar.create_event
    scopes: [calendar:create]
  - id: email.draft_message
    scopes: [emails:draft]
    description: "Drafts, never sends."
roles:
  - id: sales
    tools: ["crm.*", "calendar.create_event", "email.draft_message"]
    data: [pii]
  - id: executive
    inherits: [sales]
    tools: ["hr.*", "finance.*"]
    data: [salary]
agents:
  - id: sales-assistant
    tools: ["crm.*", "calendar.*", "email.draft_message"]
    data: [pii]
    autonomous: true
clients:
  - id: claude-desktop
    trust: standard
    scopes: [contacts:read, projects:read, emails:draft, calendar:create, reminders:write]
    redirect_uris: ["http://127.0.0.1:33418/callback"]
services:
  - id: import-worker
    tools: ["crm.import_contacts"]
    scopes: [contacts:write]
    data: [pii]
users:
  - id: alice@acme.example
    roles: [executive]
    attributes: {department: sales}
deny:
  - id: no-autonomous-payments
    description: Payments need a human.
    when: {tools: ["finance.*"], autonomous: true}
  - id: untrusted-clients-low-risk-only
    when: {client_trust_below: standard, risk_at_least: medium}
  - id: everything-else
    when:
      servers: ["hr"]
      users: [bob@acme.example]
      roles: [sales]
      agents: [sales-assistant]
      clients: [claude-desktop]
      data: [salary]
  - id: services
    when: {services: [import-worker], autonomous: false}
)";

// Small valid files: the DESIGN example and the files of a small generated
// policy, each on its own.
std::vector<std::string> SeedFiles() {
  std::vector<std::string> seeds = {kDesignPolicy};
  testgen::PolicyGeneratorOptions options;
  options.tools = 40;
  options.servers = 3;
  options.big_server_tools = 12;
  options.roles = 8;
  options.agents = 3;
  options.clients = 4;
  options.services = 2;
  options.users = 6;
  options.scopes = 9;
  options.data_classes = 4;
  options.deny_rules = 12;
  for (const auto& [name, content] : testgen::GeneratePolicy(options)) {
    seeds.push_back(content);
  }
  return seeds;
}

// Characters that mean something to YAML, and some that mean nothing.
const std::vector<char> kSpecial = {
    ':', '-',  '[',  ']',  '{',  '}',    '&',    '*',    '!',   '|',
    '>', '\t', '\n', ' ',  '"',  '\'',   '#',    '%',    '@',   '`',
    ',', '?',  '\0', '\r', '\\', '\x7f', '\xff', '\xc3', '\xe2'};

std::string Mutate(Rng& rng, std::string s) {
  const int edits = rng.Range(1, 8);
  for (int e = 0; e < edits; ++e) {
    const size_t at = s.empty() ? 0 : rng.Uniform(s.size() + 1);
    switch (rng.Uniform(8)) {
      case 0:  // Flip a byte to a YAML-special one.
        if (!s.empty()) s[std::min(at, s.size() - 1)] = rng.Pick(kSpecial);
        break;
      case 1:  // Flip a byte to anything.
        if (!s.empty()) {
          s[std::min(at, s.size() - 1)] = static_cast<char>(rng.Uniform(256));
        }
        break;
      case 2:  // Insert a special byte.
        s.insert(s.begin() + at, rng.Pick(kSpecial));
        break;
      case 3:  // Delete a run.
        if (!s.empty()) s.erase(std::min(at, s.size() - 1), rng.Range(1, 16));
        break;
      case 4: {  // Duplicate a run elsewhere.
        if (s.empty()) break;
        const size_t from = rng.Uniform(s.size());
        std::string run = s.substr(from, rng.Range(1, 64));
        s.insert(at, run);
        break;
      }
      case 5: {  // Re-indent a line.
        size_t line = s.rfind('\n', at == 0 ? 0 : at - 1);
        line = line == std::string::npos ? 0 : line + 1;
        if (rng.Chance(0.5)) {
          s.insert(line,
                   std::string(rng.Range(1, 3), rng.Chance(0.3) ? '\t' : ' '));
        } else if (line < s.size() && s[line] == ' ') {
          s.erase(line, 1);
        }
        break;
      }
      case 6: {  // Swap two lines.
        std::vector<std::string> lines = absl::StrSplit(s, '\n');
        if (lines.size() > 1) {
          std::swap(lines[rng.Uniform(lines.size())],
                    lines[rng.Uniform(lines.size())]);
        }
        s = absl::StrJoin(lines, "\n");
        break;
      }
      default: {  // Insert a YAML construct.
        static const std::vector<std::string> kConstructs = {"&a ",
                                                             "*a",
                                                             "<<: *a\n",
                                                             "!!binary ",
                                                             "!tag ",
                                                             "? [x]\n: y\n",
                                                             "---\n",
                                                             "...\n",
                                                             "%YAML 1.2\n",
                                                             "{",
                                                             "[",
                                                             "~",
                                                             "null",
                                                             "- ",
                                                             "id: ",
                                                             "tools: ",
                                                             "when: {}",
                                                             "\"\\u0000\"",
                                                             "'it''s'",
                                                             "|\n  block\n",
                                                             ">-\n  folded\n",
                                                             "\xef\xbb\xbf",
                                                             "0x1F",
                                                             ".inf"};
        s.insert(at, rng.Pick(kConstructs));
        break;
      }
    }
  }
  return s;
}

// A random scalar: valid words, junk, numbers, YAML's special values.
std::string RandomScalar(Rng& rng) {
  static const std::vector<std::string> kWords = {
      "low",       "medium",
      "high",      "critical",
      "allowed",   "approval",
      "forbidden", "password",
      "mfa",       "phishing_resistant",
      "untrusted", "standard",
      "trusted",   "internal",
      "true",      "false",
      "yes",       "~",
      "null",      "0",
      "-1",        "1e309",
      "crm.*",     "crm.search",
      "*",         "\"quoted\"",
      "'single'",  "\"a\\nb\"",
      "\"\"",      "hr.get_salary",
      "sales",     "pii",
      "x.y",       "\"\\t\"",
      ".nan"};
  if (rng.Chance(0.1)) {
    std::string junk;
    for (int n = rng.Range(1, 12); n > 0; --n) {
      junk += static_cast<char>('a' + rng.Uniform(26));
    }
    return junk;
  }
  return rng.Pick(kWords);
}

// A random YAML document over the policy's keys and some others.
void RandomNode(Rng& rng, int depth, int indent, std::string* out) {
  static const std::vector<std::string> kKeys = {"tools",
                                                 "roles",
                                                 "agents",
                                                 "clients",
                                                 "services",
                                                 "users",
                                                 "deny",
                                                 "scopes",
                                                 "data_classes",
                                                 "id",
                                                 "scopes",
                                                 "data",
                                                 "risk",
                                                 "autonomy",
                                                 "auth",
                                                 "min_client_trust",
                                                 "inherits",
                                                 "autonomous",
                                                 "trust",
                                                 "redirect_uris",
                                                 "require_bound_tokens",
                                                 "audiences",
                                                 "roles",
                                                 "attributes",
                                                 "when",
                                                 "servers",
                                                 "client_trust_below",
                                                 "risk_at_least",
                                                 "description",
                                                 "bogus",
                                                 "\"quoted key\"",
                                                 "\"multi\\nline key\"",
                                                 "? complex"};
  const std::string pad(indent, ' ');
  const size_t kind = depth <= 0 ? 0 : rng.Uniform(5);
  if (kind <= 1) {
    absl::StrAppend(out, " ", RandomScalar(rng), "\n");
  } else if (kind == 2) {  // A flow list.
    absl::StrAppend(out, " [");
    for (int n = rng.Range(0, 4); n > 0; --n) {
      absl::StrAppend(out, RandomScalar(rng), n > 1 ? ", " : "");
    }
    absl::StrAppend(out, "]\n");
  } else if (kind == 3) {  // A block list.
    absl::StrAppend(out, "\n");
    for (int n = rng.Range(1, 4); n > 0; --n) {
      absl::StrAppend(out, pad, "-");
      RandomNode(rng, depth - 1, indent + 2, out);
    }
  } else {  // A block map.
    absl::StrAppend(out, "\n");
    for (int n = rng.Range(1, 5); n > 0; --n) {
      absl::StrAppend(out, pad, rng.Pick(kKeys), ":");
      RandomNode(rng, depth - 1, indent + 2, out);
    }
  }
}

std::string RandomDocument(Rng& rng) {
  std::string out;
  static const std::vector<std::string> kTop = {
      "tools", "roles", "agents", "clients",      "services",
      "users", "deny",  "scopes", "data_classes", "unknown_top"};
  for (int n = rng.Range(1, 4); n > 0; --n) {
    absl::StrAppend(&out, rng.Pick(kTop), ":\n");
    for (int i = rng.Range(0, 4); i > 0; --i) {
      absl::StrAppend(&out, "  -");
      RandomNode(rng, rng.Range(0, 4), 4, &out);
    }
  }
  return out;
}

// Collects contract violations over many inputs, to report the first few.
class Violations {
 public:
  void Check(const fuzz::Result& result, absl::string_view input) {
    if (result.wellformed && !result.invalid_utf8_compiled) return;
    ++count_;
    if (examples_.size() < 5) {
      examples_.push_back(absl::StrCat(
          result.invalid_utf8_compiled ? "a string that is not UTF-8 compiled"
                                       : result.problem,
          "\n  input (first 300 bytes): \"",
          absl::CHexEscape(input.substr(0, 300)), "\""));
    }
  }
  // Fails the test if any input broke the contract.
  void ExpectNone() const {
    EXPECT_EQ(count_, 0) << "first violations:\n"
                         << absl::StrJoin(examples_, "\n\n");
  }

 private:
  int count_ = 0;
  std::vector<std::string> examples_;
};

std::string Repeat(absl::string_view s, int n) {
  std::string out;
  out.reserve(s.size() * n);
  for (int i = 0; i < n; ++i) out.append(s.data(), s.size());
  return out;
}

TEST(PolicyFuzzTest, EveryTruncationOfAValidFile) {
  const std::string policy = kDesignPolicy;
  ASSERT_TRUE(fuzz::CheckPolicyFile("policy.yaml", policy).ok)
      << "the seed itself must compile";
  Violations violations;
  for (size_t n = 0; n < policy.size(); ++n) {
    const std::string input = policy.substr(0, n);
    violations.Check(fuzz::CheckPolicyFile("policy.yaml", input), input);
  }
  violations.ExpectNone();
}

TEST(PolicyFuzzTest, MutatedValidFiles) {
  Rng rng(20240601);
  const std::vector<std::string> seeds = SeedFiles();
  int compiled = 0, refused = 0;
  Violations violations;
  for (int i = 0; i < 6000; ++i) {
    const std::string input = Mutate(rng, rng.Pick(seeds));
    fuzz::Result r = fuzz::CheckPolicyFile("tools/mutated.yaml", input);
    violations.Check(r, input);
    (r.ok ? compiled : refused)++;
  }
  violations.ExpectNone();
  // Both outcomes occur, so the mutations neither always nor never break.
  EXPECT_GT(compiled, 100);
  EXPECT_GT(refused, 1000);
}

TEST(PolicyFuzzTest, RandomDocumentsOverPolicyKeys) {
  Rng rng(7);
  Violations violations;
  for (int i = 0; i < 4000; ++i) {
    const std::string input = RandomDocument(rng);
    violations.Check(fuzz::CheckPolicyFile("random.yml", input), input);
  }
  violations.ExpectNone();
}

TEST(PolicyFuzzTest, BinaryJunk) {
  Rng rng(99);
  Violations violations;
  for (int i = 0; i < 2000; ++i) {
    std::string input(rng.Uniform(512), '\0');
    for (char& c : input) c = static_cast<char>(rng.Uniform(256));
    if (rng.Chance(0.3)) input = absl::StrCat("tools:\n  - id: ", input);
    violations.Check(fuzz::CheckPolicyFile("junk.yaml", input), input);
  }
  violations.ExpectNone();
}

TEST(PolicyFuzzTest, DeepNesting) {
  Violations violations;
  for (int depth : {10, 100, 1000, 5000, 50000}) {
    const std::vector<std::string> inputs = {
        Repeat("[", depth),
        Repeat("[", depth) + Repeat("]", depth),
        Repeat("{a: ", depth) + "b" + Repeat("}", depth),
        "tools:\n  - id: " + Repeat("[", depth) + Repeat("]", depth),
        "tools:\n" + Repeat("- ", depth) + "x\n",
        "deny:\n  - id: r\n    when: " + Repeat("{tools: ", depth) +
            Repeat("}", depth),
    };
    for (const std::string& input : inputs) {
      fuzz::Result r = fuzz::CheckPolicyFile("deep.yaml", input);
      violations.Check(r, input);
      EXPECT_FALSE(r.ok);
    }
  }
  // Deep block nesting by indentation.
  std::string block = "tools:\n";
  for (int i = 0; i < 600; ++i) {
    absl::StrAppend(&block, std::string(2 * i + 2, ' '), "k", i, ":\n");
  }
  violations.Check(fuzz::CheckPolicyFile("block.yaml", block), block);
  violations.ExpectNone();
}

TEST(PolicyFuzzTest, HugeScalarsAndLists) {
  const std::string big_id(1 << 20, 'x');
  std::string many_scopes = "scopes: [";
  for (int i = 0; i < 20000; ++i) absl::StrAppend(&many_scopes, "s", i, ", ");
  many_scopes += "last]\n";
  std::string many_tools = "tools:\n";
  for (int i = 0; i < 3000; ++i) {
    absl::StrAppend(&many_tools, "  - {id: srv.t", i % 2000, "}\n");  // Dupes.
  }
  std::string many_data_classes = "data_classes: [";
  for (int i = 0; i < 70; ++i)
    absl::StrAppend(&many_data_classes, "c", i, ", ");
  many_data_classes += "last]\ntools: [{id: a.b}]\n";
  const std::vector<std::string> inputs = {
      "tools:\n  - id: srv." + big_id + "\n",
      "tools:\n  - id: " + big_id + "\n",
      "roles:\n  - id: r\n    tools: [\"" + big_id + "*\"]\n",
      big_id + ": 1\n",
      "tools:\n  - id: a.b\n    description: |\n" +
          Repeat("      a long line of text\n", 20000),
      many_scopes,
      many_tools,
      many_data_classes,
      "roles:\n  - id: r\n    tools: [\"" + Repeat("*", 5000) + "x\"]\n" +
          "tools: [{id: a.b}]\n",
      "roles:\n  - id: r\n    tools: [\"" + Repeat("*?", 3000) + "\"]\n" +
          "tools: [{id: " + std::string(3000, 'a') + ".b}]\n",
  };
  Violations violations;
  for (const std::string& input : inputs) {
    violations.Check(fuzz::CheckPolicyFile("huge.yaml", input), input);
  }
  violations.ExpectNone();
}

TEST(PolicyFuzzTest, AnchorsAliasesTagsAndMerges) {
  const std::vector<std::string> inputs = {
      // Aliases of whole elements: duplicate ids.
      "tools:\n  - &t {id: a.b, scopes: [s]}\n  - *t\n  - *t\n",
      // An alias used as a key, as a list, as a scalar.
      "x: &k tools\n*k : [{id: a.b}]\n",
      "tools: &l [{id: a.b}]\nroles: [{id: r, tools: *l}]\n",
      "a: &s crm.x\ntools: [{id: *s}]\n",
      // An undefined alias; a self-referencing one.
      "tools: [*nope]\n",
      "tools: &a [*a]\n",
      "&a tools: [*a]\n",
      // Merge keys.
      "base: &b {risk: high}\ntools: [{<<: *b, id: a.b}]\n",
      // A small billion laughs: shared nodes, never expanded.
      "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
      "tools: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
      "roles: [{id: r, tools: *e}]\n",
      // Tags.
      "tools: !!seq [{id: !!str a.b, risk: !!int 3}]\n",
      "tools: [{id: a.b, data: !!binary aGVsbG8=}]\n",
      "tools: !custom [{id: a.b}]\n",
      "!!map {tools: [{id: a.b}]}\n",
      // Complex keys.
      "? [tools]\n: [{id: a.b}]\n",
      "tools:\n  - ? id\n    : a.b\n",
      // Several documents.
      "tools: [{id: a.b}]\n---\ntools: [{id: a.b}]\n",
      "---\n...\n---\n",
      "%YAML 1.2\n%TAG ! tag:x,2000:\n---\ntools: []\n",
      "%YAML 9.9\n---\ntools: []\n",
      // Tabs where YAML forbids them.
      "tools:\n\t- id: a.b\n",
      "tools:\n  - id:\ta.b\n\t  risk: low\n",
      "\ttools: []\n",
      // Encodings.
      "\xef\xbb\xbftools: [{id: a.b}]\n",
      "\xff\xfet\0o\0o\0l\0s\0:\0",
      "tools: [{id: \"a.\\ud800\"}]\n",
      "tools: [{id: \"a.b\\0c\"}]\n",
      std::string("tools: [{id: a.b\0c}]\n", 21),
      // Keys with newlines and odd characters.
      "tools:\n  - id: a.b\n    \"ri\\nsk\": low\n",
      "\"tools\\n\": []\n",
      "tools:\n  - id: \"a\\nb.c\"\n",
      "deny:\n  - id: \"r\\n\"\n    when: {}\n",
  };
  Violations violations;
  for (const std::string& input : inputs) {
    violations.Check(fuzz::CheckPolicyFile("alias.yaml", input), input);
  }
  violations.ExpectNone();
}

// With more than 64 data classes and no tools, the error still names where
// the 65th data class is declared.
TEST(PolicyFuzzTest, TooManyDataClassesWithNoToolsNamesTheFile) {
  std::string input = "data_classes: [";
  for (int i = 0; i < 70; ++i) absl::StrAppend(&input, "c", i, ", ");
  input += "last]\n";
  fuzz::Result r = fuzz::CheckPolicyFile("registry.yaml", input);
  EXPECT_TRUE(r.wellformed) << r.problem;
  EXPECT_FALSE(r.ok);
}

// Strings that are not UTF-8 (raw bytes in a file, or YAML escapes of lone
// surrogates) are refused: a bundle carries them in proto3 string fields,
// which must be UTF-8, so such a policy could never be pushed.
TEST(PolicyFuzzTest, StringsThatAreNotUtf8AreRefused) {
  for (const std::string input : {
           "tools:\n  - id: crm.\xff\xfe\n",
           "tools:\n  - id: crm.x\n    description: caf\xe9\n",
           "tools:\n  - id: \"crm.\\ud800\"\n",
       }) {
    fuzz::Result r = fuzz::CheckPolicyFile("tools.yaml", input);
    EXPECT_TRUE(r.wellformed) << r.problem;
    EXPECT_FALSE(r.ok) << absl::CHexEscape(input);
    EXPECT_FALSE(r.invalid_utf8_compiled) << absl::CHexEscape(input);
  }
}

// A mutated file among valid ones: errors name the file they are in, and a
// whole directory goes through the same checks.
TEST(PolicyFuzzTest, MutatedFileInADirectory) {
  Rng rng(12345);
  const testgen::PolicyFiles files = [] {
    testgen::PolicyGeneratorOptions options;
    options.tools = 60;
    options.servers = 4;
    options.big_server_tools = 15;
    options.roles = 10;
    options.agents = 4;
    options.clients = 4;
    options.services = 2;
    options.users = 10;
    options.scopes = 12;
    options.data_classes = 5;
    options.deny_rules = 12;
    return testgen::GeneratePolicy(options);
  }();
  std::vector<std::string> names;
  for (const auto& [name, content] : files) names.push_back(name);

  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string root =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/fuzzdirs");
  Violations violations;
  for (int i = 0; i < 120; ++i) {
    testgen::PolicyFiles mutated = files;
    const std::string& victim = rng.Pick(names);
    mutated[victim] = Mutate(rng, mutated[victim]);
    if (i % 10 == 0) {
      // Through the directory loader.
      const std::string dir = absl::StrCat(root, "/", i);
      ASSERT_TRUE(testgen::WritePolicyFiles(mutated, dir).ok());
      violations.Check(fuzz::CheckPolicyDirectory(dir, names), mutated[victim]);
      std::filesystem::remove_all(dir);
    } else {
      violations.Check(fuzz::CheckPolicyFiles(mutated), mutated[victim]);
    }
  }
  violations.ExpectNone();
}

// A self-check of the checker: it refuses what it should.
TEST(PolicyFuzzTest, CheckerRejectsMalformedMessages) {
  const std::vector<std::string> files = {"a.yaml"};
  EXPECT_TRUE(
      fuzz::MessageProblem(absl::InvalidArgumentError("a.yaml:3: bad"), files)
          .empty());
  EXPECT_TRUE(
      fuzz::MessageProblem(absl::InvalidArgumentError("a.yaml: bad"), files)
          .empty());
  EXPECT_FALSE(
      fuzz::MessageProblem(absl::InvalidArgumentError(": bad"), files).empty());
  EXPECT_FALSE(
      fuzz::MessageProblem(absl::InvalidArgumentError("a.yaml:3: "), files)
          .empty());
  EXPECT_FALSE(fuzz::MessageProblem(
                   absl::InvalidArgumentError("a.yaml:3: x\ncontinued"), files)
                   .empty());
  EXPECT_FALSE(
      fuzz::MessageProblem(absl::InvalidArgumentError("b.yaml:1: x"), files)
          .empty());
  EXPECT_FALSE(
      fuzz::MessageProblem(absl::InternalError("a.yaml:1: x"), files).empty());
  EXPECT_FALSE(
      fuzz::MessageProblem(absl::InvalidArgumentError("a.yaml:-1: x"), files)
          .empty());
}

}  // namespace
}  // namespace pdp
