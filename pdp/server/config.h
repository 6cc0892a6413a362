#ifndef PDP_SERVER_CONFIG_H_
#define PDP_SERVER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pdp::server {

// What a caller may do. Each RPC needs one; asserting user roles needs
// kAssertRoles on top of kCheck or kFilter. kReadBundles allows only
// PolicyAdmin.GetBundle: what replicas grant each other to bootstrap.
// kExplain allows only PolicyAdmin.Explain, which returns full decisions:
// kAdmin does not include it (CI pushes policy but cannot read decisions).
enum class Permission {
  kCheck,
  kFilter,
  kAdmin,
  kDirectory,
  kAssertRoles,
  kReadBundles,
  kExplain,
};

// "check", "filter", "admin", "directory", "assert_roles", "read_bundles",
// "explain".
absl::string_view PermissionName(Permission permission);

// The permissions of the callers whose identity matches `identity`, a SPIFFE
// id or DNS name, or a glob over them ('*' matches any run of characters).
struct CallerGrant {
  std::string identity;
  std::vector<Permission> permissions;
};

// The server's configuration: one YAML file (docs/operations.md), which
// flags may override. Relative paths are relative to the working directory.
struct ServerConfig {
  // host:port to listen on; port 0 picks a free port.
  std::string listen = "127.0.0.1:8443";
  // Plaintext, no caller identities. Only with a loopback listen address.
  bool insecure = false;

  struct Tls {
    std::string cert;       // The server's certificate chain (PEM).
    std::string key;        // Its private key (PEM).
    std::string client_ca;  // CA bundle that signs callers' certificates.
    // How often the three files are re-read for rotation.
    int reload_interval_seconds = 10;
  } tls;

  // A policy directory compiled and activated at start when the store has
  // no active bundle (a bootstrap); empty for none. With neither, the server
  // reports NOT_SERVING and answers UNAVAILABLE.
  std::string policy;
  // Serve `policy` even when the store has an active bundle (development).
  // Without it, a store whose active bundle cannot be served (it no longer
  // verifies or compiles) fails closed: NOT_SERVING, decisions UNAVAILABLE;
  // `policy` never replaces it.
  bool policy_overrides_store = false;

  struct Store {
    // The RocksDB directory of bundles and users; empty runs without one
    // (no PolicyAdmin pushes, no Directory).
    std::string path;
    // Directory users (and tombstones) kept in memory in front of RocksDB.
    int user_cache_entries = 100000;
    // Most bytes those cached entries take (docs/operations.md gives the
    // measured cost of an entry). Ids the directory does not hold are
    // never cached.
    int64_t user_cache_bytes = int64_t{64} << 20;
  } store;

  // Public keys trusted to sign bundles.
  struct TrustedKey {
    // The key id bundles name; empty: the key's own id, "ed25519:" and the
    // first 16 hex digits of the SHA-256 of the raw public key.
    std::string id;
    std::string public_key;  // A PEM file.
  };
  std::vector<TrustedKey> trusted_keys;

  // Peer replicas, "host:port", that a server whose store has no active
  // bundle asks for theirs at start (PolicyAdmin.GetBundle over mTLS with
  // this server's own certificate, which needs client-auth usage and the
  // `read_bundles` permission at the peers; the peers' certificates must
  // chain to tls.client_ca and name the host). Every address a host
  // resolves to is asked, this server's own skipped. The bundle goes through
  // the push path (signature against trusted_keys, compile, store,
  // activate); retried with backoff in the background until one is active.
  // Needs a store. Empty: wait for a push.
  std::vector<std::string> bootstrap_peers;

  // Verifying the tokens a chain may carry instead of asserted ids.
  struct Tokens {
    // The token settings file: trusted issuers and their JWK sets, clock
    // skew, maximum lifetimes (docs/operations.md). Re-read when it or a
    // JWK set file changes. Empty: no issuer is trusted, every token is
    // refused (ISSUER_UNTRUSTED).
    std::string settings;
    // Verified tokens kept, keyed by hash.
    int cache_entries = 20000;
    // Most bytes those cached tokens take: each costs its own size plus its
    // claims and a fixed overhead (docs/operations.md).
    int64_t cache_bytes = int64_t{32} << 20;
    // How often the settings and JWK set files are checked for changes.
    int reload_interval_seconds = 10;
  } tokens;

  // First match wins. With `insecure`, every caller is "anonymous"; when no
  // grant matches "anonymous" it may check and filter.
  std::vector<CallerGrant> callers;

  // CIDRs of peers allowed to call; empty allows every peer.
  std::vector<std::string> ip_allowlist;

  struct Limits {
    int max_message_bytes = 4 << 20;  // Larger requests: RESOURCE_EXHAUSTED.
    int max_batch_checks = 1000;      // Checks in one BatchCheck.
    int max_filter_tools = 10000;     // tool_ids in one FilterTools.
    int max_directory_users = 10000;  // Users in one UpsertUsers/DeleteUsers.
    // Bytes of one id a caller sends: user, client, agent, service, tool and
    // server ids, asserted roles, scopes, amr values, directory user ids and
    // roles. Longer: INVALID_ARGUMENT naming the field and its size.
    int max_id_bytes = 256;
    // Entries of one list of ids in a chain (asserted_roles, amr, scopes),
    // of a CheckClientRequest's scopes, and of a directory user's roles and
    // attributes. More: INVALID_ARGUMENT naming the field.
    int max_list_entries = 1000;
  } limits;

  // Bounds on connections and on what one connection may hold
  // (docs/security.md, Connections).
  struct Connections {
    // Connections open at once, about; beyond it new ones are closed as
    // soon as they are accepted. Never more than the descriptor limit
    // (RLIMIT_NOFILE, raised to its hard limit at start) allows after
    // reserved_descriptors.
    int max_connections = 4096;
    // Descriptors kept free for the server's own files (store, decision
    // log, certificate reloads) however many connections arrive.
    int reserved_descriptors = 64;
    // Calls in progress on one connection (HTTP/2
    // SETTINGS_MAX_CONCURRENT_STREAMS); more wait at the client.
    int max_concurrent_streams = 100;
    // Bytes of one call's header list (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE);
    // larger: the call is refused.
    int max_header_bytes = 16384;
    // A new connection must complete its TLS handshake within this long.
    int handshake_timeout_seconds = 10;
    // A connection with no call for this long is closed (with a GOAWAY).
    int idle_timeout_seconds = 300;
    // A connection silent this long is pinged, and closed when the ping is
    // not answered within keepalive_timeout_seconds.
    int keepalive_seconds = 60;
    int keepalive_timeout_seconds = 20;
    // Memory gRPC may use for connections and calls (its ResourceQuota).
    int memory_bytes = 512 << 20;
  } connections;

  struct DecisionLog {
    std::string path = "-";  // "-" is stdout; empty disables the log.
    int queue_capacity = 65536;  // Decisions beyond this are dropped, counted.
  } decision_log;

  // What SIGTERM and SIGINT do (docs/operations.md, Signals).
  struct Shutdown {
    // The lame-duck phase first: health reports NOT_SERVING for the server
    // and every service while calls are still answered, so that load
    // balancers and endpoint lists stop sending new calls before the server
    // stops accepting them. 0 skips it; a second signal cuts it short.
    int lame_duck_seconds = 5;
    // Then the drain: no new calls, those in flight finish for up to this
    // long and the rest are cancelled. 0 cancels them at once.
    int grace_seconds = 10;
  } shutdown;
};

// Parses the YAML text of a config file; `file` names it in errors.
// Returns InvalidArgument naming the file, line and key of every problem.
absl::StatusOr<ServerConfig> ParseServerConfig(absl::string_view file,
                                               absl::string_view yaml);

// Reads and parses a config file. Returns NotFound if it cannot be read.
absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path);

// Overrides one setting from a command-line flag: "listen", "insecure",
// "policy", "store", "tls-cert", "tls-key", "tls-client-ca",
// "token-settings", "decision-log",
// "ip-allowlist" (comma-separated), "lame-duck-seconds". Returns InvalidArgument for an unknown
// flag or a bad value.
absl::Status ApplyFlag(absl::string_view name, absl::string_view value,
                       ServerConfig* config);

// Checks the whole configuration before the server starts: TLS files given
// (unless insecure), insecure only on loopback, limits positive, CIDRs valid,
// shutdown durations non-negative.
// Returns InvalidArgument with a sentence naming the key.
absl::Status ValidateServerConfig(const ServerConfig& config);

}  // namespace pdp::server

#endif  // PDP_SERVER_CONFIG_H_
