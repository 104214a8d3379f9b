// The Redis VerdictStore (hiredis): several imagegate processes share one Redis. Keys:
//   imagegate:verdict:<digest>  -> the verdict's native JSON
//   imagegate:image:<image>     -> sorted set of digests, scored by scan time (for find_by_image)
//   imagegate:inventory         -> sorted set of inventory keys (a JSON array [namespace, kind, name,
//                                  image, digest]), scored by last seen (ZADD GT: only ever moves forward)
//   imagegate:inventory:first   -> hash: inventory key -> first seen (HSETNX: the first writer wins)
//   imagegate:inventory:workloads -> the same inventory keys, all scored 0: a lexicographic index in which
//                                  a workload's keys are one range (the prefix ["ns","kind","name",), so
//                                  an UPDATE or DELETE finds them without reading the whole inventory
//   imagegate:inventory:workloads:complete -> set once the index holds every key written before it
//                                  existed (backfilled by the first replacement or deletion)
// A replacement or deletion runs as a Lua script inside the batch's MULTI/EXEC, so it reads a workload's
// keys and removes them atomically, whatever other replicas write meanwhile.
// One connection (verifier/redis/redis_connection.h, shared with the shared cache) guarded by a mutex,
// re-established after any error; connect and every command are bounded by a timeout, so a Redis that stops
// answering makes calls fail with `unavailable`, not hang.
// Durability is Redis's: configure appendonly/appendfsync for it.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "verifier/redis/redis_connection.h"
#include "verifier/verdict/redis_inventory_codec.h"
#include "verifier/verdict/scan_report.h"
#include "verifier/verdict/verdict_store.h"

namespace imagegate::verifier {

namespace {

constexpr std::string_view kVerdictKey = "imagegate:verdict:";
constexpr std::string_view kImageKey = "imagegate:image:";
constexpr std::string_view kInventoryKey = "imagegate:inventory";
constexpr std::string_view kInventoryFirstKey = "imagegate:inventory:first";
constexpr std::string_view kInventoryWorkloadsKey = "imagegate:inventory:workloads";
constexpr std::string_view kInventoryIndexedKey = "imagegate:inventory:workloads:complete";
// prune_inventory removes at most this many keys per script call (a script blocks Redis while it runs).
constexpr std::size_t kPruneChunk = 1000;
constexpr std::size_t kMaxPruneRounds = 10'000;

// KEYS: the last-seen set, the first-seen hash, the workload index. ARGV: the workload's lex range
// ("[prefix", "(prefix\xff"), the change's time, then the keys the workload still runs. Removes the others
// that were last seen at or before that time (see InventoryUpdate); answers how many.
constexpr std::string_view kReplaceScript = R"lua(
local found = redis.call('ZRANGEBYLEX', KEYS[3], ARGV[1], ARGV[2])
local at = tonumber(ARGV[3])
local keep = {}
for i = 4, #ARGV do keep[ARGV[i]] = true end
local n = 0
for _, m in ipairs(found) do
  if not keep[m] then
    local s = redis.call('ZSCORE', KEYS[1], m)
    if (not s) or tonumber(s) <= at then
      redis.call('ZREM', KEYS[1], m)
      redis.call('HDEL', KEYS[2], m)
      redis.call('ZREM', KEYS[3], m)
      n = n + 1
    end
  end
end
return n
)lua";

// KEYS as above. ARGV: the cutoff (seconds), the most to remove. Removes keys last seen before the cutoff.
constexpr std::string_view kPruneScript = R"lua(
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(old) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('HDEL', KEYS[2], m)
  redis.call('ZREM', KEYS[3], m)
end
return #old
)lua";
// list_inventory filters client-side: it reads the sorted set in pages, newest first, up to this many keys.
constexpr std::size_t kInventoryPage = 1000;
constexpr std::size_t kMaxInventoryScan = 200'000;

std::int64_t to_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The start of every inventory key of one workload: `["ns","kind","name",`. The fields are JSON strings,
// so the closing quote and comma end the name: "web" never matches "web2".
std::string workload_prefix(const std::string& ns, const std::string& kind, const std::string& name) {
  std::string whole = nlohmann::json::array({ns, kind, name}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  whole.back() = ',';  // "]" -> ","
  return whole;
}

// Queues one command with binary-safe arguments on a pipeline.
void append_argv(redisContext* ctx, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  redisAppendCommandArgv(ctx, static_cast<int>(args.size()), argv.data(), lengths.data());
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
    return get_locked(digest);
  }

  // get() with mutex_ held (list_inventory's ?cve= filter reads verdicts too).
  Result<std::optional<ScanVerdict>> get_locked(const std::string& digest) {
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
    // One pipelined MULTI/EXEC per batch: the last-seen index, the first-seen hash and the workload index
    // change together.
    redisAppendCommand(conn_.context(), "MULTI");
    std::size_t queued = 0;
    for (const InventoryEntry& e : entries) queued += append_upsert(e);
    redisAppendCommand(conn_.context(), "EXEC");
    return read_transaction(queued, "write inventory");
  }

  Status update_inventory(const std::vector<InventoryUpdate>& updates) override {
    if (Status valid = check_inventory_updates(updates); !valid) return valid;
    if (updates.empty()) return Ok{};
    std::lock_guard lock(mutex_);
    if (Status s = conn_.ensure(); !s) return s;
    const bool replaces = std::any_of(updates.begin(), updates.end(), [](const InventoryUpdate& u) { return u.replace; });
    if (replaces) {
      if (Status s = ensure_indexed(); !s) return s;
    }
    redisAppendCommand(conn_.context(), "MULTI");
    std::size_t queued = 0;
    for (const InventoryUpdate& u : updates) {
      if (u.replace) {
        const std::string prefix = workload_prefix(u.namespace_name, u.kind, u.name);
        std::vector<std::string> args{"EVAL",
                                      std::string(kReplaceScript),
                                      "3",
                                      std::string(kInventoryKey),
                                      std::string(kInventoryFirstKey),
                                      std::string(kInventoryWorkloadsKey),
                                      "[" + prefix,
                                      "(" + prefix + "\xff",
                                      std::to_string(to_seconds(u.at))};
        for (const InventoryEntry& e : u.entries) args.push_back(inventory_member(e));
        append_argv(conn_.context(), args);
        ++queued;
      }
      for (const InventoryEntry& e : u.entries) queued += append_upsert(e);
    }
    redisAppendCommand(conn_.context(), "EXEC");
    return read_transaction(queued, "update inventory");
  }

  Result<std::size_t> prune_inventory(std::chrono::system_clock::time_point cutoff) override {
    std::lock_guard lock(mutex_);
    const std::string seconds = std::to_string(to_seconds(cutoff));
    const std::string chunk = std::to_string(kPruneChunk);
    std::size_t removed = 0;
    // In chunks, each one script (atomic, short): Redis keeps serving other clients between them.
    for (std::size_t round = 0; round < kMaxPruneRounds; ++round) {
      auto r = conn_.command({"EVAL", kPruneScript, "3", kInventoryKey, kInventoryFirstKey, kInventoryWorkloadsKey,
                              seconds, chunk});
      if (!r) return r.error();
      if ((*r)->type != REDIS_REPLY_INTEGER) {
        return conn_.unavailable((*r)->type == REDIS_REPLY_ERROR ? std::string((*r)->str, (*r)->len) : "unexpected reply");
      }
      const auto n = static_cast<std::size_t>((*r)->integer);
      removed += n;
      if (n < kPruneChunk) break;
    }
    return removed;
  }

  Result<std::vector<InventoryEntry>> list_inventory(const InventoryQuery& query) override {
    std::lock_guard lock(mutex_);
    if (Status s = conn_.ensure(); !s) return s.error();
    std::vector<InventoryEntry> out;
    std::vector<std::string> members;
    std::map<std::string, bool> cve_memo;  // ?cve=: each digest's verdict read once
    std::size_t skipped = 0;
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
            (!query.image.empty() && e.image != query.image) || (!query.digest.empty() && e.digest != query.digest) ||
            (!query.image_contains.empty() && e.image.find(query.image_contains) == std::string::npos)) {
          continue;
        }
        if (!query.cve.empty()) {
          Result<bool> listed = lists_cve(e.digest, query.cve, cve_memo);
          if (!listed) return listed.error();
          if (!*listed) continue;
        }
        if (skipped < query.offset) {  // pagination: matches before the page are counted, not kept
          ++skipped;
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
  // Whether `digest`'s stored verdict lists `cve` (Redis keeps no index of ids: the verdict is read, once
  // per digest per listing). No verdict: false.
  Result<bool> lists_cve(const std::string& digest, const std::string& cve, std::map<std::string, bool>& memo) {
    if (const auto it = memo.find(digest); it != memo.end()) return it->second;
    Result<std::optional<ScanVerdict>> v = get_locked(digest);
    if (!v) return v.error();
    const bool listed = v->has_value() && std::any_of((*v)->vulnerabilities.begin(), (*v)->vulnerabilities.end(),
                                                      [&](const Vulnerability& x) { return x.id == cve; });
    memo.emplace(digest, listed);
    return listed;
  }

  // Queues the upsert of one entry (inside a MULTI); the number of commands queued.
  std::size_t append_upsert(const InventoryEntry& e) {
    const std::string member = inventory_member(e);
    const std::string last = std::to_string(to_seconds(e.last_seen));
    const std::string first = std::to_string(to_seconds(e.first_seen));
    redisContext* ctx = conn_.context();
    redisAppendCommand(ctx, "ZADD %b GT %b %b", kInventoryKey.data(), kInventoryKey.size(), last.data(), last.size(),
                       member.data(), member.size());
    redisAppendCommand(ctx, "HSETNX %b %b %b", kInventoryFirstKey.data(), kInventoryFirstKey.size(), member.data(),
                       member.size(), first.data(), first.size());
    redisAppendCommand(ctx, "ZADD %b 0 %b", kInventoryWorkloadsKey.data(), kInventoryWorkloadsKey.size(), member.data(),
                       member.size());
    return 3;
  }

  // Reads the replies of MULTI, `queued` commands and EXEC. Every reply is read, even after an error, so
  // the connection stays in step; an error inside EXEC's answer (a failed script) fails the whole call.
  Status read_transaction(std::size_t queued, const std::string& what) {
    const std::size_t replies = queued + 2;
    Status result = Ok{};
    for (std::size_t i = 0; i < replies; ++i) {
      void* raw = nullptr;
      if (redisGetReply(conn_.context(), &raw) != REDIS_OK) return conn_.drop(what);
      RedisReply r(static_cast<redisReply*>(raw));
      if (!result) continue;
      if (r->type == REDIS_REPLY_ERROR) {
        result = conn_.unavailable(std::string(r->str, r->len));
      } else if (i == replies - 1) {
        if (r->type != REDIS_REPLY_ARRAY) {
          result = conn_.unavailable("transaction aborted");
          continue;
        }
        for (std::size_t k = 0; k < r->elements; ++k) {
          if (r->element[k]->type == REDIS_REPLY_ERROR) {
            result = conn_.unavailable(what + ": " + std::string(r->element[k]->str, r->element[k]->len));
            break;
          }
        }
      }
    }
    return result;
  }

  // Keys written before the workload index existed (an older imagegate) are added to it once, before the
  // first replacement or deletion needs it. Idempotent: replicas doing it at the same time is harmless.
  Status ensure_indexed() {
    if (indexed_) return Ok{};
    auto done = conn_.command({"EXISTS", kInventoryIndexedKey});
    if (!done) return done.error();
    if ((*done)->type == REDIS_REPLY_INTEGER && (*done)->integer == 1) {
      indexed_ = true;
      return Ok{};
    }
    for (std::size_t start = 0; start < kMaxInventoryScan * 50; start += kInventoryPage) {
      const std::string from = std::to_string(start);
      const std::string to = std::to_string(start + kInventoryPage - 1);
      auto page = conn_.command({"ZRANGE", kInventoryKey, from, to});
      if (!page) return page.error();
      if ((*page)->type != REDIS_REPLY_ARRAY) return conn_.unavailable("unexpected reply");
      if ((*page)->elements == 0) break;
      std::vector<std::string> args{"ZADD", std::string(kInventoryWorkloadsKey)};
      for (std::size_t i = 0; i < (*page)->elements; ++i) {
        const redisReply* m = (*page)->element[i];
        if (m->type != REDIS_REPLY_STRING) continue;
        args.emplace_back("0");
        args.emplace_back(m->str, m->len);
      }
      if (args.size() > 2) {
        append_argv(conn_.context(), args);
        void* raw = nullptr;
        if (redisGetReply(conn_.context(), &raw) != REDIS_OK) return conn_.drop("index inventory");
        RedisReply r(static_cast<redisReply*>(raw));
        if (r->type == REDIS_REPLY_ERROR) return conn_.unavailable(std::string(r->str, r->len));
      }
      if ((*page)->elements < kInventoryPage) break;
    }
    auto set = conn_.command({"SET", kInventoryIndexedKey, "1"});
    if (!set) return set.error();
    indexed_ = true;
    return Ok{};
  }

  static Result<ScanVerdict> decode(std::string_view body) {
    auto v = parse_scan_report({body, ReportFormat::native, "", "", {}});
    if (!v) return internal_error("verdict store (redis): a stored verdict does not parse: " + v.error().message);
    return v;
  }

  std::mutex mutex_;  // guards conn_ and indexed_
  RedisConnection conn_;
  bool indexed_ = false;  // kInventoryIndexedKey was seen set
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
