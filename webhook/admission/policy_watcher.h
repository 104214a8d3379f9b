// PolicyWatcher: reloads the policy file when it changes (a ConfigMap mount swaps a `..data` symlink, so
// the file's identity changes rather than its mtime alone). Polls the file's canonical path, size and
// mtime every `interval`; a new valid policy goes to the service atomically; an invalid one is rejected
// in one error line (the loader's diagnostics as the array `errors`) and
// imagegate_policy_reloads_total{result="failure"}, and the old policy stays in force (the line says so,
// or says that no policy is in force at start-up).
//
// Threads: the poll timer runs on a strand of the given executor, but the file is read and the policy
// compiled on the watcher's own thread, never on an io thread (a large policy takes a while to compile).
// load_now() runs on the caller's thread (start-up).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

namespace imagegate::webhook {

class Logger;  // webhook/observe/logger.h
class Metrics;
class PolicyAdmissionService;

class PolicyWatcher {
 public:
  PolicyWatcher(boost::asio::any_io_executor executor, std::filesystem::path file, PolicyAdmissionService& service,
                Metrics& metrics, Logger& log, std::chrono::milliseconds interval = std::chrono::seconds(2));
  ~PolicyWatcher();
  // Loads the file once, synchronously. Returns false (with diagnostics on `log`) when it is invalid.
  bool load_now();
  // Starts polling on the executor; stop() (or destruction) cancels it.
  void start();
  void stop();

 private:
  struct State;
  std::unique_ptr<boost::asio::thread_pool> worker_;  // one thread: reads and compiles
  std::shared_ptr<State> state_;
};

}  // namespace imagegate::webhook
