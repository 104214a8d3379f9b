// Tests verifier/verdict/sqlite_verdict_store.cc on a real SQLite file: put/get/replace, find by image, WAL and
// synchronous=FULL are in effect, a second connection (another process's view) sees acknowledged writes,
// an unopenable path is unavailable, and bad store specs are refused. A lookup is not held up by a write
// that waits for another process's lock (the fault matrix's "SQLite locked" row, tests/e2e).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include "verifier/verdict/verdict_store.h"

namespace imagegate::verifier {
namespace {

std::string digest(char c) { return "sha256:" + std::string(64, c); }

ScanVerdict verdict(char c, std::string image, int hours_ago) {
  ScanVerdict v;
  v.digest = digest(c);
  v.image = std::move(image);
  v.scanner = "trivy 0.50";
  v.scanned_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) -
                 std::chrono::hours(hours_ago);
  v.vulnerabilities.push_back({"CVE-2024-1", Severity::high, 7.5, "openssl", "1.0", "1.1"});
  v.secrets.push_back({"aws", Severity::critical, "AWS key", "x"});
  return v;
}

class SqliteStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("imagegate-sqlite-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SqliteStore, PutGetReplaceFind) {
  const std::string path = (dir_ / "v.db").string();
  auto store = open_verdict_store("sqlite:" + path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto none = (*store)->get(digest('a'));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE((*store)->put(verdict('a', "reg/app:1", 5)).ok());
  ASSERT_TRUE((*store)->put(verdict('b', "reg/app:1", 1)).ok());
  ASSERT_TRUE((*store)->put(verdict('c', "reg/other:1", 1)).ok());
  auto got = (*store)->get(digest('a'));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((**got).vulnerabilities.at(0).id, "CVE-2024-1");
  EXPECT_EQ((**got).vulnerabilities.at(0).cvss, 7.5);
  EXPECT_EQ((**got).secrets.size(), 1u);
  EXPECT_EQ((**got).scanned_at, verdict('a', "", 5).scanned_at);

  ScanVerdict clean = verdict('a', "reg/app:2", 0);
  clean.vulnerabilities.clear();
  ASSERT_TRUE((*store)->put(clean).ok());
  got = (*store)->get(digest('a'));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((**got).vulnerabilities.empty());
  EXPECT_EQ((**got).image, "reg/app:2");

  auto found = (*store)->find_by_image("reg/app:1", 10);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->at(0).digest, digest('b'));
  EXPECT_EQ((*store)->find_by_image("reg/none", 10)->size(), 0u);

  // Reopened (a restart), everything acknowledged is there; the journal is WAL, synchronous FULL.
  store = open_verdict_store("sqlite:" + path);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->get(digest('c'))->has_value());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))), "wal");
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db, "SELECT count(*) FROM verdicts", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 3);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// Another process holds the write lock: a write waits (up to the busy timeout, then fails), and a lookup
// made meanwhile answers at once, from its own connection (WAL readers do not wait for writers).
TEST_F(SqliteStore, LookupsDoNotWaitBehindAWriteBlockedByAnotherProcess) {
  const std::string path = (dir_ / "v.db").string();
  auto store = open_verdict_store("sqlite:" + path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->put(verdict('a', "reg/app:1", 1)).ok());

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE; DELETE FROM verdicts WHERE digest = 'x'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  std::atomic<bool> write_started = false;
  std::atomic<bool> write_done = false;
  std::thread writer([&] {
    write_started = true;
    (void)(*store)->put(verdict('b', "reg/app:2", 0));  // blocks on `other`'s lock
    write_done = true;
  });
  while (!write_started) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let put() reach the lock
  ASSERT_FALSE(write_done) << "the write was not held by the other connection's lock";
  auto got = (*store)->get(digest('a'));
  const bool answered_while_blocked = !write_done;
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(got->has_value());
  EXPECT_TRUE(answered_while_blocked) << "the lookup waited for the blocked write";
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  writer.join();
  sqlite3_close(other);
  auto after = (*store)->get(digest('b'));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->has_value()) << "the write went through once the lock was released";
}

TEST_F(SqliteStore, Unavailable) {
  auto bad = open_verdict_store("sqlite:" + (dir_ / "no" / "such" / "dir" / "v.db").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::unavailable);
  EXPECT_EQ(open_verdict_store("sqlite:").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(open_verdict_store("mysql://x").error().code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace imagegate::verifier
