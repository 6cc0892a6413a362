#include "tools/pdpctl/admin_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
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
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "pdp/api/translate.h"
#include "pdp/compiler.h"
#include "pdp/signing.h"
#include "pdp/snapshot.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "pdp/v1/directory.grpc.pb.h"
#include "tools/pdpctl/explain.h"
#include "tools/pdpctl/render.h"
#include "tools/pdpctl/replicas.h"

namespace pdpctl {
namespace {

namespace v1 = ::pdp::v1;
using Kind = FlagSpec::Kind;

// Writes `content` to a new file `path` with `mode`; fails if it exists.
absl::Status WriteNewFile(const std::string& path, absl::string_view content,
                          mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                      mode);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        errno == EEXIST
            ? absl::StrCat("\"", path, "\" exists; not overwriting it")
            : absl::StrCat("cannot create \"", path,
                           "\": ", std::strerror(errno)));
  }
  bool ok = fchmod(fd, mode) == 0;  // Whatever the umask.
  size_t written = 0;
  while (ok && written < content.size()) {
    const ssize_t n =
        write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<size_t>(n);
  }
  ok = fsync(fd) == 0 && ok;
  ok = close(fd) == 0 && ok;
  if (!ok) {
    unlink(path.c_str());
    return absl::InternalError(absl::StrCat("cannot write \"", path, "\""));
  }
  return absl::OkStatus();
}

// Replaces `path` with `content` atomically (temporary file, then rename).
absl::Status ReplaceFile(const std::string& path, absl::string_view content) {
  const std::string temp = absl::StrCat(path, ".tmp.", getpid());
  unlink(temp.c_str());
  if (absl::Status status = WriteNewFile(temp, content, 0644); !status.ok()) {
    return status;
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    unlink(temp.c_str());
    return absl::InternalError(
        absl::StrCat("cannot write \"", path, "\": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

std::string FormatUnixMicros(int64_t micros) {
  if (micros == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

std::string FormatUnixSeconds(int64_t seconds) {
  if (seconds == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds),
                          absl::UTCTimeZone());
}

std::string ProtoJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    return "{}";
  }
  return json;
}

// ------------------------------------------------------------- keygen

int RunKeygen(const Args& args, std::ostream& out, std::ostream& err) {
  if (!args.positional().empty()) {
    return UsageError("keygen",
                      absl::StrCat("unexpected argument '",
                                   args.positional().front(), "'"),
                      err);
  }
  if (!args.Has("out")) return UsageError("keygen", "missing --out PREFIX", err);
  const std::string prefix = args.Get("out");
  absl::StatusOr<pdp::Ed25519Key> key = pdp::GenerateEd25519Key();
  if (!key.ok()) {
    err << "pdpctl keygen: " << key.status().message() << "\n";
    return kExitFailed;
  }
  absl::StatusOr<std::string> key_id = pdp::KeyIdOf(key->public_pem);
  if (!key_id.ok()) {
    err << "pdpctl keygen: " << key_id.status().message() << "\n";
    return kExitFailed;
  }
  const std::string private_path = prefix + ".key";
  const std::string public_path = prefix + ".pub";
  if (access(public_path.c_str(), F_OK) == 0) {
    err << "pdpctl keygen: \"" << public_path
        << "\" exists; not overwriting it\n";
    return kExitFailed;
  }
  if (absl::Status s = WriteNewFile(private_path, key->private_pem, 0600);
      !s.ok()) {
    err << "pdpctl keygen: " << s.message() << "\n";
    return kExitFailed;
  }
  if (absl::Status s = WriteNewFile(public_path, key->public_pem, 0644);
      !s.ok()) {
    unlink(private_path.c_str());
    err << "pdpctl keygen: " << s.message() << "\n";
    return kExitFailed;
  }
  out << *key_id << "\n";
  return kExitOk;
}

// ------------------------------------------------------------- bundle

int RunBundle(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.positional().size() != 1) {
    return UsageError(
        "bundle",
        args.positional().empty()
            ? "missing the policy directory DIR"
            : absl::StrCat("takes one policy directory; unexpected argument '",
                           args.positional()[1], "'"),
        err);
  }
  const std::string dir = args.positional().front();
  for (const char* flag : {"key", "version", "out"}) {
    if (!args.Has(flag)) {
      return UsageError(
          "bundle",
          absl::StrCat("missing --", flag, " ",
                       std::string(flag) == "key"       ? "KEY"
                       : std::string(flag) == "version" ? "N"
                                                        : "FILE"),
          err);
    }
  }
  uint64_t version = 0;
  if (!absl::SimpleAtoi(args.Get("version"), &version) || version < 1) {
    return UsageError("bundle",
                      absl::StrCat("--version must be a whole number >= 1, not '",
                                   args.Get("version"), "'"),
                      err);
  }
  absl::StatusOr<std::string> private_pem = ReadFile(args.Get("key"));
  if (!private_pem.ok()) {
    err << "pdpctl bundle: " << private_pem.status().message() << "\n";
    return kExitUsage;
  }
  if (absl::StatusOr<std::string> id = pdp::KeyIdOfPrivate(*private_pem);
      !id.ok()) {
    err << "pdpctl bundle: --key \"" << args.Get("key")
        << "\": " << id.status().message()
        << " (pdpctl keygen makes one)\n";
    return kExitUsage;
  }

  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> compiled =
      LoadPolicy("bundle", dir, err);
  if (!compiled.ok()) {
    err << "pdpctl bundle: the policy in \"" << dir
        << "\" does not compile; no bundle was written\n";
    return kExitFailed;
  }
  v1::Bundle bundle = (*compiled)->bundle();
  v1::BundleMetadata* metadata = bundle.mutable_metadata();
  metadata->set_version(version);
  metadata->set_source_commit(args.Get("source-commit"));
  metadata->set_created_unix_seconds(absl::ToUnixSeconds(absl::Now()));
  // What the server will compile: the bundle itself, with its metadata.
  absl::StatusOr<std::shared_ptr<const pdp::Snapshot>> snapshot =
      pdp::Compiler::Compile(bundle);
  if (!snapshot.ok()) {
    err << snapshot.status().message() << "\n"
        << "pdpctl bundle: the bundle does not compile; no bundle was "
           "written\n";
    return kExitFailed;
  }
  absl::StatusOr<v1::SignedBundle> signed_bundle =
      pdp::SignBundle(bundle, *private_pem);
  if (!signed_bundle.ok()) {
    err << "pdpctl bundle: signing failed: " << signed_bundle.status().message()
        << "\n";
    return kExitFailed;
  }
  const std::string file = args.Get("out");
  if (absl::Status s = ReplaceFile(file, signed_bundle->SerializeAsString());
      !s.ok()) {
    err << "pdpctl bundle: " << s.message() << "\n";
    return kExitFailed;
  }
  const pdp::Snapshot& s = **snapshot;
  out << "bundle v" << version << ": " << Plural(s.tools().size(), "tool")
      << ", " << Plural(s.roles().size(), "role") << ", "
      << Plural(s.agents().size(), "agent") << ", "
      << Plural(s.clients().size(), "client") << ", "
      << Plural(s.services().size(), "service") << ", "
      << Plural(s.users().size(), "user") << ", "
      << Plural(s.deny_rules().size(), "deny rule") << ", signed by "
      << signed_bundle->key_id() << ", written to " << file << "\n";
  return kExitOk;
}

// ------------------------------------------------------------- servers

// The flags that say how to reach a server.
std::vector<FlagSpec> ServerFlags(bool repeatable_server) {
  return {
      {"server", repeatable_server ? Kind::kList : Kind::kValue, "ADDR",
       repeatable_server
           ? "a PDP server, host:port (repeatable: one per replica)"
           : "the PDP server, host:port (required)"},
      {"ca", Kind::kValue, "FILE", "CA certificate(s) the server's cert chains to"},
      {"cert", Kind::kValue, "FILE", "this client's certificate (mTLS)"},
      {"key", Kind::kValue, "FILE", "this client's private key (mTLS)"},
      {"server-name", Kind::kValue, "NAME",
       "expect this name in the server's certificate, not ADDR's host"},
      {"insecure", Kind::kBool, "",
       "plaintext, no TLS: only for a server run with --insecure"},
      {"timeout", Kind::kValue, "SECONDS", "per request (default 30)"},
  };
}

// push's flags: several servers, each host name expanded to its addresses.
std::vector<FlagSpec> PushFlags() {
  std::vector<FlagSpec> flags = ServerFlags(true);
  flags.push_back({"no-resolve", Kind::kBool, "",
                   "dial each --server as given (gRPC picks one address) "
                   "instead of every address its host resolves to"});
  return flags;
}

constexpr char kTlsHelp[] =
    "TLS: --ca FILE --cert FILE --key FILE [--server-name NAME] (mTLS, the\n"
    "default), or --insecure for a plaintext trial server.\n";

// How to reach the servers, from the flags.
struct Connection {
  std::vector<std::string> servers;
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments channel_args;
  absl::Duration timeout = absl::Seconds(30);
  bool server_name_given = false;  // --server-name: it is the TLS name.

  std::shared_ptr<grpc::Channel> Channel(const std::string& server) const {
    return grpc::CreateCustomChannel(server, credentials, channel_args);
  }
  // Dials the replica's address; TLS verifies its name (unless --server-name
  // names another).
  std::shared_ptr<grpc::Channel> Channel(const Replica& replica) const {
    if (replica.tls_name.empty() || server_name_given) {
      return Channel(replica.target());
    }
    grpc::ChannelArguments args = channel_args;
    args.SetSslTargetNameOverride(replica.tls_name);
    return grpc::CreateCustomChannel(replica.target(), credentials, args);
  }
  void SetDeadline(grpc::ClientContext* context) const {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
};

// Reads the server and TLS flags. Returns kExitOk, or prints the problem
// and returns the exit code.
int ConnectionFromArgs(absl::string_view command, const Args& args,
                       bool many_servers, Connection* connection,
                       std::ostream& err) {
  connection->servers = many_servers ? args.GetList("server")
                                     : std::vector<std::string>();
  if (!many_servers && args.Has("server")) {
    connection->servers.push_back(args.Get("server"));
  }
  if (connection->servers.empty()) {
    return UsageError(command, "missing --server ADDR", err);
  }
  if (args.Has("timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(args.Get("timeout"), &seconds) || !(seconds > 0)) {
      return UsageError(command,
                        absl::StrCat("--timeout must be a number of seconds "
                                     "> 0, not '",
                                     args.Get("timeout"), "'"),
                        err);
    }
    connection->timeout = absl::Seconds(seconds);
  }
  const bool any_tls =
      args.Has("ca") || args.Has("cert") || args.Has("key");
  if (args.Has("insecure")) {
    if (any_tls || args.Has("server-name")) {
      return UsageError(
          command, "--insecure does not go with --ca, --cert, --key or "
                   "--server-name",
          err);
    }
    connection->credentials = grpc::InsecureChannelCredentials();
    return kExitOk;
  }
  for (const char* flag : {"ca", "cert", "key"}) {
    if (!args.Has(flag)) {
      return UsageError(
          command,
          absl::StrCat("missing --", flag,
                       " FILE: give --ca, --cert and --key for mTLS, or "
                       "--insecure for a plaintext server"),
          err);
    }
  }
  grpc::SslCredentialsOptions options;
  std::string* targets[] = {&options.pem_root_certs, &options.pem_cert_chain,
                            &options.pem_private_key};
  const char* flags[] = {"ca", "cert", "key"};
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::string> content = ReadFile(args.Get(flags[i]));
    if (!content.ok()) {
      err << "pdpctl " << command << ": --" << flags[i] << ": "
          << content.status().message() << "\n";
      return kExitUsage;
    }
    *targets[i] = *std::move(content);
  }
  connection->credentials = grpc::SslCredentials(options);
  if (args.Has("server-name")) {
    connection->channel_args.SetSslTargetNameOverride(args.Get("server-name"));
    connection->server_name_given = true;
  }
  return kExitOk;
}

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

std::string Failure(const grpc::Status& status) {
  return absl::StrCat(CodeName(status.error_code()), ": ",
                      status.error_message());
}

// For single-server commands: prints "pdpctl CMD: ADDR: CODE: message".
int RpcFailed(absl::string_view command, const std::string& server,
              const grpc::Status& status, std::ostream& err) {
  err << "pdpctl " << command << ": " << server << ": " << Failure(status)
      << "\n";
  return kExitFailed;
}

int NoPositional(absl::string_view command, const Args& args,
                 std::ostream& err) {
  if (args.positional().empty()) return kExitOk;
  return UsageError(command,
                    absl::StrCat("unexpected argument '",
                                 args.positional().front(), "'"),
                    err);
}

// --------------------------------------------------------------- push

int RunPush(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.positional().size() != 1) {
    return UsageError("push",
                      args.positional().empty()
                          ? "missing the bundle FILE (pdpctl bundle writes one)"
                          : absl::StrCat("takes one bundle FILE; unexpected "
                                         "argument '",
                                         args.positional()[1], "'"),
                      err);
  }
  Connection connection;
  if (int code = ConnectionFromArgs("push", args, true, &connection, err);
      code != kExitOk) {
    return code;
  }
  const std::string file = args.positional().front();
  absl::StatusOr<std::string> bytes = ReadFile(file);
  if (!bytes.ok()) {
    err << "pdpctl push: " << bytes.status().message() << "\n";
    return kExitUsage;
  }
  v1::PushBundleRequest request;
  if (!request.mutable_bundle()->ParseFromString(*bytes) ||
      request.bundle().bundle().empty()) {
    err << "pdpctl push: \"" << file
        << "\" is not a signed bundle (pdpctl bundle writes one)\n";
    return kExitUsage;
  }
  int failed = 0;
  int attempted = 0;
  std::set<std::string> dialled;
  for (const std::string& server : connection.servers) {
    absl::StatusOr<std::vector<Replica>> replicas =
        args.Has("no-resolve") ? std::vector<Replica>{{server, "", ""}}
                               : ExpandServer(server, ResolveHost);
    if (!replicas.ok()) {
      ++attempted;
      ++failed;
      out << server << ": FAILED UNAVAILABLE: " << replicas.status().message()
          << "\n";
      continue;
    }
    for (const Replica& replica : *replicas) {
      if (!dialled.insert(replica.target()).second) continue;
      ++attempted;
      auto stub = v1::PolicyAdmin::NewStub(connection.Channel(replica));
      grpc::ClientContext context;
      connection.SetDeadline(&context);
      v1::PushBundleResponse response;
      grpc::Status status = stub->PushBundle(&context, request, &response);
      if (status.ok()) {
        out << replica.Label() << ": active v"
            << response.active().metadata().version()
            << (response.already_active()
                    ? " (already active: these same signed bytes)"
                    : "")
            << "\n";
      } else {
        ++failed;
        out << replica.Label() << ": FAILED " << Failure(status) << "\n";
      }
    }
  }
  if (failed > 0) {
    err << "pdpctl push: " << failed << " of " << Plural(attempted, "replica")
        << " failed\n";
    return kExitFailed;
  }
  return kExitOk;
}

// For the commands that take no argument and one --server: the flags, or
// the usage problem's exit code.
int OneServerFromArgs(absl::string_view command, const Args& args,
                      Connection* connection, std::ostream& err) {
  if (int code = NoPositional(command, args, err); code != kExitOk) {
    return code;
  }
  return ConnectionFromArgs(command, args, false, connection, err);
}

// ------------------------------------------------------------- status

int RunStatus(const Args& args, std::ostream& out, std::ostream& err) {
  Connection connection;
  if (int code = OneServerFromArgs("status", args, &connection, err);
      code != kExitOk) {
    return code;
  }
  const std::string& server = connection.servers.front();
  auto stub = v1::PolicyAdmin::NewStub(connection.Channel(server));
  grpc::ClientContext context;
  connection.SetDeadline(&context);
  v1::GetStatusResponse response;
  grpc::Status status =
      stub->GetStatus(&context, v1::GetStatusRequest(), &response);
  if (!status.ok()) return RpcFailed("status", server, status, err);
  if (args.Has("json")) {
    out << ProtoJson(response) << "\n";
    return kExitOk;
  }
  if (!response.serving() && !response.not_serving_reason().empty()) {
    out << server << ": NOT SERVING (" << response.not_serving_reason()
        << "; push a bundle or roll back to a stored version)\n";
  } else if (!response.serving()) {
    out << server << ": NOT SERVING (no active policy; push a bundle)\n";
  } else if (response.has_active()) {
    const v1::BundleInfo& active = response.active();
    out << server << ": serving v" << active.metadata().version()
        << " (policy version " << response.policy_version() << ")\n"
        << "  activated " << FormatUnixMicros(response.activated_unix_micros())
        << ", signed by " << active.key_id() << ", source commit "
        << (active.metadata().source_commit().empty()
                ? "-"
                : active.metadata().source_commit())
        << ", created "
        << FormatUnixSeconds(active.metadata().created_unix_seconds()) << "\n";
  } else {
    out << server << ": serving policy version " << response.policy_version()
        << " (not from the store: a --policy bootstrap)\n";
  }
  if (response.serving()) {
    out << "  " << Plural(response.tools(), "tool") << ", "
        << Plural(response.roles(), "role") << ", "
        << Plural(response.bundle_users(), "bundle user") << ", "
        << Plural(response.directory_users(), "directory user") << "\n";
  }
  if (response.dropped_decisions() > 0) {
    out << "  " << response.dropped_decisions()
        << " decision-log lines dropped (queue full)\n";
  }
  return kExitOk;
}

// ------------------------------------------------------------- health

// grpc.health.v1: exit 0 only while the server reports SERVING, so that a
// Kubernetes exec probe can use it with the pod's own certificate (a gRPC
// probe presents none, and the server requires one).
int RunHealth(const Args& args, std::ostream& out, std::ostream& err) {
  Connection connection;
  if (int code = OneServerFromArgs("health", args, &connection, err);
      code != kExitOk) {
    return code;
  }
  const std::string& server = connection.servers.front();
  auto stub = grpc::health::v1::Health::NewStub(connection.Channel(server));
  grpc::ClientContext context;
  connection.SetDeadline(&context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(args.Has("service") ? args.Get("service") : "");
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return RpcFailed("health", server, status, err);
  out << server << ": "
      << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
             response.status())
      << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
             ? kExitOk
             : kExitFailed;
}

// ------------------------------------------------------------ bundles

int RunBundles(const Args& args, std::ostream& out, std::ostream& err) {
  Connection connection;
  if (int code = OneServerFromArgs("bundles", args, &connection, err);
      code != kExitOk) {
    return code;
  }
  const std::string& server = connection.servers.front();
  auto stub = v1::PolicyAdmin::NewStub(connection.Channel(server));
  grpc::ClientContext context;
  connection.SetDeadline(&context);
  v1::ListBundlesResponse response;
  grpc::Status status =
      stub->ListBundles(&context, v1::ListBundlesRequest(), &response);
  if (!status.ok()) return RpcFailed("bundles", server, status, err);
  if (args.Has("json")) {
    out << ProtoJson(response) << "\n";
    return kExitOk;
  }
  if (response.bundles().empty()) {
    out << server << ": no bundles stored\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"", "VERSION", "CREATED", "STORED", "KEY ID", "SOURCE COMMIT", "BYTES"}};
  for (const v1::BundleInfo& info : response.bundles()) {
    rows.push_back(
        {info.metadata().version() == response.active_version() ? "*" : "",
         absl::StrCat(info.metadata().version()),
         FormatUnixSeconds(info.metadata().created_unix_seconds()),
         FormatUnixMicros(info.stored_unix_micros()), info.key_id(),
         info.metadata().source_commit().empty()
             ? "-"
             : info.metadata().source_commit(),
         absl::StrCat(info.size_bytes())});
  }
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) {
        absl::StrAppend(&line, std::string(widths[i] - row[i].size() + 2, ' '));
      }
    }
    out << line << "\n";
  }
  return kExitOk;
}

// ----------------------------------------------------------- rollback

int RunRollback(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.positional().size() != 1) {
    return UsageError("rollback",
                      args.positional().empty()
                          ? "missing the VERSION to activate"
                          : absl::StrCat("takes one VERSION; unexpected "
                                         "argument '",
                                         args.positional()[1], "'"),
                      err);
  }
  uint64_t version = 0;
  if (!absl::SimpleAtoi(args.positional().front(), &version) || version < 1) {
    return UsageError("rollback",
                      absl::StrCat("VERSION must be a whole number >= 1, not '",
                                   args.positional().front(), "'"),
                      err);
  }
  Connection connection;
  if (int code = ConnectionFromArgs("rollback", args, false, &connection, err);
      code != kExitOk) {
    return code;
  }
  const std::string& server = connection.servers.front();
  auto stub = v1::PolicyAdmin::NewStub(connection.Channel(server));
  grpc::ClientContext context;
  connection.SetDeadline(&context);
  v1::ActivateRequest request;
  request.set_version(version);
  v1::ActivateResponse response;
  grpc::Status status = stub->Activate(&context, request, &response);
  if (!status.ok()) return RpcFailed("rollback", server, status, err);
  out << server << ": active v" << response.active().metadata().version()
      << "\n";
  return kExitOk;
}

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
  absl::StatusOr<std::string> content = ReadFile(file);
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
    grpc::ClientContext context;
    connection.SetDeadline(&context);
    v1::UpsertUsersResponse response;
    grpc::Status status = stub->UpsertUsers(&context, request, &response);
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
  grpc::ClientContext context;
  connection.SetDeadline(&context);
  v1::GetUserRequest request;
  request.set_user_id(args.positional()[1]);
  v1::User user;
  grpc::Status status = stub->GetUser(&context, request, &user);
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
  grpc::ClientContext context;
  connection.SetDeadline(&context);
  v1::DeleteUsersRequest request;
  for (size_t i = 1; i < args.positional().size(); ++i) {
    request.add_user_ids(args.positional()[i]);
  }
  v1::DeleteUsersResponse response;
  grpc::Status status = stub->DeleteUsers(&context, request, &response);
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
  Connection connection;
  if (int code = ConnectionFromArgs("users", args, false, &connection, err);
      code != kExitOk) {
    return code;
  }
  if (sub == "import") return UsersImport(args, connection, out, err);
  if (sub == "get") return UsersGet(args, connection, out, err);
  return UsersDelete(args, connection, out, err);
}

std::vector<FlagSpec> WithService(std::vector<FlagSpec> flags) {
  flags.push_back({"service", Kind::kValue, "NAME",
                   "the service to ask about (default: the whole server)"});
  return flags;
}

std::vector<FlagSpec> WithJson(std::vector<FlagSpec> flags,
                               absl::string_view what) {
  flags.push_back({"json", Kind::kBool, "", std::string(what)});
  return flags;
}

}  // namespace

std::vector<FlagSpec> RemoteExplainFlags() {
  std::vector<FlagSpec> flags = ServerFlags(false);
  flags[0].help =
      "with --explain: ask this PDP server (host:port) instead of compiling "
      "--policy";
  return flags;
}

int RunRemoteExplain(const Args& args, const pdp::Request& request,
                     std::ostream& out, std::ostream& err) {
  if (!args.Has("explain")) {
    return UsageError("check",
                      "--server is for --explain (a server explains to "
                      "callers granted `explain`; pdpctl check decides offline)",
                      err);
  }
  Connection connection;
  if (int code = OneServerFromArgs("check", args, &connection, err);
      code != kExitOk) {
    return code;
  }
  const std::string& server = connection.servers.front();
  auto stub = v1::PolicyAdmin::NewStub(connection.Channel(server));
  grpc::ClientContext context;
  connection.SetDeadline(&context);
  v1::ExplainRequest explain;
  *explain.mutable_check() = pdp::api::ToProto(request);
  explain.set_source_dir(args.Get("policy"));
  v1::ExplainResponse response;
  grpc::Status status = stub->Explain(&context, explain, &response);
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    err << "pdpctl check: " << server << ": " << status.error_message()
        << "\n";
    return kExitUsage;
  }
  if (!status.ok()) return RpcFailed("check", server, status, err);
  out << DecisionText(request, pdp::api::FromProto(response.decision()),
                      {response.decision().redact().begin(),
                       response.decision().redact().end()},
                      response.policy_version())
      << RenderExplanation(pdp::api::FromProto(response));
  return kExitOk;
}

std::vector<Command> AdminCommands() {
  std::vector<FlagSpec> users_flags = WithJson(
      ServerFlags(false), "users get: print the user as JSON");
  users_flags.push_back({"batch", Kind::kValue, "N",
                         "users import: users per UpsertUsers call (default "
                         "1000)"});
  return {
      {
          "keygen",
          "keygen --out PREFIX",
          "make an Ed25519 key pair for signing bundles",
          "Writes PREFIX.key (the private key, PKCS#8 PEM, mode 0600: keep it\n"
          "secret, e.g. in CI's secret store) and PREFIX.pub (the public key,\n"
          "for the server's trusted_keys). Refuses to overwrite either file.\n"
          "Prints the key id, \"ed25519:\" and 16 hex digits of the SHA-256 of\n"
          "the public key: the id the server config lists the key under.\n",
          {{"out", Kind::kValue, "PREFIX",
            "write PREFIX.key and PREFIX.pub (required)"}},
          RunKeygen,
      },
      {
          "bundle",
          "bundle DIR --key KEY --version N [--source-commit SHA] -o FILE",
          "compile a policy directory into a signed bundle",
          "Validates and compiles DIR as validate does (errors as\n"
          "\"DIR/file:line: message\", exit 1, nothing written), stamps the\n"
          "bundle with version N (>= 1; the server accepts only versions\n"
          "above its active one), the source commit and the time, signs its\n"
          "exact bytes with the Ed25519 private key KEY and writes the\n"
          "serialized pdp.v1.SignedBundle to FILE. Prints\n"
          "\"bundle vN: <counts>, signed by KEYID, written to FILE\".\n",
          {
              {"key", Kind::kValue, "KEY",
               "the Ed25519 private key (pdpctl keygen) (required)"},
              {"version", Kind::kValue, "N",
               "the bundle version, >= 1 (required)"},
              {"source-commit", Kind::kValue, "SHA",
               "the VCS commit the policy was built from"},
              {"out", Kind::kValue, "FILE", "where to write the bundle (required)",
               'o'},
          },
          RunBundle,
      },
      {
          "push",
          "push FILE --server ADDR [--server ADDR ...] [--no-resolve] TLS",
          "push a signed bundle to PDP servers (PolicyAdmin.PushBundle)",
          absl::StrCat(
              "Sends the bundle FILE (pdpctl bundle) to each replica in turn.\n"
              "A --server whose host is a DNS name (e.g. a headless Service)\n"
              "stands for every IPv4 and IPv6 address the name resolves to,\n"
              "each pushed to once; TLS still verifies the certificate\n"
              "against the name. A literal address is one replica;\n"
              "--no-resolve dials every --server as given.\n"
              "A server verifies the signature, checks that the version is\n"
              "above its active one, compiles, stores and activates it.\n"
              "Pushing the bundle a replica already has active (a retry\n"
              "after a lost answer) succeeds there and changes nothing.\n"
              "Prints one line per replica, \"ADDR: active vN\" (followed\n"
              "by \" (already active: these same signed bytes)\" on a retry) or\n"
              "\"ADDR: FAILED CODE: message\", where ADDR is the --server,\n"
              "followed by \" (ADDRESS:PORT)\" for an address its name\n"
              "resolved to; exits 0 only if every replica accepted the\n"
              "bundle, 1 otherwise (a name that does not resolve fails).\n"
              "\n",
              kTlsHelp),
          PushFlags(),
          RunPush,
      },
      {
          "status",
          "status --server ADDR TLS [--json]",
          "show a server's active bundle and counts (PolicyAdmin.GetStatus)",
          absl::StrCat("With --json, the GetStatusResponse in the proto3 JSON "
                       "mapping\n(field names as in admin.proto).\n\n",
                       kTlsHelp),
          WithJson(ServerFlags(false), "print the response as JSON"),
          RunStatus,
      },
      {
          "health",
          "health --server ADDR TLS [--service NAME]",
          "ask a server's grpc.health.v1 whether it is SERVING",
          absl::StrCat("Prints the status; exits 0 only when SERVING (a policy "
                       "is active),\n1 otherwise. For Kubernetes exec probes: "
                       "the server requires a client\ncertificate, which a "
                       "gRPC probe does not present.\n\n",
                       kTlsHelp),
          WithService(ServerFlags(false)),
          RunHealth,
      },
      {
          "bundles",
          "bundles --server ADDR TLS [--json]",
          "list the bundle versions a server stores (PolicyAdmin.ListBundles)",
          absl::StrCat("One row per version, oldest first; * marks the "
                       "active one.\nWith --json, the ListBundlesResponse in "
                       "the proto3 JSON mapping.\n\n",
                       kTlsHelp),
          WithJson(ServerFlags(false), "print the response as JSON"),
          RunBundles,
      },
      {
          "rollback",
          "rollback VERSION --server ADDR TLS",
          "make a stored bundle version active again (PolicyAdmin.Activate)",
          absl::StrCat(
              "An explicit rollback (or roll forward) to a version the server\n"
              "stores (see pdpctl bundles); the server logs it as such.\n"
              "Prints \"ADDR: active vN\".\n\n",
              kTlsHelp),
          ServerFlags(false),
          RunRollback,
      },
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
