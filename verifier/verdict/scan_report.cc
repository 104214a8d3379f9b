#include "verifier/verdict/scan_report.h"

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "common/text.h"

namespace imagegate::verifier {

namespace {

using json = nlohmann::json;

// A field's string value, "" when absent or not a string: scanners omit empty fields.
std::string str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json* field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const json& array_or_empty(const json& j, const char* key) {
  static const json kEmpty = json::array();
  const json* f = field(j, key);
  return f != nullptr && f->is_array() ? *f : kEmpty;
}

Severity severity_of(const std::string& text) { return parse_scanner_severity(text).value_or(Severity::unknown); }

// Counts findings as they are added so a report cannot make us hold more than the limit.
class Builder {
 public:
  explicit Builder(std::size_t max) : max_(max) {}
  Status count() {
    if (++n_ > max_) return resource_exhausted("the report has more than " + std::to_string(max_) + " findings");
    return Ok{};
  }

 private:
  std::size_t max_;
  std::size_t n_ = 0;
};

// "registry/repo@sha256:..." entries -> the single distinct digest, or "" when none or several.
std::string single_digest(const json& entries) {
  std::set<std::string> digests;
  if (!entries.is_array()) return "";
  for (const json& e : entries) {
    if (!e.is_string()) continue;
    const std::string s = e.get<std::string>();
    const std::size_t at = s.rfind('@');
    digests.insert(at == std::string::npos ? s : s.substr(at + 1));
  }
  return digests.size() == 1 ? *digests.begin() : "";
}

std::optional<double> trivy_cvss(const json& vuln) {
  const json* cvss = field(vuln, "CVSS");
  if (cvss == nullptr || !cvss->is_object()) return std::nullopt;
  std::optional<double> v2;
  // Prefer NVD, then any source; v3 over v2.
  for (const char* preferred : {"nvd", ""}) {
    for (auto it = cvss->begin(); it != cvss->end(); ++it) {
      if (*preferred != '\0' && it.key() != preferred) continue;
      const json* v3 = field(*it, "V3Score");
      if (v3 != nullptr && v3->is_number()) return v3->get<double>();
      const json* s2 = field(*it, "V2Score");
      if (!v2 && s2 != nullptr && s2->is_number()) v2 = s2->get<double>();
    }
  }
  return v2;
}

Status parse_trivy(const json& doc, ScanVerdict& v, std::string& digest, Builder& b) {
  const json* schema = field(doc, "SchemaVersion");
  if (schema == nullptr || !schema->is_number_integer() || schema->get<std::int64_t>() != 2) {
    return invalid_argument("not a Trivy report with SchemaVersion 2");
  }
  const json* trivy = field(doc, "Trivy");
  const std::string version = trivy != nullptr ? str(*trivy, "Version") : "";
  v.scanner = version.empty() ? "trivy" : "trivy " + version;
  if (auto t = parse_rfc3339(str(doc, "CreatedAt"))) v.scanned_at = *t;
  if (const json* meta = field(doc, "Metadata")) {
    if (const json* repo_digests = field(*meta, "RepoDigests")) digest = single_digest(*repo_digests);
    if (v.image.empty()) v.image = str(*meta, "Reference");
  }
  const json* results = field(doc, "Results");
  if (results != nullptr && !results->is_array() && !results->is_null()) {
    return invalid_argument("Trivy Results is not an array");
  }
  v.results_present = results != nullptr && results->is_array();
  for (const json& r : array_or_empty(doc, "Results")) {
    const std::string target = str(r, "Target");
    for (const json& x : array_or_empty(r, "Vulnerabilities")) {
      if (Status s = b.count(); !s) return s.error();
      Vulnerability out{str(x, "VulnerabilityID"), severity_of(str(x, "Severity")), trivy_cvss(x),
                        str(x, "PkgName"),        str(x, "InstalledVersion"),      str(x, "FixedVersion")};
      if (out.id.empty()) return invalid_argument("a Trivy vulnerability has no VulnerabilityID");
      v.vulnerabilities.push_back(std::move(out));
    }
    for (const json& x : array_or_empty(r, "Secrets")) {
      if (Status s = b.count(); !s) return s.error();
      v.secrets.push_back({str(x, "RuleID"), severity_of(str(x, "Severity")), str(x, "Title"), target});
    }
    for (const json& x : array_or_empty(r, "Misconfigurations")) {
      if (Status s = b.count(); !s) return s.error();
      std::string id = str(x, "AVDID");
      if (id.empty()) id = str(x, "ID");
      v.compliance.push_back({std::move(id), severity_of(str(x, "Severity")), str(x, "Status") == "PASS",
                              str(x, "Title")});
    }
  }
  return Ok{};
}

Status parse_grype(const json& doc, ScanVerdict& v, std::string& digest, Builder& b) {
  const json* matches = field(doc, "matches");
  if (matches == nullptr || !matches->is_array()) return invalid_argument("not a Grype report (no matches array)");
  const json* descriptor = field(doc, "descriptor");
  const std::string name = descriptor != nullptr ? str(*descriptor, "name") : "";
  const std::string version = descriptor != nullptr ? str(*descriptor, "version") : "";
  v.scanner = (name.empty() ? std::string("grype") : name) + (version.empty() ? "" : " " + version);
  if (descriptor != nullptr) {
    if (auto t = parse_rfc3339(str(*descriptor, "timestamp"))) v.scanned_at = *t;
  }
  if (const json* source = field(doc, "source")) {
    if (const json* target = field(*source, "target"); target != nullptr && target->is_object()) {
      if (const json* repo_digests = field(*target, "repoDigests")) digest = single_digest(*repo_digests);
      if (digest.empty()) digest = str(*target, "manifestDigest");
      if (v.image.empty()) v.image = str(*target, "userInput");
    }
  }
  for (const json& m : *matches) {
    if (Status s = b.count(); !s) return s.error();
    const json* vuln = field(m, "vulnerability");
    if (vuln == nullptr || !vuln->is_object()) return invalid_argument("a Grype match has no vulnerability");
    Vulnerability out;
    out.id = str(*vuln, "id");
    if (out.id.empty()) return invalid_argument("a Grype vulnerability has no id");
    out.severity = severity_of(str(*vuln, "severity"));
    for (const json& c : array_or_empty(*vuln, "cvss")) {
      const json* metrics = field(c, "metrics");
      const json* score = metrics != nullptr ? field(*metrics, "baseScore") : nullptr;
      if (score != nullptr && score->is_number()) {
        out.cvss = score->get<double>();
        break;
      }
    }
    if (const json* fix = field(*vuln, "fix")) {
      const json& versions = array_or_empty(*fix, "versions");
      if (!versions.empty() && versions.front().is_string()) out.fixed_version = versions.front().get<std::string>();
    }
    if (const json* artifact = field(m, "artifact")) {
      out.package = str(*artifact, "name");
      out.installed_version = str(*artifact, "version");
    }
    v.vulnerabilities.push_back(std::move(out));
  }
  return Ok{};
}

// Trivy writes "Package: x\nInstalled Version: y\n...Fixed Version: z" in each result's message.
std::string message_line(const std::string& text, std::string_view label) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (line.substr(0, label.size()) == label) return std::string(line.substr(label.size()));
    pos = end + 1;
  }
  return "";
}

Status parse_sarif(const json& doc, ScanVerdict& v, Builder& b) {
  const json* runs = field(doc, "runs");
  if (str(doc, "version") != "2.1.0" || runs == nullptr || !runs->is_array()) {
    return invalid_argument("not a SARIF 2.1.0 log (version 2.1.0 with runs)");
  }
  for (const json& run : *runs) {
    const json* tool = field(run, "tool");
    const json* driver = tool != nullptr ? field(*tool, "driver") : nullptr;
    if (driver != nullptr && v.scanner.empty()) {
      const std::string version = str(*driver, "version");
      v.scanner = str(*driver, "name") + (version.empty() ? "" : " " + version);
    }
    for (const json& inv : array_or_empty(run, "invocations")) {
      if (auto t = parse_rfc3339(str(inv, "endTimeUtc"))) v.scanned_at = *t;
    }
    // Rule id -> severity: Trivy tags each rule with its severity word; otherwise security-severity (CVSS).
    std::vector<std::pair<std::string, std::optional<Severity>>> rules;
    if (driver != nullptr) {
      for (const json& rule : array_or_empty(*driver, "rules")) {
        std::optional<Severity> sev;
        if (const json* props = field(rule, "properties")) {
          for (const json& tag : array_or_empty(*props, "tags")) {
            if (tag.is_string() && tag.get<std::string>().size() > 2) {
              if (auto s = parse_scanner_severity(tag.get<std::string>()); s && !sev) sev = s;
            }
          }
          if (!sev) {
            const std::string score = str(*props, "security-severity");
            try {
              if (!score.empty()) sev = severity_from_cvss(std::stod(score));
            } catch (const std::exception&) {
              // not a number: fall back to the result's level
            }
          }
        }
        rules.emplace_back(str(rule, "id"), sev);
      }
    }
    for (const json& r : array_or_empty(run, "results")) {
      if (Status s = b.count(); !s) return s.error();
      Vulnerability out;
      out.id = str(r, "ruleId");
      if (out.id.empty()) return invalid_argument("a SARIF result has no ruleId");
      std::optional<Severity> sev;
      for (const auto& [id, rule_sev] : rules) {
        if (id == out.id) sev = rule_sev;
      }
      if (!sev) {
        const std::string level = str(r, "level");
        sev = level == "error" ? Severity::high
              : level == "warning" ? Severity::medium
              : level == "note" ? Severity::low
                                : Severity::unknown;
      }
      out.severity = *sev;
      const json* message = field(r, "message");
      const std::string text = message != nullptr ? str(*message, "text") : "";
      out.package = message_line(text, "Package: ");
      out.installed_version = message_line(text, "Installed Version: ");
      out.fixed_version = message_line(text, "Fixed Version: ");
      v.vulnerabilities.push_back(std::move(out));
    }
  }
  if (v.scanner.empty()) v.scanner = "sarif";
  return Ok{};
}

Result<Severity> native_severity(const json& x) {
  const std::string s = str(x, "severity");
  if (auto sev = parse_scanner_severity(s)) return *sev;
  return invalid_argument("bad severity \"" + s.substr(0, 32) + "\" (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL or 1-5)");
}

Status parse_native(const json& doc, ScanVerdict& v, std::string& digest, Builder& b) {
  if (str(doc, "format") != "imagegate.verdict/v1") {
    return invalid_argument("not a native verdict (\"format\": \"imagegate.verdict/v1\")");
  }
  v.scanner = str(doc, "scanner");
  if (v.scanner.empty()) return invalid_argument("a native verdict needs \"scanner\"");
  digest = str(doc, "digest");
  if (v.image.empty()) v.image = str(doc, "image");
  if (const json* at = field(doc, "scannedAt")) {
    auto t = at->is_string() ? parse_rfc3339(at->get<std::string>()) : std::nullopt;
    if (!t) return invalid_argument("scannedAt is not an RFC 3339 time");
    v.scanned_at = *t;
  }
  if (const json* rp = field(doc, "resultsPresent"); rp != nullptr && rp->is_boolean()) v.results_present = rp->get<bool>();
  for (const char* key : {"vulnerabilities", "secrets", "compliance"}) {
    const json* list = field(doc, key);
    if (list != nullptr && !list->is_array()) return invalid_argument(std::string(key) + " is not an array");
  }
  for (const json& x : array_or_empty(doc, "vulnerabilities")) {
    if (Status s = b.count(); !s) return s.error();
    auto sev = native_severity(x);
    if (!sev) return sev.error();
    Vulnerability out{str(x, "id"), *sev, std::nullopt, str(x, "package"), str(x, "installedVersion"),
                      str(x, "fixedVersion")};
    if (out.id.empty()) return invalid_argument("a vulnerability has no id");
    if (const json* c = field(x, "cvss"); c != nullptr && c->is_number()) out.cvss = c->get<double>();
    v.vulnerabilities.push_back(std::move(out));
  }
  for (const json& x : array_or_empty(doc, "secrets")) {
    if (Status s = b.count(); !s) return s.error();
    auto sev = native_severity(x);
    if (!sev) return sev.error();
    v.secrets.push_back({str(x, "id"), *sev, str(x, "title"), str(x, "target")});
  }
  for (const json& x : array_or_empty(doc, "compliance")) {
    if (Status s = b.count(); !s) return s.error();
    auto sev = native_severity(x);
    if (!sev) return sev.error();
    const json* passed = field(x, "passed");
    if (passed == nullptr || !passed->is_boolean()) return invalid_argument("a compliance result needs \"passed\"");
    v.compliance.push_back({str(x, "id"), *sev, passed->get<bool>(), str(x, "title")});
  }
  return Ok{};
}

std::optional<ReportFormat> detect(const json& doc) {
  if (!doc.is_object()) return std::nullopt;
  if (doc.contains("SchemaVersion")) return ReportFormat::trivy;
  if (doc.contains("matches")) return ReportFormat::grype;
  if (doc.contains("runs")) return ReportFormat::sarif;
  if (str(doc, "format") == "imagegate.verdict/v1") return ReportFormat::native;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(ReportFormat f) noexcept {
  switch (f) {
    case ReportFormat::trivy: return "trivy";
    case ReportFormat::grype: return "grype";
    case ReportFormat::sarif: return "sarif";
    case ReportFormat::native: return "native";
  }
  return "native";
}

std::optional<ReportFormat> parse_report_format(std::string_view name) noexcept {
  if (name.size() > 8) return std::nullopt;
  const std::string lower = ascii_lower(name);
  if (lower == "trivy") return ReportFormat::trivy;
  if (lower == "grype") return ReportFormat::grype;
  if (lower == "sarif") return ReportFormat::sarif;
  if (lower == "native") return ReportFormat::native;
  return std::nullopt;
}

Result<ScanVerdict> parse_scan_report(const ReportInput& input, const ReportLimits& limits) {
  if (input.body.size() > limits.max_bytes) {
    return resource_exhausted("the report is larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  auto report_json = parse_json_bounded(input.body, JsonLimits{limits.max_bytes, limits.max_depth, limits.max_values});
  if (!report_json) return Error{report_json.error().code, "the report: " + report_json.error().message};
  const json& doc = *report_json;
  if (!doc.is_object()) return invalid_argument("the report is not a JSON object");
  const std::optional<ReportFormat> format = input.format ? input.format : detect(doc);
  if (!format) return invalid_argument("unknown report format (expected Trivy, Grype, SARIF or native JSON)");

  ScanVerdict v;
  v.image = input.image;
  std::string report_digest;
  Builder b(limits.max_findings);
  Status parsed = Ok{};
  try {
    switch (*format) {
      case ReportFormat::trivy: parsed = parse_trivy(doc, v, report_digest, b); break;
      case ReportFormat::grype: parsed = parse_grype(doc, v, report_digest, b); break;
      case ReportFormat::sarif: parsed = parse_sarif(doc, v, b); break;
      case ReportFormat::native: parsed = parse_native(doc, v, report_digest, b); break;
    }
  } catch (const json::exception& e) {
    return invalid_argument(std::string("malformed ") + std::string(to_string(*format)) + " report: " + e.what());
  }
  if (!parsed) return parsed.error();
  if (!input.digest.empty()) {
    v.digest = input.digest;
  } else if (!report_digest.empty()) {
    v.digest = report_digest;
  } else {
    return invalid_argument("no digest: the report names none (or several); give one in the request");
  }
  if (!is_valid_digest(v.digest)) return invalid_argument("bad digest (want sha256:<64 lowercase hex>)");
  if (v.scanned_at == std::chrono::system_clock::time_point{}) v.scanned_at = input.now;
  return v;
}

}  // namespace imagegate::verifier
