// The SQLite VerdictStore: one table keyed by digest, the verdict as native JSON. WAL mode with
// synchronous=FULL, so a put() that returned Ok survives a crash or kill -9 of the process (and power
// loss, as far as the disk honours fsync). Two connections, each guarded by a mutex: one for writes
// (serialised by SQLite anyway) and one for get(), the admission path's lookup, so a review's lookup never
// waits behind a write that waits for the database lock (an inventory batch or a push while another process
// holds the write lock: up to the 5 s busy timeout). In WAL mode a reader is not blocked by a writer.
//
// The inventory is a second table keyed by (namespace, kind, name, image, digest); a batch of sightings
// is one transaction (one fsync), and an upsert keeps the first first_seen and the latest last_seen. An
// update_inventory batch (upserts, replacements, forgotten workloads) is one transaction too.
//
// A third table, verdict_cves(cve, digest), indexes the vulnerability ids of each stored verdict (written
// with it, in its transaction), so "where does CVE-X run" is one indexed query (InventoryQuery::cve). A
// database made before it existed is indexed once when opened.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "verifier/verdict/scan_report.h"
#include "verifier/verdict/verdict_store.h"

namespace imagegate::verifier {

namespace {

Error store_error(sqlite3* db, const std::string& what) {
  return {ErrorCode::unavailable, "verdict store (sqlite): " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory")};
}

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }
  void bind(int i, const std::string& s) { sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

std::int64_t to_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_seconds(std::int64_t s) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(s));
}

std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  if (text == nullptr) return "";
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
}

Result<ScanVerdict> decode(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  const int size = sqlite3_column_bytes(stmt, column);
  if (text == nullptr) return internal_error("verdict store (sqlite): empty row");
  ReportInput in{std::string_view(text, static_cast<std::size_t>(size)), ReportFormat::native, "", "", {}};
  Result<ScanVerdict> v = parse_scan_report(in);
  if (!v) return internal_error("verdict store (sqlite): a stored verdict does not parse: " + v.error().message);
  return v;
}

class SqliteVerdictStore final : public VerdictStore {
 public:
  // `db` takes every write and the other reads; `reader` only get(). The store closes both.
  SqliteVerdictStore(sqlite3* db, sqlite3* reader) : db_(db), reader_(reader) {}
  ~SqliteVerdictStore() override {
    sqlite3_close_v2(reader_);
    sqlite3_close_v2(db_);
  }

  Status put(const ScanVerdict& verdict) override {
    std::lock_guard lock(mutex_);
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return store_error(db_, "begin");
    Status s = write_verdict(verdict);
    if (s && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) s = store_error(db_, "commit");
    if (!s) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }

  Result<std::optional<ScanVerdict>> get(const std::string& digest) override {
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, "SELECT body FROM verdicts WHERE digest = ?1");
    if (st.get() == nullptr) return store_error(reader_, "prepare");
    st.bind(1, digest);
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) return std::optional<ScanVerdict>();
    if (rc != SQLITE_ROW) return store_error(reader_, "read");
    Result<ScanVerdict> v = decode(st.get(), 0);
    if (!v) return v.error();
    return std::optional<ScanVerdict>(std::move(v).value());
  }

  Result<std::vector<ScanVerdict>> find_by_image(const std::string& image, std::size_t limit) override {
    std::lock_guard lock(mutex_);
    Statement st(db_, "SELECT body FROM verdicts WHERE image = ?1 ORDER BY scanned_at DESC LIMIT ?2");
    if (st.get() == nullptr) return store_error(db_, "prepare");
    st.bind(1, image);
    st.bind(2, static_cast<std::int64_t>(limit));
    std::vector<ScanVerdict> out;
    for (;;) {
      const int rc = sqlite3_step(st.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return store_error(db_, "read");
      Result<ScanVerdict> v = decode(st.get(), 0);
      if (!v) return v.error();
      out.push_back(std::move(v).value());
    }
    return out;
  }

  Status record_seen(const std::vector<InventoryEntry>& entries) override {
    if (entries.empty()) return Ok{};
    std::lock_guard lock(mutex_);
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return store_error(db_, "begin");
    Status s = upsert_all(entries);
    if (s && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) s = store_error(db_, "commit");
    if (!s) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }

  Status update_inventory(const std::vector<InventoryUpdate>& updates) override {
    if (Status valid = check_inventory_updates(updates); !valid) return valid;
    if (updates.empty()) return Ok{};
    std::lock_guard lock(mutex_);
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return store_error(db_, "begin");
    Status s = Ok{};
    for (const InventoryUpdate& u : updates) {
      if (u.replace) s = remove_unnamed(u);
      if (s) s = upsert_all(u.entries);
      if (!s) break;
    }
    if (s && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) s = store_error(db_, "commit");
    if (!s) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }

  Result<std::size_t> prune_inventory(std::chrono::system_clock::time_point cutoff) override {
    std::lock_guard lock(mutex_);
    Statement st(db_, "DELETE FROM inventory WHERE last_seen < ?1");
    if (st.get() == nullptr) return store_error(db_, "prepare");
    st.bind(1, to_seconds(cutoff));
    if (sqlite3_step(st.get()) != SQLITE_DONE) return store_error(db_, "prune inventory");
    return static_cast<std::size_t>(sqlite3_changes(db_));
  }

  Result<std::vector<InventoryEntry>> list_inventory(const InventoryQuery& query) override {
    std::lock_guard lock(mutex_);
    // Empty filters match everything: (?1 = '' OR namespace = ?1) keeps one prepared shape.
    Statement st(db_,
                 "SELECT namespace, kind, name, image, digest, first_seen, last_seen FROM inventory "
                 "WHERE (?1 = '' OR namespace = ?1) AND (?2 = '' OR image = ?2) AND (?3 = '' OR digest = ?3) "
                 "AND (?5 = '' OR instr(image, ?5) > 0) "
                 "AND (?6 = '' OR digest IN (SELECT digest FROM verdict_cves WHERE cve = ?6)) "
                 "ORDER BY last_seen DESC, namespace, kind, name, image, digest LIMIT ?4 OFFSET ?7");
    if (st.get() == nullptr) return store_error(db_, "prepare");
    st.bind(1, query.namespace_name);
    st.bind(2, query.image);
    st.bind(3, query.digest);
    st.bind(4, static_cast<std::int64_t>(std::min<std::size_t>(query.limit, INT64_MAX)));
    st.bind(5, query.image_contains);
    st.bind(6, query.cve);
    st.bind(7, static_cast<std::int64_t>(std::min<std::size_t>(query.offset, INT64_MAX)));
    std::vector<InventoryEntry> out;
    for (;;) {
      const int rc = sqlite3_step(st.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return store_error(db_, "read");
      out.push_back({column_text(st.get(), 0), column_text(st.get(), 1), column_text(st.get(), 2),
                     column_text(st.get(), 3), column_text(st.get(), 4),
                     from_seconds(sqlite3_column_int64(st.get(), 5)), from_seconds(sqlite3_column_int64(st.get(), 6))});
    }
    return out;
  }

 private:
  // The verdict row and its vulnerability ids (inside put's transaction).
  Status write_verdict(const ScanVerdict& verdict) {
    Statement st(db_,
                 "INSERT INTO verdicts(digest, image, scanned_at, body) VALUES(?1, ?2, ?3, ?4) "
                 "ON CONFLICT(digest) DO UPDATE SET image=excluded.image, scanned_at=excluded.scanned_at, "
                 "body=excluded.body");
    if (st.get() == nullptr) return store_error(db_, "prepare");
    st.bind(1, verdict.digest);
    st.bind(2, verdict.image);
    st.bind(3, to_seconds(verdict.scanned_at));
    st.bind(4, to_native_json(verdict));
    if (sqlite3_step(st.get()) != SQLITE_DONE) return store_error(db_, "write");
    Statement clear(db_, "DELETE FROM verdict_cves WHERE digest = ?1");
    if (clear.get() == nullptr) return store_error(db_, "prepare");
    clear.bind(1, verdict.digest);
    if (sqlite3_step(clear.get()) != SQLITE_DONE) return store_error(db_, "write");
    Statement add(db_, "INSERT OR IGNORE INTO verdict_cves(cve, digest) VALUES(?1, ?2)");
    if (add.get() == nullptr) return store_error(db_, "prepare");
    for (const Vulnerability& v : verdict.vulnerabilities) {
      sqlite3_reset(add.get());
      add.bind(1, v.id);
      add.bind(2, verdict.digest);
      if (sqlite3_step(add.get()) != SQLITE_DONE) return store_error(db_, "write");
    }
    return Ok{};
  }

  Status upsert_all(const std::vector<InventoryEntry>& entries) {
    Statement st(db_,
                 "INSERT INTO inventory(namespace, kind, name, image, digest, first_seen, last_seen) "
                 "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(namespace, kind, name, image, digest) DO UPDATE SET "
                 "first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)");
    if (st.get() == nullptr) return store_error(db_, "prepare");
    for (const InventoryEntry& e : entries) {
      sqlite3_reset(st.get());
      st.bind(1, e.namespace_name);
      st.bind(2, e.kind);
      st.bind(3, e.name);
      st.bind(4, e.image);
      st.bind(5, e.digest);
      st.bind(6, to_seconds(e.first_seen));
      st.bind(7, to_seconds(e.last_seen));
      if (sqlite3_step(st.get()) != SQLITE_DONE) return store_error(db_, "write inventory");
    }
    return Ok{};
  }

  // The workload's rows that `u` no longer names and that were last seen at or before u.at. The kept
  // (image, digest) pairs are few (a workload's containers), so they are compared here rather than in SQL.
  Status remove_unnamed(const InventoryUpdate& u) {
    std::vector<std::pair<std::string, std::string>> gone;
    {
      Statement st(db_, "SELECT image, digest FROM inventory WHERE namespace = ?1 AND kind = ?2 AND name = ?3 "
                        "AND last_seen <= ?4");
      if (st.get() == nullptr) return store_error(db_, "prepare");
      st.bind(1, u.namespace_name);
      st.bind(2, u.kind);
      st.bind(3, u.name);
      st.bind(4, to_seconds(u.at));
      for (;;) {
        const int rc = sqlite3_step(st.get());
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return store_error(db_, "read inventory");
        std::string image = column_text(st.get(), 0);
        std::string digest = column_text(st.get(), 1);
        const bool named = std::any_of(u.entries.begin(), u.entries.end(), [&](const InventoryEntry& e) {
          return e.image == image && e.digest == digest;
        });
        if (!named) gone.emplace_back(std::move(image), std::move(digest));
      }
    }
    if (gone.empty()) return Ok{};
    Statement del(db_, "DELETE FROM inventory WHERE namespace = ?1 AND kind = ?2 AND name = ?3 AND image = ?4 "
                       "AND digest = ?5");
    if (del.get() == nullptr) return store_error(db_, "prepare");
    for (const auto& [image, digest] : gone) {
      sqlite3_reset(del.get());
      del.bind(1, u.namespace_name);
      del.bind(2, u.kind);
      del.bind(3, u.name);
      del.bind(4, image);
      del.bind(5, digest);
      if (sqlite3_step(del.get()) != SQLITE_DONE) return store_error(db_, "remove inventory");
    }
    return Ok{};
  }

  std::mutex mutex_;
  sqlite3* db_;
  std::mutex read_mutex_;
  sqlite3* reader_;
};

// One connection to `path`, waiting up to 5 s for another process's lock.
Result<sqlite3*> open_connection(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    Error e = store_error(db, "open " + path);
    sqlite3_close_v2(db);
    return e;
  }
  sqlite3_busy_timeout(db, 5'000);  // another process writing: wait, bounded
  return db;
}

}  // namespace

Result<std::unique_ptr<VerdictStore>> open_sqlite_verdict_store(const std::string& path) {
  Result<sqlite3*> db = open_connection(path);
  if (!db) return db.error();
  Result<sqlite3*> reader = open_connection(path);
  if (!reader) {
    sqlite3_close_v2(*db);
    return reader.error();
  }
  auto store = std::make_unique<SqliteVerdictStore>(*db, *reader);
  // WAL: readers don't block the writer; synchronous=FULL: the WAL is fsynced at every commit, so an
  // acknowledged put() survives kill -9 and power loss.
  const char* setup =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
      "CREATE TABLE IF NOT EXISTS verdicts(digest TEXT PRIMARY KEY, image TEXT NOT NULL, "
      "scanned_at INTEGER NOT NULL, body TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS verdicts_image ON verdicts(image, scanned_at);"
      "CREATE TABLE IF NOT EXISTS inventory(namespace TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, "
      "image TEXT NOT NULL, digest TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, "
      "PRIMARY KEY(namespace, kind, name, image, digest));"
      "CREATE INDEX IF NOT EXISTS inventory_last_seen ON inventory(last_seen);"
      "CREATE TABLE IF NOT EXISTS verdict_cves(cve TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY(cve, digest));"
      "CREATE INDEX IF NOT EXISTS verdict_cves_digest ON verdict_cves(digest);"
      // A database from before verdict_cves: its verdicts indexed once (JSON1 is built into SQLite >= 3.38).
      "INSERT OR IGNORE INTO verdict_cves(cve, digest) SELECT json_extract(v.value, '$.id'), vv.digest "
      "FROM (SELECT digest, body FROM verdicts WHERE json_valid(body) AND NOT EXISTS (SELECT 1 FROM verdict_cves)) "
      "AS vv, json_each(vv.body, '$.vulnerabilities') AS v WHERE json_extract(v.value, '$.id') IS NOT NULL;";
  char* message = nullptr;
  if (sqlite3_exec(*db, setup, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return Error{ErrorCode::unavailable, "verdict store (sqlite): set up " + path + ": " + text};
  }
  return std::unique_ptr<VerdictStore>(std::move(store));
}

Status VerdictStore::record_seen(const std::vector<InventoryEntry>& /*entries*/) {
  return invalid_argument("this verdict store keeps no inventory");
}

Result<std::vector<InventoryEntry>> VerdictStore::list_inventory(const InventoryQuery& /*query*/) {
  return invalid_argument("this verdict store keeps no inventory");
}

Status VerdictStore::update_inventory(const std::vector<InventoryUpdate>& /*updates*/) {
  return invalid_argument("this verdict store keeps no inventory");
}

Result<std::size_t> VerdictStore::prune_inventory(std::chrono::system_clock::time_point /*cutoff*/) {
  return invalid_argument("this verdict store keeps no inventory");
}

Status check_inventory_updates(const std::vector<InventoryUpdate>& updates) {
  for (const InventoryUpdate& u : updates) {
    for (const InventoryEntry& e : u.entries) {
      if (e.namespace_name != u.namespace_name || e.kind != u.kind || e.name != u.name) {
        return invalid_argument("inventory update for " + u.namespace_name + "/" + u.kind + "/" + u.name +
                                " carries an entry of " + e.namespace_name + "/" + e.kind + "/" + e.name);
      }
    }
  }
  return Ok{};
}

Result<std::unique_ptr<VerdictStore>> open_verdict_store(std::string_view spec) {
  if (spec.substr(0, 7) == "sqlite:") {
    const std::string path(spec.substr(7));
    if (path.empty()) return invalid_argument("--store sqlite:PATH needs a path");
    return open_sqlite_verdict_store(path);
  }
  if (spec.substr(0, 8) == "redis://") return open_redis_verdict_store(spec);
  return invalid_argument("unknown store \"" + std::string(spec) + "\" (sqlite:PATH or redis://HOST:PORT/DB)");
}

}  // namespace imagegate::verifier
