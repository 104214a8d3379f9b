// Logger: every line `imagegate serve` writes about itself (start-up, reloads, errors, stop) goes through
// one of these, so each is one line in one shape:
//   json (default): {"time":"2026-12-07T18:30:55.123Z","level":"info","msg":"listening","port":8443,...}
//                   time (RFC 3339, UTC, milliseconds), level, msg first, then the fields in order given;
//   text:           2026-12-07T18:30:55.123Z INFO listening port=8443 policy=/etc/imagegate/policy.yaml
//                   (a string with a space, a quote, `=` or a control character is written JSON-quoted; a
//                   list as a JSON array).
// The decision log (webhook/observe/decision_log.h) writes its lines itself, through JsonWriter on the
// request path, but opens them with write_log_head: the same first three keys. It stays JSON whatever the
// format (its fields are a documented contract for log shippers).
//
// Thread-safe: one line per call, written whole and flushed under a mutex (stderr from several threads:
// the policy watcher's, the io threads', the decision log's writer). Not for the request path.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace imagegate {
class JsonWriter;
}

namespace imagegate::webhook {

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { json, text };

std::string_view level_name(LogLevel level);  // "info", ...
// "json" or "text"; nullopt otherwise.
std::optional<LogFormat> parse_log_format(std::string_view text);

// One field of a line: a key and a string, number, boolean or list of strings. Refers to what it was made
// from: build the fields in the call that logs them.
struct LogField {
  enum class Kind { text, signed_number, unsigned_number, real, boolean, list };

  LogField(std::string_view k, std::string_view v) : key(k), kind(Kind::text), text(v) {}
  LogField(std::string_view k, const char* v) : LogField(k, std::string_view(v)) {}
  LogField(std::string_view k, const std::string& v) : LogField(k, std::string_view(v)) {}
  LogField(std::string_view k, bool v) : key(k), kind(Kind::boolean), boolean(v) {}
  LogField(std::string_view k, double v) : key(k), kind(Kind::real), real(v) {}
  template <std::signed_integral T>
  LogField(std::string_view k, T v) : key(k), kind(Kind::signed_number), signed_number(v) {}
  template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>)
  LogField(std::string_view k, T v) : key(k), kind(Kind::unsigned_number), unsigned_number(v) {}
  LogField(std::string_view k, const std::vector<std::string>& v) : key(k), kind(Kind::list), list(&v) {}

  std::string_view key;
  Kind kind;
  std::string_view text;
  std::int64_t signed_number = 0;
  std::uint64_t unsigned_number = 0;
  double real = 0;
  bool boolean = false;
  const std::vector<std::string>* list = nullptr;
};

// Opens a JSON line's object: `{"time":...,"level":...,"msg":...` (the caller writes the fields and
// closes it).
void write_log_head(JsonWriter& w, std::chrono::system_clock::time_point time, LogLevel level, std::string_view msg);

// One line (without its newline) in `format`.
std::string format_log_line(LogFormat format, std::chrono::system_clock::time_point time, LogLevel level,
                            std::string_view msg, const std::vector<LogField>& fields);

class Logger {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // `out` must outlive the logger. `clock`: the system clock when empty (tests pass a fixed one).
  explicit Logger(std::ostream& out, LogFormat format = LogFormat::json, Clock clock = {});
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // The format may change once the configuration is read (before serving).
  void set_format(LogFormat format);
  LogFormat format() const;

  void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(level, msg, std::vector<LogField>(fields));
  }
  // Fields gathered beforehand (some only sometimes).
  void log(LogLevel level, std::string_view msg, const std::vector<LogField>& fields);
  void info(std::string_view msg, std::initializer_list<LogField> fields = {}) { log(LogLevel::info, msg, fields); }
  void warn(std::string_view msg, std::initializer_list<LogField> fields = {}) { log(LogLevel::warn, msg, fields); }
  void error(std::string_view msg, std::initializer_list<LogField> fields = {}) { log(LogLevel::error, msg, fields); }

 private:
  std::ostream& out_;
  Clock clock_;
  mutable std::mutex mutex_;
  LogFormat format_;
};

}  // namespace imagegate::webhook
