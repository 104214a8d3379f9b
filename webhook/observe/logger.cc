#include "webhook/observe/logger.h"

#include <algorithm>
#include <utility>

#include "common/json_writer.h"
#include "common/rfc3339.h"

namespace imagegate::webhook {
namespace {

void write_json_value(JsonWriter& w, const LogField& f) {
  switch (f.kind) {
    case LogField::Kind::text: w.value(f.text); break;
    case LogField::Kind::signed_number: w.value(f.signed_number); break;
    case LogField::Kind::unsigned_number: w.value(f.unsigned_number); break;
    case LogField::Kind::real: w.value(f.real); break;
    case LogField::Kind::boolean: w.value(f.boolean); break;
    case LogField::Kind::list: w.string_array(*f.list); break;
  }
}

// A text-format value: bare when it reads back unambiguously, JSON-quoted otherwise.
void append_text_value(std::string& out, const LogField& f) {
  if (f.kind == LogField::Kind::text) {
    const bool bare = !f.text.empty() && f.text.find_first_of(" \"=\\") == std::string_view::npos &&
                      std::none_of(f.text.begin(), f.text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
    if (bare) {
      out.append(f.text);
    } else {
      append_json_string(out, f.text);
    }
    return;
  }
  JsonWriter w(out);
  write_json_value(w, f);
}

}  // namespace

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "json") return LogFormat::json;
  if (text == "text") return LogFormat::text;
  return std::nullopt;
}

void write_log_head(JsonWriter& w, std::chrono::system_clock::time_point time, LogLevel level, std::string_view msg) {
  char buffer[kRfc3339Buffer];
  w.begin_object();
  w.member("time", write_rfc3339(buffer, time, Rfc3339Precision::milliseconds));
  w.member("level", level_name(level));
  w.member("msg", msg);
}

std::string format_log_line(LogFormat format, std::chrono::system_clock::time_point time, LogLevel level,
                            std::string_view msg, const std::vector<LogField>& fields) {
  std::string line;
  if (format == LogFormat::json) {
    JsonWriter w(line);
    write_log_head(w, time, level, msg);
    for (const LogField& f : fields) {
      w.key(f.key);
      write_json_value(w, f);
    }
    w.end_object();
    return line;
  }
  char buffer[kRfc3339Buffer];
  line.append(write_rfc3339(buffer, time, Rfc3339Precision::milliseconds));
  line += ' ';
  for (char c : level_name(level)) line += static_cast<char>(c - 'a' + 'A');
  line += ' ';
  // The message as it is, but on one line.
  for (char c : msg) line += (c == '\n' || c == '\r') ? ' ' : c;
  for (const LogField& f : fields) {
    line += ' ';
    line.append(f.key);
    line += '=';
    append_text_value(line, f);
  }
  return line;
}

Logger::Logger(std::ostream& out, LogFormat format, Clock clock)
    : out_(out), clock_(std::move(clock)), format_(format) {
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
}

void Logger::set_format(LogFormat format) {
  std::lock_guard lock(mutex_);
  format_ = format;
}

LogFormat Logger::format() const {
  std::lock_guard lock(mutex_);
  return format_;
}

void Logger::log(LogLevel level, std::string_view msg, const std::vector<LogField>& fields) {
  std::lock_guard lock(mutex_);
  std::string line = format_log_line(format_, clock_(), level, msg, fields);
  line += '\n';
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  out_.flush();
}

}  // namespace imagegate::webhook
