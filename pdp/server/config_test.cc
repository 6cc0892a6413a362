#include "pdp/server/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pdp::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ConfigTest, ParsesEveryKey) {
  absl::StatusOr<ServerConfig> config = ParseServerConfig("server.yaml", R"(
listen: 0.0.0.0:9443
insecure: false
tls:
  cert: certs/server.pem
  key: certs/server.key
  client_ca: certs/ca.pem
  reload_interval_seconds: 2
policy: examples/policies/acme
callers:
  - identity: spiffe://acme.example/gateway
    permissions: [check, filter]
  - identity: "spiffe://acme.example/mcp/*"
    permissions: [check, assert_roles]
ip_allowlist: [10.0.0.0/8, "::1"]
limits:
  max_message_bytes: 1024
  max_batch_checks: 10
  max_filter_tools: 20
decision_log:
  path: /var/log/pdp/decisions.jsonl
  queue_capacity: 100
tokens:
  settings: /etc/pdp/tokens.yaml
  cache_entries: 500
  reload_interval_seconds: 3
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "0.0.0.0:9443");
  EXPECT_EQ(config->tls.cert, "certs/server.pem");
  EXPECT_EQ(config->tls.key, "certs/server.key");
  EXPECT_EQ(config->tls.client_ca, "certs/ca.pem");
  EXPECT_EQ(config->tls.reload_interval_seconds, 2);
  EXPECT_EQ(config->policy, "examples/policies/acme");
  ASSERT_EQ(config->callers.size(), 2);
  EXPECT_EQ(config->callers[1].identity, "spiffe://acme.example/mcp/*");
  EXPECT_THAT(config->callers[1].permissions,
              ElementsAre(Permission::kCheck, Permission::kAssertRoles));
  EXPECT_THAT(config->ip_allowlist, ElementsAre("10.0.0.0/8", "::1"));
  EXPECT_EQ(config->limits.max_message_bytes, 1024);
  EXPECT_EQ(config->limits.max_batch_checks, 10);
  EXPECT_EQ(config->limits.max_filter_tools, 20);
  EXPECT_EQ(config->decision_log.path, "/var/log/pdp/decisions.jsonl");
  EXPECT_EQ(config->decision_log.queue_capacity, 100);
  EXPECT_EQ(config->tokens.settings, "/etc/pdp/tokens.yaml");
  EXPECT_EQ(config->tokens.cache_entries, 500);
  EXPECT_EQ(config->tokens.reload_interval_seconds, 3);
}

TEST(ConfigTest, EveryErrorNamesFileLineAndKey) {
  absl::StatusOr<ServerConfig> config = ParseServerConfig("server.yaml", R"(listen: 127.0.0.1:1
tls:
  certificate: x.pem
callers:
  - identity: spiffe://a
    permissions: [check, push]
  - permissions: [check]
limits:
  max_batch_checks: -3
insecure: maybe
)");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("server.yaml:3: \"tls.certificate\" is not a config key"));
  EXPECT_THAT(message, HasSubstr("server.yaml:6: \"callers[0].permissions\" has \"push\""));
  EXPECT_THAT(message, HasSubstr("server.yaml:7: \"callers[1]\" needs an \"identity\""));
  EXPECT_THAT(message, HasSubstr("server.yaml:9: \"limits.max_batch_checks\" must be a positive"));
  EXPECT_THAT(message, HasSubstr("server.yaml:10: \"insecure\" must be true or false"));
}

TEST(ConfigTest, MalformedYaml) {
  EXPECT_THAT(ParseServerConfig("s.yaml", "listen: [\n").status().message(),
              HasSubstr("s.yaml:2: malformed YAML"));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadServerConfig("/nonexistent/server.yaml").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ConfigTest, FlagsOverride) {
  ServerConfig config;
  ASSERT_TRUE(ApplyFlag("listen", "127.0.0.1:0", &config).ok());
  ASSERT_TRUE(ApplyFlag("insecure", "", &config).ok());
  ASSERT_TRUE(ApplyFlag("policy", "p", &config).ok());
  ASSERT_TRUE(ApplyFlag("ip-allowlist", "127.0.0.0/8, ::1", &config).ok());
  ASSERT_TRUE(ApplyFlag("token-settings", "tokens.yaml", &config).ok());
  EXPECT_EQ(config.tokens.settings, "tokens.yaml");
  EXPECT_EQ(config.listen, "127.0.0.1:0");
  EXPECT_TRUE(config.insecure);
  EXPECT_EQ(config.policy, "p");
  EXPECT_THAT(config.ip_allowlist, ElementsAre("127.0.0.0/8", "::1"));
  EXPECT_THAT(ApplyFlag("colour", "x", &config).message(),
              HasSubstr("unknown flag --colour"));
}

TEST(ConfigTest, InsecureOnlyOnLoopback) {
  ServerConfig config;
  config.insecure = true;
  for (const char* listen : {"127.0.0.1:0", "localhost:8443", "[::1]:8443", "127.3.4.5:1"}) {
    config.listen = listen;
    EXPECT_TRUE(ValidateServerConfig(config).ok()) << listen;
  }
  for (const char* listen : {"0.0.0.0:8443", "[::]:8443", "10.1.2.3:8443", "example.com:1"}) {
    config.listen = listen;
    EXPECT_THAT(ValidateServerConfig(config).message(),
                HasSubstr("\"insecure\" serves plaintext and is refused"))
        << listen;
  }
}

TEST(ConfigTest, TlsIsRequiredUnlessInsecure) {
  ServerConfig config;
  absl::Status status = ValidateServerConfig(config);
  EXPECT_THAT(status.message(), HasSubstr("\"tls.cert\" is required"));
  EXPECT_THAT(status.message(), HasSubstr("\"tls.key\" is required"));
  EXPECT_THAT(status.message(), HasSubstr("\"tls.client_ca\" is required"));
  config.tls = {"/nonexistent/cert.pem", "/nonexistent/key.pem", "/nonexistent/ca.pem"};
  EXPECT_THAT(ValidateServerConfig(config).message(),
              HasSubstr("\"tls.cert\": cannot read \"/nonexistent/cert.pem\""));
}

TEST(ConfigTest, BadAllowlistIsRefused) {
  ServerConfig config;
  config.insecure = true;
  config.listen = "127.0.0.1:0";
  config.ip_allowlist = {"10.0.0.0/8", "10.0.0.0/33"};
  EXPECT_THAT(ValidateServerConfig(config).message(), HasSubstr("10.0.0.0/33"));
}

TEST(ConfigTest, CacheByteBudgets) {
  ServerConfig defaults;
  EXPECT_EQ(defaults.store.user_cache_bytes, int64_t{64} << 20);
  EXPECT_EQ(defaults.tokens.cache_bytes, int64_t{32} << 20);
  absl::StatusOr<ServerConfig> config = ParseServerConfig("server.yaml", R"(
store:
  path: /var/lib/pdp/store
  user_cache_bytes: 8589934592
tokens:
  cache_bytes: 1048576
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->store.user_cache_bytes, int64_t{8} << 30);
  EXPECT_EQ(config->tokens.cache_bytes, 1048576);
  absl::StatusOr<ServerConfig> bad = ParseServerConfig("server.yaml", R"(
store:
  user_cache_bytes: 0
tokens:
  cache_bytes: lots
)");
  EXPECT_THAT(bad.status().message(), HasSubstr("store.user_cache_bytes"));
  EXPECT_THAT(bad.status().message(), HasSubstr("tokens.cache_bytes"));
}

TEST(ConfigTest, ExplainIsItsOwnPermission) {
  absl::StatusOr<ServerConfig> config = ParseServerConfig("server.yaml", R"(
callers:
  - identity: spiffe://acme.example/operator
    permissions: [explain]
  - identity: spiffe://acme.example/ci
    permissions: [admin]
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->callers[0].permissions, ElementsAre(Permission::kExplain));
  EXPECT_THAT(config->callers[1].permissions, ElementsAre(Permission::kAdmin));
  EXPECT_EQ(PermissionName(Permission::kExplain), "explain");
  absl::StatusOr<ServerConfig> bad = ParseServerConfig("server.yaml", R"(
callers:
  - identity: spiffe://acme.example/ci
    permissions: [explains]
)");
  EXPECT_THAT(bad.status().message(), HasSubstr("read_bundles, explain"));
}

TEST(ConfigTest, BootstrapPeersAndReadBundles) {
  absl::StatusOr<ServerConfig> config = ParseServerConfig("server.yaml", R"(
store:
  path: /var/lib/pdp/store
bootstrap_peers: ["pdp-headless.pdp.svc.cluster.local:8443", "[fd00::5]:8443"]
callers:
  - identity: spiffe://acme.example/ns/pdp/sa/pdp-server
    permissions: [read_bundles]
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->bootstrap_peers,
              ElementsAre("pdp-headless.pdp.svc.cluster.local:8443",
                          "[fd00::5]:8443"));
  ASSERT_EQ(config->callers.size(), 1u);
  EXPECT_THAT(config->callers[0].permissions,
              ElementsAre(Permission::kReadBundles));
  EXPECT_EQ(PermissionName(Permission::kReadBundles), "read_bundles");

  ServerConfig bad;
  bad.insecure = true;
  bad.bootstrap_peers = {"pdp-headless", "peer:0"};
  absl::Status status = ValidateServerConfig(bad);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("\"bootstrap_peers[0]\": \"pdp-headless\" is not "
                        "host:port"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("\"bootstrap_peers[1]\""));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("\"bootstrap_peers\" needs a \"store\""));
}

TEST(ConfigTest, ShutdownPhases) {
  // Defaults: a 5 s lame duck, then a 10 s drain.
  ServerConfig defaults;
  EXPECT_EQ(defaults.shutdown.lame_duck_seconds, 5);
  EXPECT_EQ(defaults.shutdown.grace_seconds, 10);

  absl::StatusOr<ServerConfig> config = ParseServerConfig("server.yaml", R"(
shutdown:
  lame_duck_seconds: 0
  grace_seconds: 25
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->shutdown.lame_duck_seconds, 0);  // 0 disables it.
  EXPECT_EQ(config->shutdown.grace_seconds, 25);

  config = ParseServerConfig("server.yaml", R"(shutdown:
  lame_duck_seconds: -1
  grace_seconds: soon
  linger: 3
)");
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("server.yaml:2: \"shutdown.lame_duck_seconds\" "
                                 "must be a whole number, 0 or more"));
  EXPECT_THAT(message, HasSubstr("server.yaml:3: \"shutdown.grace_seconds\" "
                                 "must be a whole number, 0 or more"));
  EXPECT_THAT(message, HasSubstr("server.yaml:4: \"shutdown.linger\" is not "
                                 "a config key"));

  // The flag overrides the file; bad values are refused.
  ServerConfig flagged;
  ASSERT_TRUE(ApplyFlag("lame-duck-seconds", "2", &flagged).ok());
  EXPECT_EQ(flagged.shutdown.lame_duck_seconds, 2);
  ASSERT_TRUE(ApplyFlag("lame-duck-seconds", "0", &flagged).ok());
  EXPECT_EQ(flagged.shutdown.lame_duck_seconds, 0);
  for (const char* bad : {"-1", "", "2s", "1.5"}) {
    EXPECT_THAT(ApplyFlag("lame-duck-seconds", bad, &flagged).message(),
                HasSubstr("--lame-duck-seconds must be a whole number"))
        << bad;
  }
  EXPECT_EQ(flagged.shutdown.lame_duck_seconds, 0);

  // Validation catches negative values set in code.
  ServerConfig negative;
  negative.insecure = true;
  negative.listen = "127.0.0.1:0";
  ASSERT_TRUE(ValidateServerConfig(negative).ok());
  negative.shutdown.grace_seconds = -1;
  EXPECT_THAT(ValidateServerConfig(negative).message(),
              HasSubstr("\"shutdown.grace_seconds\" must be 0 or more"));
}

TEST(ConfigTest, IdLimits) {
  absl::StatusOr<ServerConfig> defaults = ParseServerConfig("c.yaml", "");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->limits.max_id_bytes, 256);
  EXPECT_EQ(defaults->limits.max_list_entries, 1000);
  absl::StatusOr<ServerConfig> config = ParseServerConfig(
      "c.yaml", "limits: {max_id_bytes: 64, max_list_entries: 10}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->limits.max_id_bytes, 64);
  EXPECT_EQ(config->limits.max_list_entries, 10);
  absl::StatusOr<ServerConfig> zero =
      ParseServerConfig("c.yaml", "limits: {max_id_bytes: 0}\n");
  EXPECT_FALSE(zero.ok());
}

TEST(ConfigTest, ConnectionLimits) {
  absl::StatusOr<ServerConfig> defaults = ParseServerConfig("c.yaml", "");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->connections.max_connections, 4096);
  EXPECT_EQ(defaults->connections.max_concurrent_streams, 100);
  EXPECT_EQ(defaults->connections.handshake_timeout_seconds, 10);
  absl::StatusOr<ServerConfig> config = ParseServerConfig(
      "c.yaml",
      "connections: {max_connections: 10, reserved_descriptors: 8,\n"
      "  max_concurrent_streams: 7, max_header_bytes: 9000,\n"
      "  handshake_timeout_seconds: 2, idle_timeout_seconds: 3,\n"
      "  keepalive_seconds: 4, keepalive_timeout_seconds: 5,\n"
      "  memory_bytes: 33554432}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->connections.max_connections, 10);
  EXPECT_EQ(config->connections.reserved_descriptors, 8);
  EXPECT_EQ(config->connections.max_concurrent_streams, 7);
  EXPECT_EQ(config->connections.max_header_bytes, 9000);
  EXPECT_EQ(config->connections.handshake_timeout_seconds, 2);
  EXPECT_EQ(config->connections.idle_timeout_seconds, 3);
  EXPECT_EQ(config->connections.keepalive_seconds, 4);
  EXPECT_EQ(config->connections.keepalive_timeout_seconds, 5);
  EXPECT_EQ(config->connections.memory_bytes, 33554432);
  ServerConfig small;
  small.insecure = true;
  small.listen = "127.0.0.1:0";
  small.connections.memory_bytes = 1024;
  EXPECT_THAT(ValidateServerConfig(small).message(),
              HasSubstr("connections.memory_bytes"));
}


}  // namespace
}  // namespace pdp::server
