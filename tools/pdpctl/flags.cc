#include "tools/pdpctl/flags.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace pdpctl {

bool Args::Has(absl::string_view name) const {
  return values_.find(name) != values_.end();
}

std::string Args::Get(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return "";
  return it->second.front();
}

std::vector<std::string> Args::GetList(absl::string_view name) const {
  std::vector<std::string> items;
  auto it = values_.find(name);
  if (it == values_.end()) return items;
  for (const std::string& value : it->second) {
    for (absl::string_view item : absl::StrSplit(value, ',')) {
      item = absl::StripAsciiWhitespace(item);
      if (!item.empty()) items.emplace_back(item);
    }
  }
  return items;
}

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<FlagSpec>& specs) {
  Args args;
  bool flags_ended = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (flags_ended || arg == "-" || arg.empty() || arg[0] != '-') {
      args.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    std::string long_form;  // "-o" spelled as "--out".
    if (arg.rfind("--", 0) != 0) {
      auto short_spec =
          arg.size() != 2 ? specs.end()
                          : std::find_if(specs.begin(), specs.end(),
                                         [&](const FlagSpec& s) {
                                           return s.short_name == arg[1];
                                         });
      if (short_spec == specs.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag ", arg, " (flags are spelled --name)"));
      }
      long_form = absl::StrCat("--", short_spec->name);
    }
    absl::string_view body =
        absl::string_view(long_form.empty() ? arg : long_form).substr(2);
    absl::string_view name = body;
    bool inline_value = false;
    absl::string_view value;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      inline_value = true;
    }
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    std::vector<std::string>& values = args.values_[spec->name];
    if (spec->kind == FlagSpec::Kind::kBool) {
      if (inline_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " takes no value"));
      }
      values.assign(1, "true");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argv.size() || argv[i + 1].rfind("--", 0) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value: --", name, " ",
                         spec->value_name));
      }
      value = argv[++i];
    }
    if (spec->kind == FlagSpec::Kind::kValue) {
      if (value.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a non-empty value: --", name,
                         " ", spec->value_name));
      }
      if (!values.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " is given more than once"));
      }
    }
    values.emplace_back(value);
  }
  return args;
}

std::string FormatFlagHelp(const std::vector<FlagSpec>& specs) {
  std::vector<std::string> heads;
  size_t width = 0;
  for (const FlagSpec& spec : specs) {
    std::string head = absl::StrCat(
        spec.short_name != 0 ? absl::StrCat("-", std::string(1, spec.short_name), ", ")
                             : "",
        "--", spec.name);
    if (spec.kind != FlagSpec::Kind::kBool) {
      absl::StrAppend(&head, " ", spec.value_name);
    }
    width = std::max(width, head.size());
    heads.push_back(std::move(head));
  }
  std::string text;
  for (size_t i = 0; i < specs.size(); ++i) {
    absl::StrAppend(&text, "  ", heads[i],
                    std::string(width - heads[i].size() + 2, ' '),
                    specs[i].help, "\n");
  }
  return text;
}

}  // namespace pdpctl
