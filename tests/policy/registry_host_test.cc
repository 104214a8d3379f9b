// Registry hosts are compared in one canonical form (verifier::canonical_registry_host) by the allowlist,
// the rules and the exemptions: issue 13, bypass 1. Before, image globs matched case-sensitively while the
// allowlist did not, so `LOCALHOST:5000/app` passed an allowlist of `localhost:5000`, missed the strict rule
// `localhost:5000/**` and landed on a lax catch-all, while the runtime pulled the same manifest. The same
// family: `host:443/...` vs `host/...`, `registry-1.docker.io/...` vs `docker.io/...`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "policy/compiled_policy.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "tests/policy/policy_loading.h"

namespace imagegate::policy {
namespace {

using ::testing::HasSubstr;

const std::string kDigest = "sha256:" + std::string(64, 'a');
const auto kNow = std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 55));

std::shared_ptr<const CompiledPolicy> load(const std::string& spec_yaml) { return testing::load_spec(spec_yaml); }

Decision decide(const CompiledPolicy& policy, const std::string& image) {
  return evaluate(policy, {"default", image}, {}, kNow);
}

// A strict rule for the local registry, a lax catch-all, and an allowlist naming the local registry.
const char* const kAllowlisted = R"(
  registries: {allow: ["localhost:5000"]}
  exemptions: {images: ["localhost:5000/tools/**"]}
  rules:
    - name: strict
      match: {images: ["localhost:5000/**"]}
      requireDigest: true
    - name: lax
      match: {images: ["**"]}
)";

TEST(RegistryHost, UpperCaseHostGetsTheStrictRuleNotTheCatchAll) {
  const auto policy = load(kAllowlisted);
  ASSERT_NE(policy, nullptr);
  for (const std::string image : {"LOCALHOST:5000/app:v1", "Localhost:5000/app:v1", "localhost:05000/app:v1",
                                  "localhost:5000/app:v1", "localhost:5000/app"}) {
    const Decision d = decide(*policy, image);
    EXPECT_EQ(d.rule, "strict") << image;
    EXPECT_EQ(d.action, Action::deny) << image;
    EXPECT_EQ(d.normalized.rfind("localhost:5000/app", 0), 0u) << image << " -> " << d.normalized;
    ASSERT_FALSE(d.reasons.empty()) << image;
    EXPECT_THAT(d.reasons[0], HasSubstr("requires a digest")) << image;
  }
  // Control: pinned by digest, the strict rule allows it in every spelling.
  for (const std::string host : {"localhost:5000", "LOCALHOST:5000"}) {
    const Decision d = decide(*policy, host + "/app@" + kDigest);
    EXPECT_EQ(d.rule, "strict") << host;
    EXPECT_EQ(d.action, Action::allow) << host;
  }
  // The allowlist is still an allowlist: another port or host is refused, whatever its case.
  for (const std::string image : {"LOCALHOST:5001/app:v1", "other.example.com/app:v1"}) {
    const Decision d = decide(*policy, image);
    EXPECT_EQ(d.outcome, Outcome::failed) << image;
    EXPECT_EQ(d.action, Action::deny) << image;
  }
}

TEST(RegistryHost, ExemptionsCompareTheCanonicalHost) {
  const auto policy = load(kAllowlisted);
  ASSERT_NE(policy, nullptr);
  for (const std::string image : {"localhost:5000/tools/x:v1", "LOCALHOST:5000/tools/x:v1"}) {
    EXPECT_EQ(decide(*policy, image).outcome, Outcome::exempt) << image;
  }
  // An exemption written with capitals in the policy covers the same images, and only those.
  const auto upper = load(R"(
  exemptions: {images: ["LOCALHOST:5000/tools/**"]}
  rules:
    - name: strict
      match: {images: ["localhost:5000/**"]}
      requireDigest: true
)");
  ASSERT_NE(upper, nullptr);
  for (const std::string image : {"localhost:5000/tools/x:v1", "LoCaLhOsT:5000/tools/x:v1"}) {
    EXPECT_EQ(decide(*upper, image).outcome, Outcome::exempt) << image;
  }
  for (const std::string image : {"localhost:5000/app:v1", "LOCALHOST:5000/app:v1", "LOCALHOST:5000/tool/x:v1"}) {
    const Decision d = decide(*upper, image);
    EXPECT_EQ(d.rule, "strict") << image;
    EXPECT_EQ(d.action, Action::deny) << image;
  }
}

// No allowlist: the rules alone decide, so every spelling of a registry must reach its rule.
const char* const kNoAllowlist = R"(
  rules:
    - name: myreg
      match: {images: ["myreg.example.com/**"]}
      requireDigest: true
    - name: hub
      match: {images: ["docker.io/**"]}
      deniedTags: [latest]
    - name: nginx
      match: {images: [nginx]}
      deniedTags: [latest, "1.25"]
    - name: lax
      match: {images: ["**"]}
)";

TEST(RegistryHost, DefaultHttpsPortIsTheSameRegistry) {
  const auto policy = load(kNoAllowlist);
  ASSERT_NE(policy, nullptr);
  for (const std::string image : {"myreg.example.com:443/app:v1", "MyReg.Example.com:0443/app:v1",
                                  "myreg.example.com/app:v1"}) {
    const Decision d = decide(*policy, image);
    EXPECT_EQ(d.rule, "myreg") << image;
    EXPECT_EQ(d.action, Action::deny) << image;
    EXPECT_EQ(d.normalized, "myreg.example.com/app:v1") << image;
  }
  // Control: another port is another registry.
  EXPECT_EQ(decide(*policy, "myreg.example.com:8443/app:v1").rule, "lax");
}

TEST(RegistryHost, DockerHubByAnyNameIsDockerHub) {
  const auto policy = load(kNoAllowlist);
  ASSERT_NE(policy, nullptr);
  for (const std::string tag : {"latest", "1.25", "1.27"}) {
    const Decision familiar = decide(*policy, "nginx:" + tag);
    for (const std::string host : {"registry-1.docker.io", "REGISTRY-1.DOCKER.IO", "index.docker.io",
                                   "registry-1.docker.io:443", "docker.io"}) {
      for (const std::string path : {"/library/nginx:", "/nginx:"}) {
        const std::string image = host + path + tag;
        const Decision d = decide(*policy, image);
        EXPECT_EQ(d.rule, familiar.rule) << image;
        EXPECT_EQ(d.action, familiar.action) << image;
        EXPECT_EQ(d.normalized, familiar.normalized) << image;
      }
    }
  }
  EXPECT_EQ(decide(*policy, "nginx:latest").action, Action::deny);
  EXPECT_EQ(decide(*policy, "nginx:1.27").action, Action::allow);
  const Decision other = decide(*policy, "registry-1.docker.io/myorg/app:latest");
  EXPECT_EQ(other.rule, "hub");
  EXPECT_EQ(other.action, Action::deny);
}

TEST(RegistryHost, PatternsWrittenInAnySpellingMatchTheCanonicalHost) {
  const auto policy = load(R"(
  registries: {allow: ["MyReg.Example.COM:443", "LOCALHOST:5000", "Registry-1.Docker.IO"]}
  rules:
    - name: upper
      match: {images: ["LOCALHOST:5000/**", "MYREG.example.com:443/**"]}
      requireDigest: true
    - name: hub
      match: {images: ["registry-1.docker.io/nginx"]}
      deniedTags: [latest]
    - name: lax
      match: {images: ["**"]}
)");
  ASSERT_NE(policy, nullptr);
  for (const std::string image : {"localhost:5000/app:v1", "myreg.example.com/app:v1", "myreg.example.com:443/app:v1"}) {
    const Decision d = decide(*policy, image);
    EXPECT_EQ(d.rule, "upper") << image;
    EXPECT_EQ(d.action, Action::deny) << image;
  }
  EXPECT_EQ(decide(*policy, "nginx:latest").rule, "hub");
  EXPECT_EQ(decide(*policy, "nginx:latest").action, Action::deny);
  EXPECT_EQ(decide(*policy, "nginx:1.27").action, Action::allow);
}

TEST(RegistryHost, HostsWithoutACanonicalFormAreInvalid) {
  const auto policy = load(kNoAllowlist);
  ASSERT_NE(policy, nullptr);
  // The resolver reads these as 127.0.0.1 or cannot dial them at all: refused rather than treated as new hosts.
  for (const std::string image : {"127.1:5000/app:v1", "2130706433:5000/app:v1", "0x7f.0.0.1:5000/app:v1",
                                  "localhost:0/app:v1", "localhost:65536/app:v1", "[1::2::3]:5000/app:v1",
                                  "Foo/app:v1"}) {
    const Decision d = decide(*policy, image);
    EXPECT_EQ(d.outcome, Outcome::invalid) << image;
    EXPECT_EQ(d.action, Action::deny) << image;
  }
  // A pattern with such a host is a load error, not a rule that never matches.
  PolicyResult bad = load_policy(
      "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: t}\nspec:\n"
      "  rules:\n    - name: r\n      match: {images: [\"localhost:99999/**\"]}\n",
      "bad.yaml");
  ASSERT_TRUE(std::holds_alternative<std::vector<Diagnostic>>(bad));
  EXPECT_THAT(std::get<std::vector<Diagnostic>>(bad).at(0).to_string(), HasSubstr("port out of range"));
}

}  // namespace
}  // namespace imagegate::policy
