#include "tools/pdp_bench/transport.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "grpc/grpc_security_constants.h"
#include "grpc/impl/codegen/grpc_types.h"

namespace pdp_bench {
namespace {

absl::StatusOr<std::string> ReadPem(absl::string_view flag,
                                    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("--", flag, ": cannot read ", path,
                                            ": ", std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (content.str().empty()) {
    return absl::NotFoundError(
        absl::StrCat("--", flag, ": ", path, " is empty"));
  }
  return content.str();
}

}  // namespace

absl::StatusOr<ClientTransport> MakeClientTransport(bool insecure,
                                                    const ClientTlsFiles& tls) {
  ClientTransport transport;
  if (insecure) {
    transport.credentials = grpc::InsecureChannelCredentials();
    return transport;
  }
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadPem("ca", tls.ca_file);
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *std::move(ca);
  if (!tls.cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadPem("cert", tls.cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("key", tls.key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  transport.credentials = grpc::SslCredentials(ssl);
  if (!tls.server_name.empty()) {
    transport.arguments.SetString(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
                                  tls.server_name);
  }
  return transport;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    bool insecure, const ServerTlsFiles& tls) {
  if (insecure) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadPem("server-cert", tls.cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem("server-key", tls.key_file);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> client_ca =
      ReadPem("client-ca", tls.client_ca_file);
  if (!client_ca.ok()) return client_ca.status();
  grpc::SslServerCredentialsOptions ssl(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = *std::move(client_ca);
  ssl.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace pdp_bench
