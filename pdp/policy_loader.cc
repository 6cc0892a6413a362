#include "pdp/policy_loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pdp/names.h"
#include "yaml-cpp/yaml.h"

namespace pdp {
namespace {

namespace fs = std::filesystem;

int LineOf(const YAML::Node& node) { return node.Mark().line + 1; }

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
// Bundles carry policy strings in proto3 string fields, which must be UTF-8.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int extra;
    uint32_t min, code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, min = 0x80, code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, min = 0x800, code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, min = 0x10000, code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // Truncated sequence.
    for (int k = 1; k <= extra; ++k) {
      const unsigned char next = s[i + k];
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// A key of a mapping and how to read its value into a message of type M.
template <typename M>
struct Field {
  absl::string_view key;
  std::function<void(const YAML::Node&, M*)> read;
};

// Reads one file. Each Read* reports its own errors and keeps going.
class FileReader {
 public:
  FileReader(absl::string_view file, v1::Bundle* bundle,
             Diagnostics* diagnostics)
      : file_(file), bundle_(bundle), diagnostics_(diagnostics) {}

  void ReadDocument(const YAML::Node& root);

 private:
  void Error(const YAML::Node& node, std::string message) {
    diagnostics_->Add(file_, LineOf(node), std::move(message));
  }

  v1::Source MakeSource(const YAML::Node& node) {
    v1::Source source;
    source.set_file(file_);
    source.set_line(LineOf(node));
    return source;
  }

  // Reads `node`, a mapping, with `fields`; reports unknown and duplicate
  // keys. `what` names the element in errors ("tool", "deny rule \"x\"").
  template <typename M>
  void ReadMap(const YAML::Node& node, const std::vector<Field<M>>& fields,
               absl::string_view what, M* out) {
    if (!node.IsMap()) {
      Error(node, absl::StrCat(what, " must be a mapping of keys to values"));
      return;
    }
    absl::flat_hash_set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;  // A copy: it-> yields a temporary.
      if (!key.IsScalar()) {
        Error(key, absl::StrCat("a key of ", what, " must be a word"));
        continue;
      }
      const std::string& name = key.Scalar();
      if (!seen.insert(name).second) {
        Error(key, absl::StrCat("duplicate key \"", name, "\" in ", what));
        continue;
      }
      auto field = std::find_if(fields.begin(), fields.end(),
                                [&](const Field<M>& f) { return f.key == name; });
      if (field == fields.end()) {
        Error(key, absl::StrCat("unknown key \"", name, "\" in ", what,
                                "; expected one of: ", KeyList(fields)));
        continue;
      }
      field->read(it->second, out);
    }
  }

  template <typename M>
  static std::string KeyList(const std::vector<Field<M>>& fields) {
    return absl::StrJoin(fields, ", ", [](std::string* out, const Field<M>& f) {
      out->append(f.key.data(), f.key.size());
    });
  }

  // Reads a top-level list of elements, each a mapping with an `id`.
  template <typename M>
  void ReadList(const YAML::Node& node, absl::string_view kind,
                const std::vector<Field<M>>& fields,
                std::function<M*()> add) {
    if (node.IsNull()) return;
    if (!node.IsSequence()) {
      Error(node, absl::StrCat("\"", kind, "\" must be a list"));
      return;
    }
    for (const YAML::Node& item : node) {
      M* element = add();
      *element->mutable_source() = MakeSource(item);
      ReadMap(item, fields, kind, element);
      if (item.IsMap() && element->id().empty()) {
        Error(item, absl::StrCat("an element of \"", kind,
                                 "\" has no \"id\""));
      }
    }
  }

  bool ReadString(const YAML::Node& node, absl::string_view key,
                  std::string* out) {
    if (!node.IsScalar()) {
      Error(node, absl::StrCat("\"", key, "\" must be a single value"));
      return false;
    }
    if (!CheckUtf8(node, key)) return false;
    *out = node.Scalar();
    return true;
  }

  // Reports a scalar that is not UTF-8 (raw bytes, or an escaped surrogate).
  bool CheckUtf8(const YAML::Node& scalar, absl::string_view key) {
    if (IsValidUtf8(scalar.Scalar())) return true;
    Error(scalar, absl::StrCat("a value of \"", key, "\" is not valid UTF-8"));
    return false;
  }

  void ReadId(const YAML::Node& node, std::string* out) {
    if (ReadString(node, "id", out) && out->empty()) {
      Error(node, "\"id\" must not be empty");
    }
  }

  // Reads a list of words, recording each item's line as "key[i]".
  void ReadStrings(const YAML::Node& node, absl::string_view key,
                   google::protobuf::RepeatedPtrField<std::string>* out,
                   v1::Source* source) {
    if (node.IsNull()) return;
    if (!node.IsSequence()) {
      Error(node, absl::StrCat("\"", key, "\" must be a list"));
      return;
    }
    for (const YAML::Node& item : node) {
      if (!item.IsScalar()) {
        Error(item, absl::StrCat("each item of \"", key, "\" must be a word"));
        continue;
      }
      if (!CheckUtf8(item, key)) continue;
      if (source != nullptr) {
        (*source->mutable_item_lines())[absl::StrCat(key, "[", out->size(),
                                                     "]")] = LineOf(item);
      }
      out->Add(std::string(item.Scalar()));
    }
  }

  template <typename E>
  void ReadEnum(const YAML::Node& node, absl::string_view key,
                std::optional<E> (*parse)(absl::string_view),
                std::string (*values)(), std::function<void(E)> set) {
    std::string word;
    if (!ReadString(node, key, &word)) return;
    std::optional<E> value = parse(word);
    if (!value.has_value()) {
      Error(node, absl::StrCat("\"", word, "\" is not a valid ", key,
                               "; expected one of: ", values()));
      return;
    }
    set(*value);
  }

  void ReadBool(const YAML::Node& node, absl::string_view key,
                std::function<void(bool)> set) {
    if (node.IsScalar()) {
      const std::string& s = node.Scalar();
      // YAML 1.2's core schema booleans.
      if (s == "true" || s == "True" || s == "TRUE") return set(true);
      if (s == "false" || s == "False" || s == "FALSE") return set(false);
    }
    Error(node, absl::StrCat("\"", key, "\" must be true or false"));
  }

  void ReadRegistry(const YAML::Node& node, absl::string_view kind,
                    google::protobuf::RepeatedPtrField<v1::RegistryEntry>* out);

  std::string file_;
  v1::Bundle* bundle_;
  Diagnostics* diagnostics_;
};

// Shorthands for field tables.
#define PDP_STRING_FIELD(M, key, setter)                      \
  Field<M> {                                                  \
    key, [this](const YAML::Node& n, M* m) {                  \
      std::string s;                                          \
      if (ReadString(n, key, &s)) m->setter(s);               \
    }                                                         \
  }
#define PDP_LIST_FIELD(M, key, mutable_list)                               \
  Field<M> {                                                               \
    key, [this](const YAML::Node& n, M* m) {                               \
      ReadStrings(n, key, m->mutable_list(), m->mutable_source());         \
    }                                                                      \
  }
#define PDP_ID_FIELD(M) \
  Field<M> { "id", [this](const YAML::Node& n, M* m) { ReadId(n, m->mutable_id()); } }

void FileReader::ReadRegistry(
    const YAML::Node& node, absl::string_view kind,
    google::protobuf::RepeatedPtrField<v1::RegistryEntry>* out) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    Error(node, absl::StrCat("\"", kind, "\" must be a list"));
    return;
  }
  using M = v1::RegistryEntry;
  const std::vector<Field<M>> fields = {
      PDP_ID_FIELD(M), PDP_STRING_FIELD(M, "description", set_description)};
  for (const YAML::Node& item : node) {
    M* entry = out->Add();
    *entry->mutable_source() = MakeSource(item);
    if (item.IsScalar()) {  // The short form: just the id.
      ReadId(item, entry->mutable_id());
      continue;
    }
    ReadMap(item, fields, kind, entry);
    if (item.IsMap() && entry->id().empty()) {
      Error(item, absl::StrCat("an element of \"", kind, "\" has no \"id\""));
    }
  }
}

void FileReader::ReadDocument(const YAML::Node& root) {
  if (root.IsNull()) return;  // An empty file.
  if (!root.IsMap()) {
    Error(root,
          "a policy file must be a mapping of top-level keys (tools, roles, "
          "agents, clients, servers, services, users, deny, scopes, "
          "data_classes)");
    return;
  }

  const std::vector<Field<v1::Tool>> tool_fields = {
      PDP_ID_FIELD(v1::Tool),
      PDP_LIST_FIELD(v1::Tool, "scopes", mutable_scopes),
      PDP_LIST_FIELD(v1::Tool, "data", mutable_data),
      {"risk",
       [this](const YAML::Node& n, v1::Tool* t) {
         ReadEnum<v1::Risk>(n, "risk", ParseRisk, RiskValues,
                            [t](v1::Risk v) { t->set_risk(v); });
       }},
      {"autonomy",
       [this](const YAML::Node& n, v1::Tool* t) {
         ReadEnum<v1::Autonomy>(n, "autonomy", ParseAutonomy, AutonomyValues,
                                [t](v1::Autonomy v) { t->set_autonomy(v); });
       }},
      {"auth",
       [this](const YAML::Node& n, v1::Tool* t) {
         ReadEnum<v1::AuthStrength>(
             n, "auth", ParseAuthStrength, AuthStrengthValues,
             [t](v1::AuthStrength v) { t->set_auth(v); });
       }},
      {"min_client_trust",
       [this](const YAML::Node& n, v1::Tool* t) {
         ReadEnum<v1::ClientTrust>(
             n, "min_client_trust", ParseClientTrust, ClientTrustValues,
             [t](v1::ClientTrust v) { t->set_min_client_trust(v); });
       }},
      PDP_STRING_FIELD(v1::Tool, "description", set_description),
  };
  const std::vector<Field<v1::Role>> role_fields = {
      PDP_ID_FIELD(v1::Role),
      PDP_LIST_FIELD(v1::Role, "inherits", mutable_inherits),
      PDP_LIST_FIELD(v1::Role, "tools", mutable_tools),
      PDP_LIST_FIELD(v1::Role, "data", mutable_data),
      PDP_STRING_FIELD(v1::Role, "description", set_description),
  };
  const std::vector<Field<v1::Agent>> agent_fields = {
      PDP_ID_FIELD(v1::Agent),
      PDP_LIST_FIELD(v1::Agent, "tools", mutable_tools),
      PDP_LIST_FIELD(v1::Agent, "data", mutable_data),
      {"autonomous",
       [this](const YAML::Node& n, v1::Agent* a) {
         ReadBool(n, "autonomous", [a](bool v) { a->set_autonomous(v); });
       }},
      PDP_STRING_FIELD(v1::Agent, "description", set_description),
  };
  const std::vector<Field<v1::Client>> client_fields = {
      PDP_ID_FIELD(v1::Client),
      {"trust",
       [this](const YAML::Node& n, v1::Client* c) {
         ReadEnum<v1::ClientTrust>(n, "trust", ParseClientTrust,
                                   ClientTrustValues,
                                   [c](v1::ClientTrust v) { c->set_trust(v); });
       }},
      PDP_LIST_FIELD(v1::Client, "scopes", mutable_scopes),
      PDP_LIST_FIELD(v1::Client, "redirect_uris", mutable_redirect_uris),
      {"require_bound_tokens",
       [this](const YAML::Node& n, v1::Client* c) {
         ReadBool(n, "require_bound_tokens",
                  [c](bool v) { c->set_require_bound_tokens(v); });
       }},
      {"interactive",
       [this](const YAML::Node& n, v1::Client* c) {
         ReadBool(n, "interactive", [c](bool v) { c->set_interactive(v); });
       }},
      PDP_STRING_FIELD(v1::Client, "description", set_description),
  };
  const std::vector<Field<v1::Server>> server_fields = {
      PDP_ID_FIELD(v1::Server),
      PDP_LIST_FIELD(v1::Server, "audiences", mutable_audiences),
      PDP_STRING_FIELD(v1::Server, "description", set_description),
  };
  const std::vector<Field<v1::Service>> service_fields = {
      PDP_ID_FIELD(v1::Service),
      PDP_LIST_FIELD(v1::Service, "tools", mutable_tools),
      PDP_LIST_FIELD(v1::Service, "scopes", mutable_scopes),
      PDP_LIST_FIELD(v1::Service, "data", mutable_data),
      PDP_STRING_FIELD(v1::Service, "description", set_description),
  };
  const std::vector<Field<v1::User>> user_fields = {
      PDP_ID_FIELD(v1::User),
      PDP_LIST_FIELD(v1::User, "roles", mutable_roles),
      {"attributes",
       [this](const YAML::Node& n, v1::User* u) {
         if (n.IsNull()) return;
         if (!n.IsMap()) {
           Error(n, "\"attributes\" must be a mapping of names to values");
           return;
         }
         for (auto it = n.begin(); it != n.end(); ++it) {
           if (!it->first.IsScalar() || !it->second.IsScalar()) {
             Error(it->first, "each attribute must be a name and a value");
             continue;
           }
           if (!CheckUtf8(it->first, "attributes") ||
               !CheckUtf8(it->second, "attributes")) {
             continue;
           }
           (*u->mutable_attributes())[it->first.Scalar()] = it->second.Scalar();
         }
       }},
  };

  // A deny rule's `when`: lines of its list items go to the rule's source.
  using W = v1::DenyCondition;
  auto when_list = [this](absl::string_view key,
                          google::protobuf::RepeatedPtrField<std::string>* (
                              W::*mutable_list)(),
                          v1::Source* source) {
    return Field<W>{key, [this, key, mutable_list, source](const YAML::Node& n,
                                                           W* w) {
                      ReadStrings(n, key, (w->*mutable_list)(), source);
                      if (n.IsSequence() && n.size() == 0) {
                        Error(n, absl::StrCat("\"", key,
                                              "\" in \"when\" must not be "
                                              "empty"));
                      }
                    }};
  };
  auto read_when = [&](const YAML::Node& n, v1::DenyRule* rule) {
    v1::Source* source = rule->mutable_source();
    const std::vector<Field<W>> when_fields = {
        when_list("tools", &W::mutable_tools, source),
        when_list("servers", &W::mutable_servers, source),
        when_list("users", &W::mutable_users, source),
        when_list("roles", &W::mutable_roles, source),
        when_list("agents", &W::mutable_agents, source),
        when_list("clients", &W::mutable_clients, source),
        when_list("services", &W::mutable_services, source),
        when_list("data", &W::mutable_data, source),
        {"client_trust_below",
         [this](const YAML::Node& n, W* w) {
           ReadEnum<v1::ClientTrust>(
               n, "client_trust_below", ParseClientTrust, ClientTrustValues,
               [w](v1::ClientTrust v) { w->set_client_trust_below(v); });
         }},
        {"risk_at_least",
         [this](const YAML::Node& n, W* w) {
           ReadEnum<v1::Risk>(n, "risk_at_least", ParseRisk, RiskValues,
                              [w](v1::Risk v) { w->set_risk_at_least(v); });
         }},
        {"autonomous",
         [this](const YAML::Node& n, W* w) {
           ReadBool(n, "autonomous", [w](bool v) { w->set_autonomous(v); });
         }},
    };
    // An empty `when` is the compiler's error, for bundles from any source.
    if (n.IsNull()) return;  // A null node's mark is past its key's line.
    (*source->mutable_item_lines())["when"] = LineOf(n);
    ReadMap(n, when_fields, "when", rule->mutable_when());
  };
  const std::vector<Field<v1::DenyRule>> deny_fields = {
      PDP_ID_FIELD(v1::DenyRule),
      {"when", read_when},
      PDP_STRING_FIELD(v1::DenyRule, "description", set_description),
  };

  using B = v1::Bundle;
  const std::vector<Field<B>> top_fields = {
      {"tools",
       [&](const YAML::Node& n, B* b) {
         ReadList<v1::Tool>(n, "tools", tool_fields,
                            [b] { return b->add_tools(); });
       }},
      {"roles",
       [&](const YAML::Node& n, B* b) {
         ReadList<v1::Role>(n, "roles", role_fields,
                            [b] { return b->add_roles(); });
       }},
      {"agents",
       [&](const YAML::Node& n, B* b) {
         ReadList<v1::Agent>(n, "agents", agent_fields,
                             [b] { return b->add_agents(); });
       }},
      {"clients",
       [&](const YAML::Node& n, B* b) {
         ReadList<v1::Client>(n, "clients", client_fields,
                              [b] { return b->add_clients(); });
       }},
      {"servers",
       [&](const YAML::Node& n, B* b) {
         ReadList<v1::Server>(n, "servers", server_fields,
                              [b] { return b->add_servers(); });
       }},
      {"services",
       [&](const YAML::Node& n, B* b) {
         ReadList<v1::Service>(n, "services", service_fields,
                               [b] { return b->add_services(); });
       }},
      {"users",
       [&](const YAML::Node& n, B* b) {
         ReadList<v1::User>(n, "users", user_fields,
                            [b] { return b->add_users(); });
       }},
      {"deny",
       [&](const YAML::Node& n, B* b) {
         ReadList<v1::DenyRule>(n, "deny", deny_fields,
                                [b] { return b->add_deny(); });
       }},
      {"scopes",
       [&](const YAML::Node& n, B* b) {
         ReadRegistry(n, "scopes", b->mutable_scopes());
       }},
      {"data_classes",
       [&](const YAML::Node& n, B* b) {
         ReadRegistry(n, "data_classes", b->mutable_data_classes());
       }},
  };
  ReadMap(root, top_fields, "the policy file", bundle_);
}

#undef PDP_STRING_FIELD
#undef PDP_LIST_FIELD
#undef PDP_ID_FIELD

bool IsPolicyFile(const fs::path& path) {
  std::string name = path.filename().string();
  if (!absl::EndsWith(name, ".yaml") && !absl::EndsWith(name, ".yml")) {
    return false;
  }
  return !absl::EndsWith(name, "_test.yaml") &&
         !absl::EndsWith(name, "_test.yml");
}

// What yaml-cpp's message for malformed input means in terms of what was
// expected there; "" when it is clear as it is.
absl::string_view ExpectedHint(absl::string_view message) {
  static constexpr std::pair<absl::string_view, absl::string_view> kHints[] = {
      {YAML::ErrorMsg::END_OF_MAP,
       "expected the next \"key: value\" of the mapping, at the same "
       "indentation as the keys before it"},
      {YAML::ErrorMsg::END_OF_SEQ,
       "expected the next \"- item\" of the list, at the same indentation as "
       "the items before it"},
      {YAML::ErrorMsg::END_OF_MAP_FLOW,
       "expected \",\" and the next \"key: value\", or \"}\" closing the "
       "{...} mapping"},
      {YAML::ErrorMsg::END_OF_SEQ_FLOW,
       "expected \",\" and the next item, or \"]\" closing the [...] list"},
      {YAML::ErrorMsg::BLOCK_ENTRY,
       "expected a \"key: value\" here, not a \"- item\" (check the "
       "indentation)"},
      {YAML::ErrorMsg::MAP_VALUE,
       "expected a value, not another \": \" (quote a value that contains "
       "\": \")"},
      {YAML::ErrorMsg::MAP_KEY,
       "expected a value here, not a \"? key\""},
      {YAML::ErrorMsg::FLOW_END,
       "expected a value; this \"]\" or \"}\" closes nothing"},
      {YAML::ErrorMsg::EOF_IN_SCALAR,
       "expected the closing quote before the end of the file"},
      {YAML::ErrorMsg::UNKNOWN_TOKEN,
       "expected a value, a \"key: value\" or a \"- item\""},
  };
  for (const auto& [yaml_cpp, hint] : kHints) {
    if (absl::StartsWith(message, yaml_cpp)) return hint;
  }
  if (absl::StartsWith(message, "illegal tab")) {
    return "expected spaces: YAML indentation may not use tabs";
  }
  return "";
}

// "malformed YAML: <yaml-cpp's message>; <what was expected>".
std::string MalformedYaml(absl::string_view message) {
  const absl::string_view hint = ExpectedHint(message);
  if (hint.empty()) return absl::StrCat("malformed YAML: ", message);
  return absl::StrCat("malformed YAML: ", message, "; ", hint);
}

}  // namespace

void LoadPolicyYaml(absl::string_view file, absl::string_view content,
                    v1::Bundle* bundle, Diagnostics* diagnostics) {
  YAML::Node root;
  // yaml-cpp reports malformed input by throwing; this is its one call site.
  try {
    root = YAML::Load(std::string(content));
  } catch (const YAML::Exception& e) {
    diagnostics->AddUnreadable(file, e.mark.is_null() ? 0 : e.mark.line + 1,
                               MalformedYaml(e.msg));
    return;
  } catch (const std::exception& e) {
    diagnostics->AddUnreadable(file, 0, MalformedYaml(e.what()));
    return;
  }
  FileReader(file, bundle, diagnostics).ReadDocument(root);
}

absl::StatusOr<v1::Bundle> LoadPolicyDirectory(const std::string& dir,
                                               Diagnostics* diagnostics) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(
        "policy directory \"", dir, "\" ",
        fs::exists(dir, ec) ? "is not a directory" : "does not exist"));
  }
  std::vector<fs::path> files;
  fs::recursive_directory_iterator it(
      dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("cannot read policy directory \"",
                                            dir, "\": ", ec.message()));
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::path& path = it->path();
    if (path.filename().string().rfind('.', 0) == 0) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && IsPolicyFile(path)) files.push_back(path);
  }
  if (ec) {
    return absl::NotFoundError(absl::StrCat("cannot read policy directory \"",
                                            dir, "\": ", ec.message()));
  }
  std::sort(files.begin(), files.end());

  v1::Bundle bundle;
  for (const fs::path& path : files) {
    std::string relative = path.lexically_relative(dir).generic_string();
    if (relative.empty()) relative = path.generic_string();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      diagnostics->AddUnreadable(relative, 0, "cannot be read");
      continue;
    }
    std::stringstream content;
    content << in.rdbuf();
    LoadPolicyYaml(relative, content.str(), &bundle, diagnostics);
  }
  return bundle;
}

}  // namespace pdp
