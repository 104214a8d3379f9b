// The one logger of serve (webhook/observe/logger.cc): JSON lines open with time (RFC 3339, UTC, ms),
// level, msg, then the fields in the order given; text lines read `TIME LEVEL msg key=value`, quoting what
// would not read back; every line whole under concurrency.
#include "webhook/observe/logger.h"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_writer.h"

namespace imagegate::webhook {
namespace {

using namespace std::chrono;

const system_clock::time_point kNoon = sys_days(year(2026) / 12 / 7) + hours(18) + minutes(30) + seconds(55) +
                                       milliseconds(123);

TEST(Logger, JsonLinesOpenWithTimeLevelMsgThenTheFieldsInOrder) {
  std::ostringstream out;
  Logger log(out, LogFormat::json, [] { return kNoon; });
  const std::vector<std::string> errors{"policy.yaml:3:5: spec.rules: unknown key", "second \"problem\""};
  log.error("policy file rejected; keeping the current policy",
            {{"file", "/etc/policy.yaml"}, {"problems", errors.size()}, {"errors", errors}, {"delta", -3},
             {"ratio", 0.5}, {"kept", true}});
  const std::string line = out.str();
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  EXPECT_EQ(line,
            R"({"time":"2026-12-07T18:30:55.123Z","level":"error","msg":"policy file rejected; keeping the current policy",)"
            R"("file":"/etc/policy.yaml","problems":2,"errors":["policy.yaml:3:5: spec.rules: unknown key","second \"problem\""],)"
            R"("delta":-3,"ratio":0.5,"kept":true})"
            "\n");
  const auto parsed = nlohmann::ordered_json::parse(line);
  std::vector<std::string> keys;
  for (const auto& [key, value] : parsed.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"time", "level", "msg", "file", "problems", "errors", "delta", "ratio", "kept"}));
}

TEST(Logger, TheRealClockWritesUtcMilliseconds) {
  std::ostringstream out;
  Logger log(out);
  log.info("stopped", {{"decisionLogLines", 0U}});
  const auto parsed = nlohmann::ordered_json::parse(out.str());
  EXPECT_TRUE(std::regex_match(parsed["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << out.str();
  EXPECT_EQ(parsed.begin().key(), "time");
  EXPECT_EQ(parsed["level"], "info");
  EXPECT_EQ(parsed["msg"], "stopped");
}

TEST(Logger, TextLinesAreHumanAndReadBack) {
  std::ostringstream out;
  Logger log(out, LogFormat::text, [] { return kNoon; });
  const std::vector<std::string> errors{"a b", "c"};
  log.warn("second signal;\nstopping", {{"signal", 15}, {"file", "/etc/p.yaml"}, {"why", "two words"},
                                        {"empty", ""}, {"eq", "a=b"}, {"errors", errors}, {"mtls", false}});
  EXPECT_EQ(out.str(),
            "2026-12-07T18:30:55.123Z WARN second signal; stopping signal=15 file=/etc/p.yaml why=\"two words\" "
            "empty=\"\" eq=\"a=b\" errors=[\"a b\",\"c\"] mtls=false\n");
}

TEST(Logger, FormatChangesAndParses) {
  EXPECT_EQ(parse_log_format("json"), LogFormat::json);
  EXPECT_EQ(parse_log_format("text"), LogFormat::text);
  for (const char* bad : {"", "JSON", "logfmt", "text "}) EXPECT_FALSE(parse_log_format(bad).has_value()) << bad;
  std::ostringstream out;
  Logger log(out, LogFormat::json, [] { return kNoon; });
  log.set_format(LogFormat::text);
  EXPECT_EQ(log.format(), LogFormat::text);
  log.info("listening");
  EXPECT_EQ(out.str(), "2026-12-07T18:30:55.123Z INFO listening\n");
}

TEST(Logger, WriteLogHeadOpensALineOthersFinish) {
  std::string line;
  JsonWriter w(line);
  write_log_head(w, kNoon, LogLevel::info, "admission review");
  w.member("uid", "u1");
  w.end_object();
  EXPECT_EQ(line, R"({"time":"2026-12-07T18:30:55.123Z","level":"info","msg":"admission review","uid":"u1"})");
}

TEST(Logger, LinesStayWholeUnderConcurrency) {
  std::ostringstream out;
  Logger log(out);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      const std::string payload(200, static_cast<char>('a' + t));
      for (int i = 0; i < 250; ++i) log.info("line", {{"thread", t}, {"i", i}, {"payload", payload}});
    });
  }
  for (auto& thread : threads) thread.join();
  std::istringstream lines(out.str());
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    const auto parsed = nlohmann::json::parse(line);  // throws on a torn line
    EXPECT_EQ(parsed["payload"].get<std::string>().size(), 200U);
  }
  EXPECT_EQ(count, 1000);
}

}  // namespace
}  // namespace imagegate::webhook
