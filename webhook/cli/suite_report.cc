#include "webhook/cli/suite_report.h"

#include <algorithm>
#include <array>
#include <sstream>

#include "common/text.h"
#include "webhook/cli/report.h"

namespace imagegate::webhook {
namespace {

using nlohmann::json;

// "Deployment/default/web sidecar", "Deployment/default/web volume data", plus " [name]".
std::string resource_of(const SuiteCase& t) {
  std::string out = t.workload + (!t.volume.empty()      ? " volume " + t.volume
                                  : !t.container.empty() ? " " + t.container
                                                         : std::string());
  if (!t.name.empty()) out += " [" + t.name + "]";
  return out;
}

std::string location(const std::string& file, int line) {
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

std::string suite_title(const SuiteRun& run) { return run.suite.name.empty() ? run.file : run.suite.name; }

std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

struct Totals {
  std::size_t cases = 0, passed = 0, failed = 0, errors = 0;
};

Totals totals(const std::vector<SuiteRun>& runs) {
  Totals t;
  for (const SuiteRun& run : runs) {
    if (!run.diagnostics.empty()) ++t.errors;
    t.cases += run.results.size();
    t.failed += run.failed();
  }
  t.passed = t.cases - t.failed;
  return t;
}

std::string counts_line(const Totals& t) {
  return std::to_string(t.passed) + " passed, " + std::to_string(t.failed) + " failed" +
         (t.errors > 0 ? ", " + std::to_string(t.errors) + (t.errors == 1 ? " suite" : " suites") + " not run"
                       : std::string());
}

}  // namespace

std::size_t SuiteRun::failed() const {
  return static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [](const CaseResult& r) { return !r.passed; }));
}

std::string render_suite_table(const std::vector<SuiteRun>& runs) {
  std::vector<std::array<std::string, 7>> rows;
  rows.push_back({"ID", "FILE", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON"});
  std::size_t id = 0;
  for (const SuiteRun& run : runs) {
    for (const CaseResult& r : run.results) {
      rows.push_back({std::to_string(++id), location(run.file, r.test.line),
                      run.policy_name.empty() ? std::string("-") : run.policy_name,
                      r.rule.empty() ? std::string("-") : r.rule, resource_of(r.test), r.passed ? "pass" : "fail",
                      r.reason});
    }
  }
  std::array<std::size_t, 7> widths{};
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  }
  std::ostringstream out;
  if (rows.size() > 1) {
    for (const auto& row : rows) {
      for (std::size_t i = 0; i < row.size(); ++i) {
        out << row[i];
        if (i + 1 < row.size()) out << std::string(widths[i] - display_width(row[i]) + 2, ' ');
      }
      out << '\n';
    }
    out << '\n';
  }
  for (const SuiteRun& run : runs) {
    if (!run.diagnostics.empty()) {
      out << suite_title(run) << ": not run (" << run.diagnostics.size()
          << (run.diagnostics.size() == 1 ? " error" : " errors") << ", above)\n";
      continue;
    }
    out << suite_title(run) << ": " << run.results.size() - run.failed() << " passed, " << run.failed() << " failed\n";
  }
  if (runs.size() > 1) out << "total: " << counts_line(totals(runs)) << "\n";
  return out.str();
}

json suites_to_json(const std::vector<SuiteRun>& runs) {
  json suites = json::array();
  std::size_t id = 0;
  for (const SuiteRun& run : runs) {
    json results = json::array();
    for (const CaseResult& r : run.results) {
      const SuiteCase& t = r.test;
      json expected = {{"decision", std::string(policy::to_string(t.expect))}};
      expected["rule"] = t.rule ? json(*t.rule) : json(nullptr);
      expected["reason"] = t.reason;
      results.push_back({{"id", ++id},
                         {"file", run.file},
                         {"line", t.line},
                         {"name", t.name},
                         {"policy", run.policy_name},
                         {"rule", r.rule},
                         {"resource", resource_of(t)},
                         {"workload", t.workload},
                         {"container", t.container},
                         {"volume", t.volume},
                         {"expected", std::move(expected)},
                         {"actual", r.actual},
                         {"result", r.passed ? "pass" : "fail"},
                         {"reason", r.reason}});
    }
    json errors = json::array();
    for (const policy::Diagnostic& d : run.diagnostics) {
      errors.push_back({{"file", d.file},
                        {"line", d.location.line},
                        {"column", d.location.column},
                        {"path", d.path},
                        {"message", d.message}});
    }
    suites.push_back({{"file", run.file},
                      {"name", run.suite.name},
                      {"policy", {{"file", run.suite.policy}, {"name", run.policy_name}}},
                      {"passed", run.results.size() - run.failed()},
                      {"failed", run.failed()},
                      {"errors", std::move(errors)},
                      {"results", std::move(results)}});
  }
  const Totals t = totals(runs);
  return {{"suites", std::move(suites)},
          {"summary",
           {{"suites", runs.size()}, {"cases", t.cases}, {"passed", t.passed}, {"failed", t.failed}, {"errors", t.errors}}}};
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default:
        if (u < 0x20 || u == 0x7F) {
          out += "\xEF\xBF\xBD";  // U+FFFD: XML 1.0 has no way to carry these
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string render_junit(const std::vector<SuiteRun>& runs) {
  const Totals t = totals(runs);
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"imagegate\" tests=\"" << t.cases + t.errors << "\" failures=\"" << t.failed
      << "\" errors=\"" << t.errors << "\">\n";
  for (const SuiteRun& run : runs) {
    const std::string classname = xml_escape("imagegate." + suite_title(run));
    const bool broken = !run.diagnostics.empty();
    out << "  <testsuite name=\"" << xml_escape(suite_title(run)) << "\" file=\"" << xml_escape(run.file)
        << "\" tests=\"" << (broken ? 1 : run.results.size()) << "\" failures=\"" << run.failed() << "\" errors=\""
        << (broken ? 1 : 0) << "\">\n";
    if (broken) {
      std::vector<std::string> lines;
      for (const policy::Diagnostic& d : run.diagnostics) lines.push_back(d.to_string());
      out << "    <testcase name=\"load " << xml_escape(run.file) << "\" classname=\"" << classname << "\" file=\""
          << xml_escape(run.file) << "\">\n"
          << "      <error message=\"" << xml_escape(run.diagnostics.front().to_string()) << "\" type=\"load\">"
          << xml_escape(join(lines, "\n")) << "</error>\n"
          << "    </testcase>\n";
    }
    for (const CaseResult& r : run.results) {
      out << "    <testcase name=\"" << xml_escape(resource_of(r.test)) << "\" classname=\"" << classname
          << "\" file=\"" << xml_escape(run.file) << "\" line=\"" << r.test.line << "\"";
      if (r.passed) {
        out << "/>\n";
        continue;
      }
      out << ">\n      <failure message=\"" << xml_escape(r.reason) << "\" type=\"mismatch\">"
          << xml_escape(location(run.file, r.test.line) + ": " + r.reason) << "</failure>\n    </testcase>\n";
    }
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
  return out.str();
}

std::string render_suite_github(const std::vector<SuiteRun>& runs) {
  std::ostringstream out;
  for (const SuiteRun& run : runs) {
    for (const policy::Diagnostic& d : run.diagnostics) {
      out << "::error file=" << github_escape(d.file, true);
      if (d.location.line > 0) out << ",line=" << d.location.line;
      if (d.location.column > 0) out << ",col=" << d.location.column;
      out << ",title=" << github_escape("imagegate: " + suite_title(run) + " not run", true)
          << "::" << github_escape(d.path.empty() ? d.message : d.path + ": " + d.message, false) << "\n";
    }
    for (const CaseResult& r : run.results) {
      if (r.passed) continue;
      out << "::error file=" << github_escape(run.file, true) << ",line=" << r.test.line
          << ",title=" << github_escape("imagegate: " + resource_of(r.test), true)
          << "::" << github_escape(r.reason, false) << "\n";
    }
  }
  out << "::notice title=imagegate::" << github_escape(counts_line(totals(runs)), false) << "\n";
  return out.str();
}

}  // namespace imagegate::webhook
