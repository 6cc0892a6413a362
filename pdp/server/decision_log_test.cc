#include "pdp/server/decision_log.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace pdp::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The file's lines, each parsed strictly (invalid UTF-8 would throw).
std::vector<Json> ReadLines(const std::string& path) {
  std::vector<Json> lines;
  std::string content = ReadAll(path);
  EXPECT_TRUE(content.empty() || content.back() == '\n')
      << "the last line is unterminated";
  for (absl::string_view line :
       absl::StrSplit(content, '\n', absl::SkipEmpty())) {
    Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    lines.push_back(std::move(parsed));
  }
  return lines;
}

DecisionRecord CheckRecord(const std::string& id) {
  DecisionRecord r;
  r.decision_id = id;
  r.time = absl::FromUnixMicros(1714564800123456);  // 2024-05-01T12:00:00.123456Z
  r.caller = "spiffe://acme.example/gateway";
  r.user_id = "alice";
  r.client_id = "ide";
  r.agent_id = "coder";
  r.autonomous = true;
  r.tool = "github.create_issue";
  r.action = "call";
  r.effect = "DENY";
  r.reasons = {{"client", "MISSING_SCOPE", "", {"issues:write", "repo"}},
               {"rule", "RULE", "no-bots", {}}};
  r.redact = {"pii"};
  r.policy_version = "v7";
  r.latency_us = 42;
  return r;
}

TEST(FormatLineTest, CheckRecordHasEveryFieldInOrder) {
  std::string line = DecisionLog::FormatLine(CheckRecord("d-1"));
  EXPECT_EQ(line,
            R"({"decision_id":"d-1","time":"2024-05-01T12:00:00.123456Z",)"
            R"("caller":"spiffe://acme.example/gateway",)"
            R"("chain":{"user":"alice","client":"ide","agent":"coder",)"
            R"("autonomous":true},"tool":"github.create_issue",)"
            R"("action":"call","effect":"DENY",)"
            R"("reasons":[{"link":"client","code":"MISSING_SCOPE",)"
            R"("missing_scopes":["issues:write","repo"]},)"
            R"({"link":"rule","code":"RULE","rule_id":"no-bots"}],)"
            R"("redact":["pii"],)"
            R"("policy_version":"v7","latency_us":42})");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(FormatLineTest, ADelegationNamesEveryAgent) {
  DecisionRecord r = CheckRecord("d-9");
  r.delegated_agents = {"planner", "payroll-assistant"};
  EXPECT_THAT(DecisionLog::FormatLine(r),
              HasSubstr(R"("agent":"coder","delegated_agents":)"
                        R"(["planner","payroll-assistant"],"autonomous":true})"));
}

TEST(FormatLineTest, ServiceChainOmitsEmptyIds) {
  DecisionRecord r;
  r.decision_id = "d-2";
  r.time = absl::FromUnixSeconds(0);
  r.service_id = "billing-sync";
  r.autonomous = true;
  r.tool = "db.query";
  r.action = "see";
  r.effect = "ALLOW";
  Json j = Json::parse(DecisionLog::FormatLine(r));
  EXPECT_EQ(j["time"], "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(j["chain"], Json::parse(R"({"service":"billing-sync",
                                         "autonomous":true})"));
  EXPECT_EQ(j["reasons"], Json::array());
  EXPECT_EQ(j["redact"], Json::array());
  EXPECT_FALSE(j.contains("visible"));
  EXPECT_FALSE(j.contains("server"));
  EXPECT_EQ(j["caller"], "");
}

TEST(FormatLineTest, FilterRecordHasVisibleAndNoEffect) {
  DecisionRecord r;
  r.decision_id = "d-3";
  r.user_id = "bob";
  r.client_id = "ide";
  r.server = "github";
  r.action = "filter";
  r.visible_tools = {"github.list_issues", "github.create_issue"};
  r.policy_version = "v7";
  r.latency_us = 120;
  Json j = Json::parse(DecisionLog::FormatLine(r));
  EXPECT_EQ(j["action"], "filter");
  EXPECT_EQ(j["server"], "github");
  EXPECT_FALSE(j.contains("tool"));
  EXPECT_FALSE(j.contains("effect"));
  EXPECT_EQ(j["visible"], Json::parse(R"(["github.list_issues",
                                          "github.create_issue"])"));
  EXPECT_EQ(j["latency_us"], 120);
}

TEST(FormatLineTest, KeysAreExactlyTheDocumentedOnes) {
  // Nothing else (no tokens, scopes, amr, roles) can reach a line.
  DecisionRecord r = CheckRecord("d-4");
  r.service_id = "svc";
  r.server = "github";
  r.action = "filter";
  r.visible_tools = {"x"};
  // ordered_json keeps the line's order.
  nlohmann::ordered_json j =
      nlohmann::ordered_json::parse(DecisionLog::FormatLine(r));
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_THAT(keys, ElementsAre("decision_id", "time", "caller", "chain",
                                "tool", "server", "action", "effect",
                                "reasons", "redact", "visible",
                                "policy_version", "latency_us"));
  std::vector<std::string> chain_keys;
  for (auto it = j["chain"].begin(); it != j["chain"].end(); ++it) {
    chain_keys.push_back(it.key());
  }
  EXPECT_THAT(chain_keys,
              ElementsAre("user", "client", "agent", "service", "autonomous"));
  std::vector<std::string> reason_keys;
  for (const auto& reason : j["reasons"]) {
    for (auto it = reason.begin(); it != reason.end(); ++it) {
      reason_keys.push_back(it.key());
    }
  }
  EXPECT_THAT(reason_keys, ElementsAre("link", "code", "missing_scopes",
                                       "link", "code", "rule_id"));
}

TEST(FormatLineTest, InvalidUtf8IsReplacedNotThrown) {
  DecisionRecord r = CheckRecord("d-\xff");
  r.user_id = "al\xc3ice";        // Truncated two-byte sequence.
  r.tool = "gh.\xed\xa0\x80";     // An encoded surrogate.
  r.reasons = {{"\x80", "RULE", "r\xff", {"s\xc3"}}};
  r.caller = "caf\xc3\xa9";       // Valid UTF-8 stays as is.
  std::string line = DecisionLog::FormatLine(r);
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << line;
  EXPECT_EQ(j["decision_id"], "d-\xef\xbf\xbd");
  EXPECT_THAT(j["chain"]["user"].get<std::string>(), HasSubstr("\xef\xbf\xbd"));
  EXPECT_THAT(j["tool"].get<std::string>(), HasSubstr("\xef\xbf\xbd"));
  EXPECT_EQ(j["reasons"][0]["link"], "\xef\xbf\xbd");
  EXPECT_EQ(j["reasons"][0]["rule_id"], "r\xef\xbf\xbd");
  EXPECT_EQ(j["reasons"][0]["missing_scopes"][0], "s\xef\xbf\xbd");
  EXPECT_EQ(j["caller"], "caf\xc3\xa9");
}

TEST(FormatLineTest, ControlCharactersAndQuotesAreEscaped) {
  DecisionRecord r = CheckRecord("d-5");
  r.user_id = "a\"b\\c\nd\te\x01";
  std::string line = DecisionLog::FormatLine(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  Json j = Json::parse(line);
  EXPECT_EQ(j["chain"]["user"], "a\"b\\c\nd\te\x01");
}

// The line is what nlohmann would produce from the equivalent document.
nlohmann::ordered_json Document(const DecisionRecord& r) {
  nlohmann::ordered_json j;
  j["decision_id"] = r.decision_id;
  j["time"] =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", r.time, absl::UTCTimeZone());
  j["caller"] = r.caller;
  nlohmann::ordered_json chain = nlohmann::ordered_json::object();
  if (!r.user_id.empty()) chain["user"] = r.user_id;
  if (!r.client_id.empty()) chain["client"] = r.client_id;
  if (!r.agent_id.empty()) chain["agent"] = r.agent_id;
  if (!r.service_id.empty()) chain["service"] = r.service_id;
  chain["autonomous"] = r.autonomous;
  j["chain"] = chain;
  if (!r.tool.empty()) j["tool"] = r.tool;
  if (!r.server.empty()) j["server"] = r.server;
  j["action"] = r.action;
  if (!r.effect.empty()) j["effect"] = r.effect;
  j["reasons"] = nlohmann::ordered_json::array();
  for (const DecisionRecord::Reason& reason : r.reasons) {
    nlohmann::ordered_json one;
    one["link"] = reason.link;
    one["code"] = reason.code;
    if (!reason.rule_id.empty()) one["rule_id"] = reason.rule_id;
    if (!reason.missing_scopes.empty()) {
      one["missing_scopes"] = reason.missing_scopes;
    }
    j["reasons"].push_back(std::move(one));
  }
  j["redact"] = r.redact;
  if (r.action == "filter") j["visible"] = r.visible_tools;
  j["policy_version"] = r.policy_version;
  j["latency_us"] = r.latency_us;
  return j;
}

TEST(FormatLineTest, MatchesNlohmannOnRandomBytes) {
  std::mt19937 rng(12345);
  // Mostly ASCII, with quotes, backslashes, controls, UTF-8 lead and
  // continuation bytes in any order.
  const std::string alphabet =
      std::string("abcXYZ09.:/-_\"\\ \t\n\r\x01\x1f\x7f") +
      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x80\xbf\xc0\xff\xed\xa0";
  auto random_string = [&] {
    std::string out(rng() % 12, ' ');
    for (char& c : out) c = alphabet[rng() % alphabet.size()];
    return out;
  };
  for (int i = 0; i < 3000; ++i) {
    DecisionRecord r;
    r.decision_id = random_string();
    r.time = absl::FromUnixMicros(static_cast<int64_t>(rng()) * 1000003);
    r.caller = random_string();
    r.user_id = random_string();
    r.client_id = random_string();
    r.agent_id = random_string();
    r.service_id = random_string();
    r.autonomous = rng() % 2 == 0;
    r.tool = random_string();
    r.server = random_string();
    r.action = rng() % 2 == 0 ? "filter" : random_string();
    r.effect = random_string();
    for (int k = rng() % 3; k > 0; --k) {
      DecisionRecord::Reason reason{random_string(), random_string(),
                                    rng() % 2 == 0 ? random_string() : "",
                                    {}};
      for (int m = rng() % 3; m > 0; --m) {
        reason.missing_scopes.push_back(random_string());
      }
      r.reasons.push_back(std::move(reason));
    }
    for (int k = rng() % 3; k > 0; --k) r.redact.push_back(random_string());
    for (int k = rng() % 3; k > 0; --k) r.visible_tools.push_back(random_string());
    r.policy_version = random_string();
    r.latency_us = static_cast<int64_t>(rng()) - (1 << 30);
    const std::string line = DecisionLog::FormatLine(r);
    ASSERT_EQ(line, Document(r).dump(-1, ' ', false,
                                     nlohmann::json::error_handler_t::replace))
        << "record " << i;
    ASSERT_FALSE(Json::parse(line, nullptr, false).is_discarded()) << line;
  }
}

TEST(DecisionLogTest, EveryRecordIsWrittenOnceAfterDestruction) {
  const std::string path = TempPath("every_record.jsonl");
  std::remove(path.c_str());
  DecisionLog::Options options;
  options.path = path;
  {
    absl::StatusOr<std::unique_ptr<DecisionLog>> log =
        DecisionLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE((*log)->Append(CheckRecord(absl::StrCat("d-", i))));
    }
    EXPECT_EQ((*log)->dropped(), 0u);
  }  // Drains and joins.
  std::vector<Json> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(lines[i]["decision_id"], absl::StrCat("d-", i));  // In order.
    EXPECT_EQ(lines[i]["effect"], "DENY");
  }
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640);
}

TEST(DecisionLogTest, CountersAndFlush) {
  const std::string path = TempPath("flush.jsonl");
  std::remove(path.c_str());
  DecisionLog::Options options;
  options.path = path;
  absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->written(), 0u);
  for (int i = 0; i < 10; ++i) (*log)->Append(CheckRecord(absl::StrCat(i)));
  (*log)->Flush();
  EXPECT_EQ((*log)->written(), 10u);
  EXPECT_EQ((*log)->dropped(), 0u);
  EXPECT_EQ(ReadLines(path).size(), 10u);  // Flushed to the file, log open.
  (*log)->Flush();  // Nothing pending: returns at once.
}

TEST(DecisionLogTest, AppendsToAnExistingFile) {
  const std::string path = TempPath("existing.jsonl");
  {
    std::ofstream out(path, std::ios::trunc);
    out << R"({"decision_id":"old"})" << "\n";
  }
  DecisionLog::Options options;
  options.path = path;
  {
    absl::StatusOr<std::unique_ptr<DecisionLog>> log =
        DecisionLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    (*log)->Append(CheckRecord("new"));
  }
  std::vector<Json> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["decision_id"], "old");
  EXPECT_EQ(lines[1]["decision_id"], "new");
}

TEST(DecisionLogTest, FullQueueDropsAndCountsInsteadOfBlocking) {
  const std::string path = TempPath("full_queue.jsonl");
  std::remove(path.c_str());
  absl::Notification writer_stalled;
  absl::Notification release_writer;
  std::atomic<bool> first{true};
  DecisionLog::Options options;
  options.path = path;
  options.queue_capacity = 2;
  options.before_write_for_testing = [&] {
    if (first.exchange(false)) {
      writer_stalled.Notify();
      release_writer.WaitForNotification();
    }
  };
  absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();

  ASSERT_TRUE((*log)->Append(CheckRecord("d-0")));
  // The writer has taken d-0 out of the queue and is stuck before writing.
  writer_stalled.WaitForNotification();
  EXPECT_TRUE((*log)->Append(CheckRecord("d-1")));
  EXPECT_TRUE((*log)->Append(CheckRecord("d-2")));
  EXPECT_FALSE((*log)->Append(CheckRecord("d-3")));  // Full: returns at once.
  EXPECT_FALSE((*log)->Append(CheckRecord("d-4")));
  EXPECT_EQ((*log)->dropped(), 2u);
  EXPECT_EQ((*log)->written(), 0u);

  release_writer.Notify();
  (*log)->Flush();
  EXPECT_EQ((*log)->written(), 3u);
  EXPECT_EQ((*log)->dropped(), 2u);
  // Room again.
  EXPECT_TRUE((*log)->Append(CheckRecord("d-5")));
  log->reset();

  std::vector<std::string> ids;
  for (const Json& line : ReadLines(path)) ids.push_back(line["decision_id"]);
  EXPECT_THAT(ids, ElementsAre("d-0", "d-1", "d-2", "d-5"));
}

TEST(DecisionLogTest, DestructionDrainsWhatIsQueuedBehindAStalledWriter) {
  const std::string path = TempPath("drain.jsonl");
  std::remove(path.c_str());
  absl::Notification writer_stalled;
  absl::Notification release_writer;
  std::atomic<bool> first{true};
  DecisionLog::Options options;
  options.path = path;
  options.queue_capacity = 5000;
  options.before_write_for_testing = [&] {
    if (first.exchange(false)) {
      writer_stalled.Notify();
      release_writer.WaitForNotification();
    }
  };
  absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Append(CheckRecord("first"));
  writer_stalled.WaitForNotification();
  // One batch of ~600 KB: written in several chunks.
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE((*log)->Append(CheckRecord(absl::StrCat(i))));
  }
  std::thread destroyer([&] { log->reset(); });
  release_writer.Notify();
  destroyer.join();
  std::vector<Json> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 2001u);
  EXPECT_EQ(lines[0]["decision_id"], "first");
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(lines[i + 1]["decision_id"], absl::StrCat(i));
    ASSERT_EQ(lines[i + 1]["tool"], "github.create_issue");
  }
}

TEST(DecisionLogTest, ConcurrentAppendsAllArrive) {
  const std::string path = TempPath("concurrent.jsonl");
  std::remove(path.c_str());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  DecisionLog::Options options;
  options.path = path;
  options.queue_capacity = kThreads * kPerThread;  // Never full.
  {
    absl::StatusOr<std::unique_ptr<DecisionLog>> log =
        DecisionLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          EXPECT_TRUE(
              (*log)->Append(CheckRecord(absl::StrCat("t", t, "-", i))));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    (*log)->Flush();
    EXPECT_EQ((*log)->written(), uint64_t{kThreads * kPerThread});
    EXPECT_EQ((*log)->dropped(), 0u);
  }
  std::vector<Json> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), size_t{kThreads * kPerThread});
  std::set<std::string> ids;
  std::vector<int> next(kThreads, 0);
  for (const Json& line : lines) {
    std::string id = line["decision_id"];
    EXPECT_TRUE(ids.insert(id).second) << "duplicate " << id;
    // Each thread's records appear in the order it appended them.
    int t = id[1] - '0';
    EXPECT_EQ(id, absl::StrCat("t", t, "-", next[t]++));
  }
}

TEST(DecisionLogTest, WritesToStdout) {
  ::testing::internal::CaptureStdout();
  {
    absl::StatusOr<std::unique_ptr<DecisionLog>> log =
        DecisionLog::Open(DecisionLog::Options{});
    ASSERT_TRUE(log.ok()) << log.status();
    (*log)->Append(CheckRecord("to-stdout"));
  }
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(out, DecisionLog::FormatLine(CheckRecord("to-stdout")) + "\n");
}

TEST(DecisionLogTest, WriteErrorsCountAsDropped) {
  struct stat st;
  if (stat("/dev/full", &st) != 0) GTEST_SKIP() << "no /dev/full here";
  DecisionLog::Options options;
  options.path = "/dev/full";
  absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Append(CheckRecord("lost"));
  (*log)->Flush();
  EXPECT_EQ((*log)->written(), 0u);
  EXPECT_EQ((*log)->dropped(), 1u);
  // The writer keeps going.
  (*log)->Append(CheckRecord("lost too"));
  (*log)->Flush();
  EXPECT_EQ((*log)->dropped(), 2u);
}

TEST(DecisionLogTest, OpenErrorsNameThePath) {
  DecisionLog::Options options;
  options.path = TempPath("no/such/dir/decisions.jsonl");
  absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(options);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(log.status().message(), HasSubstr(options.path));

  options.path = TempPath("");  // A directory.
  log = DecisionLog::Open(options);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(log.status().message(), HasSubstr(options.path));

  options.path = "";
  EXPECT_EQ(DecisionLog::Open(options).status().code(),
            absl::StatusCode::kInvalidArgument);

  options.path = "-";
  options.queue_capacity = 0;
  EXPECT_EQ(DecisionLog::Open(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pdp::server
