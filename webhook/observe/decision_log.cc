#include "webhook/observe/decision_log.h"

namespace imagegate::webhook {

void DecisionLog::write(const std::string& json_line) {
  std::lock_guard lock(mutex_);
  // One write per line, then flush: a log shipper tailing stdout must never see half a decision, and a
  // crash right after an answer must not lose its record.
  out_ << json_line << '\n';
  out_.flush();
}

}  // namespace imagegate::webhook
