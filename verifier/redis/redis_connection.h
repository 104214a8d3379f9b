// RedisConnection (internal to verifier/): one hiredis connection as the Redis verdict store and the shared
// cache use it -- "redis://HOST:PORT[/DB]" parsed once, connected on demand, every connect and command
// bounded by a timeout, dropped after any error and re-established by the next call. A Redis that stops
// answering makes calls fail with `unavailable` within the timeout, never hang.
//
// Not thread-safe: its owner serialises calls (one mutex around the connection).
#pragma once

#include <hiredis.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace imagegate::verifier {

struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
};

// "redis://HOST:PORT[/DB]" (DB 0-15, port 1-65535); invalid_argument naming the URL otherwise.
Result<RedisAddress> parse_redis_url(std::string_view url);

struct RedisReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

class RedisConnection {
 public:
  // `label` starts every error message ("verdict store (redis)"). After a failed connect, further calls
  // fail at once for `reconnect_backoff` (0: every call tries again), so a Redis that is down does not
  // make each caller wait out a connect timeout.
  RedisConnection(RedisAddress address, std::chrono::milliseconds timeout, std::string label,
                  std::chrono::milliseconds reconnect_backoff = std::chrono::milliseconds(0));
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Connects (and SELECTs the DB) unless connected.
  Status ensure();
  // Closes the connection after an error; the Error says what failed (hiredis's message when it has one).
  Error drop(const std::string& what);
  // The connected context, for pipelines (redisAppendCommand / redisGetReply). Valid after ensure() succeeded
  // and until drop().
  redisContext* context() noexcept { return ctx_; }

  // ensure(), then one command with binary-safe arguments. A lost reply drops the connection; a Redis error
  // reply is returned as the reply (the caller decides what it means).
  Result<RedisReply> command(std::initializer_list<std::string_view> args);

  const std::string& label() const noexcept { return label_; }
  Error unavailable(const std::string& message) const;

 private:
  RedisAddress address_;
  std::chrono::milliseconds timeout_;
  std::string label_;
  std::chrono::milliseconds reconnect_backoff_;
  std::chrono::steady_clock::time_point retry_after_{};
  std::string last_connect_error_;
  redisContext* ctx_ = nullptr;
};

}  // namespace imagegate::verifier
