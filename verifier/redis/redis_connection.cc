#include "verifier/redis/redis_connection.h"

#include <charconv>
#include <vector>

namespace imagegate::verifier {

Result<RedisAddress> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) return invalid_argument("not a redis:// URL: " + std::string(url));
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress out;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view d = rest.substr(slash + 1);
    if (!d.empty()) {
      auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), out.db);
      if (ec != std::errc() || p != d.data() + d.size() || out.db < 0 || out.db > 15) {
        return invalid_argument("bad Redis DB in " + std::string(url));
      }
    }
    rest = rest.substr(0, slash);
  }
  out.host = std::string(rest);
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    out.host = std::string(rest.substr(0, colon));
    const std::string_view p = rest.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), out.port);
    if (ec != std::errc() || ptr != p.data() + p.size() || out.port <= 0 || out.port > 65535) {
      return invalid_argument("bad Redis port in " + std::string(url));
    }
  }
  if (out.host.empty()) return invalid_argument("no Redis host in " + std::string(url));
  return out;
}

RedisConnection::RedisConnection(RedisAddress address, std::chrono::milliseconds timeout, std::string label,
                                 std::chrono::milliseconds reconnect_backoff)
    : address_(std::move(address)),
      timeout_(timeout),
      label_(std::move(label)),
      reconnect_backoff_(reconnect_backoff) {}

RedisConnection::~RedisConnection() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

Error RedisConnection::unavailable(const std::string& message) const {
  return Error{ErrorCode::unavailable, label_ + ": " + message};
}

Error RedisConnection::drop(const std::string& what) {
  Error e = unavailable(what + ": " + (ctx_ != nullptr && ctx_->errstr[0] ? ctx_->errstr : "connection lost"));
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
  return e;
}

Status RedisConnection::ensure() {
  if (ctx_ != nullptr) return Ok{};
  const auto now = std::chrono::steady_clock::now();
  // Within the back-off after a failed connect: the same answer at once instead of another connect timeout.
  if (reconnect_backoff_.count() > 0 && now < retry_after_) return unavailable(last_connect_error_);
  const timeval tv{static_cast<time_t>(timeout_.count() / 1000), static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  ctx_ = redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
  Status connected = Ok{};
  if (ctx_ == nullptr || ctx_->err != 0) {
    connected = drop("connect to " + address_.host + ":" + std::to_string(address_.port));
  } else {
    redisSetTimeout(ctx_, tv);
    if (address_.db != 0) {
      RedisReply r(static_cast<redisReply*>(redisCommand(ctx_, "SELECT %d", address_.db)));
      if (!r || r->type == REDIS_REPLY_ERROR) connected = drop("select db " + std::to_string(address_.db));
    }
  }
  if (!connected) {
    // Keep the message without the label: unavailable() adds it again.
    last_connect_error_ = connected.error().message.substr(std::min(connected.error().message.size(), label_.size() + 2));
    retry_after_ = now + reconnect_backoff_;
  }
  return connected;
}

Result<RedisReply> RedisConnection::command(std::initializer_list<std::string_view> args) {
  if (Status s = ensure(); !s) return s.error();
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string_view a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  RedisReply r(static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  if (!r) return drop(std::string(args.size() > 0 ? *args.begin() : std::string_view("command")));
  return r;
}

}  // namespace imagegate::verifier
