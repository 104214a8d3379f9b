#include "tests/test_support.h"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace imagegate::testing {

std::size_t json_values(const nlohmann::json& document) {
  std::size_t n = 1;
  if (document.is_structured()) {
    for (const auto& child : document) n += json_values(child);
  }
  return n;
}

namespace {

std::filesystem::path from_env(const char* name, const std::filesystem::path& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::filesystem::path(value) : fallback;
}

// Runs argv (PATH lookup) to completion with stdout in `log` and stderr there too (or in `err_log`), extra
// "NAME=value" entries replacing or adding to the environment; the exit status, or -1 when it could not
// start or did not exit normally.
int run_to_completion(std::vector<std::string> argv, const std::filesystem::path& log,
                      const std::vector<std::string>& extra_env = {}, const std::filesystem::path& err_log = {}) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings = extra_env;
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool replaced = std::any_of(extra_env.begin(), extra_env.end(), [&](const std::string& x) {
      return entry.substr(0, entry.find('=') + 1) == std::string_view(x).substr(0, x.find('=') + 1);
    });
    if (!replaced) env.push_back(*e);
  }
  env.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (err_log.empty()) {
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  pid_t pid = -1;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// Like run_to_completion, but a failure throws with the command's output (set-up steps of a fixture).
void run_or_throw(const std::string& what, std::vector<std::string> argv, const std::filesystem::path& log,
                  const std::vector<std::string>& extra_env = {}, const std::filesystem::path& err_log = {}) {
  if (run_to_completion(std::move(argv), log, extra_env, err_log) != 0) {
    std::string output;
    try {
      output = read_file(err_log.empty() ? log : err_log);
    } catch (const std::runtime_error&) {
    }
    throw std::runtime_error(what + " failed: " + output);
  }
}

}  // namespace

int run_command(std::vector<std::string> argv, const std::filesystem::path& log,
                const std::vector<std::string>& extra_env) {
  return run_to_completion(std::move(argv), log, extra_env);
}

std::filesystem::path source_dir() { return from_env("IMAGEGATE_SOURCE_DIR", IMAGEGATE_DEFAULT_SOURCE_DIR); }

std::filesystem::path conformance_dir() {
  return from_env("IMAGEGATE_CONFORMANCE_DIR", IMAGEGATE_DEFAULT_CONFORMANCE_DIR);
}

std::filesystem::path imagegate_binary() { return from_env("IMAGEGATE_BINARY", IMAGEGATE_DEFAULT_BINARY); }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot find a free port");
  return ntohs(a.sin_port);
}

bool wait_for_port(int port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool up = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) ::close(fd);
    if (up) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

Process::Process(std::vector<std::string> argv, const std::filesystem::path& log) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out = log.empty() ? std::string("/dev/null") : log.string();
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  if (posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
  posix_spawn_file_actions_destroy(&actions);
}

Process::~Process() { stop(); }

void Process::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill();
}

void Process::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

RedisServer::RedisServer() : port_(free_port()) { start(); }

std::string RedisServer::url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

void RedisServer::start() {
  process_ = std::make_unique<Process>(std::vector<std::string>{"redis-server", "--port", std::to_string(port_),
                                                                "--bind", "127.0.0.1", "--save", "",
                                                                "--appendonly", "no"});
  if (process_->running() && !wait_for_port(port_)) process_->stop();
}

void RedisServer::stop() { process_.reset(); }

LocalRegistry::LocalRegistry(LocalRegistryOptions options) : options_(std::move(options)), port_(free_port()) {
  std::string pattern = (std::filesystem::temp_directory_path() / "imagegate-registry.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  dir_ = pattern;
  try {
    const std::string d = dir_.string();
    const std::filesystem::path openssl_log = dir_ / "openssl.log";
    run_or_throw("openssl (test CA)",
                 {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key", "-out",
                  d + "/ca.pem", "-days", "2", "-subj", "/CN=imagegate test CA", "-addext",
                  "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
                 openssl_log);
    std::filesystem::create_directories(cert_dir());
    std::filesystem::copy_file(ca_file(), cert_dir() / "ca.crt");
    run_or_throw("openssl (server key)",
                 {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/tls.key", "-out", d + "/tls.csr",
                  "-subj", "/CN=127.0.0.1"},
                 openssl_log);
    {
      std::ofstream ext(dir_ / "tls.ext");
      ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
             "extendedKeyUsage=serverAuth,clientAuth\n";
    }
    run_or_throw("openssl (server certificate)",
                 {"openssl", "x509", "-req", "-in", d + "/tls.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
                  "-CAcreateserial", "-out", d + "/tls.crt", "-days", "2", "-extfile", d + "/tls.ext"},
                 openssl_log);
    std::filesystem::create_directories(dir_ / "data");
    std::ofstream config(dir_ / "registry.yml");
    config << "version: 0.1\nlog: {level: error, formatter: text}\n"
           << "storage: {filesystem: {rootdirectory: " << d << "/data}, delete: {enabled: true}}\n"
           << "http:\n  addr: 127.0.0.1:" << port_ << "\n";
    if (options_.tls) config << "  tls: {certificate: " << d << "/tls.crt, key: " << d << "/tls.key}\n";
    if (!options_.auth_yaml.empty()) config << options_.auth_yaml << "\n";
    config.close();
    start();
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

LocalRegistry::~LocalRegistry() {
  process_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string LocalRegistry::host() const { return "127.0.0.1:" + std::to_string(port_); }

void LocalRegistry::start() {
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"docker-registry", "serve", (dir_ / "registry.yml").string()}, log_file());
  if (!process_->running() || !wait_for_port(port_)) {
    process_.reset();
    std::string log;
    try {
      log = read_file(log_file());
    } catch (const std::runtime_error&) {
    }
    throw std::runtime_error("docker-registry did not start on " + host() + ": " + log);
  }
}

void LocalRegistry::stop() { process_.reset(); }

std::string LocalRegistry::push(const std::string& seed, const std::string& ref,
                                const std::vector<std::string>& skopeo_args,
                                const std::vector<std::string>& layout_args) {
  const std::string full = ref.starts_with(host() + "/") ? ref : host() + "/" + ref;
  // A fresh layout per push: make_layout.py adds to an existing one.
  const std::filesystem::path layout = dir_ / ("layout-" + std::to_string(++pushes_));
  const std::filesystem::path log = dir_ / "push.log";
  std::vector<std::string> make = {"python3", (source_dir() / "tests/e2e/registry/make_layout.py").string(),
                                   layout.string(), "t", seed};
  make.insert(make.end(), layout_args.begin(), layout_args.end());
  run_or_throw("make_layout.py " + seed, std::move(make), log);
  // SSL_CERT_FILE: a token realm served with this registry's certificate is trusted too.
  const std::vector<std::string> env = {"SSL_CERT_FILE=" + ca_file().string()};
  std::vector<std::string> copy = {"skopeo", "copy", "--quiet", "--all"};
  if (options_.tls) {
    copy.insert(copy.end(), {"--dest-cert-dir", cert_dir().string()});
  } else {
    copy.emplace_back("--dest-tls-verify=false");
  }
  copy.insert(copy.end(), skopeo_args.begin(), skopeo_args.end());
  copy.insert(copy.end(), {"oci:" + layout.string() + ":t", "docker://" + full});
  run_or_throw("skopeo copy to " + full, std::move(copy), log, env);
  std::error_code ec;
  std::filesystem::remove_all(layout, ec);

  // The digest of what the registry serves: skopeo's raw read, hashed by sha256sum (no crypto library here).
  std::vector<std::string> inspect = {"skopeo", "inspect", "--raw"};
  if (options_.tls) {
    inspect.insert(inspect.end(), {"--cert-dir", cert_dir().string()});
  } else {
    inspect.emplace_back("--tls-verify=false");
  }
  for (std::size_t i = 0; i + 1 < skopeo_args.size(); ++i) {
    if (skopeo_args[i] == "--dest-creds") inspect.insert(inspect.end(), {"--creds", skopeo_args[i + 1]});
  }
  inspect.push_back("docker://" + full);
  const std::filesystem::path manifest = dir_ / "pushed-manifest.json";
  run_or_throw("skopeo inspect " + full, std::move(inspect), manifest, env, log);
  run_or_throw("sha256sum", {"sha256sum", manifest.string()}, log);
  const std::string sum = read_file(log);
  if (sum.size() < 64) throw std::runtime_error("sha256sum printed: " + sum);
  return "sha256:" + sum.substr(0, 64);
}

}  // namespace imagegate::testing
