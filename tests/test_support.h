// Helpers shared by the test binaries: where things are, and reading files.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace imagegate::testing {

// The values of a parsed JSON document (the root, every array element and object member): what
// common/json_bounded.h's pre-scan counts in its text.
std::size_t json_values(const nlohmann::json& document);

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

// Runs argv (argv[0] looked up in PATH) to completion, stdout and stderr to `log` (truncated first), with
// "NAME=value" entries of extra_env replacing or adding to the environment. The exit status, or -1 when it
// could not start or did not exit normally.
int run_command(std::vector<std::string> argv, const std::filesystem::path& log,
                const std::vector<std::string>& extra_env = {});

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

// Options for LocalRegistry.
struct LocalRegistryOptions {
  bool tls = true;        // false: plain HTTP (pushes and reads then skip TLS verification)
  std::string auth_yaml;  // appended at the top level of the registry's config, e.g. "auth: {htpasswd: ...}"
};

// Debian's docker-registry on a free 127.0.0.1 port, for any gtest that needs a real registry. At start it
// makes a private directory with a test CA (openssl CLI: ca.pem, ca.key, certs.d/ca.crt) and a server
// certificate for 127.0.0.1 and localhost (tls.crt, tls.key) signed by it; storage, config and the access log
// (registry.log) live there too, and the directory is removed when the object goes. Images are pushed with
// tests/e2e/registry/make_layout.py + skopeo. The constructor and push() throw std::runtime_error (with the
// registry's or skopeo's output) when a step fails. stop() and start() again keep the port and the data.
// Not thread-safe: one test thread drives it.
class LocalRegistry {
 public:
  explicit LocalRegistry(LocalRegistryOptions options = {});
  ~LocalRegistry();
  LocalRegistry(const LocalRegistry&) = delete;
  LocalRegistry& operator=(const LocalRegistry&) = delete;

  bool running() const noexcept { return process_ != nullptr && process_->running(); }
  int port() const noexcept { return port_; }
  std::string host() const;  // 127.0.0.1:PORT
  const std::filesystem::path& dir() const noexcept { return dir_; }
  std::filesystem::path ca_file() const { return dir_ / "ca.pem"; }    // the test CA (PEM)
  std::filesystem::path cert_dir() const { return dir_ / "certs.d"; }  // for skopeo --cert-dir
  std::filesystem::path tls_cert() const { return dir_ / "tls.crt"; }  // the registry's certificate
  std::filesystem::path tls_key() const { return dir_ / "tls.key"; }
  std::filesystem::path log_file() const { return dir_ / "registry.log"; }  // includes the access log

  // Pushes an image with content from `seed` (make_layout.py; "--multi" in layout_args makes an index of
  // two platforms) to `ref`: "repo:tag" on this registry, or a full reference starting with host(). Extra
  // `skopeo copy` arguments (e.g. {"--dest-creds", "u:p"}) go in skopeo_args. Returns the pushed manifest's
  // digest ("sha256:..." of the bytes `skopeo inspect --raw` reads back).
  std::string push(const std::string& seed, const std::string& ref,
                   const std::vector<std::string>& skopeo_args = {},
                   const std::vector<std::string>& layout_args = {});

  void start();
  void stop();

 private:
  LocalRegistryOptions options_;
  std::filesystem::path dir_;
  int port_;
  int pushes_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace imagegate::testing
