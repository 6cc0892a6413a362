#include "tests/fuzz/fuzz_check.h"

#include <cstdint>
#include <filesystem>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "pdp/compiler.h"
#include "pdp/diagnostics.h"
#include "pdp/policy_loader.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {
namespace fuzz {
namespace {

// "" if `line` is "file:N: message" (N > 0) or "file: message".
std::string LineProblem(absl::string_view line,
                        const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    if (!absl::StartsWith(line, absl::StrCat(file, ":"))) continue;
    absl::string_view rest = line.substr(file.size() + 1);
    if (absl::ConsumePrefix(&rest, " ")) {
      if (!rest.empty()) return "";
      continue;
    }
    size_t digits = 0;
    while (digits < rest.size() && absl::ascii_isdigit(rest[digits])) ++digits;
    if (digits == 0 || digits > 9 || rest.substr(0, digits) == "0" ||
        rest[0] == '0') {
      continue;
    }
    rest.remove_prefix(digits);
    if (absl::ConsumePrefix(&rest, ": ") && !rest.empty()) return "";
  }
  return absl::StrCat(
      "a line of the error message is not \"file:line: "
      "message\" or \"file: message\" for a policy file: \"",
      absl::CHexEscape(line), "\"");
}

// Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// True if any string field of `message`, at any depth, is not UTF-8.
bool HasInvalidUtf8(const google::protobuf::Message& message) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          if (!IsValidUtf8(reflection->GetRepeatedString(message, field, i))) {
            return true;
          }
        }
      } else if (!IsValidUtf8(reflection->GetString(message, field))) {
        return true;
      }
    } else if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          if (HasInvalidUtf8(
                  reflection->GetRepeatedMessage(message, field, i))) {
            return true;
          }
        }
      } else if (HasInvalidUtf8(reflection->GetMessage(message, field))) {
        return true;
      }
    }
  }
  return false;
}

void Fail(Result* result, std::string problem) {
  if (!result->wellformed) return;  // Keep the first.
  result->wellformed = false;
  result->problem = std::move(problem);
}

void CheckDiagnostics(const Diagnostics& diags,
                      const std::vector<std::string>& files, Result* result) {
  for (const Diagnostic& d : diags.list()) {
    bool known = false;
    for (const std::string& f : files) known |= d.file == f;
    if (!known || d.line < 0 || d.message.empty()) {
      Fail(result,
           absl::StrCat("bad diagnostic: file \"", absl::CHexEscape(d.file),
                        "\", line ", d.line, ", message \"",
                        absl::CHexEscape(d.message), "\""));
    }
  }
  if (!diags.empty()) {
    std::string problem = MessageProblem(diags.ToStatus(), files);
    if (!problem.empty()) Fail(result, absl::StrCat("loader: ", problem));
  }
}

Result CheckBundle(const v1::Bundle& bundle, const Diagnostics& diags,
                   const std::vector<std::string>& files) {
  Result result;
  CheckDiagnostics(diags, files, &result);
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Compiler::Compile(bundle);
  if (snapshot.ok()) {
    if (*snapshot == nullptr) Fail(&result, "Compile returned OK and null");
    // What compiles can be shipped: the bundle survives serialization (CI
    // pushes it serialized) and compiles again.
    v1::Bundle copy;
    if (!copy.ParseFromString(bundle.SerializeAsString())) {
      if (HasInvalidUtf8(bundle)) {
        result.invalid_utf8_compiled = true;
      } else {
        Fail(&result,
             "the compiled bundle does not parse back once serialized");
      }
    } else if (!Compiler::Compile(copy).ok()) {
      Fail(&result, "the compiled bundle does not compile once serialized");
    }
  } else {
    std::string problem = MessageProblem(snapshot.status(), files);
    if (!problem.empty()) Fail(&result, absl::StrCat("compiler: ", problem));
  }
  result.ok = diags.empty() && snapshot.ok();
  return result;
}

}  // namespace

std::string MessageProblem(const absl::Status& status,
                           const std::vector<std::string>& files) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return absl::StrCat("status is not InvalidArgument: ", status.ToString());
  }
  if (status.message().empty()) return "InvalidArgument with no message";
  for (absl::string_view line : absl::StrSplit(status.message(), '\n')) {
    std::string problem = LineProblem(line, files);
    if (!problem.empty()) {
      return absl::StrCat(problem, "\nin the whole message: \"",
                          absl::CHexEscape(status.message()), "\"");
    }
  }
  return "";
}

Result CheckPolicyFile(absl::string_view file, absl::string_view content) {
  v1::Bundle bundle;
  Diagnostics diags;
  LoadPolicyYaml(file, content, &bundle, &diags);
  return CheckBundle(bundle, diags, {std::string(file)});
}

Result CheckPolicyFiles(const std::map<std::string, std::string>& files) {
  v1::Bundle bundle;
  Diagnostics diags;
  std::vector<std::string> names;
  for (const auto& [name, content] : files) {
    LoadPolicyYaml(name, content, &bundle, &diags);
    names.push_back(name);
  }
  return CheckBundle(bundle, diags, names);
}

Result CheckPolicyDirectory(const std::string& dir,
                            const std::vector<std::string>& files) {
  Result result;
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Compiler::CompileDirectory(dir);
  if (!snapshot.ok()) {
    // CompileDirectory names files joined to `dir` (pdp/compiler.h).
    std::vector<std::string> joined;
    for (const std::string& file : files) {
      joined.push_back((std::filesystem::path(dir) / file)
                           .lexically_normal()
                           .generic_string());
    }
    std::string problem = MessageProblem(snapshot.status(), joined);
    if (!problem.empty()) Fail(&result, problem);
  }
  result.ok = snapshot.ok();
  return result;
}

}  // namespace fuzz
}  // namespace pdp
