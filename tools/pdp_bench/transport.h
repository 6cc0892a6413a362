#ifndef TOOLS_PDP_BENCH_TRANSPORT_H_
#define TOOLS_PDP_BENCH_TRANSPORT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "tools/pdp_bench/options.h"

namespace pdp_bench {

// The client side of a connection: credentials and the channel arguments
// that go with them.
struct ClientTransport {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Carries GRPC_SSL_TARGET_NAME_OVERRIDE_ARG when --server-name was given.
  grpc::ChannelArguments arguments;
};

// Plaintext when `insecure`; otherwise TLS verifying the server against
// tls.ca_file, presenting tls.cert_file/tls.key_file when given (mTLS).
// Reads the files once. Returns NotFound naming the flag and the path when a
// file cannot be read. Thread-safe.
absl::StatusOr<ClientTransport> MakeClientTransport(bool insecure,
                                                    const ClientTlsFiles& tls);

// Plaintext when `insecure`; otherwise TLS with tls.cert_file/tls.key_file,
// requiring and verifying a client certificate against tls.client_ca_file.
// Returns NotFound naming the flag and the path when a file cannot be read.
// Thread-safe.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    bool insecure, const ServerTlsFiles& tls);

}  // namespace pdp_bench

#endif  // TOOLS_PDP_BENCH_TRANSPORT_H_
