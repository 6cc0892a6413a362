#include "tools/pdpctl/policy_tests.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "pdp/decision.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/v1/authorizer.pb.h"

namespace pdpctl {
namespace {

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::string List(const std::vector<std::string>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ", "), "]");
}

bool IsTestFile(const std::string& name) {
  return absl::EndsWith(name, "_test.yaml") ||
         absl::EndsWith(name, "_test.yml");
}

std::string Describe(const pdp::Snapshot& snapshot,
                     const pdp::Decision& decision) {
  std::vector<std::string> codes;
  for (const pdp::Reason& reason : decision.reasons) {
    codes.push_back(std::string(pdp::ReasonCodeName(reason.code)));
  }
  std::string text = absl::StrCat(
      pdp::EffectName(decision.effect), " reasons ", List(SortedUnique(codes)),
      " redact ", List(SortedUnique(snapshot.DataClassNames(decision.redact))));
  if (decision.step_up != pdp::v1::AUTH_STRENGTH_UNSPECIFIED) {
    absl::StrAppend(&text, " step_up ",
                    pdp::AuthStrengthName(decision.step_up));
  }
  return text;
}

// Returns "" when `decision` meets `c`, else the failure text.
std::string CheckFailure(const pdp::Snapshot& snapshot,
                         const PolicyCheckCase& c,
                         const pdp::Decision& decision) {
  std::vector<std::string> codes;
  for (const pdp::Reason& reason : decision.reasons) {
    codes.push_back(std::string(pdp::ReasonCodeName(reason.code)));
  }
  codes = SortedUnique(std::move(codes));
  const std::vector<std::string> redact =
      SortedUnique(snapshot.DataClassNames(decision.redact));
  const std::string step_up =
      decision.step_up == pdp::v1::AUTH_STRENGTH_UNSPECIFIED
          ? ""
          : std::string(pdp::AuthStrengthName(decision.step_up));
  bool ok = c.expect == pdp::EffectName(decision.effect);
  std::string expected = c.expect;
  if (c.reasons.has_value()) {
    ok = ok && *c.reasons == codes;
    absl::StrAppend(&expected, " reasons ", List(*c.reasons));
  }
  if (c.redact.has_value()) {
    ok = ok && *c.redact == redact;
    absl::StrAppend(&expected, " redact ", List(*c.redact));
  }
  if (c.step_up.has_value()) {
    ok = ok && *c.step_up == step_up;
    absl::StrAppend(&expected, " step_up ", *c.step_up);
  }
  if (ok) return "";
  return absl::StrCat("expected: ", expected,
                      "\ndecided:  ", Describe(snapshot, decision));
}

std::string DiscoveryFailure(const pdp::Snapshot& snapshot,
                             const PolicyDiscoveryCase& c,
                             const std::vector<pdp::VisibleTool>& visible) {
  std::vector<std::string> ids;
  for (const pdp::VisibleTool& tool : visible) {
    ids.push_back(snapshot.tools()[tool.tool].id);
  }
  ids = SortedUnique(std::move(ids));
  if (ids == c.visible) return "";
  std::vector<std::string> missing, unexpected;
  std::set_difference(c.visible.begin(), c.visible.end(), ids.begin(),
                      ids.end(), std::back_inserter(missing));
  std::set_difference(ids.begin(), ids.end(), c.visible.begin(),
                      c.visible.end(), std::back_inserter(unexpected));
  std::string text = absl::StrCat("expected visible: ", List(c.visible),
                                  "\ndecided visible:  ", List(ids));
  if (!missing.empty()) absl::StrAppend(&text, "\nmissing:    ", List(missing));
  if (!unexpected.empty()) {
    absl::StrAppend(&text, "\nunexpected: ", List(unexpected));
  }
  return text;
}

std::string XmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\t':
        out += "&#9;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        // Other control characters are not allowed in XML 1.0 at all.
        if (static_cast<unsigned char>(ch) < 0x20) {
          out += '?';
        } else {
          out += ch;
        }
    }
  }
  return out;
}

int RunTest(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.positional().empty()) {
    return UsageError("test", "missing the policy directory DIR", err);
  }
  if (args.positional().size() > 1) {
    return UsageError(
        "test",
        absl::StrCat("takes one policy directory; unexpected argument '",
                     args.positional()[1], "'"),
        err);
  }
  const std::string dir = args.positional().front();
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> snapshot =
      LoadPolicy("test", dir, err);
  if (!snapshot.ok()) return kExitFailed;

  absl::StatusOr<std::vector<std::string>> paths = FindPolicyTestFiles(dir);
  if (!paths.ok()) {
    err << "pdpctl test: " << paths.status().message() << "\n";
    return kExitFailed;
  }
  if (paths->empty()) {
    err << "pdpctl test: no *_test.yaml or *_test.yml files under \"" << dir
        << "\"\n";
    return kExitFailed;
  }
  std::vector<PolicyTestFile> files;
  bool malformed = false;
  for (const std::string& path : *paths) {
    absl::StatusOr<PolicyTestFile> file = ReadPolicyTestFile(path);
    if (!file.ok()) {
      err << file.status().message() << "\n";
      malformed = true;
      continue;
    }
    files.push_back(*std::move(file));
  }
  if (malformed) {
    err << "pdpctl test: malformed test files; no case was run\n";
    return kExitFailed;
  }

  const std::vector<PolicyTestResult> results =
      RunPolicyTests(**snapshot, files);
  size_t passed = 0, failed = 0;
  for (const PolicyTestResult& result : results) {
    if (result.passed) {
      ++passed;
      continue;
    }
    ++failed;
    out << result.file << ":" << result.line << ": FAIL " << result.name
        << "\n";
    for (absl::string_view line : absl::StrSplit(result.failure, '\n')) {
      out << "  " << line << "\n";
    }
  }
  out << passed << " passed, " << failed << " failed\n";
  if (args.Has("junit")) {
    std::ofstream junit(args.Get("junit"), std::ios::trunc);
    junit << PolicyTestsJunitXml(results);
    junit.close();
    if (!junit) {
      err << "pdpctl test: cannot write \"" << args.Get("junit") << "\"\n";
      return kExitFailed;
    }
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> FindPolicyTestFiles(
    const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("\"", dir, "\" is not a readable directory"));
  }
  std::vector<std::string> found;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("cannot read \"", dir, "\": ", ec.message()));
  }
  for (; it != end; it.increment(ec)) {
    if (ec) {
      return absl::NotFoundError(
          absl::StrCat("cannot read \"", dir, "\": ", ec.message()));
    }
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && IsTestFile(name)) {
      found.push_back(it->path().string());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<PolicyTestResult> RunPolicyTests(
    const pdp::Snapshot& snapshot, const std::vector<PolicyTestFile>& files) {
  std::vector<PolicyTestResult> results;
  for (const PolicyTestFile& file : files) {
    for (const PolicyCheckCase& c : file.cases) {
      PolicyTestResult result{file.path, c.line, c.name, false, ""};
      absl::StatusOr<pdp::Decision> decision = pdp::Check(snapshot, c.request, file.users());
      if (!decision.ok()) {
        result.failure =
            absl::StrCat("expected: ", c.expect,
                         "\nerror:    ", decision.status().message());
      } else {
        result.failure = CheckFailure(snapshot, c, *decision);
        result.passed = result.failure.empty();
      }
      results.push_back(std::move(result));
    }
    for (const PolicyDiscoveryCase& c : file.discovery) {
      PolicyTestResult result{file.path, c.line, c.name, false, ""};
      pdp::ToolSelection selection = c.selection;
      if (selection.server_id.empty() && selection.tool_ids.empty()) {
        for (const pdp::Snapshot::Tool& tool : snapshot.tools()) {
          selection.tool_ids.push_back(tool.id);
        }
      }
      std::vector<pdp::VisibleTool> visible;
      absl::Status status;
      if (!selection.tool_ids.empty() || !selection.server_id.empty()) {
        absl::StatusOr<std::vector<pdp::VisibleTool>> filtered =
            pdp::FilterTools(snapshot, c.chain, selection, file.users());
        if (filtered.ok()) {
          visible = *std::move(filtered);
        } else {
          status = filtered.status();
        }
      }
      if (!status.ok()) {
        result.failure = absl::StrCat("expected visible: ", List(c.visible),
                                      "\nerror: ", status.message());
      } else {
        result.failure = DiscoveryFailure(snapshot, c, visible);
        result.passed = result.failure.empty();
      }
      results.push_back(std::move(result));
    }
  }
  return results;
}

std::string PolicyTestsJunitXml(const std::vector<PolicyTestResult>& results) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const PolicyTestResult*>> by_file;
  size_t failures = 0;
  for (const PolicyTestResult& result : results) {
    if (by_file.count(result.file) == 0) order.push_back(result.file);
    by_file[result.file].push_back(&result);
    if (!result.passed) ++failures;
  }
  std::string xml = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"pdpctl test\" tests=\"",
      results.size(), "\" failures=\"", failures, "\" errors=\"0\">\n");
  for (const std::string& file : order) {
    const std::vector<const PolicyTestResult*>& cases = by_file[file];
    size_t file_failures = 0;
    for (const PolicyTestResult* result : cases) {
      if (!result->passed) ++file_failures;
    }
    absl::StrAppend(&xml, "  <testsuite name=\"", XmlEscape(file),
                    "\" tests=\"", cases.size(), "\" failures=\"",
                    file_failures, "\" errors=\"0\">\n");
    for (const PolicyTestResult* result : cases) {
      absl::StrAppend(&xml, "    <testcase classname=\"", XmlEscape(file),
                      "\" name=\"", XmlEscape(result->name), "\" file=\"",
                      XmlEscape(file), "\" line=\"", result->line, "\"");
      if (result->passed) {
        absl::StrAppend(&xml, "/>\n");
        continue;
      }
      absl::StrAppend(
          &xml, ">\n      <failure message=\"", XmlEscape(result->failure),
          "\">",
          XmlEscape(absl::StrCat(file, ":", result->line, ": ", result->name,
                                 "\n", result->failure)),
          "</failure>\n    </testcase>\n");
    }
    absl::StrAppend(&xml, "  </testsuite>\n");
  }
  absl::StrAppend(&xml, "</testsuites>\n");
  return xml;
}

Command PolicyTestCommand() {
  return {
      "test",
      "test DIR [--junit FILE]",
      "run a policy directory's tests (*_test.yaml)",
      "Compiles DIR (errors are printed as validate prints them; exit 1),\n"
      "then runs every *_test.yaml and *_test.yml file under DIR,\n"
      "recursively, in sorted order. A test file holds:\n"
      "  cases:                  # one check each\n"
      "    - name: executive reads salary        # unique in the file\n"
      "      chain: {user: U, client: C, scopes: [S], amr: [otp]}\n"
      "             # or {service: ID}; optional agent, roles (asserted),\n"
      "             # autonomous: true\n"
      "      tool: hr.get_salary\n"
      "      action: call        # call (default) or see\n"
      "      expect: ALLOW       # ALLOW, DENY, STEP_UP or REQUIRE_APPROVAL\n"
      "      reasons: [CODE]     # optional: the exact set of reason codes\n"
      "      redact: [salary]    # optional: the exact set of data classes\n"
      "      step_up: mfa        # optional, with expect: STEP_UP\n"
      "  discovery:              # one tools/list filter each\n"
      "    - name: sales assistant sees crm\n"
      "      chain: {...}\n"
      "      server: crm         # or tools: [a, b]; neither: every tool\n"
      "      visible: [crm.get_contact, crm.list_deals]  # exact, any order\n"
      "Unknown keys, bad values and missing fields are reported as\n"
      "FILE:LINE and no case runs (exit 1). Each failing case is printed\n"
      "as FILE:LINE, its name, what was expected and what was decided; the\n"
      "last line is \"N passed, N failed\". Exits 0 only if every case\n"
      "passed, 1 otherwise. --junit FILE also writes JUnit XML: one\n"
      "testsuite per file, one testcase per case (classname = the file).\n",
      {{"junit", FlagSpec::Kind::kValue, "FILE",
        "also write the results as JUnit XML to FILE"}},
      RunTest,
  };
}

}  // namespace pdpctl
