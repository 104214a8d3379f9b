// Helpers shared by the test binaries: where things are, and reading files.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace imagegate::testing {

// ../shared/conformance, or $IMAGEGATE_CONFORMANCE_DIR. Tests read vectors there in place.
std::filesystem::path conformance_dir();
// The project's source tree ($IMAGEGATE_SOURCE_DIR), for tests/testdata and examples.
std::filesystem::path source_dir();
// The built imagegate binary ($IMAGEGATE_BINARY).
std::filesystem::path imagegate_binary();
std::string read_file(const std::filesystem::path& path);

// A free TCP port on 127.0.0.1 (bound, read, released: another process may still take it, rarely).
int free_port();
// True once 127.0.0.1:port accepts a connection, false after `timeout`.
bool wait_for_port(int port, std::chrono::milliseconds timeout = std::chrono::seconds(15));

// A process a test starts (argv[0] looked up in PATH), stdout and stderr to `log` (or /dev/null). Stopped by
// its PID, never by name: SIGTERM, then SIGKILL after 5 s, in stop() and the destructor.
class Process {
 public:
  explicit Process(std::vector<std::string> argv, const std::filesystem::path& log = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  bool running() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }
  void stop();
  void kill();  // SIGKILL at once (a crash, for durability tests)

 private:
  pid_t pid_ = -1;
};

// redis-server on a free 127.0.0.1 port, without persistence; stop() and start() again keep the port.
class RedisServer {
 public:
  RedisServer();
  bool running() const noexcept { return process_ != nullptr && process_->running(); }
  int port() const noexcept { return port_; }
  std::string url(int db = 0) const;  // redis://127.0.0.1:PORT/DB
  void start();
  void stop();

 private:
  int port_;
  std::unique_ptr<Process> process_;
};

}  // namespace imagegate::testing
