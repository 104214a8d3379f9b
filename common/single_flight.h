// SingleFlight<T>: concurrent calls for one key share a single execution of the work.
//
// The first caller for a key (the leader) runs `work`; callers arriving while it runs park on a channel of
// their own and get a copy of the leader's result. A cancelled waiter gives up with `cancelled()` (the
// work goes on for the others). A cancelled leader (its caller's budget ran out) ends with its own
// caller's error, say "Operation canceled", which is no answer for the others: its waiters wake and run
// the flight again (one of them leads it), each within its own budget. A leader whose work ends in an
// exception without being cancelled hands `cancelled()` to everyone, so waiters always wake.
//
// Thread-safe: any io_context thread may call run(). The SingleFlight must outlive every call.
// Used by the registry cache, signature verification and verdict lookups: one piece of code for the idea.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace imagegate {

template <class T>
class SingleFlight {
 public:
  // `shared` (optional) is set to true when this call waited for another caller's flight.
  boost::asio::awaitable<T> run(std::string key, std::function<boost::asio::awaitable<T>()> work,
                                std::function<T()> cancelled, bool* shared = nullptr) {
    const auto executor = co_await boost::asio::this_coro::executor;
    std::shared_ptr<Flight> flight;
    if (shared != nullptr) *shared = false;
    for (;;) {  // again only when the flight waited on lost its leader to the leader's cancellation
      std::shared_ptr<Channel> wait_on;
      {
        std::lock_guard lock(mutex_);
        if (auto it = flights_.find(key); it != flights_.end()) {
          wait_on = std::make_shared<Channel>(executor, 1);
          it->second->waiters.push_back(wait_on);
          flight = it->second;
        } else {
          flight = std::make_shared<Flight>();
          flights_.emplace(key, flight);
        }
      }
      if (!wait_on) break;
      if (shared != nullptr) *shared = true;
      auto [ec] = co_await wait_on->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
      std::lock_guard lock(mutex_);
      if (ec) co_return cancelled();
      if (flight->result) co_return *flight->result;
      if (!flight->leader_cancelled) co_return cancelled();
    }
    std::optional<T> result;
    try {
      // A named awaitable, not a temporary in the co_await expression (GCC 12 destroys those twice).
      boost::asio::awaitable<T> task = work();
      result.emplace(co_await std::move(task));
    } catch (...) {
      result.emplace(cancelled());
    }
    const boost::asio::cancellation_state state = co_await boost::asio::this_coro::cancellation_state;
    const bool leader_cancelled = state.cancelled() != boost::asio::cancellation_type::none;
    std::vector<std::shared_ptr<Channel>> waiters;
    {
      std::lock_guard lock(mutex_);
      if (leader_cancelled) {
        flight->leader_cancelled = true;
      } else {
        flight->result = *result;
      }
      waiters.swap(flight->waiters);
      flights_.erase(key);
    }
    for (const auto& w : waiters) w->try_send(boost::system::error_code{});
    co_return std::move(*result);
  }

  std::size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return flights_.size();
  }

 private:
  using Channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;
  struct Flight {
    std::optional<T> result;
    bool leader_cancelled = false;  // no result: the waiters run the flight again
    std::vector<std::shared_ptr<Channel>> waiters;
  };
  mutable std::mutex mutex_;  // guards flights_ and every Flight's members
  std::map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace imagegate
