// The decision log: one JSON line per review, for audit and incident response. Fields: time, uid,
// namespace, kind, name, operation, user, dryRun, policy version, decision, and per image: container,
// image, digest, decision, rule, reasons; durations. Never request bodies, never secrets. An image volume
// is an image like a container's: `container` holds the volume's name, `containerKind` is "volumes".
//
// Thread-safe: lines are written whole under a mutex.
#pragma once

#include <mutex>
#include <ostream>
#include <string>

namespace imagegate::webhook {

class DecisionLog {
 public:
  // Writes to `out` (std::cout in the server; a stringstream in tests). `out` must outlive the log.
  explicit DecisionLog(std::ostream& out) : out_(out) {}
  void write(const std::string& json_line);

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

}  // namespace imagegate::webhook
