#include "tools/pdpctl/bundle_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/file/read_file.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "pdp/compiler.h"
#include "pdp/signing.h"
#include "pdp/snapshot.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "tools/pdpctl/remote.h"

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
  absl::StatusOr<std::string> private_pem = common::ReadFile(args.Get("key"));
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

  absl::StatusOr<pdp::Compilation> compiled = CompilePolicy("bundle", dir, err);
  if (!compiled.ok() || compiled->snapshot == nullptr) {
    err << "pdpctl bundle: the policy in \"" << dir
        << "\" does not compile; no bundle was written\n";
    return kExitFailed;
  }
  v1::Bundle bundle = compiled->snapshot->bundle();
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

// push's flags: several servers, each host name expanded to its addresses.
std::vector<FlagSpec> PushFlags() {
  std::vector<FlagSpec> flags = ServerFlags(true);
  flags.push_back({"no-resolve", Kind::kBool, "",
                   "dial each --server as given (gRPC picks one address) "
                   "instead of every address its host resolves to"});
  return flags;
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
  absl::StatusOr<Connection> connected = ConnectionFromArgs(args, true);
  if (!connected.ok()) {
    return ConnectionFailed("push", connected.status(), err);
  }
  const Connection& connection = *connected;
  const std::string file = args.positional().front();
  absl::StatusOr<std::string> bytes = common::ReadFile(file);
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
        ReplicasOf(server, !args.Has("no-resolve"));
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
      const std::unique_ptr<grpc::ClientContext> context =
          connection.NewContext();
      v1::PushBundleResponse response;
      grpc::Status status = stub->PushBundle(context.get(), request, &response);
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

// ------------------------------------------------------------- status

int RunStatus(const Args& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Connection> connected = OneServerFromArgs(args);
  if (!connected.ok()) {
    return ConnectionFailed("status", connected.status(), err);
  }
  const Connection& connection = *connected;
  const std::string& server = connection.servers.front();
  auto stub = v1::PolicyAdmin::NewStub(connection.Channel(server));
  const std::unique_ptr<grpc::ClientContext> context =
      connection.NewContext();
  v1::GetStatusResponse response;
  grpc::Status status =
      stub->GetStatus(context.get(), v1::GetStatusRequest(), &response);
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
  absl::StatusOr<Connection> connected = OneServerFromArgs(args);
  if (!connected.ok()) {
    return ConnectionFailed("health", connected.status(), err);
  }
  const Connection& connection = *connected;
  const std::string& server = connection.servers.front();
  auto stub = grpc::health::v1::Health::NewStub(connection.Channel(server));
  const std::unique_ptr<grpc::ClientContext> context =
      connection.NewContext();
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(args.Has("service") ? args.Get("service") : "");
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(context.get(), request, &response);
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
  absl::StatusOr<Connection> connected = OneServerFromArgs(args);
  if (!connected.ok()) {
    return ConnectionFailed("bundles", connected.status(), err);
  }
  const Connection& connection = *connected;
  const std::string& server = connection.servers.front();
  auto stub = v1::PolicyAdmin::NewStub(connection.Channel(server));
  const std::unique_ptr<grpc::ClientContext> context =
      connection.NewContext();
  v1::ListBundlesResponse response;
  grpc::Status status =
      stub->ListBundles(context.get(), v1::ListBundlesRequest(), &response);
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
  absl::StatusOr<Connection> connected = ConnectionFromArgs(args, false);
  if (!connected.ok()) {
    return ConnectionFailed("rollback", connected.status(), err);
  }
  const Connection& connection = *connected;
  const std::string& server = connection.servers.front();
  auto stub = v1::PolicyAdmin::NewStub(connection.Channel(server));
  const std::unique_ptr<grpc::ClientContext> context =
      connection.NewContext();
  v1::ActivateRequest request;
  request.set_version(version);
  v1::ActivateResponse response;
  grpc::Status status = stub->Activate(context.get(), request, &response);
  if (!status.ok()) return RpcFailed("rollback", server, status, err);
  out << server << ": active v" << response.active().metadata().version()
      << "\n";
  return kExitOk;
}

}  // namespace

std::vector<Command> BundleCommands() {
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
  };
}

}  // namespace pdpctl
