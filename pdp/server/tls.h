#ifndef PDP_SERVER_TLS_H_
#define PDP_SERVER_TLS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "pdp/server/config.h"

namespace pdp::server {

// The server's transport security. Unless `insecure`: TLS that requires a
// client certificate signed by tls.client_ca and verifies it (chain and
// validity period; a leaf, not a CA certificate, whose keyUsage and
// extendedKeyUsage, when present, allow digitalSignature and clientAuth), with the certificate, key and CA files re-read every
// tls.reload_interval_seconds so they rotate without a restart.
// The files are checked now, so that a bad one stops the start: returns
// InvalidArgument naming the key ("tls.key") and the file, never its content.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerConfig& config);

}  // namespace pdp::server

#endif  // PDP_SERVER_TLS_H_
