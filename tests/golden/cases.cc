#include "tests/golden/cases.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "pdp/names.h"
#include "pdp/v1/authorizer.pb.h"
#include "yaml-cpp/yaml.h"

namespace pdp {
namespace golden {
namespace {

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

const std::vector<std::string>& LinkWords() {
  static const auto* words = new std::vector<std::string>{
      "user", "client", "agent", "service", "tool", "rule"};
  return *words;
}

// Reads the table strictly: an unknown key or a misspelt word is an error,
// so that a typo cannot turn a case into one that trivially passes.
class TableReader {
 public:
  // Returns InvalidArgument listing every problem, NotFound if unreadable.
  absl::StatusOr<Table> Read(const std::string& path) {
    path_ = path;
    YAML::Node root;
    // yaml-cpp reports errors by throwing; this is its one call site.
    try {
      root = YAML::LoadFile(path);
      ReadRoot(root);
    } catch (const YAML::BadFile& e) {
      return absl::NotFoundError(absl::StrCat(path, ": ", e.what()));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
    }
    if (!errors_.empty()) {
      return absl::InvalidArgumentError(absl::StrJoin(errors_, "\n"));
    }
    return std::move(table_);
  }

 private:
  void Error(const YAML::Node& node, absl::string_view message) {
    errors_.push_back(
        absl::StrCat(path_, ":", node.Mark().line + 1, ": ", message));
  }

  void CheckKeys(const YAML::Node& node, const std::set<std::string>& allowed,
                 absl::string_view what) {
    if (!node.IsMap()) {
      Error(node, absl::StrCat(what, " must be a mapping"));
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.as<std::string>();
      if (allowed.count(key) == 0) {
        Error(it->first, absl::StrCat("unknown key \"", key, "\" in ", what));
      }
    }
  }

  std::string Scalar(const YAML::Node& node, absl::string_view key) {
    if (!node) return "";
    if (!node.IsScalar()) {
      Error(node, absl::StrCat("\"", key, "\" must be a single value"));
      return "";
    }
    return node.Scalar();
  }

  std::vector<std::string> Strings(const YAML::Node& node,
                                   absl::string_view key) {
    std::vector<std::string> out;
    if (!node || node.IsNull()) return out;
    if (!node.IsSequence()) {
      Error(node, absl::StrCat("\"", key, "\" must be a list"));
      return out;
    }
    for (const YAML::Node& item : node) out.push_back(Scalar(item, key));
    return out;
  }

  bool Bool(const YAML::Node& node, absl::string_view key) {
    std::string word = Scalar(node, key);
    if (word.empty() || word == "false") return false;
    if (word == "true") return true;
    Error(node, absl::StrCat("\"", key, "\" must be true or false"));
    return false;
  }

  std::string StepUp(const YAML::Node& node) {
    std::string word = Scalar(node, "step_up");
    if (!word.empty() && !ParseAuthStrength(word).has_value()) {
      Error(node, absl::StrCat("\"", word, "\" is not a strength"));
    }
    return word;
  }

  Chain ReadChain(const YAML::Node& node) {
    Chain chain;
    CheckKeys(node,
              {"user", "roles", "amr", "client", "scopes", "agent", "service",
               "autonomous"},
              "chain");
    if (!node.IsMap()) return chain;
    chain.user_id = Scalar(node["user"], "user");
    chain.asserted_roles = Strings(node["roles"], "roles");
    chain.amr = Strings(node["amr"], "amr");
    chain.client_id = Scalar(node["client"], "client");
    chain.scopes = Strings(node["scopes"], "scopes");
    chain.agent_id = Scalar(node["agent"], "agent");
    chain.service_id = Scalar(node["service"], "service");
    chain.autonomous = Bool(node["autonomous"], "autonomous");
    return chain;
  }

  std::string Name(const YAML::Node& node) {
    std::string name = Scalar(node["name"], "name");
    if (name.empty()) Error(node, "a case needs a \"name\"");
    if (!names_.insert(name).second) {
      Error(node, absl::StrCat("duplicate case name \"", name, "\""));
    }
    return name;
  }

  void ReadCheck(const YAML::Node& node) {
    CheckKeys(node,
              {"name", "chain", "tool", "action", "effect", "error", "reasons",
               "missing_scopes", "rules", "redact", "step_up"},
              "a check");
    if (!node.IsMap()) return;
    CheckCase c;
    c.line = node.Mark().line + 1;
    c.name = Name(node);
    c.request.chain = ReadChain(node["chain"]);
    c.request.tool_id = Scalar(node["tool"], "tool");
    std::string action = Scalar(node["action"], "action");
    if (action == "see") {
      c.request.action = Action::kSee;
    } else if (!action.empty() && action != "call") {
      Error(node["action"], "\"action\" must be call or see");
    }
    if (node["error"]) {
      c.error = Scalar(node["error"], "error");
      if (*c.error != "INVALID_ARGUMENT") {
        Error(node["error"], "\"error\" must be INVALID_ARGUMENT");
      }
      if (node["effect"]) Error(node, "give \"effect\" or \"error\", not both");
    } else {
      c.effect = Scalar(node["effect"], "effect");
      if (c.effect != "ALLOW" && c.effect != "DENY" && c.effect != "STEP_UP" &&
          c.effect != "REQUIRE_APPROVAL") {
        Error(node, absl::StrCat("\"effect\" must be ALLOW, DENY, STEP_UP or "
                                 "REQUIRE_APPROVAL, not \"",
                                 c.effect, "\""));
      }
    }
    for (const std::string& reason : Strings(node["reasons"], "reasons")) {
      std::vector<std::string> parts = absl::StrSplit(reason, ':');
      v1::Reason::Code code;
      if (parts.size() != 2 ||
          std::find(LinkWords().begin(), LinkWords().end(), parts[0]) ==
              LinkWords().end() ||
          !v1::Reason::Code_Parse(parts[1], &code) ||
          code == v1::Reason::CODE_UNSPECIFIED) {
        Error(node["reasons"],
              absl::StrCat("\"", reason, "\" is not \"link:CODE\""));
      }
      c.reasons.push_back(reason);
    }
    c.reasons = Sorted(c.reasons);
    c.missing_scopes =
        Sorted(Strings(node["missing_scopes"], "missing_scopes"));
    c.rules = Sorted(Strings(node["rules"], "rules"));
    c.redact = Sorted(Strings(node["redact"], "redact"));
    c.step_up = StepUp(node["step_up"]);
    if ((c.effect == "STEP_UP") != !c.step_up.empty()) {
      Error(node, "\"step_up\" goes with effect STEP_UP, and only with it");
    }
    table_.checks.push_back(std::move(c));
  }

  void ReadDiscovery(const YAML::Node& node) {
    CheckKeys(node, {"name", "chain", "server", "tools", "visible"},
              "a discovery case");
    if (!node.IsMap()) return;
    DiscoveryCase c;
    c.line = node.Mark().line + 1;
    c.name = Name(node);
    c.chain = ReadChain(node["chain"]);
    c.selection.server_id = Scalar(node["server"], "server");
    c.selection.tool_ids = Strings(node["tools"], "tools");
    if (!node["visible"] || !node["visible"].IsSequence()) {
      Error(node, "\"visible\" must be a list (possibly empty)");
      return;
    }
    for (const YAML::Node& item : node["visible"]) {
      ExpectedTool tool;
      if (item.IsScalar()) {
        tool.id = item.Scalar();
      } else {
        CheckKeys(item, {"id", "requires_approval", "step_up", "redact"},
                  "a visible tool");
        if (!item.IsMap()) continue;
        tool.id = Scalar(item["id"], "id");
        tool.requires_approval =
            Bool(item["requires_approval"], "requires_approval");
        tool.step_up = StepUp(item["step_up"]);
        tool.redact = Sorted(Strings(item["redact"], "redact"));
      }
      c.visible.push_back(std::move(tool));
    }
    table_.discovery.push_back(std::move(c));
  }

  void ReadRoot(const YAML::Node& root) {
    CheckKeys(root, {"checks", "discovery"}, "the table");
    if (!root.IsMap()) return;
    for (const char* key : {"checks", "discovery"}) {
      if (!root[key] || !root[key].IsSequence()) {
        Error(root, absl::StrCat("\"", key, "\" must be a list"));
        continue;
      }
      for (const YAML::Node& item : root[key]) {
        if (std::string(key) == "checks") {
          ReadCheck(item);
        } else {
          ReadDiscovery(item);
        }
      }
    }
  }

  std::string path_;
  Table table_;
  std::set<std::string> names_;
  std::vector<std::string> errors_;
};

}  // namespace

absl::StatusOr<Table> ReadTable(const std::string& path) {
  return TableReader().Read(path);
}

}  // namespace golden
}  // namespace pdp
