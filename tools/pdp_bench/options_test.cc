#include "tools/pdp_bench/options.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pdp_bench {
namespace {

using ::testing::HasSubstr;

// Asserts that parsing fails with InvalidArgument mentioning `needle`.
void ExpectError(const std::vector<std::string>& args,
                 const std::string& needle) {
  absl::StatusOr<BenchOptions> options = ParseOptions(args);
  ASSERT_FALSE(options.ok()) << "parsed: " << ::testing::PrintToString(args);
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(options.status().message(), HasSubstr(needle))
      << ::testing::PrintToString(args);
}

TEST(ParseOptionsTest, DefaultsForAPlaintextLoad) {
  absl::StatusOr<BenchOptions> options = ParseOptions(
      {"--target", "localhost:50051", "--policy", "p", "--insecure"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->mode, Mode::kLoad);
  EXPECT_EQ(options->target, "localhost:50051");
  EXPECT_EQ(options->policy_dir, "p");
  EXPECT_TRUE(options->insecure);
  EXPECT_EQ(options->channels, 2);
  EXPECT_EQ(options->inflight, 8);
  EXPECT_EQ(options->duration_s, 10);
  EXPECT_EQ(options->warmup_s, 1);
  EXPECT_EQ(options->mix, Mix::kCheck);
  EXPECT_EQ(options->seed, 1u);
  EXPECT_FALSE(options->json);
}

TEST(ParseOptionsTest, EveryLoadFlagInBothForms) {
  absl::StatusOr<BenchOptions> options = ParseOptions({"--target=h:1",
                                                       "--policy",
                                                       "dir",
                                                       "--channels=4",
                                                       "--inflight",
                                                       "64",
                                                       "--duration",
                                                       "2.5",
                                                       "--warmup=0",
                                                       "--mix",
                                                       "batch",
                                                       "--batch-size",
                                                       "25",
                                                       "--filter-server",
                                                       "crm",
                                                       "--seed",
                                                       "7",
                                                       "--json",
                                                       "--ca",
                                                       "ca.pem",
                                                       "--cert",
                                                       "c.pem",
                                                       "--key=k.pem",
                                                       "--server-name",
                                                       "pdp"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->channels, 4);
  EXPECT_EQ(options->inflight, 64);
  EXPECT_EQ(options->duration_s, 2.5);
  EXPECT_EQ(options->warmup_s, 0);
  EXPECT_EQ(options->mix, Mix::kBatch);
  EXPECT_EQ(options->batch_size, 25);
  EXPECT_EQ(options->filter_server, "crm");
  EXPECT_EQ(options->seed, 7u);
  EXPECT_TRUE(options->json);
  EXPECT_FALSE(options->insecure);
  EXPECT_EQ(options->client_tls.ca_file, "ca.pem");
  EXPECT_EQ(options->client_tls.cert_file, "c.pem");
  EXPECT_EQ(options->client_tls.key_file, "k.pem");
  EXPECT_EQ(options->client_tls.server_name, "pdp");
}

TEST(ParseOptionsTest, MixNames) {
  for (Mix mix : {Mix::kCheck, Mix::kFilter, Mix::kMixed, Mix::kBatch}) {
    absl::StatusOr<BenchOptions> options =
        ParseOptions({"--target", "h:1", "--policy", "p", "--insecure", "--mix",
                      MixName(mix)});
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->mix, mix);
  }
}

TEST(ParseOptionsTest, HelpWinsOverEverythingElse) {
  absl::StatusOr<BenchOptions> options =
      ParseOptions({"--bogus", "--help", "--channels", "x"});
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->help);
  EXPECT_THAT(Usage(), HasSubstr("--compare-null"));
  EXPECT_THAT(Usage(), HasSubstr("same cores"));
}

TEST(ParseOptionsTest, ErrorsNameTheFlag) {
  const std::vector<std::string> load = {"--target", "h:1", "--policy", "p",
                                         "--insecure"};
  auto with = [&load](std::vector<std::string> extra) {
    std::vector<std::string> args = load;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  ExpectError(with({"--bogus"}), "unknown flag --bogus");
  ExpectError(with({"--channels"}), "--channels: needs a value");
  ExpectError(with({"--channels", "--json"}), "--channels: needs a value");
  ExpectError(with({"--channels", "two"}), "--channels: expected an integer");
  ExpectError(with({"--channels", "0"}), "--channels: expected an integer");
  ExpectError(with({"--inflight", "-3"}), "--inflight");
  ExpectError(with({"--duration", "0"}), "--duration: expected a number");
  ExpectError(with({"--duration", "soon"}), "--duration");
  ExpectError(with({"--warmup", "-1"}), "--warmup");
  ExpectError(with({"--batch-size", "0"}), "--batch-size");
  ExpectError(with({"--seed", "-1"}), "--seed");
  ExpectError(with({"--mix", "random"}), "--mix: expected check, filter");
  ExpectError(with({"--json=yes"}), "--json: takes no value");
  ExpectError(with({"--target", "h:2"}), "--target: given more than once");
  ExpectError(with({"--policy="}), "--policy");
  ExpectError(with({"stray"}), "unexpected argument 'stray'");
  ExpectError(with({"--ca", "ca.pem"}),
              "--ca: cannot be combined with --insecure");
  ExpectError(with({"--null-filter-tools", "5"}), "--null-filter-tools");
  ExpectError(with({"--server-cert", "s.pem"}), "--server-cert");
  ExpectError({"--policy", "p", "--insecure"}, "--target");
  ExpectError({"--target", "h:1", "--insecure"}, "--policy");
  // The missing mode flag is named before the transport.
  ExpectError({"--target", "h:1"}, "--policy: DIR is required");
}

TEST(ParseOptionsTest, TransportMustBeChosen) {
  ExpectError({"--target", "h:1", "--policy", "p"}, "--ca: is required");
  ExpectError({"--target", "h:1", "--policy", "p", "--ca", "a", "--cert", "c"},
              "--key");
  ExpectError({"--target", "h:1", "--policy", "p", "--ca", "a", "--key", "k"},
              "--cert");
  // Server-only TLS is allowed for a plain load.
  EXPECT_TRUE(
      ParseOptions({"--target", "h:1", "--policy", "p", "--ca", "a"}).ok());
  // The in-process null server requires client certificates.
  ExpectError(
      {"--compare-null", "--target", "h:1", "--policy", "p", "--ca", "a",
       "--server-cert", "s", "--server-key", "k", "--client-ca", "c"},
      "--cert");
  ExpectError(
      {"--compare-null", "--target", "h:1", "--policy", "p", "--ca", "a",
       "--cert", "c", "--key", "k", "--server-cert", "s", "--server-key", "k"},
      "--client-ca: is required");
}

TEST(ParseOptionsTest, CompareNull) {
  absl::StatusOr<BenchOptions> options = ParseOptions(
      {"--compare-null", "--target", "h:1", "--policy", "p", "--ca", "a",
       "--cert", "c", "--key", "k", "--server-cert", "sc", "--server-key", "sk",
       "--client-ca", "cc", "--null-filter-tools", "200"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->mode, Mode::kCompareNull);
  EXPECT_EQ(options->server_tls.cert_file, "sc");
  EXPECT_EQ(options->server_tls.key_file, "sk");
  EXPECT_EQ(options->server_tls.client_ca_file, "cc");
  EXPECT_EQ(options->null_filter_tools, 200);
  EXPECT_FALSE(options->null_in_process);

  absl::StatusOr<BenchOptions> in_process =
      ParseOptions({"--compare-null", "--null-in-process", "--target", "h:1",
                    "--policy", "p", "--insecure"});
  ASSERT_TRUE(in_process.ok()) << in_process.status();
  EXPECT_TRUE(in_process->null_in_process);
  ExpectError(
      {"--null-in-process", "--target", "h:1", "--policy", "p", "--insecure"},
      "--null-in-process: applies only to --compare-null");
}

TEST(ParseOptionsTest, ServeNull) {
  absl::StatusOr<BenchOptions> plaintext =
      ParseOptions({"--serve-null", "0", "--insecure"});
  ASSERT_TRUE(plaintext.ok()) << plaintext.status();
  EXPECT_EQ(plaintext->mode, Mode::kServeNull);
  EXPECT_EQ(plaintext->null_address, "127.0.0.1:0");
  EXPECT_EQ(plaintext->null_filter_tools, 20);

  absl::StatusOr<BenchOptions> tls =
      ParseOptions({"--serve-null", "50052", "--server-cert", "s",
                    "--server-key", "k", "--client-ca", "c"});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->null_address, "0.0.0.0:50052");

  absl::StatusOr<BenchOptions> host =
      ParseOptions({"--serve-null", "localhost:7000", "--insecure"});
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->null_address, "localhost:7000");

  ExpectError({"--serve-null", "0.0.0.0:7000", "--insecure"},
              "--serve-null: plaintext (--insecure) serves only on a loopback");
  ExpectError({"--serve-null", "70000", "--insecure"}, "--serve-null");
  ExpectError({"--serve-null", ":1", "--insecure"}, "--serve-null");
  ExpectError({"--serve-null", "0"}, "--server-cert: is required");
  ExpectError({"--serve-null", "0", "--insecure", "--target", "h:1"},
              "--target: does not apply to --serve-null");
  ExpectError({"--serve-null", "0", "--compare-null", "--insecure"},
              "--serve-null: cannot be combined with --compare-null");
  ExpectError({"--serve-null", "0", "--server-cert", "s", "--server-key", "k",
               "--client-ca", "c", "--ca", "a"},
              "--ca: is a client flag");
}

}  // namespace
}  // namespace pdp_bench
