// Tests for policy/loader.cc and policy/policy.cc: every invalid fixture reports its expected error with
// its location, every valid fixture and the example policy load, and the document bounds hold.
#include "policy/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "policy/compiled_policy.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "tests/test_support.h"

namespace imagegate::policy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path project_dir() { return imagegate::testing::source_dir(); }
fs::path policies_dir() { return project_dir() / "tests" / "testdata" / "policies"; }

std::vector<fs::path> fixtures(const std::string& folder) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(policies_dir() / folder, ec)) {
    if (entry.path().extension() == ".yaml") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string test_name(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

std::string joined(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += d.to_string() + "\n";
  return out;
}

std::vector<Diagnostic> errors_of(const PolicyResult& result) {
  if (const auto* d = std::get_if<std::vector<Diagnostic>>(&result)) return *d;
  return {};
}

std::shared_ptr<const CompiledPolicy> policy_of(const PolicyResult& result) {
  if (const auto* p = std::get_if<std::shared_ptr<const CompiledPolicy>>(&result)) return *p;
  return nullptr;
}

constexpr std::string_view kHeader =
    "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: t}\n";

// ---- Fixture folders. ---------------------------------------------------------------------------------

class InvalidPolicy : public ::testing::TestWithParam<fs::path> {};

TEST_P(InvalidPolicy, ReportsTheExpectedError) {
  const std::string text = imagegate::testing::read_file(GetParam());
  constexpr std::string_view kPrefix = "# expect-error: ";
  ASSERT_EQ(text.rfind(kPrefix, 0), 0u) << GetParam() << " must start with `" << kPrefix << "`";
  const std::string expected = text.substr(kPrefix.size(), text.find('\n') - kPrefix.size());
  ASSERT_FALSE(expected.empty());
  const std::string file = GetParam().filename().string();
  const PolicyResult result = load_policy(text, file);
  const std::vector<Diagnostic> errors = errors_of(result);
  ASSERT_FALSE(errors.empty()) << GetParam() << " loaded without errors";
  EXPECT_THAT(joined(errors), HasSubstr(expected));
  for (const Diagnostic& d : errors) EXPECT_EQ(d.file, file);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, InvalidPolicy, ::testing::ValuesIn(fixtures("invalid")), test_name);

class ValidPolicy : public ::testing::TestWithParam<fs::path> {};

TEST_P(ValidPolicy, Loads) {
  const std::string text = imagegate::testing::read_file(GetParam());
  const PolicyResult result = load_policy(text, GetParam().filename().string());
  EXPECT_NE(policy_of(result), nullptr) << joined(errors_of(result));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ValidPolicy, ::testing::ValuesIn(fixtures("valid")), test_name);

TEST(PolicyFixtures, FoldersAreNotEmpty) {
  EXPECT_GE(fixtures("invalid").size(), 40u);
  EXPECT_GE(fixtures("valid").size(), 3u);
}

TEST(ExamplePolicy, LoadsCleanly) {
  const fs::path path = project_dir() / "manifests" / "examples" / "policy.yaml";
  const PolicyResult result = load_policy(imagegate::testing::read_file(path), "policy.yaml");
  const auto policy = policy_of(result);
  ASSERT_NE(policy, nullptr) << joined(errors_of(result));
  const PolicySpec& spec = spec_of(*policy);
  EXPECT_EQ(spec.name, "example");
  EXPECT_FALSE(spec.exemptions.namespaces.empty());
  EXPECT_FALSE(spec.allowed_registries.empty());
  ASSERT_FALSE(spec.trust_anchors.empty());
  EXPECT_TRUE(std::holds_alternative<CosignKeyAnchor>(spec.trust_anchors[0].spec));
  std::vector<Mode> modes;
  bool signatures = false;
  bool digest = false;
  for (const Rule& rule : spec.rules) {
    modes.push_back(rule.mode.value_or(spec.mode));
    signatures = signatures || rule.signatures.has_value();
    digest = digest || rule.require_digest;
  }
  EXPECT_TRUE(signatures);
  EXPECT_TRUE(digest);
  for (Mode m : {Mode::enforce, Mode::warn, Mode::audit}) {
    EXPECT_NE(std::find(modes.begin(), modes.end(), m), modes.end()) << to_string(m);
  }
}

// ---- What the loader fills in. -------------------------------------------------------------------------

TEST(Loader, FillsTheModelWithDefaultsAndLocations) {
  const std::string text = std::string(kHeader) +
                           "spec:\n"
                           "  trustAnchors:\n"
                           "    - {name: k, cosign: {keyFile: /k.pub}}\n"
                           "  rules:\n"
                           "    - name: r\n"
                           "      match: {images: [nginx], namespaces: [\"prod-*\"]}\n"
                           "      signatures: {anchors: [k]}\n"
                           "      vulnerabilities: {maxSeverity: high, maxAge: 1h30m,\n"
                           "        exceptions: [{id: CVE-1, expires: 2027-01-31, reason: r}]}\n";
  const PolicyResult result = load_policy(text, "p.yaml");
  const auto policy = policy_of(result);
  ASSERT_NE(policy, nullptr) << joined(errors_of(result));
  const PolicySpec& spec = spec_of(*policy);
  EXPECT_EQ(spec.mode, Mode::enforce);
  EXPECT_EQ(spec.failure_policy, FailurePolicy::closed);
  EXPECT_EQ(spec.no_match, Action::deny);
  ASSERT_EQ(spec.trust_anchors.size(), 1u);
  EXPECT_EQ(std::get<CosignKeyAnchor>(spec.trust_anchors[0].spec).key_file, "/k.pub");
  EXPECT_EQ(spec.trust_anchors[0].location.line, 6);
  ASSERT_EQ(spec.rules.size(), 1u);
  const Rule& rule = spec.rules[0];
  EXPECT_EQ(rule.location.line, 8);
  EXPECT_EQ(rule.location.column, 7);
  EXPECT_EQ(rule.images, std::vector<std::string>{"nginx"});
  EXPECT_FALSE(rule.mode.has_value());
  ASSERT_TRUE(rule.signatures.has_value());
  EXPECT_EQ(rule.signatures->threshold, 1);
  ASSERT_TRUE(rule.vulnerabilities.has_value());
  EXPECT_EQ(rule.vulnerabilities->max_severity, Severity::high);
  EXPECT_EQ(rule.vulnerabilities->max_age, std::chrono::seconds(5400));
  EXPECT_EQ(rule.vulnerabilities->on_missing, Action::deny);
  ASSERT_EQ(rule.vulnerabilities->exceptions.size(), 1u);
  EXPECT_EQ(rule.vulnerabilities->exceptions[0].expires,
            std::chrono::sys_days(std::chrono::year(2027) / 1 / 31));
  ASSERT_NE(policy->anchor("k"), nullptr);
  EXPECT_EQ(policy->anchor("nope"), nullptr);
}

TEST(Loader, IndexSignaturesAndSignatureRepositoryReachThePlan) {
  const std::string text = std::string(kHeader) +
                           "spec:\n"
                           "  trustAnchors:\n"
                           "    - {name: k, cosign: {keyFile: /k.pub}}\n"
                           "  rules:\n"
                           "    - name: multiarch\n"
                           "      match: {images: [\"registry.example.com/app\"]}\n"
                           "      signatures: {anchors: [k], acceptIndexSignatures: true,\n"
                           "                   repository: \"localhost:5000/signatures/app\"}\n"
                           "    - name: plain\n"
                           "      match: {images: [nginx]}\n"
                           "      signatures: {anchors: [k]}\n";
  const PolicyResult result = load_policy(text, "p.yaml");
  const auto policy = policy_of(result);
  ASSERT_NE(policy, nullptr) << joined(errors_of(result));
  const PolicySpec& spec = spec_of(*policy);
  ASSERT_EQ(spec.rules.size(), 2u);
  ASSERT_TRUE(spec.rules[0].signatures.has_value());
  EXPECT_TRUE(spec.rules[0].signatures->accept_index_signatures);
  EXPECT_EQ(spec.rules[0].signatures->repository, "localhost:5000/signatures/app");
  // Defaults: the image's own repository, index signatures not accepted.
  ASSERT_TRUE(spec.rules[1].signatures.has_value());
  EXPECT_FALSE(spec.rules[1].signatures->accept_index_signatures);
  EXPECT_EQ(spec.rules[1].signatures->repository, "");

  const Plan multiarch = plan(*policy, {"default", "registry.example.com/app:1.0@sha256:" + std::string(64, 'a')});
  EXPECT_EQ(multiarch.needs.anchors, std::vector<std::string>{"k"});
  EXPECT_TRUE(multiarch.needs.accept_index_signatures);
  EXPECT_EQ(multiarch.needs.signature_repository, "localhost:5000/signatures/app");
  EXPECT_FALSE(multiarch.needs.resolve_digest);
  const Plan plain = plan(*policy, {"default", "nginx:1.25"});
  EXPECT_FALSE(plain.needs.accept_index_signatures);
  EXPECT_EQ(plain.needs.signature_repository, "");
}

TEST(Loader, SignatureRepositoryMustBeARepository) {
  struct Case {
    std::string value;
    std::string error;  // "" = accepted
  };
  const std::vector<Case> cases = {
      {"registry.example.com/signatures", ""},
      {"localhost:5000/a/b", ""},
      {"signatures", ""},  // normalised as Docker Hub's library/signatures, like an image name
      {"registry.example.com/sigs:v1", "a repository without tag or digest"},
      {"registry.example.com/sigs@sha256:" + std::string(64, '0'), "a repository without tag or digest"},
      {"registry.example.com/UPPER", "not a repository"},
      {"https://registry.example.com/sigs", "not a repository"},
      {"registry.example.com//sigs", "not a repository"},
  };
  for (const Case& c : cases) {
    const std::string text = std::string(kHeader) +
                             "spec:\n  trustAnchors: [{name: k, cosign: {keyFile: /k.pub}}]\n"
                             "  rules:\n    - name: r\n      match: {images: [\"**\"]}\n"
                             "      signatures: {anchors: [k], repository: \"" + c.value + "\"}\n";
    const PolicyResult result = load_policy(text, "p.yaml");
    if (c.error.empty()) {
      EXPECT_NE(policy_of(result), nullptr) << c.value << ": " << joined(errors_of(result));
    } else {
      const std::vector<Diagnostic> errors = errors_of(result);
      ASSERT_EQ(errors.size(), 1u) << c.value << ": " << joined(errors);
      EXPECT_EQ(errors[0].path, "spec.rules[0].signatures.repository");
      EXPECT_EQ(errors[0].location.line, 9) << c.value;
      EXPECT_THAT(errors[0].message, HasSubstr(c.error)) << c.value;
    }
  }
}

TEST(Loader, KeylessRegexpsAreCompiled) {
  const std::string text = std::string(kHeader) +
                           "spec:\n  trustAnchors:\n    - name: ci\n      keyless: {issuer: https://i,"
                           " subjectRegExp: \"^https://github.com/org/.*$\", trustedRoot: /r.json}\n";
  const auto policy = policy_of(load_policy(text, "p.yaml"));
  ASSERT_NE(policy, nullptr);
  const CompiledAnchor* anchor = policy->anchor("ci");
  ASSERT_NE(anchor, nullptr);
  ASSERT_NE(anchor->subject_regexp, nullptr);
  EXPECT_EQ(anchor->issuer_regexp, nullptr);
}

TEST(Loader, ReportsEveryProblemSortedByPosition) {
  const std::string text = std::string(kHeader) +
                           "spec:\n"
                           "  mode: strict\n"                              // line 5
                           "  rules:\n"
                           "    - name: r\n"
                           "      match: {images: [\"a**b\"]}\n"           // line 8
                           "      deniedTag: [latest]\n"                   // line 9
                           "      signatures: {anchors: [missing]}\n"      // line 10
                           "  noMatch: maybe\n";                           // line 11
  const std::vector<Diagnostic> errors = errors_of(load_policy(text, "p.yaml"));
  ASSERT_EQ(errors.size(), 5u) << joined(errors);
  const std::vector<int> lines = {5, 8, 9, 10, 11};
  for (std::size_t i = 0; i < errors.size(); ++i) EXPECT_EQ(errors[i].location.line, lines[i]) << joined(errors);
  EXPECT_EQ(errors[0].path, "spec.mode");
  EXPECT_EQ(errors[1].path, "spec.rules[0].match.images[0]");
  EXPECT_THAT(errors[2].message, HasSubstr("did you mean \"deniedTags\""));
}

TEST(Diagnostic, Formats) {
  EXPECT_EQ((Diagnostic{"p.yaml", {12, 7}, "spec.rules[2].name", "boom"}).to_string(),
            "p.yaml:12:7: spec.rules[2].name: boom");
  EXPECT_EQ((Diagnostic{"p.yaml", {}, "", "empty"}).to_string(), "p.yaml: empty");
  EXPECT_EQ((Diagnostic{"", {3, 0}, "", "x"}).to_string(), "<policy>:3: x");
}

TEST(Version, IsAStableHashOfTheText) {
  const std::string a = std::string(kHeader) + "spec: {}\n";
  const std::string b = std::string(kHeader) + "spec: {noMatch: allow}\n";
  const auto pa = policy_of(load_policy(a, "a.yaml"));
  const auto pa2 = policy_of(load_policy(a, "other.yaml"));
  const auto pb = policy_of(load_policy(b, "b.yaml"));
  ASSERT_TRUE(pa && pa2 && pb);
  EXPECT_EQ(version_of(*pa), version_of(*pa2));
  EXPECT_NE(version_of(*pa), version_of(*pb));
  EXPECT_EQ(version_of(*pa).size(), 16u);
  EXPECT_EQ(version_of(*pa).find_first_not_of("0123456789abcdef"), std::string::npos);
}

// ---- Bounds. --------------------------------------------------------------------------------------------

TEST(Bounds, AliasBombFailsFastWithAClearError) {
  // Ten levels of ten aliases each: 10^10 nodes once expanded, a few hundred bytes on disk.
  std::string text = std::string(kHeader) + "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 10; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) text += (j ? ", " : "") + prev;
    text += "]\n";
  }
  text += "spec: {}\n";
  // The expansion bound stopped it (a walk of 10^10 nodes would never end): one error, naming aliases.
  const std::vector<Diagnostic> errors = errors_of(load_policy(text, "bomb.yaml"));
  ASSERT_EQ(errors.size(), 1u) << joined(errors);
  EXPECT_THAT(errors[0].message, HasSubstr("once aliases are expanded"));
}

TEST(Bounds, AliasBombInsideAKnownKeyToo) {
  // 8^9 namespaces once expanded, reached through a key the loader reads.
  std::string text = std::string(kHeader) + "a0: &a0 [a, b, c, d, e, f, g, h]\n";
  for (int i = 1; i <= 8; ++i) {
    const std::string p = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p + ", " + p + ", " + p + ", " + p + ", " +
            p + ", " + p + ", " + p + ", " + p + "]\n";
  }
  text += "spec: {exemptions: {namespaces: *a8}}\n";
  const std::vector<Diagnostic> errors = errors_of(load_policy(text, "bomb.yaml"));
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(joined(errors), HasSubstr("more than 200000 nodes"));
}

TEST(Bounds, ManySmallNodesFailBeforeATreeIsBuilt) {
  // 1.9 million one-character scalars: under the byte limit, and about a gigabyte as a yaml-cpp tree.
  std::string text = std::string(kHeader) + "spec: {}\nx: [a";
  for (int i = 0; i < 1'900'000; ++i) text += ",a";
  text += "]\n";
  ASSERT_LT(text.size(), kMaxPolicyBytes);
  // The node bound, not the byte bound or a later check, is what stopped it: one error, at the sequence.
  // (No timing here: how fast it fails belongs in a benchmark, not a unit test.)
  const std::vector<Diagnostic> errors = errors_of(load_policy(text, "wide.yaml"));
  ASSERT_EQ(errors.size(), 1u) << joined(errors);
  EXPECT_THAT(errors[0].to_string(), HasSubstr("wide.yaml:5:"));
  EXPECT_THAT(errors[0].message, HasSubstr("more than 200000 nodes"));
}

TEST(Bounds, SelfReferencingAliasDoesNotHang) {
  const std::string text = std::string(kHeader) + "spec: &s {rules: [*s]}\n";
  const std::vector<Diagnostic> errors = errors_of(load_policy(text, "cycle.yaml"));
  EXPECT_FALSE(errors.empty());
}

TEST(Bounds, DeepNestingIsRejected) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  const std::vector<Diagnostic> errors =
      errors_of(load_policy(std::string(kHeader) + "spec: {rules: " + deep + "}\n", "deep.yaml"));
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(joined(errors), HasSubstr("nests deeper than 64 levels"));
}

TEST(Bounds, VeryDeepNestingIsRejectedByTheParserWithoutCrashing) {
  std::string deep(50'000, '[');
  deep += std::string(50'000, ']');
  const std::vector<Diagnostic> errors = errors_of(load_policy(std::string(kHeader) + "x: " + deep + "\n", "d.yaml"));
  ASSERT_FALSE(errors.empty());
}

TEST(Bounds, NonUtf8IsRejectedWithItsPosition) {
  const std::string text = std::string(kHeader) + "spec:\n  mode: enf\xff" "rce\n";
  const std::vector<Diagnostic> errors = errors_of(load_policy(text, "latin1.yaml"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].to_string(), "latin1.yaml:5:12: the policy is not valid UTF-8 (byte offset 90)");
}

TEST(Bounds, Utf16IsRejected) {
  const std::string text("\xff\xfe" "a\0p\0", 6);
  EXPECT_THAT(joined(errors_of(load_policy(text, "u16.yaml"))), HasSubstr("not valid UTF-8"));
}

TEST(Bounds, TooLargeIsRejectedBeforeParsing) {
  std::string text = std::string(kHeader) + "spec: {}\n";
  text += "# " + std::string(kMaxPolicyBytes, 'x') + "\n";
  const std::vector<Diagnostic> errors = errors_of(load_policy(text, "big.yaml"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, HasSubstr("the limit is 4194304"));
}

TEST(Bounds, ArbitraryBytesNeverThrow) {
  for (std::string_view text : {std::string_view("{"), std::string_view("[[[[]"), std::string_view("!!binary x"),
                                std::string_view("? ? ? ?"), std::string_view("&a *a"), std::string_view("%YAML 9\n---"),
                                std::string_view("\t\t"), std::string_view("'unterminated")}) {
    EXPECT_NO_THROW((void)load_policy(text, "x.yaml")) << text;
  }
}

// ---- Scalar parsers. -------------------------------------------------------------------------------------

TEST(ParseDate, Table) {
  EXPECT_EQ(parse_date("2027-01-31"), std::chrono::sys_days(std::chrono::year(2027) / 1 / 31));
  EXPECT_TRUE(parse_date("2024-02-29").has_value());
  for (std::string_view bad : {"2023-02-29", "2027-13-01", "2027-1-31", "27-01-31", "2027/01/31", "2027-01-31T00"}) {
    EXPECT_FALSE(parse_date(bad).has_value()) << bad;
  }
}

TEST(Utf8, Table) {
  struct Case {
    std::string_view name;
    std::string text;
    bool valid;
  };
  const Case cases[] = {
      {"ascii", "abc", true},
      {"two_byte", "caf\xc3\xa9", true},
      {"three_byte", "\xe2\x82\xac", true},
      {"four_byte", "\xf0\x9f\x98\x80", true},
      {"lone_continuation", "\x80", false},
      {"overlong_slash", "\xc0\xaf", false},
      {"overlong_three", "\xe0\x80\xaf", false},
      {"surrogate", "\xed\xa0\x80", false},
      {"beyond_u10ffff", "\xf4\x90\x80\x80", false},
      {"truncated", "\xe2\x82", false},
      {"ff", "\xff", false},
  };
  for (const Case& c : cases) EXPECT_EQ(is_valid_utf8(c.text), c.valid) << c.name;
  std::size_t offset = 0;
  EXPECT_FALSE(is_valid_utf8("ab\xc3(", &offset));
  EXPECT_EQ(offset, 2u);
}

}  // namespace
}  // namespace imagegate::policy
