// Running one coroutine to completion in a test: co_spawn it on the test's io_context, run the context until
// it is out of work, and hand back the coroutine's result. Header-only (Asio), kept apart from
// test_support.h so test binaries without Asio do not include it. Not thread-safe: the calling thread runs
// `io` and must be the only one running it.
#pragma once

#include <optional>
#include <stdexcept>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace imagegate::testing {

// The result of `task`, run on `io` (restarted first, so one io_context serves a whole test). Throws
// std::runtime_error when the context ran out of work before the coroutine finished.
template <class T>
T run_on(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(task)); }, boost::asio::detached);
  io.restart();
  io.run();
  if (!out) throw std::runtime_error("the coroutine did not finish");
  return std::move(*out);
}

}  // namespace imagegate::testing
