// Tests for the scan verdict gate of policy/evaluate.cc: maxSeverity, fixableOnly, CVE exceptions and their
// expiry, maxAge, onMissing, secrets, compliance, the failurePolicy for an unavailable store, and the
// shape of the deny messages (worst findings first, at most three). Table-driven.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/compiled_policy.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "tests/policy/policy_loading.h"

namespace imagegate::policy {
namespace {

using ::testing::HasSubstr;
using verifier::Severity;

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kImage = "registry.example.com/app@" + kDigest;
// 2024-12-31T12:00:00Z.
const auto kNow = std::chrono::sys_days(std::chrono::year(2024) / 12 / 31) + std::chrono::hours(12);

std::shared_ptr<const CompiledPolicy> load(const std::string& vulnerabilities, const std::string& extra = "") {
  const std::string text =
      "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: test}\nspec:\n" + extra +
      "  rules:\n    - name: scanned\n      match: {images: [\"registry.example.com/**\"]}\n"
      "      vulnerabilities:\n" + vulnerabilities;
  return testing::load_or_fail(text);
}

verifier::Vulnerability vuln(std::string id, Severity s, std::string fixed = "", std::string pkg = "pkg") {
  return {std::move(id), s, std::nullopt, std::move(pkg), "1.0", std::move(fixed)};
}

verifier::ScanVerdict scan(std::vector<verifier::Vulnerability> vulns, std::chrono::hours age = std::chrono::hours(1)) {
  verifier::ScanVerdict v;
  v.digest = kDigest;
  v.scanner = "trivy";
  v.scanned_at = kNow - age;
  v.vulnerabilities = std::move(vulns);
  return v;
}

Evidence with(const verifier::ScanVerdict& v) {
  Evidence e;
  e.digest = kDigest;
  e.verdict = {EvidenceStatus::verified, "scanned by trivy"};
  e.scan = v;
  return e;
}

struct Case {
  std::string name;
  std::string requirement;  // the `vulnerabilities:` block, indented 8
  Evidence evidence;
  Action action;
  std::string reason;  // a substring of the joined reasons ("" : no reasons)
  std::string extra = "";
};

std::string joined(const Decision& d) {
  std::string out;
  for (const std::string& r : d.reasons) out += r + " | ";
  return out;
}

TEST(VerdictGate, Table) {
  const auto critical = scan({vuln("CVE-C1", Severity::critical, "", "openssl"), vuln("CVE-M1", Severity::medium)});
  const auto fixable_high = scan({vuln("CVE-H1", Severity::high, "2.0", "zlib"), vuln("CVE-H2", Severity::high)});
  verifier::ScanVerdict with_secret = scan({});
  with_secret.secrets.push_back({"aws-access-key-id", Severity::critical, "AWS", "deploy.sh"});
  verifier::ScanVerdict compliance_fail = scan({});
  compliance_fail.compliance = {{"KSV001", Severity::medium, false, "root"}, {"KSV002", Severity::low, true, "ok"}};
  verifier::ScanVerdict compliance_pass = scan({});
  compliance_pass.compliance = {{"KSV002", Severity::low, true, "ok"}};
  verifier::ScanVerdict many = scan({vuln("CVE-1", Severity::high), vuln("CVE-2", Severity::critical),
                                     vuln("CVE-3", Severity::high), vuln("CVE-4", Severity::critical),
                                     vuln("CVE-5", Severity::low)});
  Evidence missing;
  missing.verdict = {EvidenceStatus::failed, "no scan verdict for " + kDigest};
  missing.scan_missing = true;
  Evidence down;
  down.verdict = {EvidenceStatus::unavailable, "verdict store unavailable: connection refused"};

  const std::vector<Case> cases = {
      {"clean allows", "        maxSeverity: HIGH\n", with(scan({vuln("CVE-L", Severity::low)})), Action::allow, ""},
      {"at the threshold allows", "        maxSeverity: HIGH\n", with(fixable_high), Action::allow, ""},
      {"above denies naming the worst", "        maxSeverity: HIGH\n", with(critical), Action::deny,
       "1 finding above HIGH: CVE-C1 (CRITICAL, openssl)"},
      {"numeric threshold", "        maxSeverity: 3\n", with(fixable_high), Action::deny, "2 findings above MEDIUM"},
      {"fixableOnly ignores unfixable", "        maxSeverity: MEDIUM\n        fixableOnly: true\n",
       with(fixable_high), Action::deny, "1 fixable finding above MEDIUM: CVE-H1 (HIGH, zlib)"},
      {"fixableOnly with nothing fixable allows", "        maxSeverity: HIGH\n        fixableOnly: true\n",
       with(critical), Action::allow, ""},
      {"at most three named, worst first", "        maxSeverity: MEDIUM\n", with(many), Action::deny,
       "4 findings above MEDIUM: CVE-2 (CRITICAL, pkg), CVE-4 (CRITICAL, pkg), CVE-1 (HIGH, pkg) and 1 more"},
      {"exception without expiry applies",
       "        maxSeverity: HIGH\n        exceptions: [{id: CVE-C1, reason: r}]\n", with(critical), Action::allow, ""},
      {"exception before its expiry applies",
       "        maxSeverity: HIGH\n        exceptions: [{id: CVE-C1, expires: 2025-01-01, reason: r}]\n",
       with(critical), Action::allow, ""},
      {"exception on its expiry day no longer applies",
       "        maxSeverity: HIGH\n        exceptions: [{id: CVE-C1, expires: 2024-12-31, reason: r}]\n",
       with(critical), Action::deny, "exception CVE-C1 expired 2024-12-31"},
      {"exception for another id does not apply",
       "        maxSeverity: HIGH\n        exceptions: [{id: CVE-OTHER, reason: r}]\n", with(critical), Action::deny,
       "CVE-C1 (CRITICAL"},
      {"missing denies by default", "        maxSeverity: HIGH\n", missing, Action::deny,
       "no scan verdict for sha256:aaaa"},
      {"missing warns", "        maxSeverity: HIGH\n        onMissing: warn\n", missing, Action::warn,
       "(onMissing: warn)"},
      {"missing allowed", "        maxSeverity: HIGH\n        onMissing: allow\n", missing, Action::allow, ""},
      {"stale counts as missing", "        maxSeverity: HIGH\n        maxAge: 24h\n",
       with(scan({}, std::chrono::hours(49))), Action::deny, "is 2d old, older than maxAge 24h (onMissing: deny)"},
      {"stale with onMissing warn", "        maxAge: 24h\n        onMissing: warn\n",
       with(scan({}, std::chrono::hours(30))), Action::warn, "older than maxAge"},
      {"fresh enough", "        maxSeverity: HIGH\n        maxAge: 24h\n", with(scan({}, std::chrono::hours(23))),
       Action::allow, ""},
      {"store down, failurePolicy closed", "        maxSeverity: HIGH\n", down, Action::deny,
       "vulnerabilities: unavailable: verdict store unavailable"},
      {"store down, failurePolicy open", "        maxSeverity: HIGH\n", down, Action::warn,
       "(allowed: failurePolicy open)", "  failurePolicy: open\n"},
      {"secrets deny by default", "        maxSeverity: CRITICAL\n", with(with_secret), Action::deny,
       "secrets: the scan found 1 secret: aws-access-key-id (CRITICAL)"},
      {"secrets warn", "        secrets: warn\n", with(with_secret), Action::warn, "secrets:"},
      {"secrets allow", "        secrets: allow\n", with(with_secret), Action::allow, ""},
      {"compliance required fails", "        compliance: required\n", with(compliance_fail), Action::deny,
       "compliance: 1 failed check: KSV001"},
      {"compliance required passes", "        compliance: required\n", with(compliance_pass), Action::allow, ""},
      {"compliance required without results", "        compliance: required\n", with(scan({})), Action::deny,
       "no compliance results"},
      {"compliance ignored", "        compliance: ignore\n", with(compliance_fail), Action::allow, ""},
      {"deny becomes warn in warn mode", "        maxSeverity: HIGH\n", with(critical), Action::warn, "above HIGH",
       "  mode: warn\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto policy = load(c.requirement, c.extra);
    ASSERT_NE(policy, nullptr);
    const Decision d = evaluate(*policy, {"default", kImage}, c.evidence, kNow);
    EXPECT_EQ(d.action, c.action) << joined(d);
    if (c.reason.empty()) {
      EXPECT_TRUE(d.reasons.empty()) << joined(d);
    } else {
      EXPECT_THAT(joined(d), HasSubstr(c.reason));
    }
  }
}

TEST(VerdictGate, PlanAsksForTheVerdict) {
  const auto policy = load("        maxSeverity: HIGH\n");
  ASSERT_NE(policy, nullptr);
  EXPECT_TRUE(plan(*policy, {"default", kImage}).needs.verdict);
  // Offline: not evaluated, settled by the failurePolicy (closed: deny).
  const Decision d = evaluate(*policy, {"default", kImage},
                              unevaluated_evidence(plan(*policy, {"default", kImage}).needs, "not evaluated offline"),
                              kNow);
  EXPECT_EQ(d.action, Action::deny);
  EXPECT_THAT(joined(d), HasSubstr("not evaluated offline"));
}

}  // namespace
}  // namespace imagegate::policy
