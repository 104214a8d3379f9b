// Tests common/keyed_semaphore.h: at most N holders per key (on one thread and across threads), keys are
// independent, a cancelled waiter leaves the queue at once and the permit goes to the next one, and no
// state is left behind once every permit is released.
#include "common/keyed_semaphore.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace imagegate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// Counts holders per key and remembers the most seen at once.
struct Gauge {
  std::mutex mutex;
  std::map<std::string, int> now;
  std::map<std::string, int> peak;
  int completed = 0;
  int refused = 0;

  void enter(const std::string& key) {
    std::lock_guard lock(mutex);
    peak[key] = std::max(peak[key], ++now[key]);
  }
  void leave(const std::string& key) {
    std::lock_guard lock(mutex);
    --now[key];
    ++completed;
  }
};

asio::awaitable<void> hold(KeyedSemaphore& gates, Gauge& gauge, std::string key, std::chrono::milliseconds for_how_long) {
  std::optional<KeyedSemaphore::Permit> permit = co_await gates.acquire(key);
  if (!permit) {
    std::lock_guard lock(gauge.mutex);
    ++gauge.refused;
    co_return;
  }
  gauge.enter(key);
  co_await sleep_for(for_how_long);
  gauge.leave(key);
}

TEST(KeyedSemaphoreTest, AtMostNHoldersPerKeyAndKeysAreIndependent) {
  asio::io_context io;
  KeyedSemaphore gates(3);
  Gauge gauge;
  for (int i = 0; i < 20; ++i) {
    asio::co_spawn(io, hold(gates, gauge, i % 2 == 0 ? "a" : "b", 10ms), asio::detached);
  }
  io.run();
  EXPECT_EQ(gauge.completed, 20);
  EXPECT_EQ(gauge.refused, 0);
  EXPECT_EQ(gauge.peak["a"], 3);  // the cap is reached, never passed
  EXPECT_EQ(gauge.peak["b"], 3);
  EXPECT_EQ(gates.waiting(), 0U);
  EXPECT_EQ(gates.active_keys(), 0U);  // nothing left behind for keys no one uses
}

TEST(KeyedSemaphoreTest, AcrossThreadsTheCapHolds) {
  asio::io_context io;
  KeyedSemaphore gates(4);
  Gauge gauge;
  for (int i = 0; i < 200; ++i) {
    // Each on its own strand, so the coroutines really run on the four threads at once.
    asio::co_spawn(asio::make_strand(io), hold(gates, gauge, "registry", 2ms), asio::detached);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&io] { io.run(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(gauge.completed, 200);
  EXPECT_EQ(gauge.peak["registry"], 4);
  EXPECT_EQ(gates.active_keys(), 0U);
}

// Waits for a permit that must not come (the caller is cancelled first); records when it gave up.
asio::awaitable<void> wait_for_permit(KeyedSemaphore& gates, Clock::time_point start,
                                      std::optional<Clock::duration>& gave_up_after) {
  std::optional<KeyedSemaphore::Permit> permit = co_await gates.acquire("r");
  EXPECT_FALSE(permit.has_value());
  gave_up_after = Clock::now() - start;
}

TEST(KeyedSemaphoreTest, CancelledWaiterLeavesTheQueueAtOnce) {
  asio::io_context io;
  KeyedSemaphore gates(1);
  Gauge gauge;
  asio::cancellation_signal cancel;
  std::optional<Clock::duration> cancelled_after;
  const auto start = Clock::now();
  // The holder keeps the only permit for 300 ms.
  asio::co_spawn(io, hold(gates, gauge, "r", 300ms), asio::detached);
  // The first waiter is cancelled after 50 ms (a review whose budget ran out).
  asio::co_spawn(io, wait_for_permit(gates, start, cancelled_after),
                 asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  // The second waiter gets the permit when the holder releases it.
  asio::co_spawn(io, hold(gates, gauge, "r", 1ms), asio::detached);
  asio::steady_timer timer(io, 50ms);
  timer.async_wait([&](boost::system::error_code) {
    EXPECT_EQ(gates.waiting(), 2U);
    cancel.emit(asio::cancellation_type::terminal);
  });
  io.run();
  ASSERT_TRUE(cancelled_after.has_value());
  EXPECT_LT(*cancelled_after, 250ms);  // gave up at the cancellation, not when the permit came free
  EXPECT_EQ(gauge.completed, 2);      // the holder and the second waiter
  EXPECT_EQ(gauge.peak["r"], 1);
  EXPECT_EQ(gates.waiting(), 0U);
  EXPECT_EQ(gates.active_keys(), 0U);
}

}  // namespace
}  // namespace imagegate
