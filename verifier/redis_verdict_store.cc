// The Redis VerdictStore (hiredis): several imagegate processes share one Redis. Keys:
//   imagegate:verdict:<digest>  -> the verdict's native JSON
//   imagegate:image:<image>     -> sorted set of digests, scored by scan time (for find_by_image)
//   imagegate:inventory         -> sorted set of inventory keys (a JSON array [namespace, kind, name,
//                                  image, digest]), scored by last seen (ZADD GT: only ever moves forward)
//   imagegate:inventory:first   -> hash: inventory key -> first seen (HSETNX: the first writer wins)
// One connection (verifier/redis_connection.h, shared with the shared cache) guarded by a mutex,
// re-established after any error; connect and every command are bounded by a timeout, so a Redis that stops
// answering makes calls fail with `unavailable`, not hang.
// Durability is Redis's: configure appendonly/appendfsync for it.
#include <charconv>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "verifier/redis_connection.h"
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

class RedisVerdictStore final : public VerdictStore {
 public:
  RedisVerdictStore(RedisAddress address, std::chrono::milliseconds timeout)
      : conn_(std::move(address), timeout, "verdict store (redis)") {}

  Status connect_now() {
    std::lock_guard lock(mutex_);
    return conn_.ensure();
  }

  Status put(const ScanVerdict& v) override {
    std::lock_guard lock(mutex_);
    if (Status s = conn_.ensure(); !s) return s;
    const std::string body = to_native_json(v);
    const std::string key = std::string(kVerdictKey) + v.digest;
    const std::string score = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(v.scanned_at.time_since_epoch()).count());
    // MULTI/EXEC: the verdict and its image index change together.
    redisAppendCommand(conn_.context(), "MULTI");
    redisAppendCommand(conn_.context(), "SET %b %b", key.data(), key.size(), body.data(), body.size());
    if (!v.image.empty()) {
      const std::string image_key = std::string(kImageKey) + v.image;
      redisAppendCommand(conn_.context(), "ZADD %b %b %b", image_key.data(), image_key.size(), score.data(), score.size(),
                         v.digest.data(), v.digest.size());
    }
    redisAppendCommand(conn_.context(), "EXEC");
    const int replies = v.image.empty() ? 3 : 4;
    for (int i = 0; i < replies; ++i) {
      void* raw = nullptr;
      if (redisGetReply(conn_.context(), &raw) != REDIS_OK) return conn_.drop("write");
      RedisReply r(static_cast<redisReply*>(raw));
      if (r->type == REDIS_REPLY_ERROR) return Error{ErrorCode::unavailable, "verdict store (redis): " + std::string(r->str, r->len)};
      if (i == replies - 1 && r->type != REDIS_REPLY_ARRAY) return Error{ErrorCode::unavailable, "verdict store (redis): transaction aborted"};
    }
    return Ok{};
  }

  Result<std::optional<ScanVerdict>> get(const std::string& digest) override {
    std::lock_guard lock(mutex_);
    if (Status s = conn_.ensure(); !s) return s.error();
    const std::string key = std::string(kVerdictKey) + digest;
    RedisReply r(static_cast<redisReply*>(redisCommand(conn_.context(), "GET %b", key.data(), key.size())));
    if (!r) return conn_.drop("read");
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
      if (Status s = conn_.ensure(); !s) return s.error();
      const std::string key = std::string(kImageKey) + image;
      const std::string stop = std::to_string(limit == 0 ? 0 : limit - 1);
      RedisReply r(static_cast<redisReply*>(
          redisCommand(conn_.context(), "ZREVRANGE %b 0 %b", key.data(), key.size(), stop.data(), stop.size())));
      if (!r) return conn_.drop("read");
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
    if (Status s = conn_.ensure(); !s) return s;
    // One pipelined MULTI/EXEC per batch: the last-seen index and the first-seen hash change together.
    redisAppendCommand(conn_.context(), "MULTI");
    for (const InventoryEntry& e : entries) {
      const std::string member = inventory_member(e);
      const std::string last = std::to_string(to_seconds(e.last_seen));
      const std::string first = std::to_string(to_seconds(e.first_seen));
      redisAppendCommand(conn_.context(), "ZADD %b GT %b %b", kInventoryKey.data(), kInventoryKey.size(), last.data(),
                         last.size(), member.data(), member.size());
      redisAppendCommand(conn_.context(), "HSETNX %b %b %b", kInventoryFirstKey.data(), kInventoryFirstKey.size(),
                         member.data(), member.size(), first.data(), first.size());
    }
    redisAppendCommand(conn_.context(), "EXEC");
    const std::size_t replies = 2 + 2 * entries.size();
    Status result = Ok{};
    // Every reply is read, even after an error, so the connection stays in step.
    for (std::size_t i = 0; i < replies; ++i) {
      void* raw = nullptr;
      if (redisGetReply(conn_.context(), &raw) != REDIS_OK) return conn_.drop("write inventory");
      RedisReply r(static_cast<redisReply*>(raw));
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
    if (Status s = conn_.ensure(); !s) return s.error();
    std::vector<InventoryEntry> out;
    std::vector<std::string> members;
    for (std::size_t start = 0; out.size() < query.limit && start < kMaxInventoryScan; start += kInventoryPage) {
      const std::string from = std::to_string(start);
      const std::string to = std::to_string(start + kInventoryPage - 1);
      RedisReply r(static_cast<redisReply*>(redisCommand(conn_.context(), "ZREVRANGE %b %b %b WITHSCORES", kInventoryKey.data(),
                                                    kInventoryKey.size(), from.data(), from.size(), to.data(),
                                                    to.size())));
      if (!r) return conn_.drop("read inventory");
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
      redisAppendCommand(conn_.context(), "HGET %b %b", kInventoryFirstKey.data(), kInventoryFirstKey.size(), member.data(),
                         member.size());
    }
    for (InventoryEntry& e : out) {
      void* raw = nullptr;
      if (redisGetReply(conn_.context(), &raw) != REDIS_OK) return conn_.drop("read inventory");
      RedisReply r(static_cast<redisReply*>(raw));
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

  std::mutex mutex_;  // guards conn_
  RedisConnection conn_;
};

}  // namespace

Result<std::unique_ptr<VerdictStore>> open_redis_verdict_store(std::string_view url) {
  auto address = parse_redis_url(url);
  if (!address) return address.error();
  auto store = std::make_unique<RedisVerdictStore>(std::move(address).value(), std::chrono::milliseconds(2'000));
  if (Status s = store->connect_now(); !s) return s.error();
  return std::unique_ptr<VerdictStore>(std::move(store));
}

}  // namespace imagegate::verifier
