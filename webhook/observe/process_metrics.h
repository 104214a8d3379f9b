// The process's own series, read from /proc at each scrape (Prometheus' standard names, as its client
// libraries export them): process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds,
// process_start_time_seconds; and imagegate_build_info{version} 1. A value /proc does not give (not
// Linux, a restricted /proc) is left out rather than reported as 0.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace imagegate::webhook {

struct ProcessStats {
  std::optional<double> cpu_seconds;       // user + system
  std::optional<double> resident_bytes;
  std::optional<double> open_fds;
  std::optional<double> start_time_seconds;  // unix time
};

// Reads /proc/self/stat, /proc/stat (boot time) and /proc/self/fd.
ProcessStats read_process_stats();

// The exposition of `stats` and of imagegate_build_info{version=`version`}, appended to `out`.
void render_process_metrics(std::string& out, const ProcessStats& stats, std::string_view version);

// A label value escaped for the text exposition format (backslash, double quote, newline).
std::string escape_label_value(std::string_view value);

}  // namespace imagegate::webhook
