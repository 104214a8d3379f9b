// The inventory half of the verdict stores (verifier/sqlite_verdict_store.cc, redis_verdict_store.cc): the
// same table-driven checks run against a real SQLite file and a real redis-server (started on a free
// 127.0.0.1 port, stopped by PID): upsert keeps the first first_seen and the latest last_seen whatever the
// order, filters, limits, newest first, survives reopening; Redis is shared by two connections and a
// stopped Redis is `unavailable`.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "verifier/verdict_store.h"

extern char** environ;

namespace imagegate::verifier {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class Redis {
 public:
  explicit Redis(int port) : port_(port) {
    const std::string p = std::to_string(port_);
    const char* argv[] = {"redis-server", "--port", p.c_str(), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", nullptr};
    if (posix_spawnp(&pid_, "redis-server", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) pid_ = -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ~Redis() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool running() const { return pid_ > 0; }

 private:
  int port_;
  pid_t pid_ = -1;
};

system_clock::time_point at(int seconds) { return system_clock::time_point(std::chrono::seconds(1'700'000'000 + seconds)); }

InventoryEntry entry(std::string ns, std::string name, std::string image, char digest, int first, int last) {
  return {std::move(ns), "Deployment", std::move(name), std::move(image), "sha256:" + std::string(64, digest),
          at(first), at(last)};
}

// The checks every store must pass; `reopen` gives a fresh connection to the same store.
void check_inventory(const std::function<std::unique_ptr<VerdictStore>()>& reopen) {
  auto store = reopen();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->record_seen({entry("prod", "web", "docker.io/library/nginx:1.25", 'a', 10, 10),
                                  entry("prod", "api", "reg.example.com/api:1", 'b', 20, 20),
                                  entry("dev", "web", "docker.io/library/nginx:1.25", 'a', 30, 30)})
                  .ok());
  // Seen again later, and (another replica, out of order) earlier: first_seen keeps the first, last_seen the latest.
  ASSERT_TRUE(store->record_seen({entry("prod", "web", "docker.io/library/nginx:1.25", 'a', 50, 50)}).ok());
  ASSERT_TRUE(store->record_seen({entry("prod", "web", "docker.io/library/nginx:1.25", 'a', 40, 40)}).ok());
  ASSERT_TRUE(store->record_seen({}).ok());

  auto all = store->list_inventory({});
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 3U);
  EXPECT_EQ((*all)[0].name, "web");  // newest last_seen first
  EXPECT_EQ((*all)[0].namespace_name, "prod");
  EXPECT_EQ((*all)[0].kind, "Deployment");
  EXPECT_EQ((*all)[0].first_seen, at(10));
  EXPECT_EQ((*all)[0].last_seen, at(50));
  EXPECT_EQ((*all)[1].namespace_name, "dev");
  EXPECT_EQ((*all)[2].name, "api");

  struct Case {
    const char* name;
    InventoryQuery query;
    std::size_t expected;
  };
  const Case cases[] = {
      {"namespace", {"prod", "", "", 100}, 2},
      {"image", {"", "docker.io/library/nginx:1.25", "", 100}, 2},
      {"namespace and image", {"dev", "docker.io/library/nginx:1.25", "", 100}, 1},
      {"digest", {"", "", "sha256:" + std::string(64, 'b'), 100}, 1},
      {"no match", {"staging", "", "", 100}, 0},
      {"limit", {"", "", "", 2}, 2},
  };
  for (const Case& c : cases) {
    auto got = store->list_inventory(c.query);
    ASSERT_TRUE(got.ok()) << c.name;
    EXPECT_EQ(got->size(), c.expected) << c.name;
  }

  // Another connection (another imagegate process) sees the same inventory.
  auto other = reopen();
  auto again = other->list_inventory({"prod", "", "", 100});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 2U);
}

TEST(InventoryStore, Sqlite) {
  const fs::path dir = fs::temp_directory_path() / ("imagegate-inventory-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "verdicts.db").string();
  check_inventory([&path]() -> std::unique_ptr<VerdictStore> {
    auto s = open_verdict_store("sqlite:" + path);
    if (!s) ADD_FAILURE() << s.error().message;
    return s ? std::move(s).value() : nullptr;
  });
  fs::remove_all(dir);
}

TEST(InventoryStore, Redis) {
  const int port = free_port();
  Redis redis(port);
  ASSERT_TRUE(redis.running()) << "redis-server not found";
  const std::string url = "redis://127.0.0.1:" + std::to_string(port) + "/3";
  check_inventory([&url]() -> std::unique_ptr<VerdictStore> {
    auto s = open_verdict_store(url);
    if (!s) ADD_FAILURE() << s.error().message;
    return s ? std::move(s).value() : nullptr;
  });
  auto store = open_verdict_store(url);
  ASSERT_TRUE(store.ok());
  redis.stop();
  const Status written = (*store)->record_seen({entry("prod", "web", "x", 'c', 1, 1)});
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::unavailable);
  auto listed = (*store)->list_inventory({});
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code, ErrorCode::unavailable);
}

}  // namespace
}  // namespace imagegate::verifier
