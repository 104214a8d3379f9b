// Tests common/single_flight.h: concurrent calls for one key share one execution; other keys and later
// calls run their own; a cancelled waiter gives up at once while the flight goes on for the others; a
// cancelled leader's error is not handed to its waiters (they run the flight again); an exception in the
// work wakes every waiter with cancelled().
#include "common/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace imagegate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

class SingleFlightTest : public ::testing::Test {
 protected:
  // The work: counts its executions, takes `delay`, answers `answer` (or throws when `fail`).
  std::function<asio::awaitable<int>()> work(int answer, std::chrono::milliseconds delay, bool fail = false) {
    return [this, answer, delay, fail]() { return body(answer, delay, fail); };
  }
  asio::awaitable<int> body(int answer, std::chrono::milliseconds delay, bool fail) {
    ++executions_;
    co_await sleep_for(delay);
    if (fail) throw std::runtime_error("work failed");
    co_return answer;
  }
  // As registry requests end when cancelled: an error value (-2, "Operation canceled"), not an exception.
  asio::awaitable<int> body_with_error_on_cancel(int answer, std::chrono::milliseconds delay) {
    ++executions_;
    asio::steady_timer t(co_await asio::this_coro::executor, delay);
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return ec ? -2 : answer;
  }
  static int cancelled() { return -1; }

  SingleFlight<int> flight_;
  std::atomic<int> executions_{0};
};

TEST_F(SingleFlightTest, LeaderAndWaitersShareOneExecution) {
  asio::io_context io;
  std::vector<std::optional<int>> results(5);
  std::vector<bool> shared(5, false);
  for (std::size_t i = 0; i < results.size(); ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          bool s = false;
          results[i] = co_await flight_.run("key", work(42, 100ms), &SingleFlightTest::cancelled, &s);
          shared[i] = s;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(executions_.load(), 1);
  int waiters = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].has_value());
    EXPECT_EQ(*results[i], 42);
    waiters += shared[i] ? 1 : 0;
  }
  EXPECT_EQ(waiters, 4);
  EXPECT_EQ(flight_.in_flight(), 0U);
}

TEST_F(SingleFlightTest, AcrossThreadsOneExecution) {
  asio::io_context io;
  std::atomic<int> done{0};
  for (int i = 0; i < 8; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          const int r = co_await flight_.run("key", work(7, 150ms), &SingleFlightTest::cancelled);
          if (r == 7) ++done;
        },
        asio::detached);
  }
  std::thread other([&io] { io.run(); });
  io.run();
  other.join();
  EXPECT_EQ(done.load(), 8);
  EXPECT_EQ(executions_.load(), 1);
}

TEST_F(SingleFlightTest, OtherKeysAndLaterCallsRunTheirOwn) {
  asio::io_context io;
  std::optional<int> a, b, later;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { a = co_await flight_.run("a", work(1, 50ms), &SingleFlightTest::cancelled); },
      asio::detached);
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { b = co_await flight_.run("b", work(2, 50ms), &SingleFlightTest::cancelled); },
      asio::detached);
  io.run();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  EXPECT_EQ(executions_.load(), 2);
  // A finished flight is not a cache: the next call for "a" runs again.
  io.restart();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { later = co_await flight_.run("a", work(3, 1ms), &SingleFlightTest::cancelled); },
      asio::detached);
  io.run();
  EXPECT_EQ(later, 3);
  EXPECT_EQ(executions_.load(), 3);
}

TEST_F(SingleFlightTest, CancelledWaiterGivesUpWhileTheFlightGoesOn) {
  // Timers of one io_context fire in deadline order: the waiters join at 20 ms, one is cancelled at 100 ms,
  // the flight's work ends at 400 ms. What is checked is the order of events, never elapsed time.
  asio::io_context io;
  asio::cancellation_signal signal;
  std::optional<int> leader, waiter, other_waiter;
  bool flight_running_when_waiter_returned = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        leader = co_await flight_.run("key", work(42, 400ms), &SingleFlightTest::cancelled);
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await sleep_for(20ms);
        waiter = co_await flight_.run("key", work(99, 1ms), &SingleFlightTest::cancelled);
        flight_running_when_waiter_returned = flight_.in_flight() == 1;
      },
      asio::bind_cancellation_slot(signal.slot(), asio::detached));
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await sleep_for(20ms);
        other_waiter = co_await flight_.run("key", work(99, 1ms), &SingleFlightTest::cancelled);
      },
      asio::detached);
  asio::steady_timer cancel_at(io, 100ms);
  cancel_at.async_wait([&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
  io.run();
  ASSERT_TRUE(waiter && leader && other_waiter);
  EXPECT_EQ(*waiter, -1) << "the cancelled waiter answers cancelled()";
  EXPECT_TRUE(flight_running_when_waiter_returned) << "and does not wait for the flight";
  EXPECT_EQ(*leader, 42) << "the flight's own work, run to its end";
  EXPECT_EQ(*other_waiter, 42) << "the flight went on for the others";
  EXPECT_EQ(executions_.load(), 1);
  EXPECT_EQ(flight_.in_flight(), 0U);
}

TEST_F(SingleFlightTest, CancelledLeadersErrorIsNotTheWaitersAnswer) {
  // The leader's review ran out of budget: its registry request ends with "Operation canceled", which is
  // its own answer only. The waiter, whose budget is not spent, runs the flight itself and gets a real one.
  asio::io_context io;
  asio::cancellation_signal signal;
  std::optional<int> leader, waiter;
  bool waiter_shared = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        leader = co_await flight_.run(
            "key", [this] { return body_with_error_on_cancel(42, 10s); }, &SingleFlightTest::cancelled);
      },
      asio::bind_cancellation_slot(signal.slot(), asio::detached));
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await sleep_for(20ms);
        bool s = false;
        waiter = co_await flight_.run(
            "key", [this] { return body_with_error_on_cancel(7, 1ms); }, &SingleFlightTest::cancelled, &s);
        waiter_shared = s;
      },
      asio::detached);
  asio::steady_timer cancel_at(io, 100ms);
  cancel_at.async_wait([&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
  io.run();
  ASSERT_TRUE(leader && waiter);
  EXPECT_EQ(*leader, -2) << "the cancelled leader keeps its own error";
  EXPECT_EQ(*waiter, 7) << "the waiter ran the flight again, not handed the leader's cancellation";
  EXPECT_TRUE(waiter_shared) << "it did wait on the first flight";
  EXPECT_EQ(executions_.load(), 2);
  EXPECT_EQ(flight_.in_flight(), 0U);
}

TEST_F(SingleFlightTest, ExceptionInTheWorkWakesWaitersWithCancelled) {
  asio::io_context io;
  std::vector<std::optional<int>> results(3);
  for (std::size_t i = 0; i < results.size(); ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          results[i] = co_await flight_.run("key", work(5, 50ms, true), &SingleFlightTest::cancelled);
        },
        asio::detached);
  }
  io.run();
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, -1);
  }
  EXPECT_EQ(executions_.load(), 1);
  EXPECT_EQ(flight_.in_flight(), 0U);
}

}  // namespace
}  // namespace imagegate
