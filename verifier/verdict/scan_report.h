// Scan report ingestion: Trivy JSON (SchemaVersion 2), Grype JSON, SARIF 2.1.0 (as Trivy writes it) and
// the native JSON form (verifier/image/scan_verdict.h) -> ScanVerdict.
//
// Untrusted input: the body size, JSON nesting depth and number of findings are bounded before or while
// parsing; anything over a bound is resource_exhausted, anything malformed invalid_argument. The digest is
// the caller's (the API path) or, when the caller has none, the one the report names: Trivy
// Metadata.RepoDigests / Grype source.target.repoDigests / the native "digest", when exactly one distinct
// digest is named. scanned_at comes from the report (Trivy CreatedAt, Grype descriptor.timestamp, SARIF
// invocation endTimeUtc, native scannedAt), else the caller's `now`.
//
// Pure functions: thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

#include "common/result.h"
#include "verifier/image/scan_verdict.h"

namespace imagegate::verifier {

enum class ReportFormat { trivy, grype, sarif, native };

std::string_view to_string(ReportFormat f) noexcept;
// "trivy", "grype", "sarif", "native" (case-insensitive).
std::optional<ReportFormat> parse_report_format(std::string_view name) noexcept;

struct ReportLimits {
  std::size_t max_bytes = 16 * 1024 * 1024;
  int max_depth = 64;
  // JSON values (common/json_bounded.h): a 16 MiB Trivy report of real findings is ~250,000 (~60 bytes a
  // value, descriptions being long). The DOM is at most 200 B * 300,000 + 2 * 16 MiB = 92 MiB for one PUT,
  // which needs a write token; 8 MiB of `[],` (~2.8M values, ~190 MB of DOM) is refused before parsing.
  std::size_t max_values = 300'000;
  std::size_t max_findings = 50'000;  // vulnerabilities + secrets + compliance results
};

struct ReportInput {
  std::string_view body;
  std::optional<ReportFormat> format;  // nullopt: detect from the document's shape
  std::string digest;                  // "" : take it from the report
  std::string image;                   // the reference it was pushed for, may be ""
  std::chrono::system_clock::time_point now{};  // scanned_at when the report has no time
};

Result<ScanVerdict> parse_scan_report(const ReportInput& input, const ReportLimits& limits = {});

}  // namespace imagegate::verifier
