#include "tools/pdpctl/user_commands.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file/read_file.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "pdp/v1/directory.grpc.pb.h"
#include "tools/pdpctl/remote.h"

namespace pdpctl {
namespace {

namespace v1 = ::pdp::v1;
using Kind = FlagSpec::Kind;

// -------------------------------------------------------------- users

// One "FILE:LINE: message" per problem.
struct UserFileErrors {
  std::vector<std::string> lines;
  void Add(absl::string_view file, int line, absl::string_view message) {
    lines.push_back(absl::StrCat(file, ":", line, ": ", message));
  }
};

bool LooksLikeJsonLines(absl::string_view file, absl::string_view content) {
  if (absl::EndsWithIgnoreCase(file, ".csv")) return false;
  if (absl::EndsWithIgnoreCase(file, ".jsonl") ||
      absl::EndsWithIgnoreCase(file, ".json") ||
      absl::EndsWithIgnoreCase(file, ".ndjson")) {
    return true;
  }
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) return absl::StartsWith(line, "{");
  }
  return false;
}

// Parses one JSON line into `user`, or returns why not.
std::string ParseJsonUser(absl::string_view line, v1::User* user) {
  nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
  if (parsed.is_discarded()) return "not valid JSON";
  if (!parsed.is_object()) return "expected a JSON object {\"id\": ...}";
  for (const auto& [key, value] : parsed.items()) {
    if (key == "id") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return "\"id\" must be a non-empty string";
      }
      user->set_id(value.get<std::string>());
    } else if (key == "roles") {
      if (!value.is_array()) return "\"roles\" must be a list of strings";
      for (const auto& role : value) {
        if (!role.is_string() || role.get<std::string>().empty()) {
          return "\"roles\" must be a list of non-empty strings";
        }
        user->add_roles(role.get<std::string>());
      }
    } else if (key == "attributes") {
      if (!value.is_object()) {
        return "\"attributes\" must be an object of strings";
      }
      for (const auto& [name, attribute] : value.items()) {
        if (!attribute.is_string()) {
          return absl::StrCat("attribute \"", name, "\" must be a string");
        }
        (*user->mutable_attributes())[name] = attribute.get<std::string>();
      }
    } else {
      return absl::StrCat("unknown key \"", key,
                          "\" (expected id, roles, attributes)");
    }
  }
  if (user->id().empty()) return "missing \"id\"";
  return "";
}

// Parses one CSV line "id,roles" (roles separated by ';') into `user`.
std::string ParseCsvUser(absl::string_view line, v1::User* user) {
  if (absl::StrContains(line, '"')) {
    return "quoted CSV fields are not supported";
  }
  std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
  if (fields.size() > 2) {
    return absl::StrCat("expected id,roles (roles separated by ';'), got ",
                        fields.size(), " fields");
  }
  const absl::string_view id = absl::StripAsciiWhitespace(fields[0]);
  if (id.empty()) return "the user id is empty";
  user->set_id(std::string(id));
  if (fields.size() == 2) {
    for (absl::string_view role : absl::StrSplit(fields[1], ';')) {
      role = absl::StripAsciiWhitespace(role);
      if (!role.empty()) user->add_roles(std::string(role));
    }
  }
  return "";
}

// Reads a users file: every line checked, every problem reported.
absl::StatusOr<std::vector<v1::User>> ParseUsersFile(
    const std::string& file, absl::string_view content,
    UserFileErrors* errors) {
  const bool json = LooksLikeJsonLines(file, content);
  std::vector<v1::User> users;
  std::map<std::string, int> first_line;  // User id -> line.
  int number = 0;
  bool first_content_line = true;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++number;
    line = absl::StripTrailingAsciiWhitespace(line);  // And '\r'.
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const bool first = first_content_line;
    first_content_line = false;
    if (!json && first) {
      std::string header = absl::AsciiStrToLower(line);
      header.erase(std::remove(header.begin(), header.end(), ' '),
                   header.end());
      if (header == "id,roles" || header == "id") continue;
    }
    v1::User user;
    const std::string problem =
        json ? ParseJsonUser(line, &user) : ParseCsvUser(line, &user);
    if (!problem.empty()) {
      errors->Add(file, number, problem);
      continue;
    }
    auto [it, inserted] = first_line.emplace(user.id(), number);
    if (!inserted) {
      errors->Add(file, number,
                  absl::StrCat("user \"", user.id(), "\" is already on line ",
                               it->second));
      continue;
    }
    users.push_back(std::move(user));
  }
  if (!errors->lines.empty()) {
    return absl::InvalidArgumentError("malformed users file");
  }
  return users;
}

int UsersImport(const Args& args, const Connection& connection,
                std::ostream& out, std::ostream& err) {
  if (args.positional().size() != 2) {
    return UsageError("users",
                      args.positional().size() < 2
                          ? "missing the users FILE: users import FILE"
                          : absl::StrCat("import takes one FILE; unexpected "
                                         "argument '",
                                         args.positional()[2], "'"),
                      err);
  }
  int batch = 1000;
  if (args.Has("batch") &&
      (!absl::SimpleAtoi(args.Get("batch"), &batch) || batch < 1)) {
    return UsageError("users",
                      absl::StrCat("--batch must be a whole number >= 1, not '",
                                   args.Get("batch"), "'"),
                      err);
  }
  const std::string file = args.positional()[1];
  absl::StatusOr<std::string> content = common::ReadFile(file);
  if (!content.ok()) {
    err << "pdpctl users: " << content.status().message() << "\n";
    return kExitUsage;
  }
  UserFileErrors errors;
  absl::StatusOr<std::vector<v1::User>> users =
      ParseUsersFile(file, *content, &errors);
  if (!users.ok()) {
    for (const std::string& line : errors.lines) err << line << "\n";
    err << "pdpctl users import: \"" << file << "\" has "
        << Plural(errors.lines.size(), "error") << "; no user was imported\n";
    return kExitFailed;
  }
  const std::string& server = connection.servers.front();
  auto stub = v1::Directory::NewStub(connection.Channel(server));
  size_t sent = 0;
  while (sent < users->size()) {
    v1::UpsertUsersRequest request;
    const size_t end =
        std::min(users->size(), sent + static_cast<size_t>(batch));
    for (size_t i = sent; i < end; ++i) {
      *request.add_users() = std::move((*users)[i]);
    }
    const std::unique_ptr<grpc::ClientContext> context =
        connection.NewContext();
    v1::UpsertUsersResponse response;
    grpc::Status status = stub->UpsertUsers(context.get(), request, &response);
    if (!status.ok()) {
      err << "pdpctl users import: " << server << ": " << Failure(status)
          << "\n"
          << "pdpctl users import: " << sent << " of "
          << Plural(users->size(), "user")
          << " were imported before the failure\n";
      return kExitFailed;
    }
    sent = end;
  }
  out << "imported " << Plural(users->size(), "user") << " to " << server
      << "\n";
  return kExitOk;
}

int UsersGet(const Args& args, const Connection& connection,
             std::ostream& out, std::ostream& err) {
  if (args.positional().size() != 2) {
    return UsageError("users", "users get takes one user ID", err);
  }
  const std::string& server = connection.servers.front();
  auto stub = v1::Directory::NewStub(connection.Channel(server));
  const std::unique_ptr<grpc::ClientContext> context =
      connection.NewContext();
  v1::GetUserRequest request;
  request.set_user_id(args.positional()[1]);
  v1::User user;
  grpc::Status status = stub->GetUser(context.get(), request, &user);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    // The server says whether the user was never there or was deleted (a
    // tombstone: unknown to checks even if the policy lists them).
    err << "pdpctl users get: " << server << ": " << status.error_message()
        << "\n";
    return kExitFailed;
  }
  if (!status.ok()) return RpcFailed("users get", server, status, err);
  if (args.Has("json")) {
    nlohmann::json json = {{"id", user.id()},
                           {"roles", nlohmann::json::array()},
                           {"attributes", nlohmann::json::object()}};
    for (const std::string& role : user.roles()) json["roles"].push_back(role);
    for (const auto& [name, value] : user.attributes()) {
      json["attributes"][name] = value;
    }
    out << json.dump() << "\n";
    return kExitOk;
  }
  std::vector<std::string> roles(user.roles().begin(), user.roles().end());
  std::map<std::string, std::string> attributes(user.attributes().begin(),
                                                user.attributes().end());
  out << user.id() << "\n"
      << "  roles: " << (roles.empty() ? "-" : absl::StrJoin(roles, ", "))
      << "\n";
  if (!attributes.empty()) {
    out << "  attributes: "
        << absl::StrJoin(attributes, ", ", absl::PairFormatter("="))
        << "\n";
  }
  return kExitOk;
}

int UsersDelete(const Args& args, const Connection& connection,
                std::ostream& out, std::ostream& err) {
  if (args.positional().size() < 2) {
    return UsageError("users", "users delete needs at least one user ID", err);
  }
  const std::string& server = connection.servers.front();
  auto stub = v1::Directory::NewStub(connection.Channel(server));
  const std::unique_ptr<grpc::ClientContext> context =
      connection.NewContext();
  v1::DeleteUsersRequest request;
  for (size_t i = 1; i < args.positional().size(); ++i) {
    request.add_user_ids(args.positional()[i]);
  }
  v1::DeleteUsersResponse response;
  grpc::Status status = stub->DeleteUsers(context.get(), request, &response);
  if (!status.ok()) return RpcFailed("users delete", server, status, err);
  out << "deleted " << response.deleted() << " of "
      << Plural(request.user_ids_size(), "user");
  if (response.deleted() < request.user_ids_size()) {
    out << " (the others were not in the directory)";
  }
  out << "\n";
  return kExitOk;
}

int RunUsers(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.positional().empty()) {
    return UsageError("users", "missing the subcommand: import, get or delete",
                      err);
  }
  const std::string& sub = args.positional().front();
  if (sub != "import" && sub != "get" && sub != "delete") {
    return UsageError(
        "users",
        absl::StrCat("unknown subcommand '", sub,
                     "' (expected import, get or delete)"),
        err);
  }
  if (sub != "import" && args.Has("batch")) {
    return UsageError("users", "--batch is for users import", err);
  }
  absl::StatusOr<Connection> connected = ConnectionFromArgs(args, false);
  if (!connected.ok()) {
    return ConnectionFailed("users", connected.status(), err);
  }
  const Connection& connection = *connected;
  if (sub == "import") return UsersImport(args, connection, out, err);
  if (sub == "get") return UsersGet(args, connection, out, err);
  return UsersDelete(args, connection, out, err);
}

}  // namespace

std::vector<Command> UserCommands() {
  std::vector<FlagSpec> users_flags = WithJson(
      ServerFlags(false), "users get: print the user as JSON");
  users_flags.push_back({"batch", Kind::kValue, "N",
                         "users import: users per UpsertUsers call (default "
                         "1000)"});
  return {
      {
          "users",
          "users (import FILE [--batch N] | get ID [--json] | delete ID...) "
          "--server ADDR TLS",
          "import, show or delete directory users (Directory service)",
          absl::StrCat(
              "import FILE: upserts the users in FILE, in batches of N\n"
              "(default 1000). FILE is JSON lines, one user a line:\n"
              "  {\"id\": \"alice@acme.example\", \"roles\": [\"sales\"],\n"
              "   \"attributes\": {\"dept\": \"emea\"}}\n"
              "or CSV \"id,roles\" with roles separated by ';' (an \"id,roles\"\n"
              "header line is optional; no attributes, no quoting). *.csv is\n"
              "CSV, *.jsonl, *.ndjson and *.json are JSON lines; otherwise a\n"
              "first line starting with '{' means JSON lines. The whole file\n"
              "is checked first: every bad line is reported as FILE:LINE and\n"
              "then nothing is sent (exit 1). Prints the count imported.\n"
              "get ID: prints the user's roles and attributes (exit 1 if the\n"
              "user is not in the directory, or was deleted from it).\n"
              "delete ID...: removes users from the directory, leaving a\n"
              "tombstone for each ID: the user is unknown to every check,\n"
              "even if the policy lists them, until imported again. Prints\n"
              "how many were there.\n\n",
              kTlsHelp),
          users_flags,
          RunUsers,
      },
  };
}

}  // namespace pdpctl
