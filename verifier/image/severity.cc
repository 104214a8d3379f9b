#include "verifier/image/severity.h"

#include <string>

namespace imagegate::verifier {

std::string_view severity_name(Severity s) noexcept {
  switch (s) {
    case Severity::unknown: return "UNKNOWN";
    case Severity::low: return "LOW";
    case Severity::medium: return "MEDIUM";
    case Severity::high: return "HIGH";
    case Severity::critical: return "CRITICAL";
  }
  return "UNKNOWN";
}

std::optional<Severity> parse_scanner_severity(std::string_view text) noexcept {
  if (text.size() == 1 && text[0] >= '1' && text[0] <= '5') return static_cast<Severity>(text[0] - '0');
  if (text.size() > 16) return std::nullopt;
  std::string upper;
  for (char c : text) upper.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  if (upper == "UNKNOWN" || upper == "NONE" || upper == "NEGLIGIBLE") return Severity::unknown;
  if (upper == "LOW") return Severity::low;
  if (upper == "MEDIUM" || upper == "MODERATE") return Severity::medium;
  if (upper == "HIGH" || upper == "IMPORTANT") return Severity::high;
  if (upper == "CRITICAL") return Severity::critical;
  return std::nullopt;
}

Severity severity_from_cvss(double score) noexcept {
  if (!(score > 0.0)) return Severity::unknown;  // also NaN
  if (score < 4.0) return Severity::low;
  if (score < 7.0) return Severity::medium;
  if (score < 9.0) return Severity::high;
  return Severity::critical;
}

}  // namespace imagegate::verifier
