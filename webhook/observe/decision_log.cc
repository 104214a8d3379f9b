#include "webhook/observe/decision_log.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <string>
#include <thread>
#include <utility>

#include "webhook/observe/logger.h"

namespace imagegate::webhook {
namespace {

// Writes all of `bytes` to `fd`; false when the descriptor fails (closed pipe, full disk, bad fd).
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd ready{fd, POLLOUT, 0};  // a non-blocking stdout: wait for room
      (void)::poll(&ready, 1, -1);
    } else {
      return false;
    }
  }
  return true;
}

// A batch larger than this gives its memory back once written, so a burst does not pin it.
constexpr std::size_t kKeptBufferBytes = 1024 * 1024;

}  // namespace

// What the producers and the writer thread share. The writer thread holds it too, so a writer stuck in
// write(2) past the destructor's timeout still has it (the process is exiting by then).
struct DecisionLog::Queue {
  int fd = -1;
  DecisionLogOptions options;

  std::mutex mutex;
  std::condition_variable wake;     // the writer: lines queued, or stop
  std::condition_variable settled;  // drainers and the destructor: a batch done, or the writer finished
  std::string lines;                // queued lines, each with its newline
  std::size_t queued_lines = 0;     // in `lines`
  std::size_t pending_lines = 0;    // queued + being written: what the bound counts
  std::size_t pending_bytes = 0;
  std::uint64_t accepted = 0;       // lines ever queued
  std::uint64_t settled_lines = 0;  // of those, written or failed
  bool writer_idle = false;         // waiting on `wake`: the next line must notify
  bool stopping = false;
  bool finished = false;            // the writer thread has left its loop
  DecisionLogCounts counts;
  std::uint64_t dropped_reported = 0;

  void run();
  void report_drops(std::uint64_t dropped);
};

void DecisionLog::Queue::run() {
  std::string batch;
  std::unique_lock lock(mutex);
  for (;;) {
    while (lines.empty() && !stopping) {
      writer_idle = true;
      wake.wait(lock);
    }
    writer_idle = false;
    if (lines.empty()) break;  // stopping, and everything written
    batch.swap(lines);
    const std::size_t batch_lines = std::exchange(queued_lines, 0);
    lock.unlock();

    const bool ok = write_all(fd, batch);

    lock.lock();
    pending_lines -= batch_lines;
    pending_bytes -= batch.size();
    (ok ? counts.written : counts.failed) += batch_lines;
    ++counts.batches;
    settled_lines += batch_lines;
    batch.clear();
    if (batch.capacity() > kKeptBufferBytes) std::string().swap(batch);
    const std::uint64_t dropped = counts.dropped;
    settled.notify_all();
    if (dropped != dropped_reported && options.report != nullptr) {
      dropped_reported = dropped;
      lock.unlock();
      report_drops(dropped);  // may block on stderr: not under the lock, never on a review
      lock.lock();
    }
    // Linger before going idle: lines queued meanwhile wake nobody (no futex call per line on the request
    // path) and go out together after the interval. A line that finds the writer idle is written at once.
    if (lines.empty() && !stopping && options.batch_interval.count() > 0) {
      wake.wait_for(lock, options.batch_interval, [this] { return stopping; });
    }
  }
  finished = true;
  settled.notify_all();
}

void DecisionLog::Queue::report_drops(std::uint64_t dropped) {
  options.report->warn("decision log lines dropped: stdout was not read fast enough and the queue was full",
                       {{"dropped", dropped},
                        {"queueLines", options.max_queued_lines},
                        {"queueBytes", options.max_queued_bytes}});
}

DecisionLog::DecisionLog(std::ostream& out) : out_(&out) {}

DecisionLog::DecisionLog(int fd, DecisionLogOptions options)
    : queue_(std::make_shared<Queue>()), drain_timeout_(options.drain_timeout) {
  queue_->fd = fd;
  queue_->options = options;
  std::thread([queue = queue_] { queue->run(); }).detach();  // joined through `finished` (see the destructor)
}

DecisionLog::~DecisionLog() {
  if (!queue_) return;
  std::unique_lock lock(queue_->mutex);
  queue_->stopping = true;
  queue_->wake.notify_one();
  // Every line queued is written before the writer leaves its loop; a writer stuck on a stalled stdout is
  // left behind (it owns its share of the queue) when the timeout passes.
  const auto timeout = gave_up_ ? std::chrono::milliseconds(0) : drain_timeout_;  // once is enough
  queue_->settled.wait_for(lock, timeout, [this] { return queue_->finished; });
}

void DecisionLog::write(std::string_view json_line) {
  if (out_ != nullptr) {
    std::lock_guard lock(mutex_);
    // One write per line, then flush: a reader of the stream never sees half a decision.
    out_->write(json_line.data(), static_cast<std::streamsize>(json_line.size()));
    *out_ << '\n';
    out_->flush();
    written_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Queue& q = *queue_;
  const std::size_t bytes = json_line.size() + 1;
  bool notify = false;
  {
    std::lock_guard lock(q.mutex);
    if (q.pending_lines + 1 > q.options.max_queued_lines || q.pending_bytes + bytes > q.options.max_queued_bytes) {
      ++q.counts.dropped;
      return;
    }
    q.lines.append(json_line);
    q.lines += '\n';
    ++q.queued_lines;
    ++q.pending_lines;
    q.pending_bytes += bytes;
    ++q.accepted;
    notify = std::exchange(q.writer_idle, false);
  }
  if (notify) q.wake.notify_one();
}

bool DecisionLog::drain(std::chrono::milliseconds timeout) {
  if (!queue_) return true;
  std::unique_lock lock(queue_->mutex);
  const std::uint64_t target = queue_->accepted;
  const bool drained = queue_->settled.wait_for(lock, timeout, [&] { return queue_->settled_lines >= target; });
  if (!drained) gave_up_ = true;
  return drained;
}

DecisionLogCounts DecisionLog::counts() const {
  if (!queue_) return {written_.load(std::memory_order_relaxed), 0, 0};
  std::lock_guard lock(queue_->mutex);
  return queue_->counts;
}

}  // namespace imagegate::webhook
