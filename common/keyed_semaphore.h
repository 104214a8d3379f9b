// KeyedSemaphore: at most `permits` holders per key at once (a key is, say, a registry host); callers
// beyond that wait in FIFO order without blocking a thread. Used by OciRegistryClient to cap the
// concurrent requests per registry: one review naming 300 images must not open 300 connections.
//
// acquire() gives a Permit that releases on destruction (handing the slot straight to the next waiter).
// A waiting caller that is cancelled (a review whose budget ran out cancels its gathering) leaves the
// queue at once and gets nullopt: queued requests give up at the deadline. A key's state exists only
// while someone holds or waits for it, so a stream of distinct keys does not grow memory.
//
// Thread-safe: any io_context thread may acquire and release. The KeyedSemaphore must outlive every Permit
// and every pending acquire().
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace imagegate {

class KeyedSemaphore {
 public:
  explicit KeyedSemaphore(std::size_t permits) : permits_(permits == 0 ? 1 : permits) {}
  KeyedSemaphore(const KeyedSemaphore&) = delete;
  KeyedSemaphore& operator=(const KeyedSemaphore&) = delete;

  class Permit {
   public:
    Permit(Permit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), key_(std::move(other.key_)) {}
    Permit& operator=(Permit&&) = delete;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() {
      if (owner_ != nullptr) owner_->release(key_);
    }

   private:
    friend class KeyedSemaphore;
    Permit(KeyedSemaphore* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    KeyedSemaphore* owner_;
    std::string key_;
  };

  // A permit for `key`, at once when one is free, else when a holder releases it; nullopt when the
  // caller is cancelled while waiting.
  boost::asio::awaitable<std::optional<Permit>> acquire(std::string key) {
    auto executor = co_await boost::asio::this_coro::executor;
    std::shared_ptr<Waiter> waiter;
    {
      std::lock_guard lock(mutex_);
      Slot& slot = slots_[key];
      if (slot.holders < permits_ && slot.waiters.empty()) {
        ++slot.holders;
        co_return Permit(this, std::move(key));
      }
      waiter = std::make_shared<Waiter>(executor);
      slot.waiters.push_back(waiter);
      ++waiting_;
    }
    auto [ec] = co_await waiter->channel.async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
    std::unique_lock lock(mutex_);
    if (waiter->granted) {
      // Granted (the releaser already took us off the queue). Cancelled at the same moment: pass it on.
      if (!ec) co_return Permit(this, std::move(key));
      std::shared_ptr<Waiter> next = release_locked(key);
      lock.unlock();
      wake(next);
      co_return std::nullopt;
    }
    // Cancelled before a permit came: leave the queue.
    auto it = slots_.find(key);
    if (it != slots_.end()) {
      auto& waiters = it->second.waiters;
      for (auto w = waiters.begin(); w != waiters.end(); ++w) {
        if (*w == waiter) {
          waiters.erase(w);
          --waiting_;
          break;
        }
      }
      if (it->second.holders == 0 && waiters.empty()) slots_.erase(it);
    }
    co_return std::nullopt;
  }

  // Callers waiting for a permit now, over every key (for metrics and tests).
  std::size_t waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
  }
  // Keys with a holder or a waiter.
  std::size_t active_keys() const {
    std::lock_guard lock(mutex_);
    return slots_.size();
  }

 private:
  using Channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;
  struct Waiter {
    explicit Waiter(const boost::asio::any_io_executor& executor) : channel(executor, 1) {}
    Channel channel;
    bool granted = false;  // guarded by mutex_
  };
  struct Slot {
    std::size_t holders = 0;
    std::deque<std::shared_ptr<Waiter>> waiters;
  };

  void release(const std::string& key) {
    std::shared_ptr<Waiter> next;
    {
      std::lock_guard lock(mutex_);
      next = release_locked(key);
    }
    wake(next);
  }

  // The slot goes to the first waiter (holders unchanged; returned, to be woken once the lock is released:
  // the wake-up may resume it on this very thread, and it takes the lock) or is freed.
  std::shared_ptr<Waiter> release_locked(const std::string& key) {
    auto it = slots_.find(key);
    if (it == slots_.end()) return nullptr;
    Slot& slot = it->second;
    if (!slot.waiters.empty()) {
      std::shared_ptr<Waiter> next = std::move(slot.waiters.front());
      slot.waiters.pop_front();
      --waiting_;
      next->granted = true;
      return next;
    }
    if (slot.holders > 0) --slot.holders;
    if (slot.holders == 0) slots_.erase(it);
    return nullptr;
  }

  static void wake(const std::shared_ptr<Waiter>& waiter) {
    if (waiter) waiter->channel.try_send(boost::system::error_code{});
  }

  const std::size_t permits_;
  mutable std::mutex mutex_;  // guards slots_, waiting_ and every Waiter's `granted`
  std::map<std::string, Slot> slots_;
  std::size_t waiting_ = 0;
};

}  // namespace imagegate
