#include "common/flags/flags.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace common {

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

FlagDialect StrictDialect() {
  FlagDialect dialect;
  dialect.positional = false;
  dialect.double_dash_ends_flags = false;
  dialect.repeats = FlagDialect::Repeats::kNone;
  return dialect;
}

FlagDialect SequentialDialect() {
  FlagDialect dialect;
  dialect.positional = false;
  dialect.double_dash_ends_flags = false;
  dialect.values_may_start_with_dashes = true;
  dialect.empty_values = true;
  dialect.repeats = FlagDialect::Repeats::kAll;
  return dialect;
}

std::string DefaultFlagMessage(const FlagProblem& problem) {
  using Kind = FlagProblem::Kind;
  const std::string& name = problem.name;
  switch (problem.kind) {
    case Kind::kUnknownFlag:
      return absl::StrCat("unknown flag --", name);
    case Kind::kUnknownShortFlag:
      return absl::StrCat("unknown flag ", name, " (flags are spelled --name)");
    case Kind::kUnexpectedArgument:
      return absl::StrCat("unexpected argument '", name, "'");
    case Kind::kNeedsValue:
      return absl::StrCat("flag --", name, " needs a value: --", name, " ",
                          problem.value_name);
    case Kind::kNeedsNonEmptyValue:
      return absl::StrCat("flag --", name, " needs a non-empty value: --",
                          name, " ", problem.value_name);
    case Kind::kTakesNoValue:
      return absl::StrCat("flag --", name, " takes no value");
    case Kind::kRepeated:
      return absl::StrCat("flag --", name, " is given more than once");
  }
  return "bad command line";
}

// Builds Args; the first problem ends the parse.
class Parser {
 public:
  Parser(const std::vector<FlagSpec>& specs, const FlagDialect& dialect)
      : specs_(specs), dialect_(dialect) {}

  absl::StatusOr<Args> Parse(const std::vector<std::string>& argv,
                             std::string (*message)(const FlagProblem&)) {
    using Kind = FlagProblem::Kind;
    auto fail = [message](Kind kind, absl::string_view name,
                          const FlagSpec* spec = nullptr) {
      FlagProblem problem;
      problem.kind = kind;
      problem.name = std::string(name);
      if (spec != nullptr) problem.value_name = spec->value_name;
      return absl::InvalidArgumentError(message(problem));
    };
    Args args;
    bool flags_ended = false;
    for (size_t i = 0; i < argv.size(); ++i) {
      const std::string& arg = argv[i];
      const bool is_double_dash = arg == "--";
      if (flags_ended || arg == "-" || arg.empty() || arg[0] != '-' ||
          (is_double_dash && !dialect_.double_dash_ends_flags)) {
        if (!dialect_.positional) return fail(Kind::kUnexpectedArgument, arg);
        args.positional_.push_back(arg);
        continue;
      }
      if (is_double_dash) {
        flags_ended = true;
        continue;
      }
      std::string long_form;  // "-o" spelled as "--out".
      if (arg.rfind("--", 0) != 0) {
        auto short_spec =
            arg.size() != 2 ? specs_.end()
                            : std::find_if(specs_.begin(), specs_.end(),
                                           [&](const FlagSpec& s) {
                                             return s.short_name == arg[1];
                                           });
        if (short_spec == specs_.end()) {
          return fail(Kind::kUnknownShortFlag, arg);
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
      auto spec =
          std::find_if(specs_.begin(), specs_.end(),
                       [&](const FlagSpec& s) { return s.name == name; });
      if (spec == specs_.end()) return fail(Kind::kUnknownFlag, name);
      std::vector<std::string>& values = args.values_[spec->name];
      if (dialect_.repeats == FlagDialect::Repeats::kNone && !values.empty()) {
        return fail(Kind::kRepeated, name);
      }
      if (spec->kind == FlagSpec::Kind::kBool) {
        if (inline_value && !dialect_.bool_values) {
          return fail(Kind::kTakesNoValue, name);
        }
        const std::string given = inline_value ? std::string(value) : "true";
        values.assign(1, given);
        args.in_order_.emplace_back(spec->name, given);
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= argv.size() ||
            (!dialect_.values_may_start_with_dashes &&
             argv[i + 1].rfind("--", 0) == 0)) {
          return fail(Kind::kNeedsValue, name, &*spec);
        }
        value = argv[++i];
      }
      if (spec->kind == FlagSpec::Kind::kValue) {
        if (value.empty() && !dialect_.empty_values) {
          return fail(Kind::kNeedsNonEmptyValue, name, &*spec);
        }
        if (!values.empty() &&
            dialect_.repeats == FlagDialect::Repeats::kListsAndBools) {
          return fail(Kind::kRepeated, name);
        }
      }
      values.emplace_back(value);
      args.in_order_.emplace_back(spec->name, std::string(value));
    }
    return args;
  }

 private:
  const std::vector<FlagSpec>& specs_;
  const FlagDialect& dialect_;
};

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<FlagSpec>& specs,
                               const FlagDialect& dialect,
                               std::string (*message)(const FlagProblem&)) {
  return Parser(specs, dialect).Parse(argv, message);
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

}  // namespace common
