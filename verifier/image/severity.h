// Severity: the one 1-5 scale every scanner's findings are normalised to, and that policy gates compare
// against (policy::Severity is this type). NONE, NEGLIGIBLE and UNKNOWN share 1.
//
//   UNKNOWN/NONE/NEGLIGIBLE = 1, LOW = 2, MEDIUM = 3, HIGH = 4, CRITICAL = 5
//
// Plain values and pure functions: thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace imagegate::verifier {

enum class Severity { unknown = 1, low = 2, medium = 3, high = 4, critical = 5 };

// "UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL".
std::string_view severity_name(Severity s) noexcept;
// A scanner's severity word, case-insensitive: Trivy (UNKNOWN..CRITICAL), Grype (Unknown, Negligible, Low,
// Medium, High, Critical), NONE, or "1".."5". nullopt for anything else.
std::optional<Severity> parse_scanner_severity(std::string_view text) noexcept;
// A CVSS base score on the scale: 0 -> unknown, 0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10 critical.
Severity severity_from_cvss(double score) noexcept;

}  // namespace imagegate::verifier
