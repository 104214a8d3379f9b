// The Redis VerdictStore (hiredis): several imagegate processes share one Redis. Keys:
//   imagegate:verdict:<digest>  -> the verdict's native JSON
//   imagegate:image:<image>     -> sorted set of digests, scored by scan time (for find_by_image)
//   imagegate:inventory         -> sorted set of inventory keys (a JSON array [namespace, kind, name,
//                                  image, digest]), scored by last seen (ZADD GT: only ever moves forward)
//   imagegate:inventory:first   -> hash: inventory key -> first seen (HSETNX: the first writer wins)
// One connection guarded by a mutex, re-established after any error; connect and every command are
// bounded by a timeout, so a Redis that stops answering makes calls fail with `unavailable`, not hang.
// Durability is Redis's: configure appendonly/appendfsync for it.
#include <hiredis.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "verifier/scan_report.h"
#include "verifier/verdict_store.h"

namespace imagegate::verifier {

namespace {

constexpr std::string_view kVerdictKey = "imagegate:verdict:";
constexpr std::string_view kImageKey = "imagegate:image:";
constexpr std::string_view kInventoryKey = "imagegate:inventory";
constexpr std::string_view kInventoryFirstKey = "imagegate:inventory:first";
// list_inventory filters client-side: it reads the sorted set in pages, newest first, up to this many keys.
constexpr std::size_t kInventoryPage = 1000;
constexpr std::size_t kMaxInventoryScan = 200'000;

std::int64_t to_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string inventory_member(const InventoryEntry& e) {
  return nlohmann::json::array({e.namespace_name, e.kind, e.name, e.image, e.digest})
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The key back into an entry; false when the member is not one of ours.
bool parse_member(std::string_view member, InventoryEntry& e) {
  const auto j = nlohmann::json::parse(member, nullptr, false);
  if (!j.is_array() || j.size() != 5) return false;
  for (const auto& part : j) {
    if (!part.is_string()) return false;
  }
  e.namespace_name = j[0].get<std::string>();
  e.kind = j[1].get<std::string>();
  e.name = j[2].get<std::string>();
  e.image = j[3].get<std::string>();
  e.digest = j[4].get<std::string>();
  return true;
}

std::optional<std::int64_t> to_int(const redisReply* r) {
  if (r == nullptr) return std::nullopt;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  std::int64_t v = 0;
  // Scores come back as decimal strings ("1700000000"); anything after the integer part is ignored.
  auto [p, ec] = std::from_chars(r->str, r->str + r->len, v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisVerdictStore final : public VerdictStore {
 public:
  RedisVerdictStore(std::string host, int port, int db, std::chrono::milliseconds timeout)
      : host_(std::move(host)), port_(port), db_(db), timeout_(timeout) {}
  ~RedisVerdictStore() override {
    if (ctx_ != nullptr) redisFree(ctx_);
  }

  Status connect_now() {
    std::lock_guard lock(mutex_);
    return ensure();
  }

  Status put(const ScanVerdict& v) override {
    std::lock_guard lock(mutex_);
    if (Status s = ensure(); !s) return s;
    const std::string body = to_native_json(v);
    const std::string key = std::string(kVerdictKey) + v.digest;
    const std::string score = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(v.scanned_at.time_since_epoch()).count());
    // MULTI/EXEC: the verdict and its image index change together.
    redisAppendCommand(ctx_, "MULTI");
    redisAppendCommand(ctx_, "SET %b %b", key.data(), key.size(), body.data(), body.size());
    if (!v.image.empty()) {
      const std::string image_key = std::string(kImageKey) + v.image;
      redisAppendCommand(ctx_, "ZADD %b %b %b", image_key.data(), image_key.size(), score.data(), score.size(),
                         v.digest.data(), v.digest.size());
    }
    redisAppendCommand(ctx_, "EXEC");
    const int replies = v.image.empty() ? 3 : 4;
    for (int i = 0; i < replies; ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_, &raw) != REDIS_OK) return drop("write");
      Reply r(static_cast<redisReply*>(raw));
      if (r->type == REDIS_REPLY_ERROR) return Error{ErrorCode::unavailable, "verdict store (redis): " + std::string(r->str, r->len)};
      if (i == replies - 1 && r->type != REDIS_REPLY_ARRAY) return Error{ErrorCode::unavailable, "verdict store (redis): transaction aborted"};
    }
    return Ok{};
  }

  Result<std::optional<ScanVerdict>> get(const std::string& digest) override {
    std::lock_guard lock(mutex_);
    if (Status s = ensure(); !s) return s.error();
    const std::string key = std::string(kVerdictKey) + digest;
    Reply r(static_cast<redisReply*>(redisCommand(ctx_, "GET %b", key.data(), key.size())));
    if (!r) return drop("read");
    if (r->type == REDIS_REPLY_NIL) return std::optional<ScanVerdict>();
    if (r->type != REDIS_REPLY_STRING) return Error{ErrorCode::unavailable, "verdict store (redis): unexpected reply"};
    auto v = decode(std::string_view(r->str, r->len));
    if (!v) return v.error();
    return std::optional<ScanVerdict>(std::move(v).value());
  }

  Result<std::vector<ScanVerdict>> find_by_image(const std::string& image, std::size_t limit) override {
    std::vector<std::string> digests;
    {
      std::lock_guard lock(mutex_);
      if (Status s = ensure(); !s) return s.error();
      const std::string key = std::string(kImageKey) + image;
      const std::string stop = std::to_string(limit == 0 ? 0 : limit - 1);
      Reply r(static_cast<redisReply*>(
          redisCommand(ctx_, "ZREVRANGE %b 0 %b", key.data(), key.size(), stop.data(), stop.size())));
      if (!r) return drop("read");
      if (r->type != REDIS_REPLY_ARRAY) return Error{ErrorCode::unavailable, "verdict store (redis): unexpected reply"};
      for (std::size_t i = 0; i < r->elements; ++i) {
        if (r->element[i]->type == REDIS_REPLY_STRING) digests.emplace_back(r->element[i]->str, r->element[i]->len);
      }
    }
    std::vector<ScanVerdict> out;
    for (const std::string& d : digests) {
      auto v = get(d);
      if (!v) return v.error();
      // Replaced since for another image: the verdict belongs to its newest push.
      if (v->has_value() && (**v).image == image) out.push_back(std::move(**v));
    }
    return out;
  }

  Status record_seen(const std::vector<InventoryEntry>& entries) override {
    if (entries.empty()) return Ok{};
    std::lock_guard lock(mutex_);
    if (Status s = ensure(); !s) return s;
    // One pipelined MULTI/EXEC per batch: the last-seen index and the first-seen hash change together.
    redisAppendCommand(ctx_, "MULTI");
    for (const InventoryEntry& e : entries) {
      const std::string member = inventory_member(e);
      const std::string last = std::to_string(to_seconds(e.last_seen));
      const std::string first = std::to_string(to_seconds(e.first_seen));
      redisAppendCommand(ctx_, "ZADD %b GT %b %b", kInventoryKey.data(), kInventoryKey.size(), last.data(),
                         last.size(), member.data(), member.size());
      redisAppendCommand(ctx_, "HSETNX %b %b %b", kInventoryFirstKey.data(), kInventoryFirstKey.size(),
                         member.data(), member.size(), first.data(), first.size());
    }
    redisAppendCommand(ctx_, "EXEC");
    const std::size_t replies = 2 + 2 * entries.size();
    Status result = Ok{};
    // Every reply is read, even after an error, so the connection stays in step.
    for (std::size_t i = 0; i < replies; ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_, &raw) != REDIS_OK) return drop("write inventory");
      Reply r(static_cast<redisReply*>(raw));
      if (!result) continue;
      if (r->type == REDIS_REPLY_ERROR) {
        result = Error{ErrorCode::unavailable, "verdict store (redis): " + std::string(r->str, r->len)};
      } else if (i == replies - 1 && r->type != REDIS_REPLY_ARRAY) {
        result = Error{ErrorCode::unavailable, "verdict store (redis): transaction aborted"};
      }
    }
    return result;
  }

  Result<std::vector<InventoryEntry>> list_inventory(const InventoryQuery& query) override {
    std::lock_guard lock(mutex_);
    if (Status s = ensure(); !s) return s.error();
    std::vector<InventoryEntry> out;
    std::vector<std::string> members;
    for (std::size_t start = 0; out.size() < query.limit && start < kMaxInventoryScan; start += kInventoryPage) {
      const std::string from = std::to_string(start);
      const std::string to = std::to_string(start + kInventoryPage - 1);
      Reply r(static_cast<redisReply*>(redisCommand(ctx_, "ZREVRANGE %b %b %b WITHSCORES", kInventoryKey.data(),
                                                    kInventoryKey.size(), from.data(), from.size(), to.data(),
                                                    to.size())));
      if (!r) return drop("read inventory");
      if (r->type != REDIS_REPLY_ARRAY) return Error{ErrorCode::unavailable, "verdict store (redis): unexpected reply"};
      for (std::size_t i = 0; i + 1 < r->elements && out.size() < query.limit; i += 2) {
        const redisReply* m = r->element[i];
        if (m->type != REDIS_REPLY_STRING) continue;
        InventoryEntry e;
        if (!parse_member(std::string_view(m->str, m->len), e)) continue;
        if ((!query.namespace_name.empty() && e.namespace_name != query.namespace_name) ||
            (!query.image.empty() && e.image != query.image) || (!query.digest.empty() && e.digest != query.digest)) {
          continue;
        }
        const auto last = to_int(r->element[i + 1]);
        e.last_seen = std::chrono::system_clock::time_point(std::chrono::seconds(last.value_or(0)));
        e.first_seen = e.last_seen;
        members.emplace_back(m->str, m->len);
        out.push_back(std::move(e));
      }
      if (r->elements < 2 * kInventoryPage) break;
    }
    // First-seen times, pipelined.
    for (const std::string& member : members) {
      redisAppendCommand(ctx_, "HGET %b %b", kInventoryFirstKey.data(), kInventoryFirstKey.size(), member.data(),
                         member.size());
    }
    for (InventoryEntry& e : out) {
      void* raw = nullptr;
      if (redisGetReply(ctx_, &raw) != REDIS_OK) return drop("read inventory");
      Reply r(static_cast<redisReply*>(raw));
      if (const auto first = to_int(r.get())) {
        e.first_seen = std::chrono::system_clock::time_point(std::chrono::seconds(*first));
      }
    }
    return out;
  }

 private:
  static Result<ScanVerdict> decode(std::string_view body) {
    auto v = parse_scan_report({body, ReportFormat::native, "", "", {}});
    if (!v) return internal_error("verdict store (redis): a stored verdict does not parse: " + v.error().message);
    return v;
  }

  Error drop(const std::string& what) {
    std::string message = "verdict store (redis): " + what + ": " + (ctx_ != nullptr && ctx_->errstr[0] ? ctx_->errstr : "connection lost");
    if (ctx_ != nullptr) redisFree(ctx_);
    ctx_ = nullptr;
    return Error{ErrorCode::unavailable, std::move(message)};
  }

  Status ensure() {
    if (ctx_ != nullptr) return Ok{};
    const timeval tv{static_cast<time_t>(timeout_.count() / 1000), static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
    ctx_ = redisConnectWithTimeout(host_.c_str(), port_, tv);
    if (ctx_ == nullptr || ctx_->err != 0) return drop("connect to " + host_ + ":" + std::to_string(port_));
    redisSetTimeout(ctx_, tv);
    if (db_ != 0) {
      Reply r(static_cast<redisReply*>(redisCommand(ctx_, "SELECT %d", db_)));
      if (!r || r->type == REDIS_REPLY_ERROR) return drop("select db " + std::to_string(db_));
    }
    return Ok{};
  }

  std::mutex mutex_;  // guards ctx_
  std::string host_;
  int port_;
  int db_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<VerdictStore>> open_redis_verdict_store(std::string_view url) {
  // redis://HOST:PORT[/DB]
  std::string_view rest = url.substr(8);
  int db = 0;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view d = rest.substr(slash + 1);
    if (!d.empty()) {
      auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), db);
      if (ec != std::errc() || p != d.data() + d.size() || db < 0 || db > 15) return invalid_argument("bad Redis DB in " + std::string(url));
    }
    rest = rest.substr(0, slash);
  }
  int port = 6379;
  std::string host(rest);
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = std::string(rest.substr(0, colon));
    const std::string_view p = rest.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || ptr != p.data() + p.size() || port <= 0 || port > 65535) return invalid_argument("bad Redis port in " + std::string(url));
  }
  if (host.empty()) return invalid_argument("no Redis host in " + std::string(url));
  auto store = std::make_unique<RedisVerdictStore>(host, port, db, std::chrono::milliseconds(2'000));
  if (Status s = store->connect_now(); !s) return s.error();
  return std::unique_ptr<VerdictStore>(std::move(store));
}

}  // namespace imagegate::verifier
