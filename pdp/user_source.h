#ifndef PDP_USER_SOURCE_H_
#define PDP_USER_SOURCE_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "pdp/v1/policy.pb.h"

namespace pdp {

// Where users come from besides the policy's `users:` section: the user
// directory the server keeps in sync. A user found here replaces the
// policy's user of the same id; its roles are role ids of the active policy
// (ids the policy does not define grant nothing).
// Implementations must be thread-safe: Find() runs on every check.
class UserSource {
 public:
  virtual ~UserSource() = default;

  // Returns the user, or nullptr when this source does not know the id.
  virtual std::shared_ptr<const v1::User> Find(absl::string_view user_id) const = 0;
};

}  // namespace pdp

#endif  // PDP_USER_SOURCE_H_
