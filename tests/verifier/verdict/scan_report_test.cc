// Tests verifier/verdict/scan_report.cc: every golden in conformance/scan-reports (read in place) parses with the
// counts per severity cases.json gives; the native form round-trips; malformed, oversized, too deep and
// too many findings are refused with the right code.
#include "verifier/verdict/scan_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/rfc3339.h"
#include "tests/test_support.h"

namespace imagegate::verifier {
namespace {

using nlohmann::json;

const std::string kDigest = "sha256:" + std::string(64, 'a');

std::vector<std::size_t> expected_counts(const json& by_severity) {
  std::vector<std::size_t> out(6, 0);
  for (auto it = by_severity.begin(); it != by_severity.end(); ++it) {
    auto s = parse_scanner_severity(it.key());
    EXPECT_TRUE(s.has_value()) << it.key();
    if (s) out[static_cast<int>(*s)] = it->get<std::size_t>();
  }
  return out;
}

TEST(ScanReport, EveryGoldenParsesWithItsCounts) {
  const auto dir = testing::conformance_dir() / "scan-reports";
  const json cases = json::parse(testing::read_file(dir / "cases.json"));
  ASSERT_GE(cases["reports"].size(), 16u);
  for (const json& c : cases["reports"]) {
    const std::string file = c["file"];
    SCOPED_TRACE(file);
    const std::string body = testing::read_file(dir / file);
    ReportInput in{body, std::nullopt, kDigest, "", std::chrono::system_clock::now()};
    Result<ScanVerdict> v = parse_scan_report(in);
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->digest, kDigest);
    if (c.contains("results")) {  // SARIF: a count, all MEDIUM ("level warning = MEDIUM")
      EXPECT_EQ(v->vulnerabilities.size(), c["results"].get<std::size_t>());
      for (const Vulnerability& x : v->vulnerabilities) {
        EXPECT_EQ(x.severity, Severity::medium);
        EXPECT_FALSE(x.package.empty());
        EXPECT_FALSE(x.fixed_version.empty());
      }
      continue;
    }
    EXPECT_EQ(v->vulnerability_counts(), expected_counts(c["vulnerabilities_by_severity"]));
    if (c.contains("secrets_by_severity")) {
      EXPECT_EQ(v->secret_counts(), expected_counts(c["secrets_by_severity"]));
    }
    if (c.contains("has_Results_key")) {
      EXPECT_EQ(v->results_present, c["has_Results_key"].get<bool>());
    }
    // The native form carries the same facts.
    const std::string native = to_native_json(*v);
    Result<ScanVerdict> back = parse_scan_report({native, ReportFormat::native, "", "", {}});
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->vulnerability_counts(), v->vulnerability_counts());
    EXPECT_EQ(back->secret_counts(), v->secret_counts());
    EXPECT_EQ(back->digest, kDigest);
    EXPECT_EQ(back->scanned_at, std::chrono::floor<std::chrono::seconds>(v->scanned_at));
  }
}

TEST(ScanReport, TrivyFacts) {
  const auto dir = testing::conformance_dir() / "scan-reports";
  const std::string body = testing::read_file(dir / "trivy/alpine-310.json.golden");
  auto v = parse_scan_report({body, ReportFormat::trivy, kDigest, "", {}});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->scanner, "trivy dev");
  EXPECT_EQ(format_rfc3339(v->scanned_at), "2021-08-25T12:20:30Z");
  EXPECT_EQ(v->image, "ghcr.io/aquasecurity/trivy-test-images:alpine-310");
  const Vulnerability& x = v->vulnerabilities.front();
  EXPECT_EQ(x.id, "CVE-2019-1549");
  EXPECT_EQ(x.package, "libcrypto1.1");
  EXPECT_EQ(x.installed_version, "1.1.1c-r0");
  EXPECT_EQ(x.fixed_version, "1.1.1d-r0");
  ASSERT_TRUE(x.cvss.has_value());
  EXPECT_DOUBLE_EQ(*x.cvss, 5.3);
  // Without a digest in the request or RepoDigests the report cannot be filed.
  auto none = parse_scan_report({body, std::nullopt, "", "", {}});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::invalid_argument);
  // With exactly one RepoDigest it is taken from the report; with two distinct ones it is refused.
  json doc = json::parse(body);
  const std::string d2 = "sha256:" + std::string(64, 'b');
  doc["Metadata"]["RepoDigests"] = {"ghcr.io/x/y@" + d2, "docker.io/x/y@" + d2};
  auto one = parse_scan_report({doc.dump(), std::nullopt, "", "", {}});
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->digest, d2);
  doc["Metadata"]["RepoDigests"].push_back("ghcr.io/x/y@" + kDigest);
  EXPECT_FALSE(parse_scan_report({doc.dump(), std::nullopt, "", "", {}}).ok());
}

TEST(ScanReport, GrypeFacts) {
  const auto dir = testing::conformance_dir() / "scan-reports";
  auto v = parse_scan_report({testing::read_file(dir / "grype/TestJsonImgsPresenter.golden"), std::nullopt, "", "", {}});
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->digest, "sha256:ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5");
  ASSERT_EQ(v->vulnerabilities.size(), 2u);
  EXPECT_EQ(v->vulnerabilities[0].fixed_version, "1.2.1");
  EXPECT_EQ(v->vulnerabilities[0].package, "package-1");
  EXPECT_FALSE(v->vulnerabilities[1].fixable());
  EXPECT_EQ(v->vulnerabilities[1].severity, Severity::critical);
}

TEST(ScanReport, NativeAndRefusals) {
  const std::string ok = R"({"format":"imagegate.verdict/v1","scanner":"x","scannedAt":"2024-05-01T12:00:00+02:00",
    "vulnerabilities":[{"id":"CVE-1","severity":"high","fixedVersion":"2"}],
    "secrets":[{"id":"k","severity":"5"}],"compliance":[{"id":"C1","severity":"LOW","passed":false}]})";
  auto v = parse_scan_report({ok, std::nullopt, kDigest, "", {}});
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(format_rfc3339(v->scanned_at), "2024-05-01T10:00:00Z");
  EXPECT_EQ(v->vulnerabilities[0].severity, Severity::high);
  EXPECT_EQ(v->secrets[0].severity, Severity::critical);
  EXPECT_FALSE(v->compliance[0].passed);

  struct Bad {
    std::string body;
    ErrorCode code;
  };
  const Bad bad[] = {
      {"", ErrorCode::invalid_argument},
      {"[]", ErrorCode::invalid_argument},
      {"{\"SchemaVersion\":1}", ErrorCode::invalid_argument},
      {"{\"SchemaVersion\":2,\"Results\":{}}", ErrorCode::invalid_argument},
      {"{\"SchemaVersion\":2,\"Results\":[{\"Vulnerabilities\":[{\"Severity\":\"HIGH\"}]}]}", ErrorCode::invalid_argument},
      {"{\"matches\":[{}]}", ErrorCode::invalid_argument},
      {"{\"runs\":[]}", ErrorCode::invalid_argument},
      {"{\"format\":\"imagegate.verdict/v1\",\"scanner\":\"x\",\"vulnerabilities\":[{\"id\":\"a\",\"severity\":\"BAD\"}]}",
       ErrorCode::invalid_argument},
      {"{\"format\":\"imagegate.verdict/v1\",\"scanner\":\"x\",\"scannedAt\":\"yesterday\"}", ErrorCode::invalid_argument},
      {"{\"unknown\":true}", ErrorCode::invalid_argument},
      {std::string(70, '[') + std::string(70, ']'), ErrorCode::resource_exhausted},
  };
  for (const Bad& b : bad) {
    auto r = parse_scan_report({b.body, std::nullopt, kDigest, "", {}});
    ASSERT_FALSE(r.ok()) << b.body;
    EXPECT_EQ(r.error().code, b.code) << b.body << ": " << r.error().message;
  }
  // Bad digest from the caller.
  EXPECT_FALSE(parse_scan_report({ok, std::nullopt, "sha256:ABC", "", {}}).ok());
  // Size and count limits.
  ReportLimits small;
  small.max_bytes = 10;
  EXPECT_EQ(parse_scan_report({ok, std::nullopt, kDigest, "", {}}, small).error().code, ErrorCode::resource_exhausted);
  ReportLimits few;
  few.max_findings = 2;
  EXPECT_EQ(parse_scan_report({ok, std::nullopt, kDigest, "", {}}, few).error().code, ErrorCode::resource_exhausted);
}

TEST(ScanReport, Rfc3339) {
  EXPECT_TRUE(parse_rfc3339("2021-08-25T12:20:30.000000005Z"));
  EXPECT_FALSE(parse_rfc3339("2021-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2021-08-25T12:20:30"));
  EXPECT_FALSE(parse_rfc3339("2021-08-25T12:20:30Zjunk"));
  // Past system_clock's range: saturates instead of overflowing (Notary's "never expires").
  EXPECT_EQ(parse_rfc3339("2999-08-26T14:12:13.21926558+02:00"), std::chrono::system_clock::time_point::max());
  EXPECT_EQ(parse_rfc3339("1000-01-01T00:00:00Z"), std::chrono::system_clock::time_point::min());
  EXPECT_EQ(parse_rfc3339("2021-08-25T14:20:30.5+02:00"),
            *parse_rfc3339("2021-08-25T12:20:30.5Z"));
  EXPECT_FALSE(parse_rfc3339(""));
}

TEST(Severity, Scale) {
  EXPECT_EQ(parse_scanner_severity("Negligible"), Severity::unknown);
  EXPECT_EQ(parse_scanner_severity("critical"), Severity::critical);
  EXPECT_FALSE(parse_scanner_severity("severe"));
  EXPECT_EQ(severity_from_cvss(9.0), Severity::critical);
  EXPECT_EQ(severity_from_cvss(6.9), Severity::medium);
  EXPECT_EQ(severity_from_cvss(0.0), Severity::unknown);
}

}  // namespace
}  // namespace imagegate::verifier
