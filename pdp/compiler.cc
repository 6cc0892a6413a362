#include "pdp/compiler.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "pdp/diagnostics.h"
#include "pdp/glob.h"
#include "pdp/names.h"
#include "pdp/policy_loader.h"

namespace pdp {
namespace {

constexpr size_t kMaxDataClasses = 64;

int ItemLine(const v1::Source& source, absl::string_view field, int index) {
  auto it = source.item_lines().find(absl::StrCat(field, "[", index, "]"));
  return it == source.item_lines().end() ? source.line() : it->second;
}

int FieldLine(const v1::Source& source, absl::string_view field) {
  auto it = source.item_lines().find(std::string(field));
  return it == source.item_lines().end() ? source.line() : it->second;
}

// A stable hash of the bundle's contents, for bundles without a version.
std::string ContentVersion(const v1::Bundle& bundle) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    bundle.SerializeToCodedStream(&coded);
  }
  uint64_t hash = 1469598103934665603ULL;  // FNV-1a.
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(hash));
  return absl::StrCat("dev-", hex);
}

// The characters RFC 3986 allows in a URI ('%' only as "%XX").
bool IsUriChar(unsigned char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("-._~:/?#[]@!$&'()*+,;=%").find(c) !=
             absl::string_view::npos;
}

// Why `uri` cannot be registered as a redirect URI, as the end of a sentence
// starting with the URI; "" when it can. Redirect URIs are compared byte for
// byte (pdp/client_request.h), so what is checked here is what makes one
// unsafe or unmatchable: RFC 6749 3.1.2 (absolute, no fragment), RFC 8252
// 7.3 (plain http only for loopback), no wildcards and no user information.
std::string RedirectUriProblem(absl::string_view uri) {
  if (uri.empty()) return "is empty";
  for (size_t i = 0; i < uri.size(); ++i) {
    const unsigned char c = uri[i];
    if (c == '*') {
      return "contains '*': redirect URIs are matched exactly, wildcards are "
             "not allowed";
    }
    if (c == '#') return "has a fragment ('#'), which RFC 6749 3.1.2 forbids";
    if (!IsUriChar(c)) {
      return absl::StrCat(
          "contains a character not allowed in a URI (byte 0x",
          absl::Hex(c, absl::kZeroPad2), " at offset ", i,
          "); percent-encode it");
    }
    if (c == '%' && (i + 2 >= uri.size() || !absl::ascii_isxdigit(uri[i + 1]) ||
                     !absl::ascii_isxdigit(uri[i + 2]))) {
      return "has a '%' not followed by two hex digits";
    }
  }
  const size_t colon = uri.find(':');
  bool has_scheme = colon != absl::string_view::npos && colon > 0 &&
                    absl::ascii_isalpha(uri[0]);
  for (size_t i = 0; has_scheme && i < colon; ++i) {
    const char c = uri[i];
    has_scheme = absl::ascii_isalnum(c) || c == '+' || c == '-' || c == '.';
  }
  if (!has_scheme) {
    return "is not an absolute URI: it must start with a scheme (\"https:\" "
           "or an app's own, \"com.example.app:\")";
  }
  const std::string scheme = absl::AsciiStrToLower(uri.substr(0, colon));
  if (scheme == "javascript" || scheme == "data" || scheme == "vbscript" ||
      scheme == "file") {
    return absl::StrCat("uses the \"", scheme,
                        "\" scheme, which is never a redirect target");
  }
  const bool web = scheme == "http" || scheme == "https";
  const absl::string_view rest = uri.substr(colon + 1);
  if (!absl::StartsWith(rest, "//")) {
    if (web) return "has no host: it must be \"https://host/path\"";
    return "";  // A private-use scheme (RFC 8252 7.1).
  }
  const absl::string_view authority =
      rest.substr(2, rest.find_first_of("/?", 2) - 2);
  if (authority.find('@') != absl::string_view::npos) {
    return "has user information (\"user@\" before the host), which would "
           "hide the real host";
  }
  if (authority.find('%') != absl::string_view::npos) {
    return "has a percent-encoded host, which browsers may read differently";
  }
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return "has an unclosed '[' in its host";
    host = authority.substr(0, close + 1);
    port = authority.substr(close + 1);
  } else if (const size_t p = authority.find(':'); p != absl::string_view::npos) {
    host = authority.substr(0, p);
    port = authority.substr(p);
  }
  if (!port.empty()) {
    if (port.size() < 2 || port[0] != ':' ||
        !std::all_of(port.begin() + 1, port.end(),
                     [](char c) { return absl::ascii_isdigit(c); })) {
      return "has a malformed port";
    }
  }
  if (host.empty()) {
    if (web) return "has no host: it must be \"https://host/path\"";
    return "";
  }
  if (scheme == "http" && host != "127.0.0.1" && host != "[::1]" &&
      absl::AsciiStrToLower(host) != "localhost") {
    return absl::StrCat(
        "uses plain http for host \"", host,
        "\": http is allowed only for loopback (127.0.0.1, [::1], localhost; "
        "RFC 8252 7.3); use https");
  }
  return "";
}

}  // namespace

// Holds one compilation's state; every check reports to `diags_` and goes on.
class CompilerRun {
 public:
  // `empty_warning` is the warning for a policy that defines nothing.
  CompilerRun(const v1::Bundle& bundle, Diagnostics* diags,
              std::string empty_warning)
      : bundle_(bundle),
        diags_(diags),
        empty_warning_(std::move(empty_warning)),
        s_(new Snapshot) {}

  std::shared_ptr<Snapshot> Run();

 private:
  template <typename M>
  void Error(const M& element, std::string message) {
    diags_->Add(element.source().file(), element.source().line(),
                std::move(message));
  }
  void ErrorAt(const v1::Source& source, int line, std::string message) {
    diags_->Add(source.file(), line, std::move(message));
  }
  void WarnAt(const v1::Source& source, int line, std::string message) {
    diags_->AddWarning(source.file(), line, std::move(message));
  }

  // Interns the ids of `elements`, reporting duplicates and empty ids.
  template <typename M>
  absl::flat_hash_map<std::string, int> Intern(
      const google::protobuf::RepeatedPtrField<M>& elements,
      absl::string_view kind, std::vector<const M*>* kept);

  void InternTools();
  void CompileServers();
  void InternScopesAndData();
  void CompileRoles();
  void CompileAgents();
  void CompileClients();
  void CompileServices();
  void CompileUsers();
  void CompileDenyRules();
  void Precompute();
  // What compiles but is probably not meant: an empty policy, roles that
  // grant nothing, declared scopes and data classes no tool uses.
  void WarnUnused();

  // Expands globs over tool ids into `out`. Reports each glob that matches
  // no tool at its line; `field` names the list in the element's source.
  void ExpandToolGlobs(const google::protobuf::RepeatedPtrField<std::string>& globs,
                       const v1::Source& source, absl::string_view field,
                       absl::string_view owner, Bitset* out);
  DataMask DataMaskOf(const google::protobuf::RepeatedPtrField<std::string>& names);
  // Resolves ids of `kind` through `find` into a bitset of `size`.
  Bitset ResolveIds(const google::protobuf::RepeatedPtrField<std::string>& ids,
                    const v1::Source& source, absl::string_view field,
                    absl::string_view owner, absl::string_view kind,
                    size_t size, const std::function<int(absl::string_view)>& find);
  void CheckRegistered(const google::protobuf::RepeatedPtrField<std::string>& names,
                       const v1::Source& source, absl::string_view field,
                       const std::set<std::string>& registry,
                       absl::string_view what);

  const v1::Bundle& bundle_;
  Diagnostics* diags_;
  const std::string empty_warning_;
  std::shared_ptr<Snapshot> s_;
  std::vector<const v1::Tool*> tools_;
  std::vector<const v1::Role*> roles_;
  std::vector<const v1::Agent*> agents_;
  std::vector<const v1::Client*> clients_;
  std::vector<const v1::Service*> services_;
  std::vector<const v1::User*> users_;
  absl::flat_hash_map<std::string, int> data_index_;
};

template <typename M>
absl::flat_hash_map<std::string, int> CompilerRun::Intern(
    const google::protobuf::RepeatedPtrField<M>& elements,
    absl::string_view kind, std::vector<const M*>* kept) {
  absl::flat_hash_map<std::string, int> index;
  absl::flat_hash_map<std::string, const M*> first;
  for (const M& element : elements) {
    if (element.id().empty()) continue;  // Reported by the loader.
    auto [it, inserted] = first.emplace(element.id(), &element);
    if (!inserted) {
      Error(element, absl::StrCat("duplicate ", kind, " id \"", element.id(),
                                  "\" (first defined at ",
                                  it->second->source().file(), ":",
                                  it->second->source().line(), ")"));
      continue;
    }
    index[element.id()] = static_cast<int>(kept->size());
    kept->push_back(&element);
  }
  return index;
}

void CompilerRun::InternTools() {
  std::vector<const v1::Tool*> unsorted;
  Intern(bundle_.tools(), "tool", &unsorted);
  for (const v1::Tool* tool : unsorted) {
    const std::string& id = tool->id();
    size_t dot = id.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == id.size()) {
      Error(*tool, absl::StrCat("tool id \"", id,
                                "\" must be \"<server>.<tool>\": the MCP "
                                "server id, a dot, and the tool's name"));
      continue;
    }
    tools_.push_back(tool);
  }
  std::sort(tools_.begin(), tools_.end(),
            [](const v1::Tool* a, const v1::Tool* b) { return a->id() < b->id(); });
  for (const v1::Tool* tool : tools_) {
    s_->tool_index_[tool->id()] = static_cast<int>(s_->tools_.size());
    Snapshot::Tool t;
    t.id = tool->id();
    t.server = tool->id().substr(0, tool->id().find('.'));
    if (tool->risk() != v1::RISK_UNSPECIFIED) t.risk = tool->risk();
    if (tool->autonomy() != v1::AUTONOMY_UNSPECIFIED) t.autonomy = tool->autonomy();
    if (tool->auth() != v1::AUTH_STRENGTH_UNSPECIFIED) t.auth = tool->auth();
    if (tool->min_client_trust() != v1::CLIENT_TRUST_UNSPECIFIED) {
      t.min_client_trust = tool->min_client_trust();
    }
    s_->tools_.push_back(std::move(t));
  }
  for (size_t i = 0; i < s_->tools_.size(); ++i) {
    const std::string& server = s_->tools_[i].server;
    if (s_->servers_.empty() || s_->servers_.back().id != server) {
      s_->server_index_[server] = static_cast<int>(s_->servers_.size());
      s_->servers_.push_back({server, static_cast<int>(i), static_cast<int>(i)});
    }
    s_->servers_.back().end = static_cast<int>(i) + 1;
  }
}

void CompilerRun::CompileServers() {
  std::vector<const v1::Server*> declared;
  Intern(bundle_.servers(), "server", &declared);
  struct Declaration {
    const v1::Server* server;
    int line;
  };
  absl::flat_hash_map<std::string, Declaration> owners;  // By audience.
  for (const v1::Server* server : declared) {
    auto found = s_->server_index_.find(server->id());
    if (found == s_->server_index_.end()) {
      Error(*server, absl::StrCat("server \"", server->id(),
                                  "\" has no tools: no tool id starts with \"",
                                  server->id(), ".\""));
      continue;
    }
    const v1::Source& source = server->source();
    std::vector<std::string>& audiences = s_->servers_[found->second].audiences;
    for (int i = 0; i < server->audiences_size(); ++i) {
      const std::string& audience = server->audiences(i);
      const int line = ItemLine(source, "audiences", i);
      const std::string owner = absl::StrCat("server \"", server->id(), "\"");
      if (audience.empty()) {
        ErrorAt(source, line, absl::StrCat(owner, ": an audience is empty"));
        continue;
      }
      auto [it, inserted] = owners.emplace(audience, Declaration{server, line});
      if (inserted) {
        audiences.push_back(audience);
      } else if (it->second.server == server) {
        ErrorAt(source, line, absl::StrCat(owner, ": duplicate audience \"",
                                           audience, "\""));
      } else {
        ErrorAt(source, line,
                absl::StrCat(owner, ": audience \"", audience,
                             "\" is also declared by server \"",
                             it->second.server->id(), "\" (",
                             it->second.server->source().file(), ":",
                             it->second.line,
                             "); a token for it would be good for both"));
      }
    }
  }
  // A server without declared audiences accepts tokens for its id.
  for (Snapshot::Server& server : s_->servers_) {
    if (!server.audiences.empty()) continue;
    server.audiences.push_back(server.id);
    auto it = owners.find(server.id);
    if (it == owners.end()) continue;
    const v1::Server& other = *it->second.server;
    ErrorAt(other.source(), it->second.line,
            absl::StrCat("server \"", other.id(), "\": audience \"", server.id,
                         "\" is the id of server \"", server.id,
                         "\", which declares no audiences and so accepts its "
                         "id; a token for it would be good for both (declare "
                         "server \"",
                         server.id, "\" with its own audiences)"));
  }
}

void CompilerRun::CheckRegistered(
    const google::protobuf::RepeatedPtrField<std::string>& names,
    const v1::Source& source, absl::string_view field,
    const std::set<std::string>& registry, absl::string_view what) {
  if (registry.empty()) return;
  for (int i = 0; i < names.size(); ++i) {
    if (registry.count(names[i]) == 0) {
      ErrorAt(source, ItemLine(source, field, i),
              absl::StrCat("unknown ", what, " \"", names[i],
                           "\": it is not declared in \"",
                           what == "scope" ? "scopes" : "data_classes", "\""));
    }
  }
}

void CompilerRun::InternScopesAndData() {
  // Registries, when declared.
  std::set<std::string> scope_registry, data_registry;
  std::vector<const v1::RegistryEntry*> scope_entries, data_entries;
  Intern(bundle_.scopes(), "scope", &scope_entries);
  for (const auto* e : scope_entries) scope_registry.insert(e->id());
  Intern(bundle_.data_classes(), "data class", &data_entries);
  for (const auto* e : data_entries) data_registry.insert(e->id());

  std::set<std::string> scopes = scope_registry, data;
  // Where the first data class beyond the limit is named, if one is.
  std::optional<std::pair<std::string, int>> overflow;
  auto add_data = [&](const std::string& name, const v1::Source& source,
                      int line) {
    if (data.insert(name).second && data.size() == kMaxDataClasses + 1) {
      overflow.emplace(source.file(), line);
    }
  };
  for (const auto* e : data_entries) add_data(e->id(), e->source(), e->source().line());
  auto use_scopes = [&](const auto& names, const v1::Source& source) {
    CheckRegistered(names, source, "scopes", scope_registry, "scope");
    scopes.insert(names.begin(), names.end());
  };
  auto use_data = [&](const auto& names, const v1::Source& source) {
    CheckRegistered(names, source, "data", data_registry, "data class");
    for (int i = 0; i < names.size(); ++i) {
      add_data(names[i], source, ItemLine(source, "data", i));
    }
  };
  for (const auto& t : bundle_.tools()) {
    use_scopes(t.scopes(), t.source());
    use_data(t.data(), t.source());
  }
  for (const auto& c : bundle_.clients()) use_scopes(c.scopes(), c.source());
  for (const auto& v : bundle_.services()) {
    use_scopes(v.scopes(), v.source());
    use_data(v.data(), v.source());
  }
  for (const auto& r : bundle_.roles()) use_data(r.data(), r.source());
  for (const auto& a : bundle_.agents()) use_data(a.data(), a.source());
  for (const auto& d : bundle_.deny()) use_data(d.when().data(), d.source());

  for (const std::string& scope : scopes) {
    s_->scope_index_[scope] = static_cast<int>(s_->scopes_.size());
    s_->scopes_.push_back(scope);
  }
  if (overflow.has_value()) {
    diags_->Add(overflow->first, overflow->second,
                absl::StrCat("the policy uses ", data.size(),
                             " data classes; at most ", kMaxDataClasses,
                             " are supported"));
    return;
  }
  for (const std::string& d : data) {
    data_index_[d] = static_cast<int>(s_->data_classes_.size());
    s_->data_classes_.push_back(d);
  }
  // Now that scopes are interned, give each tool its scope indices.
  for (size_t i = 0; i < tools_.size(); ++i) {
    for (const std::string& scope : tools_[i]->scopes()) {
      int index = s_->scope_index_[scope];
      auto& list = s_->tools_[i].scopes;
      if (std::find(list.begin(), list.end(), index) == list.end()) {
        list.push_back(index);
      }
    }
    s_->tools_[i].data = DataMaskOf(tools_[i]->data());
  }
}

DataMask CompilerRun::DataMaskOf(
    const google::protobuf::RepeatedPtrField<std::string>& names) {
  DataMask mask = 0;
  for (const std::string& name : names) {
    auto it = data_index_.find(name);
    if (it != data_index_.end()) mask |= DataMask{1} << it->second;
  }
  return mask;
}

void CompilerRun::ExpandToolGlobs(
    const google::protobuf::RepeatedPtrField<std::string>& globs,
    const v1::Source& source, absl::string_view field, absl::string_view owner,
    Bitset* out) {
  const auto& tools = s_->tools_;
  for (int g = 0; g < globs.size(); ++g) {
    const std::string& glob = globs[g];
    bool matched = false;
    if (!IsGlob(glob)) {
      int t = s_->FindTool(glob);
      if (t >= 0) {
        out->Set(t);
        matched = true;
      }
    } else {
      // Tools are sorted: only ids starting with the glob's literal prefix
      // can match.
      std::string prefix = glob.substr(0, glob.find_first_of("*?"));
      auto begin = std::lower_bound(
          tools.begin(), tools.end(), prefix,
          [](const Snapshot::Tool& t, const std::string& p) { return t.id < p; });
      const Snapshot::Tool* only = nullptr;
      int matches = 0;
      for (auto it = begin; it != tools.end() && absl::StartsWith(it->id, prefix);
           ++it) {
        if (GlobMatch(glob, it->id)) {
          out->Set(static_cast<size_t>(it - tools.begin()));
          matched = true;
          only = &*it;
          ++matches;
        }
      }
      // "server.*" means the whole server, however many tools it has now.
      const bool whole_server =
          glob.size() == prefix.size() + 1 && absl::EndsWith(glob, ".*") &&
          s_->FindServer(absl::string_view(prefix).substr(
              0, prefix.size() - 1)) != nullptr;
      if (matches == 1 && !whole_server) {
        WarnAt(source, ItemLine(source, field, g),
               absl::StrCat(owner, ": the glob \"", glob, "\" in \"", field,
                            "\" matches only \"", only->id,
                            "\"; name the tool, unless the glob is meant for "
                            "tools still to come"));
      }
    }
    if (!matched) {
      ErrorAt(source, ItemLine(source, field, g),
              absl::StrCat(owner, ": \"", glob, "\" in \"", field,
                           "\" matches no tool"));
    }
  }
}

Bitset CompilerRun::ResolveIds(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    const v1::Source& source, absl::string_view field, absl::string_view owner,
    absl::string_view kind, size_t size,
    const std::function<int(absl::string_view)>& find) {
  Bitset set(size);
  for (int i = 0; i < ids.size(); ++i) {
    int index = find(ids[i]);
    if (index < 0) {
      ErrorAt(source, ItemLine(source, field, i),
              absl::StrCat(owner, ": unknown ", kind, " \"", ids[i], "\" in \"",
                           field, "\""));
      continue;
    }
    set.Set(index);
  }
  return set;
}

void CompilerRun::CompileRoles() {
  s_->role_index_ = Intern(bundle_.roles(), "role", &roles_);
  const size_t n = roles_.size();
  auto find_role = [this](absl::string_view id) { return s_->FindRole(id); };
  std::vector<Bitset> direct(n);
  for (size_t r = 0; r < n; ++r) {
    const v1::Role& role = *roles_[r];
    std::string owner = absl::StrCat("role \"", role.id(), "\"");
    direct[r] = ResolveIds(role.inherits(), role.source(), "inherits", owner,
                           "role", n, find_role);
    Snapshot::Role compiled;
    compiled.id = role.id();
    compiled.tools = Bitset(s_->tools_.size());
    ExpandToolGlobs(role.tools(), role.source(), "tools", owner, &compiled.tools);
    compiled.data = DataMaskOf(role.data());
    s_->roles_.push_back(std::move(compiled));
  }

  // Cycles: a depth-first search; a back edge closes a cycle.
  enum Color { kWhite, kGray, kBlack };
  std::vector<Color> color(n, kWhite);
  std::vector<int> path;
  std::function<void(int)> visit = [&](int r) {
    color[r] = kGray;
    path.push_back(r);
    const v1::Role& role = *roles_[r];
    for (int i = 0; i < role.inherits_size(); ++i) {
      int p = s_->FindRole(role.inherits(i));
      if (p < 0) continue;
      if (color[p] == kGray) {
        std::vector<std::string> cycle;
        auto start = std::find(path.begin(), path.end(), p);
        for (auto it = start; it != path.end(); ++it) {
          cycle.push_back(roles_[*it]->id());
        }
        cycle.push_back(roles_[p]->id());
        ErrorAt(role.source(), ItemLine(role.source(), "inherits", i),
                absl::StrCat("inheritance cycle: ", absl::StrJoin(cycle, " -> ")));
      } else if (color[p] == kWhite) {
        visit(p);
      }
    }
    path.pop_back();
    color[r] = kBlack;
  };
  for (size_t r = 0; r < n; ++r) {
    if (color[r] == kWhite) visit(static_cast<int>(r));
  }

  // Closures: every role reachable through `inherits` (cycle-safe).
  for (size_t r = 0; r < n; ++r) {
    Bitset closure(n);
    std::vector<int> stack = {static_cast<int>(r)};
    while (!stack.empty()) {
      int x = stack.back();
      stack.pop_back();
      if (closure.Test(x)) continue;
      closure.Set(x);
      direct[x].ForEach([&](size_t p) { stack.push_back(static_cast<int>(p)); });
    }
    s_->roles_[r].closure = std::move(closure);
  }
  // Inherited grants; closures are complete, so one pass over each suffices.
  std::vector<Bitset> tools(n);
  std::vector<DataMask> data(n);
  for (size_t r = 0; r < n; ++r) {
    tools[r] = Bitset(s_->tools_.size());
    s_->roles_[r].closure.ForEach([&](size_t p) {
      tools[r].OrWith(s_->roles_[p].tools);
      data[r] |= s_->roles_[p].data;
    });
  }
  for (size_t r = 0; r < n; ++r) {
    s_->roles_[r].tools = std::move(tools[r]);
    s_->roles_[r].data = data[r];
  }
}

void CompilerRun::CompileAgents() {
  s_->agent_index_ = Intern(bundle_.agents(), "agent", &agents_);
  for (const v1::Agent* agent : agents_) {
    Snapshot::Agent a;
    a.id = agent->id();
    a.tools = Bitset(s_->tools_.size());
    ExpandToolGlobs(agent->tools(), agent->source(), "tools",
                    absl::StrCat("agent \"", agent->id(), "\""), &a.tools);
    a.data = DataMaskOf(agent->data());
    a.autonomous = agent->autonomous();
    s_->agents_.push_back(std::move(a));
  }
}

void CompilerRun::CompileClients() {
  s_->client_index_ = Intern(bundle_.clients(), "client", &clients_);
  for (const v1::Client* client : clients_) {
    Snapshot::Client c;
    c.id = client->id();
    if (client->trust() != v1::CLIENT_TRUST_UNSPECIFIED) c.trust = client->trust();
    c.scopes = Bitset(s_->scopes_.size());
    for (const std::string& scope : client->scopes()) {
      c.scopes.Set(s_->FindScope(scope));
    }
    const v1::Source& source = client->source();
    std::set<std::string> seen;
    for (int i = 0; i < client->redirect_uris_size(); ++i) {
      const std::string& uri = client->redirect_uris(i);
      const int line = ItemLine(source, "redirect_uris", i);
      if (std::string problem = RedirectUriProblem(uri); !problem.empty()) {
        ErrorAt(source, line,
                absl::StrCat("client \"", client->id(), "\": redirect URI \"",
                             uri, "\" ", problem));
        continue;
      }
      if (!seen.insert(uri).second) {
        ErrorAt(source, line,
                absl::StrCat("client \"", client->id(),
                             "\": duplicate redirect URI \"", uri, "\""));
        continue;
      }
      c.redirect_uris.push_back(uri);
    }
    c.require_bound_tokens = client->require_bound_tokens();
    c.interactive = !client->has_interactive() || client->interactive();
    s_->clients_.push_back(std::move(c));
  }
}

void CompilerRun::CompileServices() {
  s_->service_index_ = Intern(bundle_.services(), "service", &services_);
  for (const v1::Service* service : services_) {
    Snapshot::Service v;
    v.id = service->id();
    v.tools = Bitset(s_->tools_.size());
    ExpandToolGlobs(service->tools(), service->source(), "tools",
                    absl::StrCat("service \"", service->id(), "\""), &v.tools);
    v.scopes = Bitset(s_->scopes_.size());
    for (const std::string& scope : service->scopes()) {
      v.scopes.Set(s_->FindScope(scope));
    }
    v.data = DataMaskOf(service->data());
    s_->services_.push_back(std::move(v));
  }
}

void CompilerRun::CompileUsers() {
  s_->user_index_ = Intern(bundle_.users(), "user", &users_);
  for (const v1::User* user : users_) {
    Snapshot::User u;
    u.id = user->id();
    u.role_closure = Bitset(s_->roles_.size());
    u.tools = Bitset(s_->tools_.size());
    for (int i = 0; i < user->roles_size(); ++i) {
      int r = s_->FindRole(user->roles(i));
      if (r < 0) {
        ErrorAt(user->source(), ItemLine(user->source(), "roles", i),
                absl::StrCat("user \"", user->id(), "\": unknown role \"",
                             user->roles(i), "\""));
        continue;
      }
      u.roles.push_back(r);
      u.role_closure.OrWith(s_->roles_[r].closure);
      u.tools.OrWith(s_->roles_[r].tools);
      u.data |= s_->roles_[r].data;
    }
    s_->users_.push_back(std::move(u));
  }
}

void CompilerRun::CompileDenyRules() {
  std::vector<const v1::DenyRule*> rules;
  Intern(bundle_.deny(), "deny rule", &rules);
  const size_t num_tools = s_->tools_.size();
  for (const v1::DenyRule* rule : rules) {
    const v1::DenyCondition& when = rule->when();
    const v1::Source& source = rule->source();
    std::string owner = absl::StrCat("deny rule \"", rule->id(), "\"");
    Snapshot::DenyRule d;
    d.id = rule->id();
    d.description = rule->description();
    d.tools = Bitset(num_tools);
    d.tools.SetAll();
    bool any = false;

    if (when.tools_size() > 0) {
      any = true;
      Bitset matched(num_tools);
      ExpandToolGlobs(when.tools(), source, "tools", owner, &matched);
      d.tools.AndWith(matched);
    }
    if (when.servers_size() > 0) {
      any = true;
      Bitset matched(num_tools);
      for (int g = 0; g < when.servers_size(); ++g) {
        bool hit = false;
        for (const Snapshot::Server& server : s_->servers_) {
          if (!GlobMatch(when.servers(g), server.id)) continue;
          hit = true;
          for (int t = server.begin; t < server.end; ++t) matched.Set(t);
        }
        if (!hit) {
          ErrorAt(source, ItemLine(source, "servers", g),
                  absl::StrCat(owner, ": \"", when.servers(g),
                               "\" in \"servers\" matches no server"));
        }
      }
      d.tools.AndWith(matched);
    }
    if (when.risk_at_least() != v1::RISK_UNSPECIFIED) {
      any = true;
      Bitset matched(num_tools);
      for (size_t t = 0; t < num_tools; ++t) {
        if (s_->tools_[t].risk >= when.risk_at_least()) matched.Set(t);
      }
      d.tools.AndWith(matched);
    }
    if (when.data_size() > 0) {
      any = true;
      DataMask mask = DataMaskOf(when.data());
      Bitset matched(num_tools);
      for (size_t t = 0; t < num_tools; ++t) {
        if (s_->tools_[t].data & mask) matched.Set(t);
      }
      d.tools.AndWith(matched);
    }
    if (when.users_size() > 0) {
      any = true;
      d.users.emplace(when.users().begin(), when.users().end());
    }
    if (when.roles_size() > 0) {
      any = true;
      d.roles = ResolveIds(when.roles(), source, "roles", owner, "role",
                           s_->roles_.size(),
                           [this](absl::string_view id) { return s_->FindRole(id); });
    }
    if (when.agents_size() > 0) {
      any = true;
      d.agents = ResolveIds(when.agents(), source, "agents", owner, "agent",
                            s_->agents_.size(),
                            [this](absl::string_view id) { return s_->FindAgent(id); });
    }
    if (when.clients_size() > 0) {
      any = true;
      d.clients = ResolveIds(when.clients(), source, "clients", owner, "client",
                             s_->clients_.size(), [this](absl::string_view id) {
                               return s_->FindClient(id);
                             });
    }
    if (when.services_size() > 0) {
      any = true;
      d.services = ResolveIds(when.services(), source, "services", owner,
                              "service", s_->services_.size(),
                              [this](absl::string_view id) {
                                return s_->FindService(id);
                              });
    }
    if (when.client_trust_below() != v1::CLIENT_TRUST_UNSPECIFIED) {
      any = true;
      d.client_trust_below = when.client_trust_below();
    }
    if (when.has_autonomous()) {
      any = true;
      d.autonomous = when.autonomous();
    }
    if (!any) {
      ErrorAt(source, FieldLine(source, "when"),
              absl::StrCat(owner, " has no condition in \"when\"; a deny rule "
                                  "must name at least one (an empty rule "
                                  "would deny everything)"));
      continue;
    }
    s_->deny_rules_.push_back(std::move(d));
  }
}

void CompilerRun::Precompute() {
  const size_t n = s_->tools_.size();
  for (int level = 0; level < v1::ClientTrust_ARRAYSIZE; ++level) {
    Bitset allowed(n);
    for (size_t t = 0; t < n; ++t) {
      if (s_->tools_[t].min_client_trust <= level) allowed.Set(t);
    }
    s_->tools_for_trust_[level] = std::move(allowed);
  }
  s_->autonomy_forbidden_ = Bitset(n);
  for (size_t t = 0; t < n; ++t) {
    if (s_->tools_[t].autonomy == v1::AUTONOMY_FORBIDDEN) {
      s_->autonomy_forbidden_.Set(t);
    }
  }
  s_->bundle_ = bundle_;
  s_->version_ = bundle_.metadata().version() == 0
                     ? ContentVersion(bundle_)
                     : absl::StrCat(bundle_.metadata().version());
}

void CompilerRun::WarnUnused() {
  if (diags_->has_errors()) return;  // Finish() would drop the warnings.
  if (bundle_.tools().empty() && bundle_.roles().empty() &&
      bundle_.agents().empty() && bundle_.clients().empty() &&
      bundle_.services().empty() && bundle_.users().empty()) {
    diags_->AddWarning("", 0, empty_warning_);
    return;
  }
  std::set<std::string> required, returned, denied_roles;
  for (const v1::Tool& tool : bundle_.tools()) {
    required.insert(tool.scopes().begin(), tool.scopes().end());
    returned.insert(tool.data().begin(), tool.data().end());
  }
  for (const v1::DenyRule& rule : bundle_.deny()) {
    denied_roles.insert(rule.when().roles().begin(), rule.when().roles().end());
  }
  for (size_t r = 0; r < roles_.size(); ++r) {
    const Snapshot::Role& role = s_->roles_[r];
    if (role.tools.None() && role.data == 0 &&
        denied_roles.count(role.id) == 0) {
      WarnAt(roles_[r]->source(), roles_[r]->source().line(),
             absl::StrCat("role \"", role.id,
                          "\" grants no tool and no data class, and no deny "
                          "rule names it"));
    }
  }
  std::set<std::string> seen;
  for (const v1::RegistryEntry& scope : bundle_.scopes()) {
    if (required.count(scope.id()) == 0 && seen.insert(scope.id()).second) {
      WarnAt(scope.source(), scope.source().line(),
             absl::StrCat("scope \"", scope.id(),
                          "\" is declared but no tool requires it"));
    }
  }
  seen.clear();
  for (const v1::RegistryEntry& data : bundle_.data_classes()) {
    if (returned.count(data.id()) == 0 && seen.insert(data.id()).second) {
      WarnAt(data.source(), data.source().line(),
             absl::StrCat("data class \"", data.id(),
                          "\" is declared but no tool returns it"));
    }
  }
}

std::shared_ptr<Snapshot> CompilerRun::Run() {
  InternTools();
  CompileServers();
  InternScopesAndData();
  CompileRoles();
  CompileAgents();
  CompileClients();
  CompileServices();
  CompileUsers();
  CompileDenyRules();
  Precompute();
  WarnUnused();
  return std::move(s_);
}

absl::Status Compilation::status() const {
  if (snapshot != nullptr) return absl::OkStatus();
  absl::Status errors = ErrorStatus(issues);
  if (errors.ok()) return absl::InternalError("no snapshot and no error");
  return errors;
}

std::vector<Diagnostic> Compilation::warnings() const {
  std::vector<Diagnostic> out;
  for (const Diagnostic& d : issues) {
    if (d.severity == Severity::kWarning) out.push_back(d);
  }
  return out;
}

namespace {

Compilation Finish(std::shared_ptr<Snapshot> snapshot,
                   const Diagnostics& diags, absl::string_view root) {
  Compilation result;
  result.issues = diags.Sorted(root);
  if (!diags.has_errors()) {
    result.snapshot = std::move(snapshot);
  } else {
    // Errors alone: what would be warned about may follow from them.
    result.issues.erase(
        std::remove_if(result.issues.begin(), result.issues.end(),
                       [](const Diagnostic& d) {
                         return d.severity == Severity::kWarning;
                       }),
        result.issues.end());
  }
  return result;
}

}  // namespace

Compilation Compiler::CompileWithIssues(const v1::Bundle& bundle) {
  Diagnostics diags;
  std::shared_ptr<Snapshot> snapshot =
      CompilerRun(bundle, &diags, "the bundle is empty; it denies everything")
          .Run();
  return Finish(std::move(snapshot), diags, "");
}

absl::StatusOr<Compilation> Compiler::CompileDirectoryWithIssues(
    const std::string& dir) {
  Diagnostics diags;
  absl::StatusOr<v1::Bundle> bundle = LoadPolicyDirectory(dir, &diags);
  if (!bundle.ok()) return bundle.status();
  std::shared_ptr<Snapshot> snapshot =
      CompilerRun(*bundle, &diags,
                  absl::StrCat("the policy in \"", dir,
                               "\" is empty (no *.yaml or *.yml policy "
                               "files?); it denies everything"))
          .Run();
  return Finish(std::move(snapshot), diags, dir);
}

absl::StatusOr<std::shared_ptr<const Snapshot>> Compiler::Compile(
    const v1::Bundle& bundle) {
  Compilation compiled = CompileWithIssues(bundle);
  if (compiled.snapshot == nullptr) return compiled.status();
  return std::move(compiled.snapshot);
}

absl::StatusOr<std::shared_ptr<const Snapshot>> Compiler::CompileDirectory(
    const std::string& dir) {
  absl::StatusOr<Compilation> compiled = CompileDirectoryWithIssues(dir);
  if (!compiled.ok()) return compiled.status();
  if (compiled->snapshot == nullptr) return compiled->status();
  return std::move(compiled->snapshot);
}

}  // namespace pdp
