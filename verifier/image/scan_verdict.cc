#include "verifier/image/scan_verdict.h"

#include <nlohmann/json.hpp>

#include "common/rfc3339.h"

namespace imagegate::verifier {

namespace {

std::vector<std::size_t> count_by_severity(const auto& findings) {
  std::vector<std::size_t> counts(6, 0);
  for (const auto& f : findings) ++counts[static_cast<int>(f.severity)];
  return counts;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::vector<std::size_t> ScanVerdict::vulnerability_counts() const { return count_by_severity(vulnerabilities); }
std::vector<std::size_t> ScanVerdict::secret_counts() const { return count_by_severity(secrets); }

bool is_valid_digest(std::string_view digest) noexcept {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.size() != kPrefix.size() + 64 || digest.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : digest.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) noexcept {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::chrono::nanoseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::int64_t ns = 0;
    int n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 9) ns = ns * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (int i = n; i < 9; ++i) ns *= 10;
    frac = std::chrono::nanoseconds(ns);
  }
  std::chrono::minutes offset{0};
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om)) {
      return std::nullopt;
    }
    offset = std::chrono::minutes(oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  const std::int64_t seconds = std::chrono::sys_days(ymd).time_since_epoch().count() * 86400LL + h * 3600LL +
                               mi * 60LL + sec - std::chrono::seconds(offset).count();
  // system_clock counts nanoseconds here: about ±292 years around 1970. Notary writes "2999-..." for
  // "never expires": saturate rather than overflow.
  using Clock = std::chrono::system_clock;
  using Dur = Clock::duration;
  const auto max_seconds = std::chrono::duration_cast<std::chrono::seconds>(Dur::max()).count() - 1;
  const auto min_seconds = std::chrono::duration_cast<std::chrono::seconds>(Dur::min()).count() + 1;
  if (seconds >= max_seconds) return Clock::time_point::max();
  if (seconds <= min_seconds) return Clock::time_point::min();
  return Clock::time_point(std::chrono::duration_cast<Dur>(std::chrono::seconds(seconds) + frac));
}

std::string to_native_json(const ScanVerdict& v) {
  nlohmann::json j;
  j["format"] = "imagegate.verdict/v1";
  j["digest"] = v.digest;
  j["image"] = v.image;
  j["scanner"] = v.scanner;
  j["scannedAt"] = format_rfc3339(v.scanned_at);
  j["resultsPresent"] = v.results_present;
  nlohmann::json vulns = nlohmann::json::array();
  for (const Vulnerability& x : v.vulnerabilities) {
    nlohmann::json e{{"id", x.id},
                     {"severity", severity_name(x.severity)},
                     {"package", x.package},
                     {"installedVersion", x.installed_version},
                     {"fixedVersion", x.fixed_version}};
    if (x.cvss) e["cvss"] = *x.cvss;
    vulns.push_back(std::move(e));
  }
  j["vulnerabilities"] = std::move(vulns);
  nlohmann::json secrets = nlohmann::json::array();
  for (const SecretFinding& x : v.secrets) {
    secrets.push_back({{"id", x.id}, {"severity", severity_name(x.severity)}, {"title", x.title}, {"target", x.target}});
  }
  j["secrets"] = std::move(secrets);
  nlohmann::json compliance = nlohmann::json::array();
  for (const ComplianceResult& x : v.compliance) {
    compliance.push_back(
        {{"id", x.id}, {"severity", severity_name(x.severity)}, {"passed", x.passed}, {"title", x.title}});
  }
  j["compliance"] = std::move(compliance);
  // Replace invalid UTF-8 rather than throw: report strings are untrusted.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace imagegate::verifier
