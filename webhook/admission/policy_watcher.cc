#include "webhook/admission/policy_watcher.h"

#include "common/asio_warnings.h"  // before any Asio header

#include <atomic>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "policy/policy.h"
#include "webhook/observe/logger.h"
#include "webhook/observe/metrics.h"
#include "webhook/admission/policy_admission_service.h"

namespace imagegate::webhook {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// What identifies the file's current content without reading it. A ConfigMap update swaps the `..data`
// symlink to a new timestamped directory: the canonical path changes even when size and mtime happen to
// match, so all three are compared.
struct FileIdentity {
  bool exists = false;
  fs::path canonical;
  std::uintmax_t size = 0;
  fs::file_time_type mtime{};

  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

FileIdentity identify(const fs::path& file) {
  FileIdentity id;
  std::error_code ec;
  id.canonical = fs::canonical(file, ec);
  if (ec) return {};
  id.size = fs::file_size(id.canonical, ec);
  if (ec) return {};
  id.mtime = fs::last_write_time(id.canonical, ec);
  if (ec) return {};
  id.exists = true;
  return id;
}

}  // namespace

struct PolicyWatcher::State {
  State(asio::any_io_executor executor, asio::thread_pool::executor_type reloader, fs::path file_path,
        PolicyAdmissionService& admission, Metrics& m, Logger& out, std::chrono::milliseconds every)
      : strand(asio::make_strand(std::move(executor))),
        timer(strand),
        worker(std::move(reloader)),
        file(std::move(file_path)),
        service(admission),
        metrics(m),
        log(out),
        interval(every) {}

  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;  // used on the strand only
  // Where the file is read and the policy compiled (PolicyWatcher's own thread): a 4 MiB policy takes a
  // while to compile, and an io thread must never wait for it.
  asio::thread_pool::executor_type worker;
  const fs::path file;
  PolicyAdmissionService& service;
  Metrics& metrics;
  Logger& log;
  const std::chrono::milliseconds interval;

  // Held while loading, and by stop(): once stop() returns no load is running and none will start, so
  // the service, metrics and log may go away.
  std::mutex mutex;
  bool stopped = false;
  std::optional<FileIdentity> last;  // the identity last acted on (loaded or rejected)

  // One error line for a file not taken (`why`, the file, `details`), saying what stays in force: the
  // current policy, or none (at start-up). Counts a failed reload. Returns false.
  bool rejected(std::string_view why, std::vector<LogField> details) {
    const std::shared_ptr<const policy::CompiledPolicy> current = service.policy();
    const std::string version = current ? policy::version_of(*current) : std::string();
    const std::string file_name = file.string();
    std::vector<LogField> fields{{"file", file_name}};
    fields.insert(fields.end(), details.begin(), details.end());
    if (current) fields.emplace_back("keptVersion", version);
    log.log(LogLevel::error, std::string(why) + (current ? "; keeping the current policy" : "; no policy in force"),
            fields);
    metrics.policy_reload(false);
    return false;
  }

  // Reads and loads the file if its identity differs from `last` (or always, when `force`). Caller holds
  // the mutex. Returns whether the policy now in force came from this file's current content.
  bool reload_locked(bool force) {
    const FileIdentity id = identify(file);
    if (!force && last && *last == id) return true;
    last = id;
    if (!id.exists) return rejected("policy file is missing or unreadable", {});
    if (id.size > policy::kMaxPolicyBytes) {
      return rejected("policy file is larger than the limit", {{"bytes", id.size}, {"limit", policy::kMaxPolicyBytes}});
    }
    // Read through the canonical path we identified, so the content matches the identity even if the
    // symlink is swapped again while we read.
    std::ifstream in(id.canonical, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) return rejected("cannot read the policy file", {});
    auto loaded = policy::load_policy(text.str(), file.string());
    if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
      std::vector<std::string> errors;
      for (const auto& d : *diagnostics) errors.push_back(d.to_string());
      return rejected("policy file rejected", {{"problems", errors.size()}, {"errors", errors}});
    }
    auto compiled = std::get<std::shared_ptr<const policy::CompiledPolicy>>(std::move(loaded));
    log.info("policy loaded", {{"policy", policy::spec_of(*compiled).name},
                               {"version", policy::version_of(*compiled)},
                               {"file", file.string()}});
    service.set_policy(std::move(compiled));
    metrics.policy_reload(true);
    return true;
  }

  // Runs on the worker thread.
  static void poll(const std::shared_ptr<State>& state) {
    std::lock_guard lock(state->mutex);
    if (state->stopped) return;
    try {
      state->reload_locked(false);
    } catch (const std::exception& e) {
      // A reload must never take the server down; the old policy stays.
      state->rejected("policy reload failed", {{"error", e.what()}});
    }
    // The timer belongs to the strand: arm it there.
    asio::post(state->strand, [state] { schedule(state); });
  }

  // Runs on the strand (the timer's home). Posting to the worker happens under the mutex and only while
  // not stopped, so once stop() has returned nothing new reaches the worker. The mutex is never held
  // long when the timer fires: polls run one after another (poll -> schedule -> timer -> poll), so no
  // reload is in progress then.
  static void schedule(const std::shared_ptr<State>& state) {
    std::lock_guard lock(state->mutex);
    if (state->stopped) return;
    state->timer.expires_after(state->interval);
    state->timer.async_wait([state](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled by stop()
      std::lock_guard relock(state->mutex);
      // The tracked executor keeps the io executor's context from running out of work while the poll is on
      // the worker (the timer is re-armed only after it).
      if (!state->stopped) {
        asio::any_io_executor work =
            asio::prefer(state->strand.get_inner_executor(), asio::execution::outstanding_work.tracked);
        asio::post(state->worker, [state, work = std::move(work)] { poll(state); });
      }
    });
  }
};

PolicyWatcher::PolicyWatcher(asio::any_io_executor executor, fs::path file, PolicyAdmissionService& service,
                             Metrics& metrics, Logger& log, std::chrono::milliseconds interval)
    : worker_(std::make_unique<asio::thread_pool>(1)),
      state_(std::make_shared<State>(std::move(executor), worker_->get_executor(), std::move(file), service, metrics,
                                     log, interval)) {}

PolicyWatcher::~PolicyWatcher() {
  stop();
  worker_->join();  // a reload in progress finishes; none starts after stop()
}

bool PolicyWatcher::load_now() {
  std::lock_guard lock(state_->mutex);
  try {
    return state_->reload_locked(true);
  } catch (const std::exception& e) {
    return state_->rejected("policy load failed", {{"error", e.what()}});
  }
}

void PolicyWatcher::start() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopped = false;
  }
  // The timer belongs to the strand: arm it there.
  asio::post(state_->strand, [state = state_] { State::schedule(state); });
}

void PolicyWatcher::stop() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopped = true;
  }
  // Cancel on the strand; a wait that fires meanwhile sees `stopped` and does nothing.
  asio::post(state_->strand, [state = state_] { state->timer.cancel(); });
}

}  // namespace imagegate::webhook
