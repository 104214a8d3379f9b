// Fuzzes verifier/verdict/scan_report.cc: the first byte picks a format (or detection), the rest is the report.
// Every accepted report must serialise to native JSON that parses back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "verifier/verdict/scan_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::verifier;
  if (size == 0) return 0;
  std::optional<ReportFormat> format;
  switch (data[0] % 5) {
    case 0: format = ReportFormat::trivy; break;
    case 1: format = ReportFormat::grype; break;
    case 2: format = ReportFormat::sarif; break;
    case 3: format = ReportFormat::native; break;
    default: break;
  }
  ReportLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_findings = 1000;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto v = parse_scan_report({body, format, "sha256:" + std::string(64, 'c'), "", {}}, limits);
  if (v.ok()) {
    auto back = parse_scan_report({to_native_json(*v), ReportFormat::native, "", "", {}});
    if (!back.ok() || back->vulnerabilities.size() != v->vulnerabilities.size()) std::abort();
  }
  return 0;
}
