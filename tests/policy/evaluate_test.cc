// Tests for policy/evaluate.cc: every evaluation path (invalid, exempt, registry allowlist, no match,
// denied tags, digests, network evidence and failurePolicy, m-of-n signatures, modes), rule specificity,
// and the workload-level answer and its messages.
#include "policy/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/compiled_policy.h"
#include "policy/policy.h"
#include "tests/policy/policy_loading.h"

namespace imagegate::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kDigest = "sha256:" + std::string(64, 'a');
const auto kNow = std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 55));

std::shared_ptr<const CompiledPolicy> load(const std::string& spec_yaml) { return testing::load_spec(spec_yaml); }

Decision decide(const CompiledPolicy& policy, const std::string& ns, const std::string& image,
                const Evidence& evidence = {}) {
  return evaluate(policy, {ns, image}, evidence, kNow);
}

CheckEvidence verified(std::string detail = "ok") { return {EvidenceStatus::verified, std::move(detail)}; }
CheckEvidence failed(std::string detail) { return {EvidenceStatus::failed, std::move(detail)}; }
CheckEvidence unavailable(std::string detail) { return {EvidenceStatus::unavailable, std::move(detail)}; }

// ---- Paths before any rule. ------------------------------------------------------------------------------

const char* const kBase = R"(
  exemptions: {namespaces: [kube-system, "infra-*"], images: ["registry.k8s.io/**"]}
  registries: {allow: [registry.example.com, docker.io, "*.example.org", registry.k8s.io]}
  rules:
    - name: hub
      match: {images: ["docker.io/**"]}
      deniedTags: [latest]
)";

TEST(Evaluate, InvalidReferenceIsDeniedWhateverTheMode) {
  for (const char* mode : {"enforce", "warn", "audit"}) {
    const auto policy = load(std::string("  mode: ") + mode + "\n  noMatch: allow\n");
    ASSERT_NE(policy, nullptr);
    const Plan p = plan(*policy, {"default", "Not A Valid Image"});
    EXPECT_EQ(p.outcome, Outcome::invalid);
    const Decision d = decide(*policy, "default", "Not A Valid Image");
    EXPECT_EQ(d.action, Action::deny) << mode;
    EXPECT_EQ(d.outcome, Outcome::invalid);
    EXPECT_TRUE(d.normalized.empty());
    ASSERT_EQ(d.reasons.size(), 1u);
    EXPECT_THAT(d.reasons[0], HasSubstr("Not A Valid Image"));
  }
}

TEST(Evaluate, ExemptionsAllowWithoutChecking) {
  const auto policy = load(kBase);
  ASSERT_NE(policy, nullptr);
  struct Case {
    std::string ns;
    std::string image;
    std::string reason;
  };
  const Case cases[] = {
      {"kube-system", "quay.io/evil/thing:latest", "namespace \"kube-system\" is exempt"},
      {"infra-logging", "untrusted.io/x", "namespace \"infra-logging\" is exempt (\"infra-*\")"},
      {"default", "registry.k8s.io/pause:3.9", "image registry.k8s.io/pause is exempt"},
  };
  for (const Case& c : cases) {
    const Plan p = plan(*policy, {c.ns, c.image});
    EXPECT_EQ(p.outcome, Outcome::exempt) << c.image;
    EXPECT_EQ(p.rule, nullptr);
    EXPECT_FALSE(p.needs.resolve_digest);
    const Decision d = decide(*policy, c.ns, c.image);
    EXPECT_EQ(d.action, Action::allow) << c.image;
    EXPECT_EQ(d.outcome, Outcome::exempt);
    ASSERT_EQ(d.reasons.size(), 1u);
    EXPECT_THAT(d.reasons[0], HasSubstr(c.reason));
  }
  // An unknown namespace ("") is never exempt by namespace.
  EXPECT_NE(decide(*policy, "", "quay.io/evil/thing").outcome, Outcome::exempt);
}

TEST(Evaluate, RegistryAllowlistAppliesBeforeRulesWithThePolicyMode) {
  struct Case {
    const char* mode;
    Action action;
  };
  for (const Case& c : {Case{"enforce", Action::deny}, Case{"warn", Action::warn}, Case{"audit", Action::allow}}) {
    const auto policy = load(std::string(kBase) + "  mode: " + c.mode + "\n");
    ASSERT_NE(policy, nullptr);
    const Decision d = decide(*policy, "default", "quay.io/org/app:1.0");
    EXPECT_EQ(d.action, c.action) << c.mode;
    EXPECT_EQ(d.outcome, Outcome::failed);
    EXPECT_EQ(d.rule, "");
    EXPECT_THAT(d.reasons, ElementsAre("registry \"quay.io\" is not in the allowed registries"));
  }
  const auto policy = load(kBase);
  EXPECT_NE(decide(*policy, "default", "eu.example.org/app:1").outcome, Outcome::failed);
  // `*.example.org` is one label: a deeper host is not allowed.
  EXPECT_EQ(decide(*policy, "default", "a.eu.example.org/app:1").outcome, Outcome::failed);
}

TEST(Evaluate, NoMatchUsesTheNoMatchAction) {
  struct Case {
    std::string spec;
    Action action;
  };
  const Case cases[] = {
      {"  rules: []\n", Action::deny},
      {"  noMatch: deny\n", Action::deny},
      {"  noMatch: warn\n", Action::warn},
      {"  noMatch: allow\n", Action::allow},
      {"  noMatch: deny\n  mode: warn\n", Action::warn},
      {"  noMatch: deny\n  mode: audit\n", Action::allow},
  };
  for (const Case& c : cases) {
    const auto policy = load(c.spec);
    ASSERT_NE(policy, nullptr);
    const Plan p = plan(*policy, {"default", "nginx:1.25"});
    EXPECT_EQ(p.outcome, Outcome::no_match);
    const Decision d = decide(*policy, "default", "nginx:1.25");
    EXPECT_EQ(d.outcome, Outcome::no_match) << c.spec;
    EXPECT_EQ(d.action, c.action) << c.spec;
    EXPECT_THAT(d.reasons.at(0), HasSubstr("no rule matches docker.io/library/nginx in namespace default"));
    EXPECT_EQ(d.normalized, "docker.io/library/nginx:1.25");
  }
}

// ---- Tags and digests. -------------------------------------------------------------------------------------

TEST(Evaluate, DeniedTagsUseTheEffectiveTag) {
  const auto policy = load(kBase);
  ASSERT_NE(policy, nullptr);
  struct Case {
    std::string name;
    std::string image;
    Action action;
  };
  const Case cases[] = {
      {"explicit_latest", "nginx:latest", Action::deny},
      {"implicit_latest", "nginx", Action::deny},
      {"other_tag", "nginx:1.25", Action::allow},
      {"digest_only", "nginx@" + kDigest, Action::allow},
      // Pulled by digest: the tag cannot move, so it is informational.
      {"latest_with_digest", "nginx:latest@" + kDigest, Action::allow},
  };
  for (const Case& c : cases) {
    const Decision d = decide(*policy, "default", c.image);
    EXPECT_EQ(d.action, c.action) << c.name;
    EXPECT_EQ(d.rule, "hub") << c.name;
    if (c.action == Action::deny) {
      EXPECT_EQ(d.outcome, Outcome::failed);
      // A bare name is reported as having no tag, not as if "latest" had been written.
      const std::string expected = std::string(c.name == "implicit_latest" ? "no tag (means latest); " : "") +
                                   "tag \"latest\" is denied by rule \"hub\"";
      EXPECT_THAT(d.reasons, ElementsAre(expected)) << c.name;
    } else {
      EXPECT_EQ(d.outcome, Outcome::passed) << c.name;
      EXPECT_TRUE(d.reasons.empty()) << c.name;
    }
  }
}

TEST(Evaluate, RequireDigest) {
  const auto policy = load(R"(
  rules:
    - name: prod
      match: {images: ["registry.example.com/**"]}
      requireDigest: true
)");
  ASSERT_NE(policy, nullptr);
  const Decision tagged = decide(*policy, "prod", "registry.example.com/app:1.0");
  EXPECT_EQ(tagged.action, Action::deny);
  EXPECT_THAT(tagged.reasons.at(0), HasSubstr("rule \"prod\" requires a digest"));
  const Decision pinned = decide(*policy, "prod", "registry.example.com/app@" + kDigest);
  EXPECT_EQ(pinned.action, Action::allow);
  EXPECT_EQ(pinned.outcome, Outcome::passed);
  EXPECT_EQ(pinned.evidence.digest, kDigest);
}

// ---- Network evidence. --------------------------------------------------------------------------------------

const char* const kSigned = R"(
  failurePolicy: closed
  trustAnchors:
    - {name: release-key, cosign: {keyFile: /k.pub}}
    - {name: ci, keyless: {issuer: https://i, subject: s, trustedRoot: /r.json}}
    - {name: dct, notaryV1: {server: https://notary, rootKeyIds: [abc]}}
  rules:
    - name: signed
      match: {images: ["registry.example.com/**"]}
      signatures: {anchors: [release-key, ci, dct], threshold: 2, required: [release-key]}
    - name: scanned
      match: {images: ["registry.example.com/scanned/**"]}
      vulnerabilities: {maxSeverity: HIGH}
    - name: open
      match: {images: ["registry.example.com/open/**"]}
      failurePolicy: open
      signatures: {anchors: [ci]}
    - name: pinned
      match: {images: ["registry.example.com/pinned/**"]}
      pinDigest: true
)";

TEST(Plan, ListsTheNetworkChecksARuleNeeds) {
  const auto policy = load(kSigned);
  ASSERT_NE(policy, nullptr);
  struct Case {
    std::string image;
    std::string rule;
    bool resolve_digest;
    std::vector<std::string> anchors;
    bool verdict;
  };
  const Case cases[] = {
      {"registry.example.com/app:1", "signed", true, {"release-key", "ci", "dct"}, false},
      {"registry.example.com/app@" + kDigest, "signed", false, {"release-key", "ci", "dct"}, false},
      {"registry.example.com/scanned/app:1", "scanned", true, {}, true},
      {"registry.example.com/pinned/app:1", "pinned", true, {}, false},
      {"registry.example.com/pinned/app@" + kDigest, "pinned", false, {}, false},
  };
  for (const Case& c : cases) {
    const Plan p = plan(*policy, {"default", c.image});
    EXPECT_EQ(p.outcome, Outcome::passed) << c.image;
    ASSERT_NE(p.rule, nullptr);
    EXPECT_EQ(p.rule->name, c.rule);
    EXPECT_EQ(p.needs.resolve_digest, c.resolve_digest) << c.image;
    EXPECT_EQ(p.needs.anchors, c.anchors) << c.image;
    EXPECT_EQ(p.needs.verdict, c.verdict) << c.image;
  }
}

TEST(Evaluate, UnevaluatedChecksAreSettledByTheFailurePolicy) {
  const auto policy = load(kSigned);
  ASSERT_NE(policy, nullptr);
  const std::string image = "registry.example.com/app:1";
  const Plan p = plan(*policy, {"default", image});
  const Evidence offline = unevaluated_evidence(p.needs, "not evaluated offline");
  EXPECT_EQ(offline.digest_resolution.status, EvidenceStatus::not_evaluated);
  ASSERT_EQ(offline.signatures.size(), 3u);
  EXPECT_EQ(offline.signatures[1].anchor, "ci");
  const Decision closed = decide(*policy, "default", image, offline);
  EXPECT_EQ(closed.action, Action::deny);
  EXPECT_EQ(closed.outcome, Outcome::failed);
  ASSERT_EQ(closed.reasons.size(), 2u);
  EXPECT_EQ(closed.reasons[0], "digest: not evaluated offline");
  EXPECT_EQ(closed.reasons[1],
            "signatures: 0 of 3 anchors verified, need 2 including release-key (release-key, ci, dct: not "
            "evaluated offline)");

  const std::string open_image = "registry.example.com/open/app:1";
  const Evidence open_offline = unevaluated_evidence(plan(*policy, {"default", open_image}).needs, "offline");
  const Decision open = decide(*policy, "default", open_image, open_offline);
  EXPECT_EQ(open.action, Action::warn);
  EXPECT_EQ(open.outcome, Outcome::passed);
  ASSERT_EQ(open.reasons.size(), 2u);
  EXPECT_EQ(open.reasons[0], "digest: offline (allowed: failurePolicy open)");
}

TEST(Evaluate, DigestResolution) {
  const auto policy = load(kSigned);
  ASSERT_NE(policy, nullptr);
  const std::string image = "registry.example.com/pinned/app:1";
  Evidence ok;
  ok.digest_resolution = verified("resolved");
  ok.digest = kDigest;
  const Decision resolved = decide(*policy, "default", image, ok);
  EXPECT_EQ(resolved.action, Action::allow);
  EXPECT_EQ(resolved.evidence.digest, kDigest);
  Evidence missing;
  missing.digest_resolution = failed("manifest unknown");
  const Decision not_found = decide(*policy, "default", image, missing);
  EXPECT_EQ(not_found.action, Action::deny);
  EXPECT_THAT(not_found.reasons, ElementsAre("digest: manifest unknown"));
  Evidence down;
  down.digest_resolution = unavailable("registry returned 503");
  EXPECT_THAT(decide(*policy, "default", image, down).reasons,
              ElementsAre("digest: unavailable: registry returned 503"));
}

TEST(Evaluate, VerdictGateReadsTheEvidenceStatus) {
  const auto policy = load(kSigned);
  ASSERT_NE(policy, nullptr);
  const std::string image = "registry.example.com/scanned/app@" + kDigest;
  Evidence e;
  e.verdict = verified("no findings above HIGH");
  EXPECT_EQ(decide(*policy, "default", image, e).action, Action::allow);
  e.verdict = failed("CVE-2024-1 is CRITICAL");
  const Decision d = decide(*policy, "default", image, e);
  EXPECT_EQ(d.action, Action::deny);
  EXPECT_THAT(d.reasons, ElementsAre("vulnerabilities: CVE-2024-1 is CRITICAL"));
  e.verdict = {};
  EXPECT_EQ(decide(*policy, "default", image, e).action, Action::deny);
}

struct SignatureCase {
  std::string name;
  CheckEvidence release_key;
  CheckEvidence ci;
  CheckEvidence dct;
  Action action;
  std::string reason;  // substring of the only reason, "" when none
};

class Signatures : public ::testing::TestWithParam<SignatureCase> {};

TEST_P(Signatures, MOfN) {
  const auto policy = load(kSigned);
  ASSERT_NE(policy, nullptr);
  const SignatureCase& c = GetParam();
  Evidence e;
  e.signatures = {{"release-key", c.release_key}, {"ci", c.ci}, {"dct", c.dct}};
  const Decision d = decide(*policy, "default", "registry.example.com/app@" + kDigest, e);
  EXPECT_EQ(d.action, c.action);
  EXPECT_EQ(d.rule, "signed");
  if (c.reason.empty()) {
    EXPECT_TRUE(d.reasons.empty()) << d.reasons.at(0);
  } else {
    ASSERT_EQ(d.reasons.size(), 1u);
    EXPECT_THAT(d.reasons[0], HasSubstr(c.reason));
  }
}

const SignatureCase kSignatureCases[] = {
    {"two_of_three_with_required", verified(), verified(), failed("no signature"), Action::allow, ""},
    {"all_three", verified(), verified(), verified(), Action::allow, ""},
    {"only_required", verified(), failed("no signature"), failed("not signed"), Action::deny,
     "signatures: 1 of 3 anchors verified, need 2 including release-key (verified: release-key; ci: no signature; "
     "dct: not signed)"},
    {"two_without_required", failed("bad signature"), verified(), verified(), Action::deny,
     "release-key: bad signature"},
    {"one_unavailable_could_have_passed", verified(), unavailable("timeout"), failed("no signature"), Action::deny,
     "(verified: release-key; ci: unavailable: timeout; dct: no signature)"},
    {"same_failure_grouped", failed("no signature"), failed("no signature"), verified(), Action::deny,
     "(verified: dct; release-key, ci: no signature)"},
    {"required_missing_evidence", CheckEvidence{}, verified(), verified(), Action::deny,
     "release-key: not evaluated"},
};

std::string signature_case_name(const ::testing::TestParamInfo<SignatureCase>& param) { return param.param.name; }

INSTANTIATE_TEST_SUITE_P(Table, Signatures, ::testing::ValuesIn(kSignatureCases), signature_case_name);

TEST(Evaluate, FailureOpenSettlesOnlyWhatCouldStillHavePassed) {
  const auto policy = load(R"(
  failurePolicy: open
  trustAnchors:
    - {name: a, cosign: {keyFile: /a.pub}}
    - {name: b, cosign: {keyFile: /b.pub}}
  rules:
    - name: r
      match: {images: ["**"]}
      signatures: {anchors: [a, b], threshold: 1, required: [a]}
)");
  ASSERT_NE(policy, nullptr);
  const std::string image = "ghcr.io/org/app@" + kDigest;
  Evidence e;
  e.signatures = {{"a", unavailable("timeout")}, {"b", verified()}};
  const Decision maybe = decide(*policy, "default", image, e);
  EXPECT_EQ(maybe.action, Action::warn);
  EXPECT_EQ(maybe.outcome, Outcome::passed);
  EXPECT_THAT(maybe.reasons.at(0), HasSubstr("(allowed: failurePolicy open)"));
  // The required anchor failed outright: no amount of retrying helps, so failure-open does not apply.
  e.signatures = {{"a", failed("no signature")}, {"b", unavailable("timeout")}};
  const Decision no = decide(*policy, "default", image, e);
  EXPECT_EQ(no.action, Action::deny);
  EXPECT_EQ(no.outcome, Outcome::failed);
}

// ---- Modes. -------------------------------------------------------------------------------------------------

TEST(Evaluate, RuleModeDecidesWhatAFailureDoes) {
  struct Case {
    std::string rule_mode;
    std::string policy_mode;
    Action action;
    Mode mode;
  };
  const Case cases[] = {
      {"", "enforce", Action::deny, Mode::enforce},
      {"enforce", "audit", Action::deny, Mode::enforce},
      {"warn", "enforce", Action::warn, Mode::warn},
      {"audit", "enforce", Action::allow, Mode::audit},
      {"", "warn", Action::warn, Mode::warn},
      {"", "audit", Action::allow, Mode::audit},
  };
  for (const Case& c : cases) {
    const auto policy = load("  mode: " + c.policy_mode + "\n  rules:\n    - name: r\n      match: {images: [\"**\"]}\n" +
                             (c.rule_mode.empty() ? "" : "      mode: " + c.rule_mode + "\n") +
                             "      deniedTags: [latest]\n");
    ASSERT_NE(policy, nullptr);
    const Decision d = decide(*policy, "default", "nginx");
    EXPECT_EQ(d.action, c.action) << c.rule_mode << "/" << c.policy_mode;
    EXPECT_EQ(d.outcome, Outcome::failed);
    EXPECT_EQ(d.mode, c.mode);
    EXPECT_THAT(d.reasons, ElementsAre("no tag (means latest); tag \"latest\" is denied by rule \"r\""));
  }
}

TEST(Evaluate, AuditModeSilencesFailureOpenWarnings) {
  const auto policy = load(R"(
  mode: audit
  failurePolicy: open
  rules:
    - {name: r, match: {images: ["**"]}, pinDigest: true}
)");
  ASSERT_NE(policy, nullptr);
  const Decision d = decide(*policy, "default", "nginx:1", Evidence{});
  EXPECT_EQ(d.action, Action::allow);
  EXPECT_EQ(d.outcome, Outcome::passed);
  EXPECT_EQ(d.reasons.size(), 1u);
}

// ---- Specificity. -------------------------------------------------------------------------------------------

TEST(Specificity, MostSpecificRuleWins) {
  const auto policy = load(R"(
  rules:
    - {name: everything, match: {images: ["**"]}}
    - {name: company, match: {images: ["registry.example.com/**"]}}
    - {name: company-ns, match: {images: ["registry.example.com/**"], namespaces: ["team-*"]}}
    - {name: company-team-a, match: {images: ["registry.example.com/**"], namespaces: ["team-a"]}}
    - {name: company-dup, match: {images: ["registry.example.com/**"]}}
    - {name: prod, match: {images: ["registry.example.com/prod/**"]}}
    - {name: prod-one-level, match: {images: ["registry.example.com/prod/*"]}}
    - {name: prod-app, match: {images: ["registry.example.com/prod/app"]}}
    - {name: star-app, match: {images: ["registry.example.com/*/app"]}}
    - {name: multi, match: {images: ["ghcr.io/**", "ghcr.io/org/tool"]}}
    - {name: ghcr-org, match: {images: ["ghcr.io/org/*"]}}
    - {name: nginx, match: {images: [nginx]}}
    - {name: hub-library, match: {images: ["docker.io/library/*"]}}
)");
  ASSERT_NE(policy, nullptr);
  struct Case {
    std::string ns;
    std::string image;
    std::string rule;
  };
  const Case cases[] = {
      {"default", "quay.io/x/y", "everything"},
      {"default", "registry.example.com/other/x", "company"},  // declared before company-dup: earlier wins
      {"team-b", "registry.example.com/other/x", "company-ns"},  // a namespace constraint beats none
      {"team-a", "registry.example.com/other/x", "company-team-a"},  // a longer literal namespace wins
      {"", "registry.example.com/other/x", "company"},  // unknown namespace: constrained rules do not match
      {"default", "registry.example.com/prod/a/b", "prod"},
      // Same literal count (26): fewer `**` wins.
      {"default", "registry.example.com/prod/x", "prod-one-level"},
      {"default", "registry.example.com/prod/app", "prod-app"},  // most literal characters
      {"default", "registry.example.com/dev/app", "star-app"},
      // The best matching pattern of a rule counts: ghcr.io/org/tool (16) beats ghcr.io/org/* (12).
      {"default", "ghcr.io/org/tool", "multi"},
      {"default", "ghcr.io/org/other", "ghcr-org"},
      {"default", "nginx:1.25", "nginx"},
      {"default", "busybox", "hub-library"},
  };
  for (const Case& c : cases) {
    const Plan p = plan(*policy, {c.ns, c.image});
    ASSERT_NE(p.rule, nullptr) << c.image;
    EXPECT_EQ(p.rule->name, c.rule) << c.ns << " " << c.image;
  }
}

TEST(Specificity, ComparesInOrder) {
  Specificity a{10, 1, 0, false, 0, 5};
  Specificity b{9, 0, 0, true, 9, 0};
  EXPECT_TRUE(a.beats(b));  // literal characters first
  Specificity c{10, 0, 2, false, 0, 5};
  EXPECT_TRUE(c.beats(a));  // then fewer `**`
  Specificity d{10, 0, 1, false, 0, 9};
  EXPECT_TRUE(d.beats(c));  // then fewer `*`
  Specificity e{10, 0, 1, true, 0, 9};
  EXPECT_TRUE(e.beats(d));  // then a namespace constraint
  Specificity f{10, 0, 1, true, 3, 9};
  EXPECT_TRUE(f.beats(e));  // then a longer namespace literal
  Specificity g{10, 0, 1, true, 3, 2};
  EXPECT_TRUE(g.beats(f));  // then declaration order
  EXPECT_FALSE(g.beats(g));
}

// ---- Workloads. -----------------------------------------------------------------------------------------------

ContainerDecision container(const CompiledPolicy& policy, const std::string& name, const std::string& image,
                            const std::string& ns = "default") {
  ContainerDecision c;
  c.container.name = name;
  c.container.kind = "containers";
  c.container.image = image;
  c.decision = decide(policy, ns, image);
  return c;
}

const char* const kWorkloadPolicy = R"(
  exemptions: {namespaces: [kube-system]}
  rules:
    - {name: prod, match: {images: ["**"]}, deniedTags: [latest]}
    - {name: legacy, match: {images: ["registry.example.com/legacy/**"]}, mode: warn, requireDigest: true}
)";

TEST(Workload, DenyIfAnyDeniedElseWarnElseAllow) {
  const auto policy = load(kWorkloadPolicy);
  ASSERT_NE(policy, nullptr);
  const auto ok = container(*policy, "ok", "nginx:1.25");
  const auto bad = container(*policy, "app", "nginx:latest");
  const auto warned = container(*policy, "old", "registry.example.com/legacy/app:2");
  EXPECT_EQ(decide_workload({}).action, Action::allow);
  EXPECT_EQ(decide_workload({ok}).action, Action::allow);
  EXPECT_EQ(decide_workload({ok, warned}).action, Action::warn);
  EXPECT_EQ(decide_workload({warned, bad, ok}).action, Action::deny);
  EXPECT_EQ(decide_workload({ok}).denial_message(), "");
  EXPECT_TRUE(decide_workload({ok}).warnings().empty());
}

TEST(Workload, DenialMessageNamesEveryDeniedContainer) {
  const auto policy = load(kWorkloadPolicy);
  ASSERT_NE(policy, nullptr);
  const WorkloadDecision w = decide_workload({container(*policy, "app", "nginx:latest"),
                                              container(*policy, "ok", "nginx:1.25"),
                                              container(*policy, "sidecar", "Bad:Image")});
  EXPECT_EQ(w.action, Action::deny);
  const std::string message = w.denial_message();
  EXPECT_EQ(message.rfind("imagegate denied 2 of 3 containers: app (docker.io/library/nginx:latest): "
                          "tag \"latest\" is denied by rule \"prod\"; sidecar (Bad:Image): ",
                          0),
            0u)
      << message;
  EXPECT_EQ(message.find("ok ("), std::string::npos);
  const WorkloadDecision one = decide_workload({container(*policy, "app", "nginx")});
  EXPECT_EQ(one.denial_message(),
            "imagegate denied 1 of 1 container: app (docker.io/library/nginx): no tag (means latest); tag \"latest\" "
            "is denied by rule \"prod\"");
}

// An image volume is named as a volume, never as a container, in the denial message and the warnings.
TEST(Workload, DenialMessageAndWarningsNameImageVolumes) {
  const auto policy = load(kWorkloadPolicy);
  ASSERT_NE(policy, nullptr);
  ContainerDecision data = container(*policy, "data", "nginx:latest");
  data.container.kind = std::string(kImageVolumes);
  ContainerDecision old = container(*policy, "models", "registry.example.com/legacy/models:2");
  old.container.kind = std::string(kImageVolumes);
  const WorkloadDecision w = decide_workload({container(*policy, "app", "nginx:1.25"), data, old});
  EXPECT_EQ(w.action, Action::deny);
  EXPECT_EQ(w.denial_message(),
            "imagegate denied 1 of 3 images: volume \"data\" (docker.io/library/nginx:latest): tag \"latest\" is "
            "denied by rule \"prod\"");
  ASSERT_EQ(w.warnings().size(), 1u);
  EXPECT_THAT(w.warnings()[0], ::testing::StartsWith("volume \"models\" (registry.example.com/legacy/models:2): "));
  EXPECT_EQ(decide_workload({data}).denial_message().rfind("imagegate denied 1 of 1 image: volume \"data\"", 0), 0u);
}

TEST(Workload, DenialMessageIsCapped) {
  const auto policy = load(kWorkloadPolicy);
  ASSERT_NE(policy, nullptr);
  std::vector<ContainerDecision> many;
  for (int i = 0; i < 200; ++i) {
    many.push_back(container(*policy, "c" + std::to_string(i), "registry.example.com/" + std::string(150, 'x') +
                                                                   "/" + std::to_string(i) + ":latest"));
  }
  const std::string message = decide_workload(std::move(many)).denial_message();
  EXPECT_LE(message.size(), 1024u);
  EXPECT_THAT(message, HasSubstr("imagegate denied 200 of 200 containers: c0 ("));
  EXPECT_THAT(message, ::testing::EndsWith(" more"));
}

TEST(Workload, WarningsOnePerWarnedContainerAtMost120Characters) {
  const auto policy = load(kWorkloadPolicy);
  ASSERT_NE(policy, nullptr);
  const WorkloadDecision w =
      decide_workload({container(*policy, "old", "registry.example.com/legacy/app:2"),
                       container(*policy, "ok", "nginx:1.25"),
                       container(*policy, "older", "registry.example.com/legacy/" + std::string(200, 'y') + ":1")});
  EXPECT_EQ(w.action, Action::warn);
  const std::vector<std::string> warnings = w.warnings();
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0], "old (registry.example.com/legacy/app:2): rule \"legacy\" requires a digest (name@sha256:...)");
  for (const std::string& warning : warnings) EXPECT_LE(warning.size(), 120u) << warning;
  EXPECT_THAT(warnings[1], ::testing::EndsWith("..."));
}

TEST(Strings, Outcomes) {
  EXPECT_EQ(to_string(Outcome::no_match), "no_match");
  EXPECT_EQ(to_string(Outcome::exempt), "exempt");
  EXPECT_EQ(to_string(EvidenceStatus::unavailable), "unavailable");
  EXPECT_EQ(to_string(EvidenceStatus::not_evaluated), "not_evaluated");
}

}  // namespace
}  // namespace imagegate::policy
