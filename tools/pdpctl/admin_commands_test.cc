// pdpctl's bundle and administration commands. The online commands run
// against fake PolicyAdmin and Directory services served by a real gRPC
// server on 127.0.0.1 (insecure, or mTLS with certificates made at test
// time): the unit under test is pdpctl, so the fakes only record what they
// receive and answer what the test tells them to.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "pdp/compiler.h"
#include "pdp/signing.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "pdp/v1/directory.grpc.pb.h"
#include "tests/testing/test_certs.h"
#include "tools/pdpctl/commands.h"
#include "tools/pdpctl/pdpctl_testing.h"
#include "tools/pdpctl/replicas.h"

namespace pdpctl {
namespace {

namespace v1 = ::pdp::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kPolicy[] = "tools/pdpctl/testdata/policy";
constexpr char kBroken[] = "tools/pdpctl/testdata/broken";

using Result = PdpctlResult;

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// A fresh directory under TEST_TMPDIR for one test.
std::string TempDir() {
  static int counter = 0;
  const char* root = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(root != nullptr ? root : "/tmp", "/t",
                                 ::testing::UnitTest::GetInstance()
                                     ->current_test_info()
                                     ->name(),
                                 ++counter);
  mkdir(dir.c_str(), 0755);
  return dir;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void WriteText(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// ---------------------------------------------------------------- fakes

class FakeAdmin final : public v1::PolicyAdmin::Service {
 public:
  grpc::Status PushBundle(grpc::ServerContext*,
                          const v1::PushBundleRequest* request,
                          v1::PushBundleResponse* response) override {
    absl::MutexLock lock(&mu_);
    pushes_.push_back(*request);
    if (!answer_.ok()) return answer_;
    v1::Bundle bundle;
    bundle.ParseFromString(request->bundle().bundle());
    *response->mutable_active()->mutable_metadata() = bundle.metadata();
    response->mutable_active()->set_key_id(request->bundle().key_id());
    return grpc::Status::OK;
  }
  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                         v1::GetStatusResponse* response) override {
    absl::MutexLock lock(&mu_);
    if (!answer_.ok()) return answer_;
    *response = status_;
    return grpc::Status::OK;
  }
  grpc::Status ListBundles(grpc::ServerContext*, const v1::ListBundlesRequest*,
                           v1::ListBundlesResponse* response) override {
    absl::MutexLock lock(&mu_);
    if (!answer_.ok()) return answer_;
    *response = list_;
    return grpc::Status::OK;
  }
  grpc::Status Activate(grpc::ServerContext*,
                        const v1::ActivateRequest* request,
                        v1::ActivateResponse* response) override {
    absl::MutexLock lock(&mu_);
    activations_.push_back(request->version());
    if (!answer_.ok()) return answer_;
    response->mutable_active()->mutable_metadata()->set_version(
        request->version());
    return grpc::Status::OK;
  }

  void Answer(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(status);
  }
  void SetStatus(v1::GetStatusResponse status) {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
  }
  void SetList(v1::ListBundlesResponse list) {
    absl::MutexLock lock(&mu_);
    list_ = std::move(list);
  }
  std::vector<v1::PushBundleRequest> pushes() {
    absl::MutexLock lock(&mu_);
    return pushes_;
  }
  std::vector<uint64_t> activations() {
    absl::MutexLock lock(&mu_);
    return activations_;
  }

 private:
  absl::Mutex mu_;
  grpc::Status answer_;
  v1::GetStatusResponse status_;
  v1::ListBundlesResponse list_;
  std::vector<v1::PushBundleRequest> pushes_;
  std::vector<uint64_t> activations_;
};

class FakeDirectory final : public v1::Directory::Service {
 public:
  grpc::Status UpsertUsers(grpc::ServerContext*,
                           const v1::UpsertUsersRequest* request,
                           v1::UpsertUsersResponse* response) override {
    absl::MutexLock lock(&mu_);
    upserts_.push_back(*request);
    if (fail_upsert_after_ >= 0 &&
        static_cast<int>(upserts_.size()) > fail_upsert_after_) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "disk full");
    }
    for (const v1::User& user : request->users()) {
      users_[user.id()] = user;
      tombstones_.erase(user.id());
    }
    response->set_upserted(request->users_size());
    return grpc::Status::OK;
  }
  grpc::Status DeleteUsers(grpc::ServerContext*,
                           const v1::DeleteUsersRequest* request,
                           v1::DeleteUsersResponse* response) override {
    absl::MutexLock lock(&mu_);
    deletes_.push_back(*request);
    int deleted = 0;
    for (const std::string& id : request->user_ids()) {
      deleted += static_cast<int>(users_.erase(id));
      tombstones_.insert(id);
    }
    response->set_deleted(deleted);
    return grpc::Status::OK;
  }
  grpc::Status GetUser(grpc::ServerContext*,
                       const v1::GetUserRequest* request,
                       v1::User* response) override {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(request->user_id());
    if (it == users_.end()) {
      // The server's messages (pdp/server/directory_service.cc).
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          tombstones_.count(request->user_id())
              ? "user \"" + request->user_id() +
                    "\" was deleted from the directory: unknown to every "
                    "check, even if the policy lists them, until upserted "
                    "again"
              : "user \"" + request->user_id() + "\" is not in the directory");
    }
    *response = it->second;
    return grpc::Status::OK;
  }

  void FailUpsertAfter(int calls) {
    absl::MutexLock lock(&mu_);
    fail_upsert_after_ = calls;
  }
  void Put(const v1::User& user) {
    absl::MutexLock lock(&mu_);
    users_[user.id()] = user;
  }
  std::vector<v1::UpsertUsersRequest> upserts() {
    absl::MutexLock lock(&mu_);
    return upserts_;
  }
  std::vector<v1::DeleteUsersRequest> deletes() {
    absl::MutexLock lock(&mu_);
    return deletes_;
  }

 private:
  absl::Mutex mu_;
  int fail_upsert_after_ = -1;
  std::map<std::string, v1::User> users_;
  std::set<std::string> tombstones_;  // Ids deleted, as the server keeps them.
  std::vector<v1::UpsertUsersRequest> upserts_;
  std::vector<v1::DeleteUsersRequest> deletes_;
};

// A port free on 127.0.0.1 just now (the kernel's choice for port 0).
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

// Both fakes behind one gRPC server on 127.0.0.1, on a free port; with
// `also_ipv6_loopback`, on [::1] at the same port too, so that every address
// "localhost" resolves to reaches it.
class FakeServer {
 public:
  explicit FakeServer(std::shared_ptr<grpc::ServerCredentials> credentials =
                          grpc::InsecureServerCredentials(),
                      bool also_ipv6_loopback = false) {
    grpc::EnableDefaultHealthCheckService(true);
    if (also_ipv6_loopback) {
      const int port = FreeLoopbackPort();
      grpc::ServerBuilder builder;
      builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), credentials,
                               &port_);
      builder.AddListeningPort(absl::StrCat("[::1]:", port), credentials,
                               &ipv6_port_);
      builder.RegisterService(&admin_);
      builder.RegisterService(&directory_);
      server_ = builder.BuildAndStart();
    } else {
      grpc::ServerBuilder builder;
      builder.AddListeningPort("127.0.0.1:0", credentials, &port_);
      builder.RegisterService(&admin_);
      builder.RegisterService(&directory_);
      server_ = builder.BuildAndStart();
    }
    EXPECT_NE(server_, nullptr);
    EXPECT_GT(port_, 0);
  }
  ~FakeServer() { server_->Shutdown(); }

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  int port() const { return port_; }
  void SetServing(bool serving) {
    server_->GetHealthCheckService()->SetServingStatus(serving);
  }
  FakeAdmin& admin() { return admin_; }
  FakeDirectory& directory() { return directory_; }

 private:
  FakeAdmin admin_;
  FakeDirectory directory_;
  int port_ = 0;
  int ipv6_port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// ---------------------------------------------------------------- keygen

TEST(KeygenTest, WritesKeyPairWithModesAndPrintsKeyId) {
  const std::string prefix = TempDir() + "/ci";
  Result r = RunPdpctl({"keygen", "--out", prefix});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  const std::string public_pem = Slurp(prefix + ".pub");
  const std::string private_pem = Slurp(prefix + ".key");
  absl::StatusOr<std::string> id = pdp::KeyIdOf(public_pem);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(r.out, *id + "\n");
  EXPECT_THAT(*id, MatchesRegex("ed25519:[0-9a-f]{16}"));
  EXPECT_EQ(*pdp::KeyIdOfPrivate(private_pem), *id);

  struct stat st;
  ASSERT_EQ(stat((prefix + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((prefix + ".pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  // Never overwrites a key.
  Result again = RunPdpctl({"keygen", "--out", prefix});
  EXPECT_EQ(again.code, kExitFailed);
  EXPECT_THAT(again.err, HasSubstr("exists; not overwriting it"));
  EXPECT_EQ(Slurp(prefix + ".key"), private_pem);
  EXPECT_EQ(Slurp(prefix + ".pub"), public_pem);

  EXPECT_EQ(RunPdpctl({"keygen"}).code, kExitUsage);
}

// ---------------------------------------------------------------- bundle

// Makes a key pair in `dir`; returns the prefix.
std::string Keygen(const std::string& dir) {
  const std::string prefix = dir + "/signer";
  Result r = RunPdpctl({"keygen", "--out", prefix});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  return prefix;
}

TEST(BundleTest, WritesSignedBundleThatVerifiesAndCompiles) {
  const std::string dir = TempDir();
  const std::string key = Keygen(dir);
  const std::string file = dir + "/policy.bundle";
  const std::string key_id = *pdp::KeyIdOf(Slurp(key + ".pub"));
  Result r = RunPdpctl({"bundle", kPolicy, "--key", key + ".key", "--version",
                        "42", "--source-commit", "0123abc", "-o", file});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  EXPECT_EQ(r.out, absl::StrCat("bundle v42: 8 tools, 2 roles, 2 agents, "
                                "2 clients, 1 service, 2 users, 1 deny rule, "
                                "signed by ",
                                key_id, ", written to ", file, "\n"));

  v1::SignedBundle signed_bundle;
  ASSERT_TRUE(signed_bundle.ParseFromString(Slurp(file)));
  EXPECT_EQ(signed_bundle.key_id(), key_id);
  absl::StatusOr<pdp::TrustedKeys> trusted =
      pdp::TrustedKeys::Create({{key_id, Slurp(key + ".pub")}});
  ASSERT_TRUE(trusted.ok()) << trusted.status();
  absl::StatusOr<v1::Bundle> bundle = trusted->Open(signed_bundle);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->metadata().version(), 42u);
  EXPECT_EQ(bundle->metadata().source_commit(), "0123abc");
  EXPECT_GT(bundle->metadata().created_unix_seconds(), 1700000000);

  // The bundle is the compiled directory, plus metadata.
  auto from_dir = pdp::Compiler::CompileDirectory(kPolicy);
  ASSERT_TRUE(from_dir.ok());
  v1::Bundle expected = (*from_dir)->bundle();
  v1::Bundle got = *bundle;
  expected.clear_metadata();
  got.clear_metadata();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, expected));
  auto snapshot = pdp::Compiler::Compile(*bundle);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->version(), "42");
  EXPECT_EQ((*snapshot)->tools().size(), 8u);

  // --out works as well as -o, and replaces the file.
  Result again = RunPdpctl({"bundle", kPolicy, "--key", key + ".key",
                            "--version", "43", "--out", file});
  ASSERT_EQ(again.code, kExitOk) << again.err;
  ASSERT_TRUE(signed_bundle.ParseFromString(Slurp(file)));
  EXPECT_EQ(trusted->Open(signed_bundle)->metadata().version(), 43u);
}

TEST(BundleTest, BrokenPolicyExitsOneWithFileLineErrorsAndWritesNothing) {
  const std::string dir = TempDir();
  const std::string key = Keygen(dir);
  const std::string file = dir + "/broken.bundle";
  Result r = RunPdpctl(
      {"bundle", kBroken, "--key", key + ".key", "--version", "1", "-o", file});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, HasSubstr(std::string(kBroken) + "/roles.yaml:5: "));
  EXPECT_THAT(r.err, HasSubstr(std::string(kBroken) + "/tools.yaml:"));
  // The same errors validate prints.
  Result validate = RunPdpctl({"validate", kBroken});
  for (const std::string& line : Lines(validate.err)) {
    EXPECT_THAT(r.err, HasSubstr(line));
  }
  EXPECT_FALSE(Exists(file));
}

TEST(BundleTest, PrintsTheCompilersWarningsAndStillWritesTheBundle) {
  const std::string dir = TempDir();
  const std::string key = Keygen(dir);
  const std::string policy = dir + "/policy";
  ASSERT_EQ(std::system(("mkdir -p " + policy).c_str()), 0);
  std::ofstream(policy + "/p.yaml")
      << "tools:\n  - id: crm.search\nroles:\n  - id: idle\n";
  Result r = RunPdpctl({"bundle", policy, "--key", key + ".key", "--version",
                        "7", "-o", dir + "/policy.bundle"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, policy + "/p.yaml:4: warning: role \"idle\" grants no tool "
                            "and no data class, and no deny rule names it\n");
  EXPECT_THAT(r.out, HasSubstr("bundle v7: 1 tool, 1 role"));
}

TEST(BundleTest, RefusesBadArguments) {
  const std::string dir = TempDir();
  const std::string key = Keygen(dir);
  const std::string file = dir + "/x.bundle";
  for (const char* version : {"0", "-1", "v2", "1.5"}) {
    Result r = RunPdpctl({"bundle", kPolicy, "--key", key + ".key", "--version",
                          version, "-o", file});
    EXPECT_EQ(r.code, kExitUsage) << version;
    EXPECT_THAT(r.err, HasSubstr("--version must be a whole number >= 1"));
  }
  EXPECT_EQ(RunPdpctl({"bundle", kPolicy, "--version", "1", "-o", file}).code,
            kExitUsage);
  EXPECT_EQ(
      RunPdpctl({"bundle", "--key", key + ".key", "--version", "1", "-o", file})
          .code,
      kExitUsage);
  // The public key is not a signing key, and nothing leaks from it.
  Result r = RunPdpctl(
      {"bundle", kPolicy, "--key", key + ".pub", "--version", "1", "-o", file});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--key"));
  EXPECT_THAT(r.err, Not(HasSubstr("BEGIN")));
  // An EC P-256 key is not Ed25519.
  absl::StatusOr<pdp::testcerts::TestCa> ca = pdp::testcerts::TestCa::Create("ca");
  ASSERT_TRUE(ca.ok());
  WriteText(dir + "/ec.key", ca->key_pem());
  r = RunPdpctl({"bundle", kPolicy, "--key", dir + "/ec.key", "--version", "1",
                 "-o", file});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("not an Ed25519 private key"));
  EXPECT_FALSE(Exists(file));
}

// Writes a signed bundle of the fixture policy; returns its path.
std::string MakeBundle(const std::string& dir, int version) {
  const std::string key = Keygen(dir);
  const std::string file = absl::StrCat(dir, "/v", version, ".bundle");
  Result r = RunPdpctl({"bundle", kPolicy, "--key", key + ".key", "--version",
                        absl::StrCat(version), "-o", file});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  return file;
}

// ------------------------------------------------------------------ push

TEST(PushTest, PushesToEveryReplicaAndReportsEach) {
  const std::string file = MakeBundle(TempDir(), 7);
  FakeServer a, b;
  Result r = RunPdpctl({"push", file, "--server", a.address(), "--server",
                        b.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(Lines(r.out), ElementsAre(a.address() + ": active v7",
                                        b.address() + ": active v7"));
  for (FakeServer* server : {&a, &b}) {
    ASSERT_EQ(server->admin().pushes().size(), 1u);
    EXPECT_EQ(server->admin().pushes()[0].bundle().SerializeAsString(),
              Slurp(file));
  }
}

TEST(PushTest, OneFailingReplicaFailsThePush) {
  const std::string file = MakeBundle(TempDir(), 3);
  FakeServer a, b;
  b.admin().Answer(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                "version 3 is not above the active 5"));
  Result r = RunPdpctl({"push", file, "--server", a.address(), "--server",
                        b.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(Lines(r.out),
              ElementsAre(a.address() + ": active v3",
                          b.address() +
                              ": FAILED FAILED_PRECONDITION: version 3 is "
                              "not above the active 5"));
  EXPECT_THAT(r.err, HasSubstr("1 of 2 replicas failed"));
  EXPECT_EQ(a.admin().pushes().size(), 1u);
  EXPECT_EQ(b.admin().pushes().size(), 1u);
}

TEST(PushTest, UnreachableServerIsAFailedReplica) {
  const std::string file = MakeBundle(TempDir(), 1);
  std::string dead;
  {
    FakeServer gone;
    dead = gone.address();
  }
  Result r = RunPdpctl(
      {"push", file, "--server", dead, "--insecure", "--timeout", "5"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, StartsWith(dead + ": FAILED UNAVAILABLE: "));
}

// "localhost:PORT" stands for every address localhost resolves to (here
// 127.0.0.1, and ::1 where the hosts file lists it): one push and one line
// per address.
TEST(PushTest, HostNameExpandsToEveryAddressItResolvesTo) {
  const std::string file = MakeBundle(TempDir(), 7);
  FakeServer server(grpc::InsecureServerCredentials(),
                    /*also_ipv6_loopback=*/true);
  absl::StatusOr<std::vector<std::string>> addresses = ResolveHost("localhost");
  ASSERT_TRUE(addresses.ok()) << addresses.status();
  const std::string name = absl::StrCat("localhost:", server.port());
  std::vector<std::string> expected;
  for (const std::string& address : *addresses) {
    expected.push_back(absl::StrCat(
        name, " (", address == "::1" ? "[::1]" : address, ":", server.port(),
        "): active v7"));
  }
  Result r = RunPdpctl({"push", file, "--server", name, "--insecure"});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_EQ(Lines(r.out), expected);
  EXPECT_EQ(server.admin().pushes().size(), addresses->size());

  // The same address twice (the name and the literal) is pushed to once.
  r = RunPdpctl(
      {"push", file, "--server", name, "--server",
       absl::StrCat((*addresses)[0] == "::1" ? "[::1]" : (*addresses)[0], ":",
                    server.port()),
       "--insecure"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(server.admin().pushes().size(), 2 * addresses->size());

  // --no-resolve: the name as given, one push.
  r = RunPdpctl({"push", file, "--server", name, "--insecure", "--no-resolve"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, name + ": active v7\n");
  EXPECT_EQ(server.admin().pushes().size(), 2 * addresses->size() + 1);
}

TEST(PushTest, NameThatDoesNotResolveIsAFailedReplica) {
  const std::string file = MakeBundle(TempDir(), 1);
  FakeServer server;
  Result r = RunPdpctl({"push", file, "--server", "no-such-host.invalid:8443",
                        "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(Lines(r.out),
              ElementsAre(StartsWith("no-such-host.invalid:8443: FAILED "
                                     "UNAVAILABLE: cannot resolve"),
                          server.address() + ": active v1"));
  EXPECT_THAT(r.err, HasSubstr("1 of 2 replicas failed"));
}

TEST(PushTest, RefusesBadFilesAndFlags) {
  const std::string dir = TempDir();
  FakeServer server;
  WriteText(dir + "/junk", "this is not a bundle");
  Result r = RunPdpctl(
      {"push", dir + "/junk", "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("is not a signed bundle"));
  EXPECT_EQ(RunPdpctl({"push", dir + "/missing", "--server", server.address(),
                       "--insecure"})
                .code,
            kExitUsage);
  EXPECT_TRUE(server.admin().pushes().empty());

  const std::string file = MakeBundle(dir, 1);
  r = RunPdpctl({"push", file, "--insecure"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("missing --server ADDR"));
  r = RunPdpctl({"push", file, "--server", server.address()});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--insecure"));
  r = RunPdpctl(
      {"push", file, "--server", server.address(), "--insecure", "--ca", file});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(server.admin().pushes().empty());
}

// ------------------------------------------------- status, bundles, rollback

v1::BundleInfo Info(uint64_t version, const std::string& commit) {
  v1::BundleInfo info;
  info.mutable_metadata()->set_version(version);
  info.mutable_metadata()->set_source_commit(commit);
  info.mutable_metadata()->set_created_unix_seconds(1735689600);  // 2025-01-01
  info.set_key_id("ed25519:00112233aabbccdd");
  info.set_stored_unix_micros(int64_t{1735693200} * 1000000);
  info.set_size_bytes(1234 * version);
  return info;
}

TEST(StatusTest, PrintsActiveBundleAndCounts) {
  FakeServer server;
  v1::GetStatusResponse status;
  *status.mutable_active() = Info(7, "abc123");
  status.set_activated_unix_micros(int64_t{1735696800} * 1000000);
  status.set_serving(true);
  status.set_policy_version("7");
  status.set_tools(8);
  status.set_roles(2);
  status.set_bundle_users(2);
  status.set_directory_users(1000);
  server.admin().SetStatus(status);

  Result r = RunPdpctl({"status", "--server", server.address(), "--insecure"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(
      Lines(r.out),
      ElementsAre(server.address() + ": serving v7 (policy version 7)",
                  "  activated 2025-01-01T02:00:00Z, signed by "
                  "ed25519:00112233aabbccdd, source commit abc123, created "
                  "2025-01-01T00:00:00Z",
                  "  8 tools, 2 roles, 2 bundle users, 1000 directory users"));

  Result json = RunPdpctl(
      {"status", "--server", server.address(), "--insecure", "--json"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  v1::GetStatusResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &parsed)
                  .ok())
      << json.out;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed,
                                                                 status));
  EXPECT_THAT(json.out, HasSubstr("\"policy_version\""));

  server.admin().SetStatus(v1::GetStatusResponse());
  r = RunPdpctl({"status", "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("NOT SERVING"));

  server.admin().Answer(
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                   "caller spiffe://acme.example/gw may not admin"));
  r = RunPdpctl({"status", "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "pdpctl status: " + server.address() +
                       ": PERMISSION_DENIED: caller "
                       "spiffe://acme.example/gw may not admin\n");

  // One server only.
  EXPECT_EQ(RunPdpctl({"status", "--server", server.address(), "--server",
                       server.address(), "--insecure"})
                .code,
            kExitUsage);
}

TEST(BundlesTest, ListsVersionsAndMarksTheActiveOne) {
  FakeServer server;
  v1::ListBundlesResponse list;
  *list.add_bundles() = Info(1, "aaa");
  *list.add_bundles() = Info(2, "");
  list.set_active_version(1);
  server.admin().SetList(list);
  Result r = RunPdpctl({"bundles", "--server", server.address(), "--insecure"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[0], MatchesRegex(" +VERSION +CREATED +STORED +KEY ID +"
                                     "SOURCE COMMIT +BYTES"));
  EXPECT_THAT(lines[1], MatchesRegex("\\* +1 +2025-01-01T00:00:00Z +"
                                     "2025-01-01T01:00:00Z +ed25519:\\S+ +"
                                     "aaa +1234"));
  EXPECT_THAT(lines[2], MatchesRegex(" +2 +.* +- +2468"));

  server.admin().SetList(v1::ListBundlesResponse());
  r = RunPdpctl({"bundles", "--server", server.address(), "--insecure"});
  EXPECT_THAT(r.out, HasSubstr("no bundles stored"));
}

TEST(HealthTest, ExitsZeroOnlyWhileServing) {
  FakeServer server;
  server.SetServing(true);
  Result r = RunPdpctl({"health", "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, server.address() + ": SERVING\n");
  server.SetServing(false);
  r = RunPdpctl({"health", "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.out, server.address() + ": NOT_SERVING\n");
  r = RunPdpctl({"health", "--server", server.address(), "--insecure",
                 "--service", "no.such.Service"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
  EXPECT_EQ(RunPdpctl({"health", "--insecure"}).code, kExitUsage);
}

TEST(RollbackTest, ActivatesTheVersion) {
  FakeServer server;
  Result r =
      RunPdpctl({"rollback", "4", "--server", server.address(), "--insecure"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, server.address() + ": active v4\n");
  EXPECT_THAT(server.admin().activations(), ElementsAre(4u));

  server.admin().Answer(
      grpc::Status(grpc::StatusCode::NOT_FOUND, "no stored bundle v9"));
  r = RunPdpctl({"rollback", "9", "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND: no stored bundle v9"));

  EXPECT_EQ(
      RunPdpctl({"rollback", "x", "--server", server.address(), "--insecure"})
          .code,
      kExitUsage);
  EXPECT_EQ(
      RunPdpctl({"rollback", "--server", server.address(), "--insecure"}).code,
      kExitUsage);
  EXPECT_THAT(server.admin().activations(), ElementsAre(4u, 9u));
}

// ----------------------------------------------------------------- users

std::vector<std::string> Ids(const std::vector<v1::UpsertUsersRequest>& calls,
                             std::vector<int>* sizes) {
  std::vector<std::string> ids;
  for (const auto& call : calls) {
    sizes->push_back(call.users_size());
    for (const v1::User& user : call.users()) ids.push_back(user.id());
  }
  return ids;
}

TEST(UsersTest, ImportsJsonLinesInBatches) {
  const std::string dir = TempDir();
  const std::string file = dir + "/users.jsonl";
  WriteText(file,
            "{\"id\": \"u1\", \"roles\": [\"sales\", \"manager\"], "
            "\"attributes\": {\"dept\": \"emea\"}}\n"
            "\n"
            "{\"id\": \"u2\"}\n"
            "{\"id\": \"u3\", \"roles\": []}\n"
            "{\"id\": \"u4\", \"roles\": [\"sales\"]}\r\n"
            "{\"id\": \"u5\", \"attributes\": {}}\n");
  FakeServer server;
  Result r = RunPdpctl({"users", "import", file, "--server", server.address(),
                        "--insecure", "--batch", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "imported 5 users to " + server.address() + "\n");
  std::vector<int> sizes;
  std::vector<std::string> ids = Ids(server.directory().upserts(), &sizes);
  EXPECT_THAT(ids, ElementsAre("u1", "u2", "u3", "u4", "u5"));
  EXPECT_THAT(sizes, ElementsAre(2, 2, 1));
  const v1::User u1 = server.directory().upserts()[0].users(0);
  EXPECT_THAT(u1.roles(), ElementsAre("sales", "manager"));
  EXPECT_EQ(u1.attributes().at("dept"), "emea");

  Result get = RunPdpctl(
      {"users", "get", "u1", "--server", server.address(), "--insecure"});
  ASSERT_EQ(get.code, kExitOk) << get.err;
  EXPECT_EQ(get.out, "u1\n  roles: sales, manager\n  attributes: dept=emea\n");
  Result json = RunPdpctl({"users", "get", "u1", "--server", server.address(),
                           "--insecure", "--json"});
  EXPECT_EQ(json.out,
            "{\"attributes\":{\"dept\":\"emea\"},\"id\":\"u1\","
            "\"roles\":[\"sales\",\"manager\"]}\n");
}

TEST(UsersTest, ImportsCsvWithOrWithoutHeader) {
  const std::string dir = TempDir();
  FakeServer server;
  WriteText(dir + "/with_header.csv",
            "id,roles\nalice,sales;manager\nbob,sales\ncarol,\n");
  Result r = RunPdpctl({"users", "import", dir + "/with_header.csv", "--server",
                        server.address(), "--insecure"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "imported 3 users to " + server.address() + "\n");
  ASSERT_EQ(server.directory().upserts().size(), 1u);
  const std::vector<v1::UpsertUsersRequest> calls = server.directory().upserts();
  const auto& users = calls[0].users();
  ASSERT_EQ(users.size(), 3);
  EXPECT_EQ(users[0].id(), "alice");
  EXPECT_THAT(users[0].roles(), ElementsAre("sales", "manager"));
  EXPECT_THAT(users[2].roles(), IsEmpty());

  // No header, no extension: detected from the content.
  WriteText(dir + "/plain", "dave, ops ; sales\n");
  r = RunPdpctl({"users", "import", dir + "/plain", "--server",
                 server.address(), "--insecure"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(server.directory().upserts().size(), 2u);
  EXPECT_EQ(server.directory().upserts()[1].users(0).id(), "dave");
  EXPECT_THAT(server.directory().upserts()[1].users(0).roles(),
              ElementsAre("ops", "sales"));
}

TEST(UsersTest, MalformedFileReportsEveryLineAndSendsNothing) {
  const std::string dir = TempDir();
  FakeServer server;
  const std::string jsonl = dir + "/bad.jsonl";
  WriteText(jsonl,
            "{\"id\": \"ok\"}\n"
            "{\"id\": \"x\", \"roles\": \"sales\"}\n"
            "not json\n"
            "{\"roles\": [\"a\"]}\n"
            "{\"id\": \"ok\"}\n"
            "{\"id\": \"y\", \"attributes\": {\"n\": 3}}\n"
            "{\"id\": \"z\", \"role\": [\"a\"]}\n");
  Result r = RunPdpctl(
      {"users", "import", jsonl, "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(
      Lines(r.err),
      ElementsAre(jsonl + ":2: \"roles\" must be a list of strings",
                  jsonl + ":3: not valid JSON",
                  jsonl + ":4: missing \"id\"",
                  jsonl + ":5: user \"ok\" is already on line 1",
                  jsonl + ":6: attribute \"n\" must be a string",
                  jsonl + ":7: unknown key \"role\" (expected id, roles, "
                          "attributes)",
                  "pdpctl users import: \"" + jsonl +
                      "\" has 6 errors; no user was imported"));

  const std::string csv = dir + "/bad.csv";
  WriteText(csv, "id,roles\nalice,sales\n,sales\nbob,sales,extra\n");
  r = RunPdpctl(
      {"users", "import", csv, "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.err, HasSubstr(csv + ":3: the user id is empty"));
  EXPECT_THAT(r.err, HasSubstr(csv + ":4: expected id,roles"));
  EXPECT_TRUE(server.directory().upserts().empty());
}

TEST(UsersTest, ServerFailureMidImportSaysHowFarItGot) {
  const std::string dir = TempDir();
  FakeServer server;
  server.directory().FailUpsertAfter(1);
  WriteText(dir + "/u.csv", "a\nb\nc\n");
  Result r = RunPdpctl({"users", "import", dir + "/u.csv", "--server",
                        server.address(), "--insecure", "--batch", "2"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.err, HasSubstr("RESOURCE_EXHAUSTED: disk full"));
  EXPECT_THAT(r.err, HasSubstr("2 of 3 users were imported"));
}

TEST(UsersTest, GetAndDelete) {
  FakeServer server;
  v1::User alice;
  alice.set_id("alice");
  server.directory().Put(alice);
  Result r = RunPdpctl({"users", "delete", "alice", "nobody", "--server",
                        server.address(), "--insecure"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "deleted 1 of 2 users (the others were not in the directory)\n");
  ASSERT_EQ(server.directory().deletes().size(), 1u);
  EXPECT_THAT(server.directory().deletes()[0].user_ids(),
              ElementsAre("alice", "nobody"));

  r = RunPdpctl(
      {"users", "get", "alice", "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitFailed);
  // The server's message: deleted (a tombstone), not merely absent.
  EXPECT_THAT(r.err, HasSubstr("user \"alice\" was deleted from the directory"));
  r = RunPdpctl(
      {"users", "get", "zoe", "--server", server.address(), "--insecure"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.err, HasSubstr("user \"zoe\" is not in the directory"));

  EXPECT_EQ(
      RunPdpctl({"users", "frob", "--server", server.address(), "--insecure"})
          .code,
      kExitUsage);
  EXPECT_EQ(
      RunPdpctl({"users", "delete", "--server", server.address(), "--insecure"})
          .code,
      kExitUsage);
  EXPECT_EQ(RunPdpctl({"users", "get", "a", "--batch", "3", "--server",
                       server.address(), "--insecure"})
                .code,
            kExitUsage);
}

// ------------------------------------------------------------------ mTLS

TEST(MtlsTest, PushOverMutualTls) {
  absl::StatusOr<pdp::testcerts::TestCa> ca = pdp::testcerts::TestCa::Create("test ca");
  ASSERT_TRUE(ca.ok()) << ca.status();
  pdp::testcerts::IssueOptions server_options;
  server_options.common_name = "pdp";
  server_options.dns_sans = {"pdp.test"};  // Not 127.0.0.1: --server-name.
  server_options.server = true;
  absl::StatusOr<pdp::testcerts::KeyAndCert> server_cert = ca->Issue(server_options);
  ASSERT_TRUE(server_cert.ok());
  pdp::testcerts::IssueOptions client_options;
  client_options.uri_sans = {"spiffe://acme.example/ci"};
  client_options.client = true;
  absl::StatusOr<pdp::testcerts::KeyAndCert> client_cert = ca->Issue(client_options);
  ASSERT_TRUE(client_cert.ok());

  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = ca->cert_pem();
  options.pem_key_cert_pairs.push_back(
      {server_cert->key_pem, server_cert->cert_pem});
  FakeServer server(grpc::SslServerCredentials(options));

  const std::string dir = TempDir();
  WriteText(dir + "/ca.pem", ca->cert_pem());
  WriteText(dir + "/ci.pem", client_cert->cert_pem);
  WriteText(dir + "/ci.key", client_cert->key_pem);
  const std::string file = MakeBundle(dir, 2);
  const std::vector<std::string> tls = {
      "--ca", dir + "/ca.pem", "--cert", dir + "/ci.pem",
      "--key", dir + "/ci.key", "--timeout", "10"};

  std::vector<std::string> argv = {"push", file, "--server", server.address(),
                                   "--server-name", "pdp.test"};
  argv.insert(argv.end(), tls.begin(), tls.end());
  Result r = RunPdpctl(argv);
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_EQ(r.out, server.address() + ": active v2\n");
  EXPECT_EQ(server.admin().pushes().size(), 1u);

  // Without --server-name the certificate does not name 127.0.0.1.
  argv = {"push", file, "--server", server.address()};
  argv.insert(argv.end(), tls.begin(), tls.end());
  r = RunPdpctl(argv);
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, HasSubstr("FAILED UNAVAILABLE"));

  // Plaintext to a TLS server fails.
  r = RunPdpctl({"push", file, "--server", server.address(), "--insecure",
                 "--timeout", "10"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(server.admin().pushes().size(), 1u);

  // A name's addresses are dialled, and the certificate is verified against
  // the name: this one names only DNS:localhost, no IP address.
  pdp::testcerts::IssueOptions localhost_options;
  localhost_options.dns_sans = {"localhost"};
  localhost_options.server = true;
  absl::StatusOr<pdp::testcerts::KeyAndCert> localhost_cert =
      ca->Issue(localhost_options);
  ASSERT_TRUE(localhost_cert.ok());
  grpc::SslServerCredentialsOptions localhost_tls(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  localhost_tls.pem_root_certs = ca->cert_pem();
  localhost_tls.pem_key_cert_pairs.push_back(
      {localhost_cert->key_pem, localhost_cert->cert_pem});
  FakeServer named(grpc::SslServerCredentials(localhost_tls),
                   /*also_ipv6_loopback=*/true);
  const std::string name = absl::StrCat("localhost:", named.port());
  argv = {"push", file, "--server", name};
  argv.insert(argv.end(), tls.begin(), tls.end());
  r = RunPdpctl(argv);
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_THAT(r.out, StartsWith(absl::StrCat(name, " (")));
  EXPECT_THAT(r.out, Not(HasSubstr("FAILED")));
  EXPECT_FALSE(named.admin().pushes().empty());
  // Dialling the address alone, the certificate does not match.
  argv = {"push", file, "--server", named.address()};
  argv.insert(argv.end(), tls.begin(), tls.end());
  r = RunPdpctl(argv);
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, HasSubstr("FAILED UNAVAILABLE"));

  // A missing TLS file is a usage error, naming the flag.
  r = RunPdpctl({"status", "--server", server.address(), "--ca", dir + "/none",
                 "--cert", dir + "/ci.pem", "--key", dir + "/ci.key"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--ca"));
}

}  // namespace
}  // namespace pdpctl
