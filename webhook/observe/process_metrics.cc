#include "webhook/observe/process_metrics.h"

#include <unistd.h>

#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace imagegate::webhook {
namespace {

std::string read_small_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> number(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// /proc/self/stat's fields after the command name (which may hold spaces and parentheses: it ends at the
// last ')'). fields[0] is field 3 (state).
std::vector<std::string_view> stat_fields(std::string_view stat) {
  std::vector<std::string_view> fields;
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return fields;
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    const std::size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const std::size_t end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  return fields;
}

std::optional<double> boot_time() {
  const std::string stat = read_small_file("/proc/stat");
  const std::size_t at = stat.find("\nbtime ");
  if (at == std::string::npos) return std::nullopt;
  const std::size_t start = at + 7;
  return number(std::string_view(stat).substr(start, stat.find('\n', start) - start));
}

void gauge(std::string& out, std::string_view name, std::string_view type, std::string_view help,
           const std::optional<double>& value) {
  if (!value) return;
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), *value);
  out.append(name).append(" ").append(ec == std::errc() ? std::string_view(buffer.data(), end - buffer.data()) : "0");
  out.append("\n");
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats stats;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  const std::string stat = read_small_file("/proc/self/stat");
  const std::vector<std::string_view> fields = stat_fields(stat);
  // Field n of proc(5) is fields[n - 3]: utime 14, stime 15, starttime 22, rss 24.
  if (fields.size() >= 22 && ticks > 0) {
    const auto utime = number(fields[11]);
    const auto stime = number(fields[12]);
    if (utime && stime) stats.cpu_seconds = (*utime + *stime) / static_cast<double>(ticks);
    const auto start = number(fields[19]);
    const auto boot = boot_time();
    if (start && boot) stats.start_time_seconds = *boot + *start / static_cast<double>(ticks);
    const auto rss = number(fields[21]);
    if (rss && page > 0) stats.resident_bytes = *rss * static_cast<double>(page);
  }
  std::error_code ec;
  std::filesystem::directory_iterator fds("/proc/self/fd", ec);
  if (!ec) {
    double count = 0;
    for (const auto& entry : fds) {
      (void)entry;
      ++count;
    }
    stats.open_fds = count > 0 ? count - 1 : count;  // less the iterator's own descriptor
  }
  return stats;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void render_process_metrics(std::string& out, const ProcessStats& stats, std::string_view version) {
  gauge(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
        stats.cpu_seconds);
  gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", stats.resident_bytes);
  gauge(out, "process_open_fds", "gauge", "Number of open file descriptors.", stats.open_fds);
  gauge(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
        stats.start_time_seconds);
  out.append("# HELP imagegate_build_info The running imagegate's version (the value is always 1).\n");
  out.append("# TYPE imagegate_build_info gauge\n");
  out.append("imagegate_build_info{version=\"").append(escape_label_value(version)).append("\"} 1\n");
}

}  // namespace imagegate::webhook
