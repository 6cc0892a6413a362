#include "tools/pdpctl/policy_test_reader.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "pdp/evaluator.h"
#include "pdp/names.h"
#include "pdp/v1/authorizer.pb.h"
#include "yaml-cpp/yaml.h"

namespace pdpctl {
namespace {

// The links a "link:CODE" reason may name, as pdp::LinkName spells them.
const std::set<std::string>& LinkWords() {
  static const auto* words = new std::set<std::string>{
      "user", "client", "agent", "service", "tool", "rule"};
  return *words;
}

bool IsReasonCode(const std::string& word) {
  pdp::v1::Reason::Code parsed;
  return pdp::v1::Reason::Code_Parse(word, &parsed) &&
         parsed != pdp::v1::Reason::CODE_UNSPECIFIED;
}

// Reads a test file strictly, collecting every problem: a typo must not turn
// a case into one that trivially passes.
class TestFileReader {
 public:
  explicit TestFileReader(const PolicyTestFormat& format)
      : extended_(format.extended) {}

  absl::StatusOr<PolicyTestFile> Read(const std::string& path) {
    file_.path = path;
    {
      std::ifstream probe(path);
      if (!probe)
        return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
    }
    // yaml-cpp reports errors by throwing; this is its one call site.
    try {
      YAML::Node root = YAML::LoadFile(path);
      ReadRoot(root);
    } catch (const YAML::ParserException& e) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", e.mark.line + 1, ": not valid YAML: ", e.msg));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
    }
    if (!errors_.empty()) {
      return absl::InvalidArgumentError(absl::StrJoin(errors_, "\n"));
    }
    return std::move(file_);
  }

 private:
  void Error(const YAML::Node& node, absl::string_view message) {
    const int line = node.Mark().is_null() ? 0 : node.Mark().line;
    errors_.push_back(absl::StrCat(file_.path, ":", line + 1, ": ", message));
  }

  // Sorted; unique too unless the format is extended (which compares
  // multisets).
  std::vector<std::string> Normalized(std::vector<std::string> v) const {
    std::sort(v.begin(), v.end());
    if (!extended_) v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }

  // False (after reporting) unless `node` is a mapping with allowed keys.
  bool CheckKeys(const YAML::Node& node, std::set<std::string> allowed,
                 absl::string_view what,
                 const std::set<std::string>& extended_keys = {}) {
    if (extended_) allowed.insert(extended_keys.begin(), extended_keys.end());
    if (!node.IsMap()) {
      Error(node, absl::StrCat(what, " must be a mapping"));
      return false;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key =
          it->first.IsScalar() ? it->first.Scalar() : "(not a word)";
      if (allowed.count(key) == 0) {
        Error(it->first, absl::StrCat("unknown key \"", key, "\" in ", what,
                                      " (expected one of: ",
                                      absl::StrJoin(allowed, ", "), ")"));
      }
    }
    return true;
  }

  std::string Scalar(const YAML::Node& node, absl::string_view key) {
    if (!node || node.IsNull()) return "";
    if (!node.IsScalar()) {
      Error(node, absl::StrCat("\"", key, "\" must be a single value"));
      return "";
    }
    return node.Scalar();
  }

  std::string Required(const YAML::Node& parent, absl::string_view key,
                       absl::string_view what) {
    const YAML::Node value = parent[std::string(key)];
    if (value && !value.IsNull() && !value.IsScalar()) {
      return Scalar(value, key);  // Reports it.
    }
    std::string word = Scalar(value, key);
    if (word.empty()) Error(parent, absl::StrCat(what, " needs \"", key, "\""));
    return word;
  }

  // A list item's word; "" (reported if it is an empty word) when it has
  // none.
  std::string Item(const YAML::Node& item, absl::string_view key) {
    std::string word = Scalar(item, key);
    if (word.empty() && (item.IsScalar() || item.IsNull())) {
      Error(item, absl::StrCat("empty item in \"", key, "\""));
    }
    return word;
  }

  std::vector<std::string> Strings(const YAML::Node& node,
                                   absl::string_view key) {
    std::vector<std::string> out;
    if (!node || node.IsNull()) return out;
    if (!node.IsSequence()) {
      Error(node, absl::StrCat("\"", key, "\" must be a list"));
      return out;
    }
    for (const YAML::Node& item : node) {
      std::string word = Item(item, key);
      if (!word.empty()) out.push_back(std::move(word));
    }
    return out;
  }

  bool Bool(const YAML::Node& node, absl::string_view key) {
    if (!node) return false;
    const std::string word = Scalar(node, key);
    if (word == "true") return true;
    if (word == "false") return false;
    Error(node, absl::StrCat("\"", key, "\" must be true or false"));
    return false;
  }

  // An AuthStrengthName, or "" (reported) if `node` is not one.
  std::string StepUp(const YAML::Node& node) {
    const std::string word = Scalar(node, "step_up");
    if (!pdp::ParseAuthStrength(word).has_value()) {
      Error(node,
            absl::StrCat("\"step_up\" must be one of ",
                         pdp::AuthStrengthValues(), ", not \"", word, "\""));
    }
    return word;
  }

  pdp::Chain ReadChain(const YAML::Node& parent, bool validate = true) {
    pdp::Chain chain;
    const YAML::Node node = parent["chain"];
    if (!node) {
      Error(parent, "a case needs \"chain\"");
      return chain;
    }
    if (!CheckKeys(node,
                   {"user", "roles", "idp_roles", "amr", "client", "scopes",
                    "agent", "delegated_agents", "service", "service_scopes",
                    "autonomous"},
                   "a chain")) {
      return chain;
    }
    chain.user_id = Scalar(node["user"], "user");
    chain.asserted_roles = Strings(node["roles"], "roles");
    if (node["idp_roles"]) {
      if (node["roles"]) {
        Error(node["idp_roles"],
              "a chain has \"roles\" (asserted) or \"idp_roles\" (from the "
              "identity provider's token), not both");
      }
      chain.asserted_roles = Strings(node["idp_roles"], "idp_roles");
      chain.roles_from_idp = true;
    }
    chain.delegated_agents =
        Strings(node["delegated_agents"], "delegated_agents");
    chain.amr = Strings(node["amr"], "amr");
    chain.client_id = Scalar(node["client"], "client");
    chain.scopes = Strings(node["scopes"], "scopes");
    chain.agent_id = Scalar(node["agent"], "agent");
    chain.service_id = Scalar(node["service"], "service");
    if (node["service_scopes"]) {
      if (node["scopes"]) {
        Error(node["service_scopes"],
              "a chain has \"scopes\" (a client's token) or "
              "\"service_scopes\" (a service's token), not both");
      }
      chain.scopes = Strings(node["service_scopes"], "service_scopes");
      chain.service_scopes_from_token = true;
    }
    chain.autonomous = Bool(node["autonomous"], "autonomous");
    if (!validate) return chain;
    if (absl::Status status = pdp::ValidateChain(chain); !status.ok()) {
      Error(node, absl::StrCat("bad chain: ", status.message()));
    }
    return chain;
  }

  std::string Name(const YAML::Node& node) {
    std::string name = Required(node, "name", "a case");
    if (!name.empty() && !names_.insert(name).second) {
      Error(node["name"], absl::StrCat("duplicate case name \"", name, "\""));
    }
    return name;
  }

  // Bare codes, or with `extended_` "link:CODE".
  std::vector<std::string> Reasons(const YAML::Node& node) {
    std::vector<std::string> reasons = Strings(node, "reasons");
    for (const std::string& reason : reasons) {
      if (!extended_) {
        if (!IsReasonCode(reason)) {
          Error(node, absl::StrCat("\"", reason, "\" is not a reason code"));
        }
        continue;
      }
      std::vector<std::string> parts = absl::StrSplit(reason, ':');
      if (parts.size() != 2 || LinkWords().count(parts[0]) == 0 ||
          !IsReasonCode(parts[1])) {
        Error(node, absl::StrCat("\"", reason, "\" is not \"link:CODE\""));
      }
    }
    return Normalized(std::move(reasons));
  }

  void ReadCase(const YAML::Node& node) {
    if (!CheckKeys(node,
                   {"name", "chain", "tool", "action", "expect", "reasons",
                    "redact", "step_up"},
                   "a case", {"error", "missing_scopes", "rules"})) {
      return;
    }
    PolicyCheckCase c;
    c.line = node.Mark().line + 1;
    c.name = Name(node);
    const bool error = extended_ && node["error"];
    c.request.chain = ReadChain(node, /*validate=*/!error);
    c.request.tool_id = Required(node, "tool", "a case");
    const std::string action = Scalar(node["action"], "action");
    if (action == "see") {
      c.request.action = pdp::Action::kSee;
    } else if (!action.empty() && action != "call") {
      Error(
          node["action"],
          absl::StrCat("\"action\" must be call or see, not \"", action, "\""));
    }
    if (error) {
      c.error = Scalar(node["error"], "error");
      if (*c.error != "INVALID_ARGUMENT") {
        Error(node["error"], "\"error\" must be INVALID_ARGUMENT");
      }
      if (node["expect"]) Error(node, "give \"expect\" or \"error\", not both");
    } else if (node["expect"]) {
      c.expect = Scalar(node["expect"], "expect");
      if (c.expect != "ALLOW" && c.expect != "DENY" && c.expect != "STEP_UP" &&
          c.expect != "REQUIRE_APPROVAL") {
        Error(node["expect"],
              absl::StrCat("\"expect\" must be ALLOW, DENY, STEP_UP or "
                           "REQUIRE_APPROVAL, not \"",
                           c.expect, "\""));
      }
    } else {
      Error(node, "a case needs \"expect\"");
    }
    if (node["reasons"]) c.reasons = Reasons(node["reasons"]);
    if (node["redact"]) {
      c.redact = Normalized(Strings(node["redact"], "redact"));
    }
    if (node["step_up"]) {
      c.step_up = StepUp(node["step_up"]);
      if (c.expect != "STEP_UP") {
        Error(node["step_up"], "\"step_up\" goes with expect: STEP_UP only");
      }
    } else if (extended_ && c.expect == "STEP_UP") {
      Error(node, "expect: STEP_UP needs \"step_up\"");
    }
    if (extended_ && node["missing_scopes"]) {
      c.missing_scopes =
          Normalized(Strings(node["missing_scopes"], "missing_scopes"));
    }
    if (extended_ && node["rules"]) {
      c.rules = Normalized(Strings(node["rules"], "rules"));
    }
    file_.cases.push_back(std::move(c));
  }

  // One `visible` item: a tool id, or with `extended_` a mapping.
  void ReadVisible(const YAML::Node& item, PolicyDiscoveryCase& c) {
    PolicyVisibleTool tool;
    if (!extended_ || !item.IsMap()) {
      tool.id = Item(item, "visible");
      if (tool.id.empty()) return;
    } else {
      if (!CheckKeys(item, {"id", "requires_approval", "step_up", "redact"},
                     "a visible tool")) {
        return;
      }
      tool.id = Required(item, "id", "a visible tool");
      tool.requires_approval =
          Bool(item["requires_approval"], "requires_approval");
      if (item["step_up"]) tool.step_up = StepUp(item["step_up"]);
      tool.redact = Normalized(Strings(item["redact"], "redact"));
    }
    c.visible.push_back(tool.id);
    c.visible_tools.push_back(std::move(tool));
  }

  void ReadDiscovery(const YAML::Node& node) {
    if (!CheckKeys(node, {"name", "chain", "server", "tools", "visible"},
                   "a discovery case")) {
      return;
    }
    PolicyDiscoveryCase c;
    c.line = node.Mark().line + 1;
    c.name = Name(node);
    c.chain = ReadChain(node);
    c.selection.server_id = Scalar(node["server"], "server");
    c.selection.tool_ids = Strings(node["tools"], "tools");
    if (node["server"] && node["tools"]) {
      Error(node, "give \"server\" or \"tools\", not both");
    } else if (node["tools"] && c.selection.tool_ids.empty() &&
               node["tools"].IsSequence()) {
      Error(node["tools"], "\"tools\" needs at least one tool id");
    }
    if (!node["visible"]) {
      Error(node, "a discovery case needs \"visible\" (a list, possibly [])");
    } else if (!node["visible"].IsSequence()) {
      Error(node["visible"], "\"visible\" must be a list (possibly [])");
    } else {
      for (const YAML::Node& item : node["visible"]) ReadVisible(item, c);
      std::sort(c.visible.begin(), c.visible.end());
      c.visible.erase(std::unique(c.visible.begin(), c.visible.end()),
                      c.visible.end());
    }
    file_.discovery.push_back(std::move(c));
  }

  // directory: {users: [{id, roles}], deleted: [ids]}
  void ReadDirectory(const YAML::Node& node) {
    if (!node || node.IsNull()) return;
    if (!CheckKeys(node, {"users", "deleted"}, "the directory")) return;
    const YAML::Node users = node["users"];
    if (users && !users.IsNull()) {
      if (!users.IsSequence()) {
        Error(users, "\"users\" must be a list");
      } else {
        for (const YAML::Node& item : users) {
          if (!CheckKeys(item, {"id", "roles"}, "a directory user")) continue;
          pdp::v1::User user;
          user.set_id(Required(item, "id", "a directory user"));
          for (std::string& role : Strings(item["roles"], "roles")) {
            user.add_roles(std::move(role));
          }
          file_.directory.Put(std::move(user));
        }
      }
    }
    for (const std::string& id : Strings(node["deleted"], "deleted")) {
      file_.directory.Delete(id);
    }
  }

  void ReadRoot(const YAML::Node& root) {
    if (!root || root.IsNull()) {
      Error(root, "empty test file (expected \"cases\" and/or \"discovery\")");
      return;
    }
    if (!CheckKeys(root, {"directory", "cases", "discovery"}, "a test file")) {
      return;
    }
    if (!root["cases"] && !root["discovery"]) {
      Error(root, "a test file needs \"cases\" or \"discovery\"");
    }
    ReadDirectory(root["directory"]);
    for (const char* key : {"cases", "discovery"}) {
      const YAML::Node list = root[key];
      if (!list || list.IsNull()) continue;
      if (!list.IsSequence()) {
        Error(list, absl::StrCat("\"", key, "\" must be a list"));
        continue;
      }
      for (const YAML::Node& item : list) {
        if (std::string(key) == "cases") {
          ReadCase(item);
        } else {
          ReadDiscovery(item);
        }
      }
    }
  }

  const bool extended_;
  PolicyTestFile file_;
  std::set<std::string> names_;
  std::vector<std::string> errors_;
};

}  // namespace

void TestDirectory::Put(pdp::v1::User user) {
  std::string id = user.id();
  users_[std::move(id)] =
      std::make_shared<const pdp::v1::User>(std::move(user));
}

void TestDirectory::Delete(const std::string& id) { users_[id] = nullptr; }

pdp::DirectoryEntry TestDirectory::Find(absl::string_view user_id) const {
  auto it = users_.find(std::string(user_id));
  if (it == users_.end()) return {};
  return {it->second, it->second == nullptr};
}

absl::StatusOr<PolicyTestFile> ReadPolicyTestFile(
    const std::string& path, const PolicyTestFormat& format) {
  return TestFileReader(format).Read(path);
}

}  // namespace pdpctl
