#include "tools/pdp_bench/options.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/flags/flags.h"

namespace pdp_bench {
namespace {

// Every flag; all take a value except the booleans.
std::vector<common::FlagSpec> FlagSpecs() {
  using Kind = common::FlagSpec::Kind;
  std::vector<common::FlagSpec> specs;
  for (const char* name :
       {"target", "channels", "inflight", "duration", "warmup", "mix",
        "batch-size", "policy", "filter-server", "seed", "ca", "cert", "key",
        "server-name", "server-cert", "server-key", "client-ca", "serve-null",
        "null-filter-tools"}) {
    specs.push_back({name, Kind::kValue});
  }
  for (const char* name :
       {"help", "json", "insecure", "compare-null", "null-in-process"}) {
    specs.push_back({name, Kind::kBool});
  }
  return specs;
}

std::string FlagMessage(const common::FlagProblem& problem) {
  using Kind = common::FlagProblem::Kind;
  const std::string& name = problem.name;
  switch (problem.kind) {
    case Kind::kUnknownFlag:
      return absl::StrCat("unknown flag --", name, " (see --help)");
    case Kind::kUnknownShortFlag:
    case Kind::kUnexpectedArgument:
      return absl::StrCat("unexpected argument '", name,
                          "'; every option is a --flag");
    case Kind::kNeedsValue:
      return absl::StrCat("--", name, ": needs a value");
    case Kind::kNeedsNonEmptyValue:
      return absl::StrCat("--", name, ": needs a non-empty value");
    case Kind::kTakesNoValue:
      return absl::StrCat("--", name, ": takes no value");
    case Kind::kRepeated:
      return absl::StrCat("--", name, ": given more than once");
  }
  return "bad command line";
}

using FlagValues = std::map<std::string, std::string, std::less<>>;

absl::Status FlagError(absl::string_view flag, absl::string_view sentence) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", sentence));
}

absl::Status ParseInt(const FlagValues& values, absl::string_view flag, int min,
                      int max, int* out) {
  auto it = values.find(flag);
  if (it == values.end()) return absl::OkStatus();
  int value = 0;
  if (!absl::SimpleAtoi(it->second, &value) || value < min || value > max) {
    return FlagError(flag,
                     absl::StrCat("expected an integer from ", min, " to ", max,
                                  ", got '", it->second, "'"));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ParseSeconds(const FlagValues& values, absl::string_view flag,
                          bool allow_zero, double max, double* out) {
  auto it = values.find(flag);
  if (it == values.end()) return absl::OkStatus();
  double value = 0;
  if (!absl::SimpleAtod(it->second, &value) || !std::isfinite(value) ||
      value < 0 || (value == 0 && !allow_zero) || value > max) {
    return FlagError(
        flag, absl::StrCat("expected a number of seconds ",
                           allow_zero ? "from 0" : "above 0", " to ", max,
                           ", got '", it->second, "'"));
  }
  *out = value;
  return absl::OkStatus();
}

bool IsLoopbackHost(absl::string_view host) {
  return host == "localhost" || absl::StartsWith(host, "127.") ||
         host == "[::1]";
}

// "PORT" or "HOST:PORT" ("[V6]:PORT"). A bare port listens on loopback when
// plaintext, on every interface with mTLS.
absl::StatusOr<std::string> ParseNullAddress(absl::string_view value,
                                             bool insecure) {
  absl::string_view host;
  absl::string_view port = value;
  const size_t colon = value.rfind(':');
  if (colon != absl::string_view::npos) {
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.empty()) {
      return FlagError("serve-null", absl::StrCat("expected PORT or HOST:PORT, "
                                                  "got '",
                                                  value, "'"));
    }
  }
  int port_number = 0;
  if (!absl::SimpleAtoi(port, &port_number) || port_number < 0 ||
      port_number > 65535) {
    return FlagError("serve-null",
                     absl::StrCat("expected a port from 0 to 65535 (0 picks a "
                                  "free one), got '",
                                  value, "'"));
  }
  if (host.empty()) host = insecure ? "127.0.0.1" : "0.0.0.0";
  if (insecure && !IsLoopbackHost(host)) {
    return FlagError("serve-null",
                     absl::StrCat("plaintext (--insecure) serves only on a "
                                  "loopback address, not '",
                                  host, "'"));
  }
  return absl::StrCat(host, ":", port_number);
}

}  // namespace

const char* MixName(Mix mix) {
  switch (mix) {
    case Mix::kCheck:
      return "check";
    case Mix::kFilter:
      return "filter";
    case Mix::kMixed:
      return "mixed";
    case Mix::kBatch:
      return "batch";
  }
  return "check";
}

absl::StatusOr<BenchOptions> ParseOptions(
    const std::vector<std::string>& args) {
  BenchOptions options;
  FlagValues values;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      options.help = true;
      return options;
    }
  }
  absl::StatusOr<common::Args> parsed = common::ParseArgs(
      args, FlagSpecs(), common::StrictDialect(), FlagMessage);
  if (!parsed.ok()) return parsed.status();
  for (const auto& [name, value] : parsed->in_order()) {
    values.emplace(name, value);
  }

  auto get = [&values](absl::string_view name) -> std::string {
    auto it = values.find(name);
    return it == values.end() ? std::string() : it->second;
  };
  auto has = [&values](absl::string_view name) {
    return values.count(name) != 0;
  };

  const bool serve_null = has("serve-null");
  const bool compare_null = has("compare-null");
  if (serve_null && compare_null) {
    return FlagError("serve-null", "cannot be combined with --compare-null");
  }
  options.mode = serve_null     ? Mode::kServeNull
                 : compare_null ? Mode::kCompareNull
                                : Mode::kLoad;
  options.insecure = has("insecure");
  options.json = has("json");

  if (serve_null) {
    for (const char* flag :
         {"target", "policy", "channels", "inflight", "duration", "warmup",
          "mix", "batch-size", "filter-server", "seed"}) {
      if (has(flag)) {
        return FlagError(flag, "does not apply to --serve-null");
      }
    }
    absl::StatusOr<std::string> address =
        ParseNullAddress(get("serve-null"), options.insecure);
    if (!address.ok()) return address.status();
    options.null_address = *std::move(address);
  } else {
    if (!has("target")) {
      return FlagError("target",
                       "HOST:PORT is required (or --serve-null PORT "
                       "to serve the null Authorizer)");
    }
    if (!has("policy")) {
      return FlagError("policy",
                       "DIR is required: the requests are drawn "
                       "from a policy directory");
    }
    options.target = get("target");
    options.policy_dir = get("policy");
    options.filter_server = get("filter-server");
  }

  // Transport security.
  const bool serves = options.mode != Mode::kLoad;
  const bool loads = options.mode != Mode::kServeNull;
  const char* const kClientTlsFlags[] = {"ca", "cert", "key", "server-name"};
  const char* const kServerTlsFlags[] = {"server-cert", "server-key",
                                         "client-ca"};
  if (options.insecure) {
    for (const char* flag : kClientTlsFlags) {
      if (has(flag))
        return FlagError(flag, "cannot be combined with --insecure");
    }
    for (const char* flag : kServerTlsFlags) {
      if (has(flag))
        return FlagError(flag, "cannot be combined with --insecure");
    }
  }
  if (!serves) {
    for (const char* flag : kServerTlsFlags) {
      if (has(flag)) {
        return FlagError(flag,
                         "applies only to --serve-null and --compare-null");
      }
    }
  }
  if (!loads) {
    for (const char* flag : kClientTlsFlags) {
      if (has(flag)) {
        return FlagError(flag,
                         "is a client flag; --serve-null takes "
                         "--server-cert, --server-key and --client-ca");
      }
    }
  }
  if (!options.insecure) {
    if (loads) {
      if (!has("ca")) {
        return FlagError("ca",
                         "is required (with --cert and --key for mTLS), or "
                         "give --insecure for plaintext");
      }
      // The in-process null server requires a client certificate.
      if (has("cert") != has("key") ||
          (options.mode == Mode::kCompareNull && !has("cert"))) {
        return FlagError(has("cert") ? "key" : "cert",
                         options.mode == Mode::kCompareNull
                             ? "is required: --compare-null uses mTLS "
                               "(--cert and --key), or give --insecure"
                             : "--cert and --key go together");
      }
    }
    if (serves) {
      for (const char* flag : kServerTlsFlags) {
        if (!has(flag)) {
          return FlagError(flag,
                           "is required to serve mTLS (--server-cert, "
                           "--server-key, --client-ca), or give --insecure "
                           "for plaintext");
        }
      }
    }
  }
  options.client_tls = {get("ca"), get("cert"), get("key"), get("server-name")};
  options.server_tls = {get("server-cert"), get("server-key"),
                        get("client-ca")};

  if (options.mode == Mode::kLoad && has("null-filter-tools")) {
    return FlagError("null-filter-tools",
                     "applies only to --serve-null and --compare-null");
  }
  if (options.mode != Mode::kCompareNull && has("null-in-process")) {
    return FlagError("null-in-process", "applies only to --compare-null");
  }
  options.null_in_process = has("null-in-process");

  if (absl::Status s = ParseInt(values, "channels", 1, 256, &options.channels);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ParseInt(values, "inflight", 1, 100000, &options.inflight);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ParseInt(values, "batch-size", 1, 10000, &options.batch_size);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ParseInt(values, "null-filter-tools", 0, 100000,
                                &options.null_filter_tools);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ParseSeconds(values, "duration", /*allow_zero=*/false,
                                    86400, &options.duration_s);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ParseSeconds(values, "warmup", /*allow_zero=*/true, 3600,
                                    &options.warmup_s);
      !s.ok()) {
    return s;
  }
  if (has("seed") && !absl::SimpleAtoi(get("seed"), &options.seed)) {
    return FlagError("seed", absl::StrCat("expected a non-negative integer, "
                                          "got '",
                                          get("seed"), "'"));
  }
  if (has("mix")) {
    const std::string mix = get("mix");
    if (mix == "check") {
      options.mix = Mix::kCheck;
    } else if (mix == "filter") {
      options.mix = Mix::kFilter;
    } else if (mix == "mixed") {
      options.mix = Mix::kMixed;
    } else if (mix == "batch") {
      options.mix = Mix::kBatch;
    } else {
      return FlagError("mix", absl::StrCat("expected check, filter, mixed or "
                                           "batch, got '",
                                           mix, "'"));
    }
  }
  return options;
}

std::string Usage() {
  return R"(pdp_bench: a closed-loop load generator for any pdp.v1.Authorizer endpoint,
and a null Authorizer that measures the ceiling of gRPC itself.

usage:
  pdp_bench --target HOST:PORT --policy DIR [load flags] (TLS flags | --insecure)
  pdp_bench --compare-null --target HOST:PORT --policy DIR [load flags]
            (TLS flags and server TLS flags | --insecure)
  pdp_bench --serve-null PORT|HOST:PORT (server TLS flags | --insecure)

Load: each of --inflight slots sends its next request as soon as the previous
one completes (closed loop), spread over --channels distinct connections. Only
requests completing after the warm-up and before its end are counted.
Throughput counts successful calls; latencies (steady clock, per call) are of
successful calls; failed calls are counted by status code. The run ends at
the end of --duration; calls still in flight then are not counted.

Requests are drawn (once, before the run) from the policy with the engine:
delegated chains of the policy's users x clients, the token granted the
client's full scope ceiling, half of them through a random agent, some
autonomous, with assorted amr values; some service chains; tools from all
tools, mostly `call`, some `see`; FilterTools by server. A policy with no
users gets synthetic users asserting one policy role each (honoured only for
callers granted assert_roles).

--compare-null starts the null Authorizer in a child process (this binary
with --serve-null) on a 127.0.0.1 port with the same transport security, runs
the same load against it, stops it, then runs the load against --target, and
prints both and the target's throughput as a percentage of the null ceiling.
The null server competes for the same cores as the load generator, exactly
as a server on the same machine does: run the real server on the same
machine, with nothing else busy, for a fair ratio. --null-in-process serves
the null Authorizer from this process instead; client and server then share
one gRPC runtime (threads, pollers), which measurably lowers the ceiling on
a 2-core machine, so the child process is the default.
With mTLS the null server presents --server-cert, checked against
--server-name or else the host of --target, so the certificate the real
server uses (with its key and --client-ca) serves both runs. Give
--null-filter-tools the number of tools the target's FilterTools answers
hold, so both runs move the same bytes.

The load generator competes for the cores too: the `cpu` line is this
process's CPU time per request. Build it (and the server) with -c opt.

load flags:
  --target HOST:PORT        the Authorizer to load
  --policy DIR              the policy directory the requests are drawn from
  --channels N              distinct connections (default 2)
  --inflight M              requests in flight across all channels (default 8);
                            channels beyond M stay unused
  --duration SECONDS        measured time (default 10; fractions allowed)
  --warmup SECONDS          unmeasured time before it (default 1)
  --mix check|filter|mixed|batch
                            Check only (default), FilterTools only, 80% Check
                            and 20% FilterTools, or BatchCheck
  --batch-size N            checks per BatchCheck for --mix batch (default 10)
  --filter-server ID        FilterTools always asks for this server's tools
                            (default: servers drawn at random)
  --seed S                  the same seed draws the same requests (default 1)
  --json                    print the results as one JSON object

client TLS flags (mTLS):
  --ca FILE                 PEM roots that verify the server
  --cert FILE, --key FILE   the client certificate chain and key (PEM)
  --server-name NAME        the name checked against the server certificate
                            (default: the host of --target)
  --insecure                plaintext instead (no TLS flags)

null server:
  --serve-null PORT|HOST:PORT
                            serve the null Authorizer until SIGINT/SIGTERM:
                            every Check and BatchCheck is ALLOW, every
                            FilterTools the same list; no engine. Port 0
                            picks a free port; the address is printed. A bare
                            port listens on 127.0.0.1 with --insecure, on
                            every interface with mTLS
  --compare-null            see above
  --null-in-process         --compare-null serves the null Authorizer from this
                            process, not a child process
  --null-filter-tools N     tools in each null FilterTools response (default 20)
  --server-cert FILE, --server-key FILE
                            the null server's certificate chain and key (PEM)
  --client-ca FILE          PEM roots that verify clients (required: mTLS)

exit: 0 after a run with at least one successful call, 1 when the run cannot
start or no call succeeds, 2 for usage errors.
)";
}

}  // namespace pdp_bench
