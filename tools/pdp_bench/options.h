#ifndef TOOLS_PDP_BENCH_OPTIONS_H_
#define TOOLS_PDP_BENCH_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pdp_bench {

// What the process does.
enum class Mode {
  kLoad,         // Closed-loop load against --target.
  kServeNull,    // Serve the null Authorizer until SIGINT/SIGTERM.
  kCompareNull,  // Load a null server, then --target; compare.
};

// The requests sent: Check only, FilterTools only, 80% Check / 20%
// FilterTools, or BatchCheck of --batch-size checks.
enum class Mix { kCheck, kFilter, kMixed, kBatch };

// "check", "filter", "mixed", "batch".
const char* MixName(Mix mix);

// Client-side TLS files (load and compare modes). Empty when --insecure.
struct ClientTlsFiles {
  std::string ca_file;      // --ca: roots that verify the server.
  std::string cert_file;    // --cert: the client certificate chain (mTLS).
  std::string key_file;     // --key: its private key.
  std::string server_name;  // --server-name: overrides the name checked
                            // against the server certificate; may be empty.
};

// Server-side TLS files (serve-null and compare modes). Empty when
// --insecure.
struct ServerTlsFiles {
  std::string cert_file;       // --server-cert
  std::string key_file;        // --server-key
  std::string client_ca_file;  // --client-ca: roots that verify clients.
};

// A validated command line. Every field has its flag's default.
struct BenchOptions {
  Mode mode = Mode::kLoad;
  bool help = false;  // --help: print Usage() and nothing else.

  // Load (kLoad, kCompareNull).
  std::string target;         // --target HOST:PORT
  int channels = 2;           // --channels: distinct connections.
  int inflight = 8;           // --inflight: requests in flight, all channels.
  double duration_s = 10;     // --duration: measured seconds.
  double warmup_s = 1;        // --warmup: unmeasured seconds before.
  Mix mix = Mix::kCheck;      // --mix
  int batch_size = 10;        // --batch-size: checks per BatchCheck.
  std::string policy_dir;     // --policy: the requests are drawn from it.
  std::string filter_server;  // --filter-server: pins FilterTools' server.
  uint64_t seed = 1;          // --seed: same seed, same requests.
  bool json = false;          // --json: one JSON object on stdout.

  // Transport.
  bool insecure = false;  // --insecure: plaintext, no TLS flags.
  ClientTlsFiles client_tls;
  ServerTlsFiles server_tls;

  // Null server (kServeNull; kCompareNull uses 127.0.0.1:0).
  std::string null_address;    // From --serve-null PORT or HOST:PORT.
  int null_filter_tools = 20;  // --null-filter-tools: tools per response.
  // --null-in-process: kCompareNull serves the null Authorizer from this
  // process instead of a child process.
  bool null_in_process = false;
};

// Parses the arguments after the program name. "--flag value" and
// "--flag=value" are accepted. Returns InvalidArgument with a sentence naming
// the offending flag for an unknown flag, a missing or malformed value, a
// value out of range, a flag given twice, flags that do not go together
// (--insecure with TLS files; --serve-null with --target or --compare-null;
// --null-in-process without --compare-null)
// or a mode's missing flags (--target and --policy for load; TLS files or
// --insecure). With --help anywhere, returns options with `help` set and
// checks nothing else.
absl::StatusOr<BenchOptions> ParseOptions(const std::vector<std::string>& args);

// The --help text.
std::string Usage();

}  // namespace pdp_bench

#endif  // TOOLS_PDP_BENCH_OPTIONS_H_
