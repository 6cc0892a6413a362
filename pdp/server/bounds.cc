#include "pdp/server/bounds.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace pdp::server {
namespace {

// Checks ids and lists of one request, naming fields under a prefix.
class Bounds {
 public:
  explicit Bounds(const ServerConfig::Limits& limits) : limits_(limits) {}

  // `field` of at most max_id_bytes.
  Bounds& Id(absl::string_view prefix, absl::string_view field,
             const std::string& value) {
    if (status_.ok() && value.size() > static_cast<size_t>(limits_.max_id_bytes)) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          prefix, field, " is ", value.size(), " bytes; at most ",
          limits_.max_id_bytes, " (limits.max_id_bytes) are allowed"));
    }
    return *this;
  }

  // A list of at most max_list_entries ids (`count_list`), each an Id().
  template <typename List>
  Bounds& Ids(absl::string_view prefix, absl::string_view field,
              const List& values, bool count_list = true) {
    if (!status_.ok()) return *this;
    if (count_list && static_cast<size_t>(values.size()) >
                          static_cast<size_t>(limits_.max_list_entries)) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          prefix, field, " has ", values.size(), " entries; at most ",
          limits_.max_list_entries, " (limits.max_list_entries) are allowed"));
      return *this;
    }
    int i = 0;
    for (const std::string& value : values) {
      Id(prefix, absl::StrCat(field, "[", i++, "]"), value);
    }
    return *this;
  }

  Bounds& Chain(absl::string_view prefix, const v1::IdentityChain& chain) {
    const std::string p = absl::StrCat(prefix, "chain.");
    return Id(p, "user_id", chain.user_id())
        .Id(p, "client_id", chain.client_id())
        .Id(p, "agent_id", chain.agent_id())
        .Id(p, "service_id", chain.service_id())
        .Ids(p, "asserted_roles", chain.asserted_roles())
        .Ids(p, "amr", chain.amr())
        .Ids(p, "scopes", chain.scopes());
  }

  Bounds& Check(absl::string_view prefix, const v1::CheckRequest& check) {
    return Chain(prefix, check.chain()).Id(prefix, "tool_id", check.tool_id());
  }

  Bounds& User(absl::string_view prefix, const v1::User& user) {
    Id(prefix, "id", user.id()).Ids(prefix, "roles", user.roles());
    if (status_.ok() &&
        user.attributes().size() > static_cast<size_t>(limits_.max_list_entries)) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          prefix, "attributes has ", user.attributes().size(),
          " entries; at most ", limits_.max_list_entries,
          " (limits.max_list_entries) are allowed"));
    }
    for (const auto& [name, value] : user.attributes()) {
      Id(prefix, "attributes (a name)", name);
    }
    return *this;
  }

  absl::Status status() const { return status_; }

 private:
  const ServerConfig::Limits& limits_;
  absl::Status status_;
};

}  // namespace

absl::Status CheckBounds(const v1::CheckRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits).Check("", request).status();
}

absl::Status CheckBounds(const v1::BatchCheckRequest& request,
                         const ServerConfig::Limits& limits) {
  Bounds bounds(limits);
  for (int i = 0; i < request.checks_size() && bounds.status().ok(); ++i) {
    bounds.Check(absl::StrCat("checks[", i, "]."), request.checks(i));
  }
  return bounds.status();
}

absl::Status CheckBounds(const v1::FilterToolsRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits)
      .Chain("", request.chain())
      .Id("", "server_id", request.server_id())
      .Ids("", "tool_ids", request.tool_ids(), /*count_list=*/false)
      .status();
}

absl::Status CheckBounds(const v1::CheckClientRequestRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits)
      .Id("", "client_id", request.client_id())
      .Ids("", "scopes", request.scopes())
      .status();
}

absl::Status CheckBounds(const v1::ExplainRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits).Check("check.", request.check()).status();
}

absl::Status CheckBounds(const v1::UpsertUsersRequest& request,
                         const ServerConfig::Limits& limits) {
  Bounds bounds(limits);
  for (int i = 0; i < request.users_size() && bounds.status().ok(); ++i) {
    bounds.User(absl::StrCat("users[", i, "]."), request.users(i));
  }
  return bounds.status();
}

absl::Status CheckBounds(const v1::DeleteUsersRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits)
      .Ids("", "user_ids", request.user_ids(), /*count_list=*/false)
      .status();
}

absl::Status CheckBounds(const v1::GetUserRequest& request,
                         const ServerConfig::Limits& limits) {
  return Bounds(limits).Id("", "user_id", request.user_id()).status();
}

}  // namespace pdp::server
