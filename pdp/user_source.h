#ifndef PDP_USER_SOURCE_H_
#define PDP_USER_SOURCE_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {

// What the directory says of one user id.
struct DirectoryEntry {
  // The user, when the directory holds it: it replaces the policy's user of
  // the same id; its roles are role ids of the active policy (ids the
  // policy does not define grant nothing).
  std::shared_ptr<const v1::User> user;
  // The directory deleted this id and it has not been upserted since (a
  // tombstone): the user is unknown (USER_UNKNOWN) even if the policy's
  // `users:` lists it. The directory revokes.
  bool deleted = false;
};

// Where users come from besides the policy's `users:` section: the user
// directory the server keeps in sync.
// Implementations must be thread-safe: Find() runs on every check.
class UserSource {
 public:
  virtual ~UserSource() = default;

  // What this source says of `user_id`: a user, a tombstone, or nothing
  // (both members empty) when it does not know the id.
  virtual DirectoryEntry Find(absl::string_view user_id) const = 0;
};

}  // namespace pdp

#endif  // PDP_USER_SOURCE_H_
