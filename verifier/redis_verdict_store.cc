// The Redis VerdictStore (hiredis): several imagegate processes share one Redis. Keys:
//   imagegate:verdict:<digest>  -> the verdict's native JSON
//   imagegate:image:<image>     -> sorted set of digests, scored by scan time (for find_by_image)
// One connection guarded by a mutex, re-established after any error; connect and every command are
// bounded by a timeout, so a Redis that stops answering makes calls fail with `unavailable`, not hang.
// Durability is Redis's: configure appendonly/appendfsync for it.
#include <hiredis.h>

#include <charconv>
#include <chrono>
#include <mutex>

#include "verifier/scan_report.h"
#include "verifier/verdict_store.h"

namespace imagegate::verifier {

namespace {

constexpr std::string_view kVerdictKey = "imagegate:verdict:";
constexpr std::string_view kImageKey = "imagegate:image:";

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
