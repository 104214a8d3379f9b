// ScanVerdict: what a vulnerability scanner found in one image digest, normalised from any report format
// (verifier/verdict/scan_report.h) onto one severity scale (verifier/image/severity.h). Stored per digest by a
// VerdictStore and read by the policy's verdict gates.
//
// The native JSON form (to_native_json / the "native" report format) is also how stores persist a verdict:
//   {"format":"imagegate.verdict/v1","digest":"sha256:...","image":"registry/repo:tag",
//    "scanner":"trivy 0.50.0","scannedAt":"2024-05-01T12:00:00Z","resultsPresent":true,
//    "vulnerabilities":[{"id":"CVE-...","severity":"HIGH","cvss":7.5,"package":"openssl",
//                        "installedVersion":"1.1.1c","fixedVersion":"1.1.1d"}],
//    "secrets":[{"id":"aws-access-key-id","severity":"CRITICAL","title":"...","target":"deploy.sh"}],
//    "compliance":[{"id":"KSV001","severity":"MEDIUM","passed":false,"title":"..."}]}
//
// Plain values: thread-compatible.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/image/severity.h"

namespace imagegate::verifier {

struct Vulnerability {
  std::string id;  // CVE-..., GHSA-..., any scanner id
  Severity severity = Severity::unknown;
  std::optional<double> cvss;  // a CVSS v3 (else v2) base score when the report gives one
  std::string package;
  std::string installed_version;
  std::string fixed_version;  // "" when no fix is known

  bool fixable() const { return !fixed_version.empty(); }
};

struct SecretFinding {
  std::string id;  // the rule that matched (aws-access-key-id)
  Severity severity = Severity::unknown;
  std::string title;
  std::string target;  // the file
};

// One misconfiguration / compliance check.
struct ComplianceResult {
  std::string id;
  Severity severity = Severity::unknown;
  bool passed = false;
  std::string title;
};

struct ScanVerdict {
  std::string digest;   // sha256:<64 hex>
  std::string image;    // the reference it was pushed for ("" when unknown)
  std::string scanner;  // "trivy dev", "grype 0.74.0", "Trivy" (SARIF driver), native free text
  std::chrono::system_clock::time_point scanned_at{};  // from the report, else when it was ingested
  bool results_present = true;  // false: the report had no results at all (e.g. Trivy without "Results")
  std::vector<Vulnerability> vulnerabilities;
  std::vector<SecretFinding> secrets;
  std::vector<ComplianceResult> compliance;

  // Findings per severity, index 1..5 (index 0 unused).
  std::vector<std::size_t> vulnerability_counts() const;
  std::vector<std::size_t> secret_counts() const;
};

// A digest `sha256:` + 64 lowercase hex (the only algorithm registries use for image manifests today).
bool is_valid_digest(std::string_view digest) noexcept;

// RFC 3339 ("2021-08-25T12:20:30.000000005Z", "+02:00" offsets). nullopt when malformed. Times beyond
// what system_clock holds (years after 2262) saturate to time_point::max(), before 1677 to min().
// The one RFC 3339 parser: scan reports, Sigstore trusted roots and TUF metadata all use it.
// (The one formatter is common/rfc3339.h's format_rfc3339.)
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) noexcept;

// The native JSON form (see above).
std::string to_native_json(const ScanVerdict& verdict);

}  // namespace imagegate::verifier
