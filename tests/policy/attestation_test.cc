// Tests for attestation requirements in the policy: the loader's `attestations:` section (predicate type,
// anchors m-of-n as signatures, which anchor kinds can sign DSSE), the plan and offline evidence, the
// m-of-n decision in evaluate, and decide_attestation_anchor over verified statements.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/attestation.h"
#include "policy/compiled_policy.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "tests/policy/policy_loading.h"

namespace imagegate::policy {
namespace {

using ::testing::HasSubstr;

const auto kNow = std::chrono::sys_days(std::chrono::year(2026) / 12 / 7) + std::chrono::hours(12);
const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kImage = "registry.example.com/app@" + kDigest;

const std::string kAnchors =
    "  trustAnchors:\n    - name: ci\n      cosign: {keyFile: /ci.pub}\n"
    "    - name: release\n      keyless: {issuer: https://issuer, subject: a@b.c, trustedRoot: /root.json}\n"
    "    - name: dct\n      notaryV1: {server: https://notary.example.com, rootKeyIds: [abc]}\n";

std::string policy_with(const std::string& attestations) {
  return "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: test}\nspec:\n" + kAnchors +
         "  rules:\n    - name: r\n      match: {images: [\"registry.example.com/**\"]}\n      attestations:\n" +
         attestations;
}

std::string errors_of(const std::string& attestations) {
  PolicyResult result = load_policy(policy_with(attestations), "test.yaml");
  std::string all;
  if (auto* errors = std::get_if<std::vector<Diagnostic>>(&result)) {
    for (const Diagnostic& d : *errors) all += d.to_string() + "\n";
  }
  return all;
}

TEST(AttestationLoader, ReadsRequirement) {
  auto policy = testing::load_or_fail(policy_with(
      "        - name: provenance\n          predicateType: https://slsa.dev/provenance/v1\n"
      "          anchors: [ci, release]\n          threshold: 2\n          required: [release]\n"
      "          conditions: [{path: buildType, exists: true}]\n"
      "        - predicateType: https://spdx.dev/Document\n          anchors: [ci]\n"));
  ASSERT_NE(policy, nullptr);
  const auto& attestations = policy->spec().rules.at(0).attestations;
  ASSERT_EQ(attestations.size(), 2u);
  EXPECT_EQ(attestations[0].name, "provenance");
  EXPECT_EQ(attestations[0].threshold, 2);
  EXPECT_EQ(attestations[0].required, std::vector<std::string>{"release"});
  EXPECT_EQ(attestations[0].conditions.size(), 1u);
  EXPECT_EQ(attestations[1].name, "https://spdx.dev/Document");  // the predicate type, by default
}

TEST(AttestationLoader, RefusesWithLintQuality) {
  EXPECT_THAT(errors_of("        - predicateType: https://slsa.dev/provenance/v1\n          anchors: [dct]\n"),
              HasSubstr("anchor \"dct\" cannot sign attestations"));
  EXPECT_THAT(errors_of("        - predicateType: https://slsa.dev/provenance/v1\n          anchors: [cii]\n"),
              HasSubstr("unknown trust anchor \"cii\""));
  EXPECT_THAT(errors_of("        - predicateType: https://slsa.dev/provenance/v1\n          anchor: [ci]\n"),
              HasSubstr("did you mean \"anchors\""));
  EXPECT_THAT(errors_of("        - predicateType: not a uri\n          anchors: [ci]\n"),
              HasSubstr("not a predicate type URI"));
  EXPECT_THAT(errors_of("        - anchors: [ci]\n"), HasSubstr("missing required field \"predicateType\""));
  EXPECT_THAT(errors_of("        - predicateType: https://slsa.dev/provenance/v1\n          anchors: [ci]\n"
                        "          threshold: 2\n"),
              HasSubstr("threshold 2 is out of range 1..1"));
  EXPECT_THAT(errors_of("        - predicateType: https://slsa.dev/provenance/v1\n          anchors: [ci]\n"
                        "        - predicateType: https://slsa.dev/provenance/v1\n          anchors: [release]\n"),
              HasSubstr("required twice"));
  EXPECT_THAT(errors_of("        - predicateType: https://slsa.dev/provenance/v1\n          anchors: [ci]\n"),
              ::testing::IsEmpty());
}

TEST(AttestationEvaluate, OfflineIsNotEvaluatedAndFailurePolicyDecides) {
  auto policy = testing::load_or_fail(policy_with(
      "        - {name: prov, predicateType: \"https://slsa.dev/provenance/v1\", anchors: [ci]}\n"));
  ASSERT_NE(policy, nullptr);
  const Plan p = plan(*policy, {"default", kImage});
  ASSERT_EQ(p.needs.attestations.size(), 1u);
  const Evidence evidence = unevaluated_evidence(p.needs, "not evaluated offline");
  ASSERT_EQ(evidence.attestations.size(), 1u);
  const Decision d = evaluate(*policy, {"default", kImage}, evidence, kNow);
  EXPECT_EQ(d.action, Action::deny);
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_EQ(d.reasons[0], "attestation \"prov\": 0 of 1 anchors verified, need 1 (ci: not evaluated offline)");
}

Evidence with_anchors(std::vector<AnchorEvidence> anchors) {
  Evidence e;
  e.digest = kDigest;
  e.attestations.push_back({"prov", std::move(anchors)});
  return e;
}

TEST(AttestationEvaluate, MofN) {
  auto policy = testing::load_or_fail(policy_with(
      "        - {name: prov, predicateType: \"https://slsa.dev/provenance/v1\", anchors: [ci, release], "
      "threshold: 1, required: [release]}\n"));
  ASSERT_NE(policy, nullptr);
  const CheckEvidence ok{EvidenceStatus::verified, "bundle sha256:1"};
  const CheckEvidence bad{EvidenceStatus::failed, "no attestation found"};
  // Control: the required anchor verified.
  EXPECT_EQ(evaluate(*policy, {"default", kImage}, with_anchors({{"ci", bad}, {"release", ok}}), kNow).action,
            Action::allow);
  // Attack: only the other anchor verified; the required one did not.
  const Decision d = evaluate(*policy, {"default", kImage}, with_anchors({{"ci", ok}, {"release", bad}}), kNow);
  EXPECT_EQ(d.action, Action::deny);
  EXPECT_THAT(d.reasons.at(0), HasSubstr("attestation \"prov\": 1 of 2 anchors verified, need 1 including release"));
  // No evidence for the requirement at all fails closed.
  EXPECT_EQ(evaluate(*policy, {"default", kImage}, Evidence{}, kNow).action, Action::deny);
}

TEST(DecideAttestationAnchor, ConditionsPickTheStatement) {
  auto policy = testing::load_or_fail(policy_with(
      "        - predicateType: https://slsa.dev/provenance/v1\n          anchors: [ci]\n"
      "          conditions: [{path: repo, equals: acme}]\n"));
  ASSERT_NE(policy, nullptr);
  const AttestationRequirement& r = policy->spec().rules.at(0).attestations.at(0);
  const CheckEvidence none = decide_attestation_anchor(r, {}, "", kNow);
  EXPECT_EQ(none.status, EvidenceStatus::failed);
  EXPECT_THAT(none.detail, HasSubstr("no attestation of predicate type \"https://slsa.dev/provenance/v1\""));
  EXPECT_EQ(decide_attestation_anchor(r, {}, "signature does not verify", kNow).detail, "signature does not verify");
  const CheckEvidence evil = decide_attestation_anchor(r, {{"layer 1", R"({"repo":"evil"})"}}, "", kNow);
  EXPECT_EQ(evil.status, EvidenceStatus::failed);
  EXPECT_EQ(evil.detail, "repo is \"evil\", not \"acme\"");
  const CheckEvidence good = decide_attestation_anchor(
      r, {{"layer 1", R"({"repo":"evil"})"}, {"layer 2", R"({"repo":"acme"})"}}, "", kNow);
  EXPECT_EQ(good.status, EvidenceStatus::verified);
  EXPECT_EQ(good.detail, "layer 2");
}

}  // namespace
}  // namespace imagegate::policy
