// The decision log's asynchronous writer (webhook/observe/decision_log.h), on real pipes: whole lines
// under concurrency, every line out after drain(), and with a pipe nobody reads (a stalled stdout): write()
// never blocks, lines beyond the queue's bound are dropped, counted (and rendered as a metric) and reported
// once the pipe flows again, and a stopping log gives up after its drain timeout. A closed pipe counts its
// lines as failed.
#include "webhook/observe/decision_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "webhook/observe/logger.h"
#include "webhook/observe/metrics.h"

namespace imagegate::webhook {
namespace {

using namespace std::chrono_literals;

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    read_end = fds[0];
    write_end = fds[1];
    std::signal(SIGPIPE, SIG_IGN);  // as `serve` does: a closed reader is an error, not a signal
  }
};

// Reads `fd` to its end on a thread of its own.
class Reader {
 public:
  explicit Reader(int fd) : thread_([this, fd] {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      text_.append(buffer, static_cast<std::size_t>(n));
    }
  }) {}
  std::string finish() {
    thread_.join();
    return text_;
  }

 private:
  std::string text_;
  std::thread thread_;
};

std::vector<nlohmann::json> parse_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));  // throws on a torn line
  return lines;
}

std::string line_of(int thread, int i, std::size_t pad) {
  return nlohmann::json{{"thread", thread}, {"i", i}, {"pad", std::string(pad, 'x')}}.dump();
}

TEST(DecisionLogAsync, WritesWholeLinesUnderConcurrencyAndEveryOneBeforeItStops) {
  Pipe pipe;
  Reader reader(pipe.read_end);
  {
    DecisionLog log(pipe.write_end, DecisionLogOptions{});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 500; ++i) log.write(line_of(t, i, 300));
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_TRUE(log.drain(10s));
    const DecisionLogCounts counts = log.counts();
    EXPECT_EQ(counts.written, 2000U);
    EXPECT_EQ(counts.dropped, 0U);
    EXPECT_EQ(counts.failed, 0U);
    for (int i = 0; i < 10; ++i) log.write(line_of(9, i, 10));  // no drain(): the destructor writes these
  }
  ::close(pipe.write_end);
  const auto lines = parse_lines(reader.finish());
  ASSERT_EQ(lines.size(), 2010U);
  std::vector<int> next(10, 0);  // each thread's lines arrive in the order it wrote them
  for (const auto& line : lines) {
    const int t = line["thread"];
    EXPECT_EQ(line["i"], next[static_cast<std::size_t>(t)]++);
  }
}

TEST(DecisionLogAsync, LinesQueuedTogetherGoOutInFewBatchesAndALoneLineAtOnce) {
  Pipe pipe;
  Reader reader(pipe.read_end);
  DecisionLogOptions options;
  options.batch_interval = std::chrono::milliseconds(500);
  {
    DecisionLog log(pipe.write_end, options);
    log.write(line_of(0, 0, 10));  // the writer is idle: written at once, well within the interval
    EXPECT_TRUE(log.drain(250ms));
    for (int i = 1; i <= 1000; ++i) log.write(line_of(0, i, 10));
    EXPECT_TRUE(log.drain(10s));
    const DecisionLogCounts counts = log.counts();
    EXPECT_EQ(counts.written, 1001U);
    EXPECT_LT(counts.batches, 10U);  // not one write per line
  }
  ::close(pipe.write_end);
  EXPECT_EQ(parse_lines(reader.finish()).size(), 1001U);
}

TEST(DecisionLogAsync, AStalledPipeNeverBlocksAReviewAndDropsWhatTheQueueCannotHold) {
  Pipe pipe;  // nobody reads until the end: the kernel's pipe buffer (64 KiB) fills, then the queue
  std::ostringstream report;
  Logger reporter(report);
  DecisionLogOptions options;
  options.max_queued_lines = 100;
  options.report = &reporter;
  auto log = std::make_unique<DecisionLog>(pipe.write_end, options);
  constexpr int kLines = 5000;
  auto writing = std::async(std::launch::async, [&log] {
    for (int i = 0; i < kLines; ++i) log->write(line_of(0, i, 1000));
  });
  ASSERT_EQ(writing.wait_for(20s), std::future_status::ready) << "write() blocked on a stalled pipe";
  const DecisionLogCounts stalled = log->counts();
  // At most the queue's 100 lines and what the pipe took (~64 of these 1 KiB lines) got through.
  EXPECT_GE(stalled.dropped, static_cast<std::uint64_t>(kLines - 100 - 70));
  EXPECT_EQ(stalled.failed, 0U);
  Metrics metrics;
  metrics.set_decision_log_source([&log] { return log->counts(); });
  EXPECT_NE(metrics.render().find("imagegate_decision_log_lines_total{result=\"dropped\"} " +
                                  std::to_string(stalled.dropped)),
            std::string::npos);

  // The shipper reads again: everything kept is written, and the drops are reported.
  Reader reader(pipe.read_end);
  EXPECT_TRUE(log->drain(10s));
  const DecisionLogCounts after = log->counts();
  EXPECT_EQ(after.dropped, stalled.dropped);
  EXPECT_EQ(after.written + after.dropped, static_cast<std::uint64_t>(kLines));
  log.reset();
  ::close(pipe.write_end);
  const auto lines = parse_lines(reader.finish());
  EXPECT_EQ(lines.size(), after.written);
  const auto reported = parse_lines(report.str());
  ASSERT_FALSE(reported.empty()) << report.str();
  EXPECT_EQ(reported.back()["dropped"], after.dropped);
  EXPECT_EQ(reported.back()["level"], "warn");
}

TEST(DecisionLogAsync, StoppingGivesUpOnAStalledPipeAfterTheDrainTimeout) {
  Pipe pipe;
  DecisionLogOptions options;
  options.drain_timeout = 300ms;
  auto log = std::make_unique<DecisionLog>(pipe.write_end, options);
  for (int i = 0; i < 200; ++i) log->write(line_of(0, i, 1000));  // more than the pipe holds
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(log->drain(300ms));
  log.reset();  // does not wait a second time
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  // The writer left behind is still in write(2): closing the reader ends it (EPIPE). Its write end stays
  // open (the writer may still hold it); the test process ends soon.
  ::close(pipe.read_end);
}

TEST(DecisionLogAsync, AClosedPipeCountsItsLinesAsFailed) {
  Pipe pipe;
  ::close(pipe.read_end);
  {
    DecisionLog log(pipe.write_end, DecisionLogOptions{});
    for (int i = 0; i < 20; ++i) log.write(line_of(0, i, 10));
    EXPECT_TRUE(log.drain(10s));
    const DecisionLogCounts counts = log.counts();
    EXPECT_EQ(counts.failed, 20U);
    EXPECT_EQ(counts.written, 0U);
  }
  ::close(pipe.write_end);
}

TEST(DecisionLogSync, WritesBeforeReturningAndCounts) {
  std::ostringstream out;
  DecisionLog log(out);
  log.write(R"({"a":1})");
  EXPECT_EQ(out.str(), "{\"a\":1}\n");
  EXPECT_TRUE(log.drain(0ms));
  EXPECT_EQ(log.counts().written, 1U);
}

}  // namespace
}  // namespace imagegate::webhook
