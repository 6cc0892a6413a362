#ifndef PDP_SERVER_DIRECTORY_SERVICE_H_
#define PDP_SERVER_DIRECTORY_SERVICE_H_

#include <memory>

#include "cache/user_directory.h"
#include "pdp/server/caller_auth.h"
#include "pdp/server/config.h"
#include "pdp/user_source.h"
#include "pdp/v1/directory.grpc.pb.h"

namespace pdp::server {

// The directory as the engine sees it: each check resolves its user here
// first (the in-memory cache in front of RocksDB).
class DirectoryUserSource final : public UserSource {
 public:
  explicit DirectoryUserSource(const cache::UserDirectory& directory)
      : directory_(directory) {}

  DirectoryEntry Find(absl::string_view id) const override {
    cache::UserDirectory::Entry entry = directory_.Lookup(id);
    return {std::move(entry.user), entry.deleted};
  }

 private:
  const cache::UserDirectory& directory_;
};

// pdp.v1.Directory (permission `directory`): a sync worker keeps users and
// their roles current. Writes reach RocksDB and the cache before the call
// returns, so the next check sees them. DeleteUsers leaves a tombstone for
// every id (the user is unknown to checks even if the policy lists them,
// until upserted again); GetUser answers NotFound for a tombstone too, with
// a message saying the user was deleted.
// Thread-safe. The referenced objects must outlive the service.
class DirectoryService final : public v1::Directory::CallbackService {
 public:
  DirectoryService(cache::UserDirectory& directory, const CallerAuth& auth,
                   const ServerConfig::Limits& limits)
      : directory_(directory), auth_(auth), limits_(limits) {}

  grpc::ServerUnaryReactor* UpsertUsers(
      grpc::CallbackServerContext* context,
      const v1::UpsertUsersRequest* request,
      v1::UpsertUsersResponse* response) override;
  grpc::ServerUnaryReactor* DeleteUsers(
      grpc::CallbackServerContext* context,
      const v1::DeleteUsersRequest* request,
      v1::DeleteUsersResponse* response) override;
  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const v1::GetUserRequest* request,
                                    v1::User* response) override;

 private:
  cache::UserDirectory& directory_;
  const CallerAuth& auth_;
  const ServerConfig::Limits limits_;
};

}  // namespace pdp::server

#endif  // PDP_SERVER_DIRECTORY_SERVICE_H_
