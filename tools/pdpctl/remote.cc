#include "tools/pdpctl/remote.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file/read_file.h"

namespace pdpctl {
namespace {

using Kind = FlagSpec::Kind;

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

}  // namespace

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

std::vector<FlagSpec> WithJson(std::vector<FlagSpec> flags,
                               absl::string_view what) {
  flags.push_back({"json", Kind::kBool, "", std::string(what)});
  return flags;
}

std::vector<FlagSpec> WithService(std::vector<FlagSpec> flags) {
  flags.push_back({"service", Kind::kValue, "NAME",
                   "the service to ask about (default: the whole server)"});
  return flags;
}

std::shared_ptr<grpc::Channel> Connection::Channel(
    const std::string& server) const {
  return grpc::CreateCustomChannel(server, credentials, channel_args);
}

std::shared_ptr<grpc::Channel> Connection::Channel(
    const Replica& replica) const {
  if (replica.tls_name.empty() || server_name_given) {
    return Channel(replica.target());
  }
  grpc::ChannelArguments args = channel_args;
  args.SetSslTargetNameOverride(replica.tls_name);
  return grpc::CreateCustomChannel(replica.target(), credentials, args);
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

absl::StatusOr<Connection> ConnectionFromArgs(const Args& args,
                                              bool many_servers) {
  Connection connection;
  connection.servers =
      many_servers ? args.GetList("server") : std::vector<std::string>();
  if (!many_servers && args.Has("server")) {
    connection.servers.push_back(args.Get("server"));
  }
  if (connection.servers.empty()) {
    return absl::InvalidArgumentError("missing --server ADDR");
  }
  if (args.Has("timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(args.Get("timeout"), &seconds) || !(seconds > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--timeout must be a number of seconds > 0, not '",
                       args.Get("timeout"), "'"));
    }
    connection.timeout = absl::Seconds(seconds);
  }
  const bool any_tls = args.Has("ca") || args.Has("cert") || args.Has("key");
  if (args.Has("insecure")) {
    if (any_tls || args.Has("server-name")) {
      return absl::InvalidArgumentError(
          "--insecure does not go with --ca, --cert, --key or --server-name");
    }
    connection.credentials = grpc::InsecureChannelCredentials();
    return connection;
  }
  for (const char* flag : {"ca", "cert", "key"}) {
    if (!args.Has(flag)) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing --", flag,
                       " FILE: give --ca, --cert and --key for mTLS, or "
                       "--insecure for a plaintext server"));
    }
  }
  grpc::SslCredentialsOptions options;
  const std::pair<const char*, std::string*> files[] = {
      {"ca", &options.pem_root_certs},
      {"cert", &options.pem_cert_chain},
      {"key", &options.pem_private_key}};
  for (const auto& [flag, pem] : files) {
    absl::StatusOr<std::string> content = common::ReadFile(args.Get(flag));
    if (!content.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("--", flag, ": ", content.status().message()));
    }
    *pem = *std::move(content);
  }
  connection.credentials = grpc::SslCredentials(options);
  if (args.Has("server-name")) {
    connection.channel_args.SetSslTargetNameOverride(args.Get("server-name"));
    connection.server_name_given = true;
  }
  return connection;
}

absl::StatusOr<Connection> OneServerFromArgs(const Args& args) {
  if (!args.positional().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument '", args.positional().front(), "'"));
  }
  return ConnectionFromArgs(args, false);
}

int ConnectionFailed(absl::string_view command, const absl::Status& status,
                     std::ostream& err) {
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    return UsageError(command, status.message(), err);
  }
  err << "pdpctl " << command << ": " << status.message() << "\n";
  return kExitUsage;
}

absl::StatusOr<std::vector<Replica>> ReplicasOf(const std::string& server,
                                                bool resolve) {
  if (!resolve) return std::vector<Replica>{{server, "", ""}};
  return ExpandServer(server, ResolveHost);
}

std::string Failure(const grpc::Status& status) {
  return absl::StrCat(CodeName(status.error_code()), ": ",
                      status.error_message());
}

int RpcFailed(absl::string_view command, const std::string& server,
              const grpc::Status& status, std::ostream& err) {
  err << "pdpctl " << command << ": " << server << ": " << Failure(status)
      << "\n";
  return kExitFailed;
}

}  // namespace pdpctl
