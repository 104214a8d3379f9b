// offload(): runs a blocking call (SQLite, a Redis round trip) on a thread pool and resumes the awaiting
// coroutine on its own executor, so io_context threads never block. Used by VerdictLookup and SharedLookup:
// one piece of code for the idea.
//
// The call itself is not interrupted by cancellation: each blocking call bounds its own time (SQLite busy
// timeout, Redis socket timeouts). Thread-safe; the pool must outlive the call.
#pragma once

#include <functional>
#include <optional>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace imagegate {

// Plain handlers, no coroutine inside: GCC 12 destroys by-value coroutine parameters and lambda captures
// twice when they are coroutines themselves.
template <class R>
boost::asio::awaitable<R> offload(boost::asio::thread_pool& pool, std::function<R()> call) {
  namespace asio = boost::asio;
  auto out = co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<R>)>(
      [&pool](auto handler, std::function<R()> fn) {
        auto ex = asio::get_associated_executor(handler);
        asio::post(pool, [handler = std::move(handler), fn = std::move(fn), ex]() mutable {
          std::optional<R> r(fn());
          asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable { std::move(handler)(std::move(r)); });
        });
      },
      asio::use_awaitable, std::move(call));
  co_return std::move(*out);
}

}  // namespace imagegate
