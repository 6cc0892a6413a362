#include "pdp/server/directory_service.h"

#include "absl/strings/str_cat.h"
#include "pdp/quote.h"
#include "pdp/server/serve_unary.h"

namespace pdp::server {
namespace {

absl::Status TooMany(absl::string_view field, int n, int limit) {
  return absl::ResourceExhaustedError(
      absl::StrCat(field, " has ", n, " entries; at most ", limit,
                   " (limits.max_directory_users) are allowed in one call"));
}

}  // namespace

grpc::ServerUnaryReactor* DirectoryService::UpsertUsers(
    grpc::CallbackServerContext* context, const v1::UpsertUsersRequest* request,
    v1::UpsertUsersResponse* response) {
  return ServeUnary(context, auth_, Permission::kDirectory, [&](const CallerAuth::Caller&) -> absl::Status {
    if (request->users_size() > limits_.max_directory_users) {
      return TooMany("users", request->users_size(),
                     limits_.max_directory_users);
    }
    std::vector<v1::User> users;
    users.reserve(request->users_size());
    for (int i = 0; i < request->users_size(); ++i) {
      const v1::User& user = request->users(i);
      if (user.id().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("users[", i, "].id is empty"));
      }
      users.push_back(user);
      users.back().clear_source();
    }
    if (absl::Status s = directory_.Upsert(users); !s.ok()) return s;
    response->set_upserted(static_cast<int32_t>(users.size()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryService::DeleteUsers(
    grpc::CallbackServerContext* context, const v1::DeleteUsersRequest* request,
    v1::DeleteUsersResponse* response) {
  return ServeUnary(context, auth_, Permission::kDirectory, [&](const CallerAuth::Caller&) -> absl::Status {
    if (request->user_ids_size() > limits_.max_directory_users) {
      return TooMany("user_ids", request->user_ids_size(),
                     limits_.max_directory_users);
    }
    for (int i = 0; i < request->user_ids_size(); ++i) {
      if (request->user_ids(i).empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("user_ids[", i, "] is empty"));
      }
    }
    std::vector<std::string> ids(request->user_ids().begin(),
                                 request->user_ids().end());
    absl::StatusOr<int> deleted = directory_.Delete(ids);
    if (!deleted.ok()) return deleted.status();
    response->set_deleted(*deleted);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryService::GetUser(
    grpc::CallbackServerContext* context, const v1::GetUserRequest* request,
    v1::User* response) {
  return ServeUnary(context, auth_, Permission::kDirectory, [&](const CallerAuth::Caller&) -> absl::Status {
    if (request->user_id().empty()) {
      return absl::InvalidArgumentError("user_id is empty");
    }
    absl::StatusOr<cache::UserDirectory::Entry> found =
        directory_.TryLookup(request->user_id());
    if (!found.ok()) return found.status();
    const cache::UserDirectory::Entry& entry = *found;
    if (entry.deleted) {
      return absl::NotFoundError(absl::StrCat(
          "user ", Quote(request->user_id()),
          " was deleted from the directory: unknown to every check, even if "
          "the policy lists them, until upserted again"));
    }
    if (entry.user == nullptr) {
      return absl::NotFoundError(absl::StrCat(
          "user ", Quote(request->user_id()), " is not in the directory"));
    }
    *response = *entry.user;
    return absl::OkStatus();
  });
}

}  // namespace pdp::server
