// Tests VerdictLookup::get's single flight (webhook/evidence/verdict_lookup.cc): concurrent misses for one digest make
// one store call, other digests and later misses their own. The store is a real SQLite file behind a thin
// counting wrapper (it counts and slows the calls that reach the real store: the only way to see them).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "verifier/verdict/verdict_store.h"
#include "webhook/evidence/verdict_lookup.h"

namespace imagegate::webhook {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class CountingStore final : public verifier::VerdictStore {
 public:
  explicit CountingStore(std::unique_ptr<verifier::VerdictStore> inner) : inner_(std::move(inner)) {}
  Status put(const verifier::ScanVerdict& v) override { return inner_->put(v); }
  Result<std::optional<verifier::ScanVerdict>> get(const std::string& digest) override {
    ++gets;
    std::this_thread::sleep_for(150ms);  // a slow disk: the window in which other lookups arrive
    return inner_->get(digest);
  }
  Result<std::vector<verifier::ScanVerdict>> find_by_image(const std::string& image, std::size_t limit) override {
    return inner_->find_by_image(image, limit);
  }
  std::atomic<int> gets{0};

 private:
  std::unique_ptr<verifier::VerdictStore> inner_;
};

std::string digest(char c) { return "sha256:" + std::string(64, c); }

TEST(VerdictLookupSingleFlight, ConcurrentMissesForOneDigestMakeOneStoreCall) {
  const auto dir = std::filesystem::temp_directory_path() / ("imagegate-vl-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto sqlite = verifier::open_sqlite_verdict_store((dir / "v.db").string());
  ASSERT_TRUE(sqlite.ok()) << sqlite.error().message;
  auto store = std::make_shared<CountingStore>(std::move(sqlite).value());
  {
    // ttl 0: nothing cached, so what is shared is the flight alone.
    VerdictLookup lookup(store, 0ms, 4);
    asio::io_context io;
    std::vector<std::optional<Result<std::optional<verifier::ScanVerdict>>>> out(12);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::string d = digest(i < 10 ? 'a' : 'b');
      asio::co_spawn(
          io, [&, i, d]() -> asio::awaitable<void> { out[i].emplace(co_await lookup.get(d)); }, asio::detached);
    }
    std::thread second([&io] { io.run(); });
    io.run();
    second.join();
    for (const auto& r : out) {
      ASSERT_TRUE(r.has_value());
      ASSERT_TRUE(r->ok()) << r->error().message;
      EXPECT_FALSE((*r)->has_value());
    }
    EXPECT_EQ(store->gets.load(), 2) << "one store call for the ten lookups of a, one for the two of b";
    // A later miss is a new flight.
    io.restart();
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { (void)co_await lookup.get(digest('a')); }, asio::detached);
    io.run();
    EXPECT_EQ(store->gets.load(), 3);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace imagegate::webhook
