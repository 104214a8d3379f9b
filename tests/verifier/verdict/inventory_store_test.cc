// The inventory half of the verdict stores (verifier/verdict/sqlite_verdict_store.cc, redis_verdict_store.cc): the
// same table-driven checks run against a real SQLite file and a real redis-server (started on a free
// 127.0.0.1 port, stopped by PID): upsert keeps the first first_seen and the latest last_seen whatever the
// order, filters, limits, newest first, survives reopening; Redis is shared by two connections and a
// stopped Redis is `unavailable`.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tests/test_support.h"
#include "verifier/verdict/verdict_store.h"

namespace imagegate::verifier {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

system_clock::time_point at(int seconds) { return system_clock::time_point(std::chrono::seconds(1'700'000'000 + seconds)); }

InventoryEntry entry(std::string ns, std::string name, std::string image, char digest, int first, int last) {
  return {std::move(ns), "Deployment", std::move(name), std::move(image), "sha256:" + std::string(64, digest),
          at(first), at(last)};
}

// Opens (and, called again, reopens) the store at `url` under test; a test failure and null when it cannot.
std::function<std::unique_ptr<VerdictStore>()> store_at(std::string url) {
  return [url = std::move(url)]() -> std::unique_ptr<VerdictStore> {
    auto s = open_verdict_store(url);
    if (!s) ADD_FAILURE() << s.error().message;
    return s ? std::move(s).value() : nullptr;
  };
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
      {"namespace", {"prod", "", "", 100, "", "", 0}, 2},
      {"image", {"", "docker.io/library/nginx:1.25", "", 100, "", "", 0}, 2},
      {"namespace and image", {"dev", "docker.io/library/nginx:1.25", "", 100, "", "", 0}, 1},
      {"digest", {"", "", "sha256:" + std::string(64, 'b'), 100, "", "", 0}, 1},
      {"no match", {"staging", "", "", 100, "", "", 0}, 0},
      {"limit", {"", "", "", 2, "", "", 0}, 2},
      {"a substring of the image", {"", "", "", 100, "nginx", "", 0}, 2},
      {"no image holds the substring", {"", "", "", 100, "NGINX", "", 0}, 0},
      {"offset", {"", "", "", 100, "", "", 1}, 2},
      {"offset and limit", {"", "", "", 1, "", "", 2}, 1},
      {"offset past the end", {"", "", "", 100, "", "", 3}, 0},
      {"a CVE no verdict lists", {"", "", "", 100, "", "CVE-2024-3094", 0}, 0},
  };
  for (const Case& c : cases) {
    auto got = store->list_inventory(c.query);
    ASSERT_TRUE(got.ok()) << c.name;
    EXPECT_EQ(got->size(), c.expected) << c.name;
  }
  // ?cve=: the digests whose stored verdict lists the id (digest a runs in prod/web and dev/web), paged.
  ScanVerdict listed;
  listed.digest = "sha256:" + std::string(64, 'a');
  listed.scanner = "test";
  listed.vulnerabilities.push_back({"CVE-2024-3094", Severity::critical, std::nullopt, "xz-utils", "5.6.0", "5.6.2"});
  ASSERT_TRUE(store->put(listed).ok());
  auto by_cve = store->list_inventory({"", "", "", 100, "", "CVE-2024-3094", 0});
  ASSERT_TRUE(by_cve.ok()) << by_cve.error().message;
  ASSERT_EQ(by_cve->size(), 2U);
  EXPECT_EQ((*by_cve)[0].namespace_name, "prod");
  auto second = store->list_inventory({"", "", "", 1, "", "CVE-2024-3094", 1});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 1U);
  EXPECT_EQ((*second)[0].namespace_name, "dev");
  // A new verdict for the digest replaces its ids.
  listed.vulnerabilities[0].id = "CVE-2025-0001";
  ASSERT_TRUE(store->put(listed).ok());
  EXPECT_TRUE(store->list_inventory({"", "", "", 100, "", "CVE-2024-3094", 0})->empty());
  EXPECT_EQ(store->list_inventory({"", "", "", 100, "", "CVE-2025-0001", 0})->size(), 2U);

  // Another connection (another imagegate process) sees the same inventory.
  auto other = reopen();
  auto again = other->list_inventory({"prod", "", "", 100, "", "", 0});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 2U);
}

TEST(InventoryStore, Sqlite) {
  const fs::path dir = fs::temp_directory_path() / ("imagegate-inventory-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "verdicts.db").string();
  check_inventory(store_at("sqlite:" + path));
  fs::remove_all(dir);
}

TEST(InventoryStore, Redis) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running()) << "redis-server not found";
  const std::string url = redis.url(3);
  check_inventory(store_at(url));
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

// ---- lifecycle: updates replace, deletions forget, prune (update_inventory, prune_inventory) -----------

InventoryEntry workload_entry(std::string kind, std::string name, char digest, int first, int last) {
  return {"prod", std::move(kind), std::move(name), "reg.example.com/app:" + std::string(1, digest),
          "sha256:" + std::string(64, digest), at(first), at(last)};
}

InventoryUpdate update(std::string kind, std::string name, bool replace, int when, std::vector<InventoryEntry> entries) {
  return {"prod", std::move(kind), std::move(name), replace, at(when), std::move(entries)};
}

// "Kind/name=digest-char" for every entry, sorted, so a case compares one string.
std::string listing(VerdictStore& store) {
  auto all = store.list_inventory({});
  if (!all) return "error: " + all.error().message;
  std::vector<std::string> items;
  for (const auto& e : *all) items.push_back(e.kind + "/" + e.name + "=" + e.digest.substr(7, 1));
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : " ") + i;
  return out;
}

void check_lifecycle(const std::function<std::unique_ptr<VerdictStore>()>& reopen) {
  auto store = reopen();
  ASSERT_TRUE(store);
  // CREATE: merge (upsert) as record_seen.
  ASSERT_TRUE(store->update_inventory({update("Deployment", "web", false, 10, {workload_entry("Deployment", "web", 'a', 10, 10),
                                                                               workload_entry("Deployment", "web", 'b', 10, 10)}),
                                       update("Deployment", "api", false, 10, {workload_entry("Deployment", "api", 'c', 10, 10)}),
                                       update("Pod", "web-7d9f-", false, 11, {workload_entry("Pod", "web-7d9f-", 'a', 11, 11)})})
                  .ok());
  EXPECT_EQ(listing(*store), "Deployment/api=c Deployment/web=a Deployment/web=b Pod/web-7d9f-=a");

  // UPDATE: web now runs a (still) and d (new); b is gone; a keeps its first_seen.
  ASSERT_TRUE(store->update_inventory({update("Deployment", "web", true, 20, {workload_entry("Deployment", "web", 'a', 20, 20),
                                                                              workload_entry("Deployment", "web", 'd', 20, 20)})})
                  .ok());
  EXPECT_EQ(listing(*store), "Deployment/api=c Deployment/web=a Deployment/web=d Pod/web-7d9f-=a");
  auto web = store->list_inventory({"prod", "reg.example.com/app:a", "", 10, "", "", 0});
  ASSERT_TRUE(web.ok());
  for (const auto& e : *web) {
    if (e.kind == "Deployment") {
      EXPECT_EQ(e.first_seen, at(10));
      EXPECT_EQ(e.last_seen, at(20));
    }
  }

  // An older replace recorded late (another replica, out of order) removes nothing seen after it.
  ASSERT_TRUE(store->update_inventory({update("Deployment", "web", true, 15, {workload_entry("Deployment", "web", 'e', 15, 15)})}).ok());
  EXPECT_EQ(listing(*store), "Deployment/api=c Deployment/web=a Deployment/web=d Deployment/web=e Pod/web-7d9f-=a");
  ASSERT_TRUE(store->update_inventory({update("Deployment", "web", true, 21, {workload_entry("Deployment", "web", 'a', 21, 21),
                                                                              workload_entry("Deployment", "web", 'd', 21, 21)})})
                  .ok());
  EXPECT_EQ(listing(*store), "Deployment/api=c Deployment/web=a Deployment/web=d Pod/web-7d9f-=a");

  // DELETE: a replace with nothing forgets the workload, and only it (same name, other kind stays).
  ASSERT_TRUE(store->update_inventory({update("Deployment", "web", true, 30, {})}).ok());
  EXPECT_EQ(listing(*store), "Deployment/api=c Pod/web-7d9f-=a");
  // Forgetting what is not there, or an earlier deletion arriving late, changes nothing.
  ASSERT_TRUE(store->update_inventory({update("Deployment", "ghost", true, 30, {}), update("Deployment", "api", true, 5, {})}).ok());
  EXPECT_EQ(listing(*store), "Deployment/api=c Pod/web-7d9f-=a");

  // In one batch, in order: forget then re-create the same name -> only the new entry.
  ASSERT_TRUE(store->update_inventory({update("Deployment", "api", true, 40, {}),
                                       update("Deployment", "api", false, 40, {workload_entry("Deployment", "api", 'f', 40, 40)})})
                  .ok());
  EXPECT_EQ(listing(*store), "Deployment/api=f Pod/web-7d9f-=a");

  // A batch with a mismatched entry is refused whole.
  const Status refused = store->update_inventory({update("Deployment", "api", true, 50, {}),
                                                  update("Deployment", "x", false, 50, {workload_entry("Deployment", "y", 'g', 50, 50)})});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(listing(*store), "Deployment/api=f Pod/web-7d9f-=a");
  ASSERT_TRUE(store->update_inventory({}).ok());

  // Another connection sees the same.
  auto other = reopen();
  EXPECT_EQ(listing(*other), "Deployment/api=f Pod/web-7d9f-=a");

  // Prune: strictly older than the cutoff.
  auto pruned = store->prune_inventory(at(11));
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 0U);
  pruned = store->prune_inventory(at(12));
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1U);
  EXPECT_EQ(listing(*store), "Deployment/api=f");
  // A workload pruned and then forgotten or replaced: nothing left to remove, no error.
  ASSERT_TRUE(store->update_inventory({update("Pod", "web-7d9f-", true, 60, {})}).ok());
  pruned = store->prune_inventory(at(1'000));
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1U);
  EXPECT_EQ(listing(*store), "");
}

TEST(InventoryStore, SqliteLifecycle) {
  const fs::path dir = fs::temp_directory_path() / ("imagegate-inventory-life-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "verdicts.db").string();
  check_lifecycle(store_at("sqlite:" + path));
  fs::remove_all(dir);
}

TEST(InventoryStore, RedisLifecycle) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running()) << "redis-server not found";
  const std::string url = redis.url(4);
  check_lifecycle(store_at(url));
  auto store = open_verdict_store(url);
  ASSERT_TRUE(store.ok());
  redis.stop();
  const Status written = (*store)->update_inventory({update("Deployment", "web", true, 1, {})});
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::unavailable);
  auto pruned = (*store)->prune_inventory(at(1));
  ASSERT_FALSE(pruned.ok());
  EXPECT_EQ(pruned.error().code, ErrorCode::unavailable);
}

// Entries an older imagegate wrote (no workload index) are found by the first replacement or deletion: the
// index is backfilled from the last-seen set once. The legacy keys are written with redis-cli, as the older
// version did (ZADD + HSETNX only).
TEST(InventoryStore, RedisIndexesEntriesWrittenBeforeTheIndex) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running()) << "redis-server not found";
  const fs::path log = fs::temp_directory_path() / ("imagegate-redis-cli-" + std::to_string(::getpid()) + ".log");
  const std::string port = std::to_string(redis.port());
  const std::string legacy_web = R"(["prod","Deployment","web","reg.example.com/app:a",")" + ("sha256:" + std::string(64, 'a')) + "\"]";
  const std::string legacy_api = R"(["prod","Deployment","api","reg.example.com/app:c",")" + ("sha256:" + std::string(64, 'c')) + "\"]";
  for (const std::string& member : {legacy_web, legacy_api}) {
    ASSERT_EQ(testing::run_command({"redis-cli", "-p", port, "-n", "5", "ZADD", "imagegate:inventory", std::to_string(1'700'000'010), member}, log), 0)
        << testing::read_file(log);
    ASSERT_EQ(testing::run_command({"redis-cli", "-p", port, "-n", "5", "HSETNX", "imagegate:inventory:first", member, std::to_string(1'700'000'010)}, log), 0);
  }
  auto store = open_verdict_store(redis.url(5));
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(listing(**store), "Deployment/api=c Deployment/web=a");
  // A CREATE alone needs no index; the DELETE of web finds the legacy key, and only it.
  ASSERT_TRUE((*store)->update_inventory({update("Deployment", "new", false, 20, {workload_entry("Deployment", "new", 'd', 20, 20)})}).ok());
  ASSERT_TRUE((*store)->update_inventory({update("Deployment", "web", true, 30, {})}).ok());
  EXPECT_EQ(listing(**store), "Deployment/api=c Deployment/new=d");
  // Another connection (another replica) sees the index complete and replaces the legacy api entry.
  auto other = open_verdict_store(redis.url(5));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->update_inventory({update("Deployment", "api", true, 30, {workload_entry("Deployment", "api", 'e', 30, 30)})}).ok());
  EXPECT_EQ(listing(**other), "Deployment/api=e Deployment/new=d");
  fs::remove(log);
}

}  // namespace
}  // namespace imagegate::verifier
