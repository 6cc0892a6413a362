#ifndef TESTS_SERVER_TEST_SERVER_H_
#define TESTS_SERVER_TEST_SERVER_H_

// Helpers for the server's integration tests: certificates in files under
// TEST_TMPDIR, a base configuration, real gRPC clients over mTLS, a hand-made
// health check and a raw TLS client that reads the served certificate.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "pdp/request.h"
#include "pdp/server/config.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace servertest {

// The SPIFFE id of the caller the base config grants check and filter.
inline constexpr char kGateway[] = "spiffe://acme.example/gateway";

// A new, empty directory under TEST_TMPDIR (unique per call).
std::string NewTempDir();

// The whole content of a file. Returns NotFound if it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// A CA made at test time, and the server's certificate issued by it
// (CN "pdp-server", SANs localhost and 127.0.0.1) written with its key and
// the CA certificate into files of a new temporary directory.
// Thread-compatible.
class TestPki {
 public:
  // Returns Internal if OpenSSL or a file write fails.
  static absl::StatusOr<TestPki> Create();

  // A client certificate from this CA with the given SANs (either may be
  // empty). Returns Internal if OpenSSL fails.
  absl::StatusOr<testcerts::KeyAndCert> Client(
      const std::string& spiffe_id, const std::string& dns_name = "") const;

  // A server certificate from this CA for 127.0.0.1 and localhost.
  absl::StatusOr<testcerts::KeyAndCert> ServerCert(
      const std::string& common_name) const;

  // The mTLS configuration of a server on 127.0.0.1:0 with the Acme policy,
  // kGateway granted check and filter, and no decision log.
  server::ServerConfig Config() const;

  const testcerts::TestCa& ca() const { return ca_; }
  const testcerts::KeyAndCert& server() const { return server_; }
  const std::string& dir() const { return dir_; }
  const std::string& ca_file() const { return ca_file_; }
  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }

 private:
  TestPki(testcerts::TestCa ca, testcerts::KeyAndCert server, std::string dir)
      : ca_(std::move(ca)),
        server_(std::move(server)),
        dir_(std::move(dir)),
        ca_file_(dir_ + "/ca.pem"),
        cert_file_(dir_ + "/server.pem"),
        key_file_(dir_ + "/server.key") {}

  testcerts::TestCa ca_;
  testcerts::KeyAndCert server_;
  std::string dir_;
  std::string ca_file_;
  std::string cert_file_;
  std::string key_file_;
};

// A new channel to 127.0.0.1:`port` that trusts `ca_pem` and presents
// `client` (none when null). Never shares a connection with another channel.
std::shared_ptr<grpc::Channel> MtlsChannel(int port, const std::string& ca_pem,
                                           const testcerts::KeyAndCert* client);

// "code N: message" (the first 2000 bytes), for failure messages.
std::string Describe(const grpc::Status& status);

// A context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> Deadline(
    absl::Duration timeout = absl::Seconds(10));

// The API messages for engine requests.
v1::IdentityChain ToProto(const Chain& chain);
v1::CheckRequest ToProto(const Request& request);

// A check the Acme policy allows: alice, an executive, reads a salary with
// mfa through acme-copilot.
v1::CheckRequest AllowedCheck();

// Asks grpc.health.v1.Health/Check about `service` ("" is the server as a
// whole), encoding the messages by hand. Returns the status enum number
// (SERVING = 1, NOT_SERVING = 2), or the call's status as an absl::Status.
absl::StatusOr<int> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service = "");

// What identifies a certificate.
struct CertId {
  std::string serial;  // Hex.
  std::string common_name;
  bool operator==(const CertId& o) const {
    return serial == o.serial && common_name == o.common_name;
  }
};

// The serial and CN of a PEM certificate. Returns InvalidArgument if it
// does not parse.
absl::StatusOr<CertId> IdOf(const std::string& cert_pem);

// Opens a fresh TLS connection to 127.0.0.1:`port` (ALPN h2), presenting
// `client` and verifying the server against `ca_pem`, and returns the
// identity of the certificate the server presented. Returns Unavailable if
// the connection or the handshake fails.
absl::StatusOr<CertId> ServedCertificate(int port, const std::string& ca_pem,
                                         const testcerts::KeyAndCert& client);

// The server binary running as a child process, killed when destroyed.
struct ServerProcess {
  std::unique_ptr<testproc::ChildProcess> child;
  int port = 0;
  std::string output_file;  // Its stdout and stderr.

  // The output so far, or why it cannot be read.
  std::string Output() const;
};

// Runs `argv` (the server binary, or a wrapper that execs it, with
// `--port-file port_file` among its flags), its output appended to
// `output_file`, and waits up to 20 s for it to write its port. Returns
// Internal with the server's output if it exits first, does not listen in
// time or writes a bad port.
absl::StatusOr<ServerProcess> SpawnServer(const std::vector<std::string>& argv,
                                          const std::string& port_file,
                                          const std::string& output_file);

}  // namespace servertest
}  // namespace pdp

#endif  // TESTS_SERVER_TEST_SERVER_H_
