// The decision log: one JSON line per review, for audit and incident response. Fields: time, uid,
// namespace, kind, name, operation, user, dryRun, policy version, decision, and per image: container,
// image, digest, decision, rule, reasons; durations. Never request bodies, never secrets. An image volume
// is an image like a container's: `container` holds the volume's name, `containerKind` is "volumes".
// (The line itself is written by webhook/admission/decision_rendering.h.)
//
// Two ways to write, both thread-safe, both keeping every line whole (a shipper never sees half a line):
//   - to a std::ostream (tests: a stringstream): write() appends the line and flushes before it returns;
//   - to a file descriptor (`serve`: stdout), off the request path: write() only copies the line into a
//     queue (no system call; it wakes the writer thread only when that thread is idle), and one writer
//     thread writes what is queued with one write(2) per batch. A line that finds the writer idle is
//     written at once; after each write the writer lingers `batch_interval` (1 ms) before going idle, and
//     lines queued meanwhile go out together when it ends (so under load: one write and one wake-up per
//     interval, not one per line, and a line waits at most the interval). A review never waits on stdout. The queue holds at most `max_queued_lines` lines and `max_queued_bytes` bytes, the
//     batch being written included: so at most that many are lost if the process dies. When stdout stalls
//     (a full pipe: the log shipper stopped reading), reviews are still answered and lines beyond the bound
//     are dropped and counted (counts().dropped: imagegate_decision_log_lines_total{result="dropped"}),
//     and reported on `report` once the writer can write again; a write that fails (stdout closed) counts
//     its lines as failed. drain() (and the destructor) waits for every queued line, at most the drain
//     timeout, so a stalled stdout cannot hold a stopping server forever.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <string_view>

namespace imagegate::webhook {

class Logger;  // webhook/observe/logger.h

struct DecisionLogOptions {
  // The queue's bound (lines waiting plus the batch being written). 4 MiB is ~6,000 typical lines of a
  // three-container review: at 8,000 reviews/s, 0.75 s of a stalled stdout beyond the pipe's own buffer.
  std::size_t max_queued_lines = 10'000;
  std::size_t max_queued_bytes = 4 * 1024 * 1024;
  // After a write, how long the writer waits for more lines before going idle (0: never waits).
  std::chrono::microseconds batch_interval{1'000};
  // How long the destructor waits for the queue to drain (a stalled stdout is given up on after this).
  std::chrono::milliseconds drain_timeout{5'000};
  // Where drops are reported (a warn line: "msg":"decision log lines dropped: ...","dropped":N); may be
  // null (none). Must outlive the log. Used by the writer thread only.
  Logger* report = nullptr;
};

struct DecisionLogCounts {
  std::uint64_t written = 0;  // lines handed to the stream or the kernel
  std::uint64_t dropped = 0;  // lines refused because the queue was full
  std::uint64_t failed = 0;   // lines whose write failed (stdout closed)
  std::uint64_t batches = 0;  // write batches (each one or a few write(2) calls)
};

class DecisionLog {
 public:
  // Synchronous: writes to `out` (a stringstream in tests). `out` must outlive the log.
  explicit DecisionLog(std::ostream& out);
  // Asynchronous: writes to `fd` (not owned, must stay open while the log lives) from a thread of its own.
  DecisionLog(int fd, DecisionLogOptions options);
  // Drains (asynchronous: at most options.drain_timeout) and stops the writer.
  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // One line, without its newline. Never blocks on the output when asynchronous.
  void write(std::string_view json_line);
  // Waits until every line written before the call has been written out (or dropped, or failed), at most
  // `timeout`; true when it was. Immediate when synchronous.
  bool drain(std::chrono::milliseconds timeout);
  DecisionLogCounts counts() const;

 private:
  struct Queue;  // the asynchronous writer's state (decision_log.cc)

  std::ostream* out_ = nullptr;  // synchronous mode
  std::mutex mutex_;             // synchronous mode: one line at a time
  std::atomic<std::uint64_t> written_{0};
  std::shared_ptr<Queue> queue_;  // asynchronous mode (shared with the writer thread, which may outlive us)
  std::chrono::milliseconds drain_timeout_{0};
  std::atomic<bool> gave_up_{false};  // a drain() timed out: the destructor does not wait again
};

}  // namespace imagegate::webhook
