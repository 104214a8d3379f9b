// run_awaitable: runs one coroutine to completion on a private io_context and returns its result (unit
// tests of coroutine APIs). Rethrows what the coroutine throws.
#pragma once

#include "common/asio_warnings.h"  // before any Asio header

#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace imagegate::testing {

template <class T>
T run_awaitable(boost::asio::awaitable<T> work) {
  boost::asio::io_context io;
  auto future = boost::asio::co_spawn(io, std::move(work), boost::asio::use_future);
  io.run();
  return future.get();
}

}  // namespace imagegate::testing
