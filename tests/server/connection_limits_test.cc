// Connections cannot take the server down (config `connections`): it keeps
// accepting after its descriptors ran out (the real binary under a limit of
// 64 descriptors), advertises a per-connection stream limit and header list
// limit, closes connections that never complete a handshake or stay idle,
// and reports liveness independent of the policy. All traffic to 127.0.0.1,
// every wait bounded.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pdp/server/server.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "tests/server/test_server.h"
#include "tests/testing/child_process.h"
#include "tests/testing/test_certs.h"

namespace pdp {
namespace servertest {
namespace {

using testcerts::KeyAndCert;

constexpr char kServerBinary[] = "pdp/server/server";
constexpr char kPrlimit[] = "/usr/bin/prlimit";

// A TCP connection to 127.0.0.1:`port` with 6 s send and receive timeouts;
// -1 on failure.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{6, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One Authorizer.Check over a new mTLS channel.
grpc::Status CheckOnce(int port, const TestPki& pki, const KeyAndCert& client,
                       absl::Duration timeout = absl::Seconds(5)) {
  auto stub = v1::Authorizer::NewStub(
      MtlsChannel(port, pki.ca().cert_pem(), &client));
  v1::CheckResponse response;
  return stub->Check(Deadline(timeout).get(), AllowedCheck(), &response);
}

// --------------------------------------------------------------- binary

// The server binary under `prlimit --nofile=N` with `config_yaml` (plus the
// callers), the Acme policy and `pki`'s certificates; waits up to 20 s for it
// to listen.
absl::StatusOr<ServerProcess> StartLimitedServer(
    const TestPki& pki, int nofile, const std::string& config_yaml) {
  const std::string dir = NewTempDir();
  const std::string config_file = absl::StrCat(dir, "/server.yaml");
  const std::string port_file = absl::StrCat(dir, "/port");
  absl::Status written = testcerts::WriteFile(
      config_file, absl::StrCat(config_yaml,
                                "callers:\n"
                                "  - identity: ",
                                kGateway,
                                "\n"
                                "    permissions: [check, filter]\n"));
  if (!written.ok()) return written;
  std::vector<std::string> argv = {
      kPrlimit,          absl::StrCat("--nofile=", nofile),
      "--",              kServerBinary,
      "--config",        config_file,
      "--listen",        "127.0.0.1:0",
      "--policy",        "examples/policies/acme",
      "--tls-cert",      pki.cert_file(),
      "--tls-key",       pki.key_file(),
      "--tls-client-ca", pki.ca_file(),
      "--decision-log",  "",
      "--port-file",     port_file};
  return SpawnServer(argv, port_file, absl::StrCat(dir, "/server.out"));
}

// gRPC 1.51's listener stops for good at the first EMFILE (CVE-2023-4785);
// the server must still serve after more connections than it has
// descriptors came and went.
TEST(ConnectionLimitsTest, KeepsAcceptingAfterDescriptorsRunOut) {
  if (access(kPrlimit, X_OK) != 0) GTEST_SKIP() << "no " << kPrlimit;
  absl::StatusOr<TestPki> pki = TestPki::Create();
  ASSERT_TRUE(pki.ok()) << pki.status();
  absl::StatusOr<KeyAndCert> gateway = pki->Client(kGateway);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  absl::StatusOr<ServerProcess> server = StartLimitedServer(
      *pki, 64, "connections:\n  reserved_descriptors: 8\n");
  ASSERT_TRUE(server.ok()) << server.status();
  grpc::Status status = CheckOnce(server->port, *pki, *gateway);
  ASSERT_TRUE(status.ok()) << Describe(status) << "\n" << server->Output();

  // Three rounds of 200 bare connections held, then closed.
  for (int round = 0; round < 3; ++round) {
    std::vector<int> fds;
    for (int i = 0; i < 200; ++i) {
      int fd = Connect(server->port);
      if (fd >= 0) fds.push_back(fd);
    }
    EXPECT_GT(fds.size(), 64u);
    absl::SleepFor(absl::Milliseconds(500));  // The server accepts.
    for (int fd : fds) close(fd);
  }

  // A real mTLS call succeeds again within 15 s.
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  do {
    status = CheckOnce(server->port, *pki, *gateway, absl::Seconds(2));
  } while (!status.ok() && absl::Now() < deadline);
  EXPECT_TRUE(status.ok()) << Describe(status) << "\n" << server->Output();
  EXPECT_FALSE(absl::StrContains(server->Output(), "Failed accept4"))
      << server->Output();
  EXPECT_TRUE(server->child->running()) << server->Output();
}

// ------------------------------------------------------------ in process

// A TLS connection speaking just enough HTTP/2 to read the server's frames.
class H2Connection {
 public:
  ~H2Connection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }

  // Connects, completes TLS with `client` (ALPN h2) and sends the client
  // preface and an empty SETTINGS frame. Returns false on failure.
  bool Open(int port, const TestPki& pki, const KeyAndCert& client) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    BIO* cert_bio = BIO_new_mem_buf(client.cert_pem.data(),
                                    static_cast<int>(client.cert_pem.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    BIO_free(cert_bio);
    BIO* key_bio = BIO_new_mem_buf(client.key_pem.data(),
                                   static_cast<int>(client.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    BIO_free(key_bio);
    const bool loaded = cert != nullptr && key != nullptr &&
                        SSL_CTX_use_certificate(ctx_, cert) == 1 &&
                        SSL_CTX_use_PrivateKey(ctx_, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!loaded) return false;
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    static const unsigned char kAlpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof(kAlpn));
    fd_ = Connect(port);
    if (fd_ < 0) return false;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) return false;
    std::string hello = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    hello += std::string("\0\0\0\x04\0\0\0\0\0", 9);  // SETTINGS, empty.
    return Write(hello);
  }

  struct Frame {
    int type = -1;
    int flags = 0;
    std::string payload;
  };

  // The next frame; type -1 when the connection closed or timed out.
  Frame Read() {
    Frame frame;
    std::string header;
    if (!ReadExactly(9, &header)) return frame;
    const size_t length = (static_cast<uint8_t>(header[0]) << 16) |
                          (static_cast<uint8_t>(header[1]) << 8) |
                          static_cast<uint8_t>(header[2]);
    if (!ReadExactly(length, &frame.payload)) return frame;
    frame.type = static_cast<uint8_t>(header[3]);
    frame.flags = static_cast<uint8_t>(header[4]);
    return frame;
  }

  bool AckSettings() { return Write(std::string("\0\0\0\x04\x01\0\0\0\0", 9)); }

 private:
  bool Write(const std::string& bytes) {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
           static_cast<int>(bytes.size());
  }
  bool ReadExactly(size_t n, std::string* out) {
    out->resize(n);
    size_t done = 0;
    while (done < n) {
      int got = SSL_read(ssl_, out->data() + done, static_cast<int>(n - done));
      if (got <= 0) return false;
      done += static_cast<size_t>(got);
    }
    return true;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
};

class InProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPki> pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<TestPki>(*std::move(pki));
    absl::StatusOr<KeyAndCert> gateway = pki_->Client(kGateway);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    config_ = pki_->Config();
  }

  void Start() {
    absl::StatusOr<std::unique_ptr<server::PdpServer>> server =
        server::PdpServer::Start(config_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<TestPki> pki_;
  KeyAndCert gateway_;
  server::ServerConfig config_;
  std::unique_ptr<server::PdpServer> server_;
};

TEST_F(InProcessTest, AdvertisesStreamAndHeaderListLimits) {
  config_.connections.max_concurrent_streams = 7;
  config_.connections.max_header_bytes = 9000;
  Start();
  H2Connection h2;
  ASSERT_TRUE(h2.Open(server_->port(), *pki_, gateway_));
  std::map<int, uint32_t> settings;
  for (int i = 0; i < 10; ++i) {
    H2Connection::Frame frame = h2.Read();
    ASSERT_NE(frame.type, -1) << "no SETTINGS from the server";
    if (frame.type != 4 || (frame.flags & 1) != 0) continue;
    for (size_t at = 0; at + 6 <= frame.payload.size(); at += 6) {
      const auto* p =
          reinterpret_cast<const uint8_t*>(frame.payload.data() + at);
      settings[(p[0] << 8) | p[1]] =
          (uint32_t{p[2]} << 24) | (p[3] << 16) | (p[4] << 8) | p[5];
    }
    break;
  }
  EXPECT_EQ(settings[3], 7u) << "SETTINGS_MAX_CONCURRENT_STREAMS";
  EXPECT_EQ(settings[6], 9000u) << "SETTINGS_MAX_HEADER_LIST_SIZE";
}

TEST_F(InProcessTest, ConnectionsWithoutAHandshakeAreClosed) {
  config_.connections.handshake_timeout_seconds = 1;
  Start();
  int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  const absl::Time start = absl::Now();
  char byte;
  const ssize_t got = recv(fd, &byte, 1, 0);  // Up to 6 s.
  const int err = errno;
  close(fd);
  EXPECT_TRUE(got == 0 || (got < 0 && err == ECONNRESET))
      << "still open after " << absl::Now() - start;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(InProcessTest, IdleConnectionsAreClosedWithGoaway) {
  config_.connections.idle_timeout_seconds = 1;
  Start();
  H2Connection h2;
  ASSERT_TRUE(h2.Open(server_->port(), *pki_, gateway_));
  const absl::Time start = absl::Now();
  bool goaway = false;
  for (int i = 0; i < 20 && !goaway; ++i) {
    H2Connection::Frame frame = h2.Read();
    if (frame.type == -1) break;
    if (frame.type == 4 && (frame.flags & 1) == 0) h2.AckSettings();
    goaway = frame.type == 7;
  }
  EXPECT_TRUE(goaway) << "no GOAWAY within " << absl::Now() - start;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(InProcessTest, LivenessIsServingWithoutAPolicy) {
  config_.policy = "";
  Start();
  auto channel = MtlsChannel(server_->port(), pki_->ca().cert_pem(), &gateway_);
  absl::StatusOr<int> health = HealthCheck(channel, "");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, 2) << "NOT_SERVING without a policy";
  health = HealthCheck(channel, server::kLivenessService);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, 1) << "alive: SERVING";
  server_->EnterLameDuck();
  health = HealthCheck(channel, server::kLivenessService);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, 2);
}

}  // namespace
}  // namespace servertest
}  // namespace pdp
