#include "tests/server/test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"

namespace pdp {
namespace servertest {
namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

X509Ptr ParseCert(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr ParseKey(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

CertId IdOfCert(X509* cert) {
  CertId id;
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  if (bn != nullptr) {
    char* hex = BN_bn2hex(bn);
    if (hex != nullptr) id.serial = hex;
    OPENSSL_free(hex);
    BN_free(bn);
  }
  char cn[256] = {0};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                sizeof(cn)) > 0) {
    id.common_name = cn;
  }
  return id;
}

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out;
}

// A protobuf varint / length-delimited string field, by hand.
void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

std::string NewTempDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/pdpXXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<TestPki> TestPki::Create() {
  absl::StatusOr<testcerts::TestCa> ca =
      testcerts::TestCa::Create("pdp test CA");
  if (!ca.ok()) return ca.status();
  std::string dir = NewTempDir();
  if (dir.empty()) return absl::InternalError("cannot make a temporary dir");
  TestPki pki(*std::move(ca), {}, std::move(dir));
  absl::StatusOr<testcerts::KeyAndCert> server = pki.ServerCert("pdp-server");
  if (!server.ok()) return server.status();
  pki.server_ = *std::move(server);
  for (const auto& [path, content] :
       {std::make_pair(pki.ca_file_, pki.ca_.cert_pem()),
        std::make_pair(pki.cert_file_, pki.server_.cert_pem),
        std::make_pair(pki.key_file_, pki.server_.key_pem)}) {
    if (absl::Status s = testcerts::WriteFile(path, content); !s.ok()) return s;
  }
  return pki;
}

absl::StatusOr<testcerts::KeyAndCert> TestPki::Client(
    const std::string& spiffe_id, const std::string& dns_name) const {
  testcerts::IssueOptions options;
  options.common_name = spiffe_id.empty() ? dns_name : "client";
  if (!spiffe_id.empty()) options.uri_sans.push_back(spiffe_id);
  if (!dns_name.empty()) options.dns_sans.push_back(dns_name);
  options.client = true;
  return ca_.Issue(options);
}

absl::StatusOr<testcerts::KeyAndCert> TestPki::ServerCert(
    const std::string& common_name) const {
  testcerts::IssueOptions options;
  options.common_name = common_name;
  options.dns_sans = {"localhost"};
  options.ip_sans = {"127.0.0.1"};
  options.server = true;
  return ca_.Issue(options);
}

server::ServerConfig TestPki::Config() const {
  server::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.tls.cert = cert_file_;
  config.tls.key = key_file_;
  config.tls.client_ca = ca_file_;
  config.policy = "examples/policies/acme";
  config.callers.push_back(
      {kGateway, {server::Permission::kCheck, server::Permission::kFilter}});
  config.decision_log.path = "";
  return config;
}

std::shared_ptr<grpc::Channel> MtlsChannel(
    int port, const std::string& ca_pem, const testcerts::KeyAndCert* client) {
  static std::atomic<int> next_channel{0};
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  if (client != nullptr) {
    options.pem_private_key = client->key_pem;
    options.pem_cert_chain = client->cert_pem;
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("pdp.test.channel", next_channel.fetch_add(1));
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::SslCredentials(options), args);
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat("code ", status.error_code(), ": ",
                      status.error_message().substr(0, 2000));
}

std::unique_ptr<grpc::ClientContext> Deadline(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMicroseconds(timeout));
  return context;
}

v1::IdentityChain ToProto(const Chain& chain) {
  v1::IdentityChain out;
  out.set_user_id(chain.user_id);
  for (const std::string& role : chain.asserted_roles) {
    out.add_asserted_roles(role);
  }
  for (const std::string& amr : chain.amr) out.add_amr(amr);
  out.set_client_id(chain.client_id);
  for (const std::string& scope : chain.scopes) out.add_scopes(scope);
  out.set_agent_id(chain.agent_id);
  out.set_service_id(chain.service_id);
  out.set_autonomous(chain.autonomous);
  return out;
}

v1::CheckRequest ToProto(const Request& request) {
  v1::CheckRequest out;
  *out.mutable_chain() = ToProto(request.chain);
  out.set_tool_id(request.tool_id);
  out.set_action(request.action == Action::kSee ? v1::ACTION_SEE
                                                : v1::ACTION_CALL);
  return out;
}

v1::CheckRequest AllowedCheck() {
  Request request;
  request.chain.user_id = "alice@acme.example";
  request.chain.client_id = "acme-copilot";
  request.chain.scopes = {"hr:salary:read"};
  request.chain.amr = {"pwd", "otp"};
  request.tool_id = "hr.get_salary";
  return ToProto(request);
}

absl::StatusOr<int> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service) {
  // grpc.health.v1.HealthCheckRequest { string service = 1; }
  std::string request_bytes;
  if (!service.empty()) {
    request_bytes.push_back(0x0a);
    AppendVarint(service.size(), &request_bytes);
    request_bytes += service;
  }
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::GenericStub stub(channel);
  std::unique_ptr<grpc::ClientContext> context = Deadline(absl::Seconds(10));
  const std::string method = "/grpc.health.v1.Health/Check";
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  // grpc.health.v1.HealthCheckResponse { ServingStatus status = 1; }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) {
    return absl::InternalError("cannot read the health response");
  }
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (bytes.empty()) return 0;  // UNKNOWN, the default.
  if (bytes.size() < 2 || bytes[0] != 0x08 ||
      (static_cast<unsigned char>(bytes[1]) & 0x80) != 0) {
    return absl::InternalError("unexpected health response encoding");
  }
  return static_cast<int>(bytes[1]);
}

absl::StatusOr<CertId> IdOf(const std::string& cert_pem) {
  X509Ptr cert = ParseCert(cert_pem);
  if (cert == nullptr) {
    return absl::InvalidArgumentError("the certificate does not parse");
  }
  return IdOfCert(cert.get());
}

absl::StatusOr<CertId> ServedCertificate(int port, const std::string& ca_pem,
                                         const testcerts::KeyAndCert& client) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return absl::InternalError(OpenSslErrors());
  X509Ptr client_cert = ParseCert(client.cert_pem);
  PkeyPtr client_key = ParseKey(client.key_pem);
  X509Ptr ca = ParseCert(ca_pem);
  if (client_cert == nullptr || client_key == nullptr || ca == nullptr ||
      SSL_CTX_use_certificate(ctx.get(), client_cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), client_key.get()) != 1 ||
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca.get()) != 1) {
    return absl::InternalError(
        absl::StrCat("client TLS setup: ", OpenSslErrors()));
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof(kAlpn));

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to ", port));
  }
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (ssl == nullptr || SSL_set_fd(ssl.get(), fd) != 1) {
    return absl::InternalError(OpenSslErrors());
  }
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  if (SSL_connect(ssl.get()) != 1) {
    return absl::UnavailableError(
        absl::StrCat("TLS handshake failed: ", OpenSslErrors()));
  }
  X509Ptr peer(SSL_get1_peer_certificate(ssl.get()));
  if (peer == nullptr) {
    return absl::UnavailableError("the server presented no certificate");
  }
  CertId id = IdOfCert(peer.get());
  SSL_shutdown(ssl.get());
  return id;
}

std::string ServerProcess::Output() const {
  absl::StatusOr<std::string> text = ReadFile(output_file);
  return text.ok() ? *text : text.status().ToString();
}

absl::StatusOr<ServerProcess> SpawnServer(const std::vector<std::string>& argv,
                                          const std::string& port_file,
                                          const std::string& output_file) {
  ServerProcess server;
  server.output_file = output_file;
  absl::StatusOr<std::unique_ptr<testproc::ChildProcess>> child =
      testproc::ChildProcess::Spawn(argv, output_file);
  if (!child.ok()) return child.status();
  server.child = *std::move(child);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (true) {
    absl::StatusOr<std::string> text = ReadFile(port_file);
    if (text.ok() && absl::EndsWith(*text, "\n")) {
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &server.port) ||
          server.port <= 0) {
        return absl::InternalError(absl::StrCat("bad port file: ", *text));
      }
      return server;
    }
    if (server.child->Poll()) {
      return absl::InternalError(
          absl::StrCat("the server exited:\n", server.Output()));
    }
    if (absl::Now() > deadline) {
      return absl::InternalError(
          absl::StrCat("no port file after 20 s:\n", server.Output()));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

}  // namespace servertest
}  // namespace pdp
