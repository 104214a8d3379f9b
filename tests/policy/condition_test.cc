// Tests for the attestation condition language (policy/condition.h) as the loader reads it from a policy:
// each operator with a predicate that passes (control) and one that must fail (attack), paths, nesting,
// bounds (steps, depth, size of the predicate), and the loader's errors for conditions it must refuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/compiled_policy.h"
#include "policy/condition.h"
#include "policy/policy.h"
#include "tests/policy/policy_loading.h"

namespace imagegate::policy {
namespace {

using ::testing::HasSubstr;

// 2026-12-07T12:00:00Z.
const auto kNow = std::chrono::sys_days(std::chrono::year(2026) / 12 / 7) + std::chrono::hours(12);

std::string policy_with(const std::string& conditions) {
  return "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: test}\nspec:\n"
         "  trustAnchors:\n    - name: ci\n      cosign: {keyFile: /k.pub}\n"
         "  rules:\n    - name: r\n      match: {images: [\"**\"]}\n      attestations:\n"
         "        - predicateType: https://slsa.dev/provenance/v1\n          anchors: [ci]\n"
         "          conditions:\n" + conditions;
}

// The conditions of the one requirement of a policy whose conditions are `conditions` (indented 12).
std::vector<Condition> conditions(const std::string& conditions_yaml) {
  auto policy = testing::load_or_fail(policy_with(conditions_yaml));
  if (policy == nullptr) return {};
  return policy->spec().rules.at(0).attestations.at(0).conditions;
}

std::vector<Diagnostic> errors_of(const std::string& conditions_yaml) {
  PolicyResult result = load_policy(policy_with(conditions_yaml), "test.yaml");
  if (auto* errors = std::get_if<std::vector<Diagnostic>>(&result)) return *errors;
  return {};
}

const std::string kProvenance = R"({
  "buildDefinition": {
    "buildType": "https://actions.github.io/buildtypes/workflow/v1",
    "externalParameters": {"workflow": {"ref": "refs/heads/main", "repository": "https://github.com/acme/app",
                                        "path": ".github/workflows/release.yml"}},
    "resolvedDependencies": [{"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"gitCommit": "abc"}}]
  },
  "runDetails": {"builder": {"id": "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"},
                 "metadata": {"invocationId": "1", "startedOn": "2026-12-01T10:00:00Z"}},
  "count": 3, "signed": true, "a.b": {"c": "dotted"}, "nothing": null
})";

struct Case {
  std::string name;
  std::string conditions;  // indented 12
  bool passes;
  std::string detail;  // substring of the failure detail
};

class ConditionTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConditionTest, Decides) {
  const Case& c = GetParam();
  const std::vector<Condition> parsed = conditions(c.conditions);
  ASSERT_FALSE(parsed.empty());
  const ConditionOutcome outcome = evaluate_conditions(parsed, kProvenance, kNow);
  EXPECT_EQ(outcome.passed, c.passes) << outcome.detail;
  if (!c.passes) {
    EXPECT_THAT(outcome.detail, HasSubstr(c.detail));
  }
}

const std::string kRepo = "            - path: buildDefinition.externalParameters.workflow.repository\n";

INSTANTIATE_TEST_SUITE_P(
    Operators, ConditionTest,
    ::testing::Values(
        Case{"equals_control", kRepo + "              equals: https://github.com/acme/app\n", true, ""},
        Case{"equals_attack_other_repository", kRepo + "              equals: https://github.com/acme/ap\n", false,
             "buildDefinition.externalParameters.workflow.repository is \"https://github.com/acme/app\", not"},
        Case{"equals_case_differs", kRepo + "              equals: https://github.com/ACME/app\n", false, "not"},
        Case{"equals_number", "            - {path: count, equals: \"3\"}\n", true, ""},
        Case{"equals_boolean", "            - {path: signed, equals: \"true\"}\n", true, ""},
        Case{"equals_object_fails", "            - {path: runDetails, equals: x}\n", false, "is an object"},
        Case{"matches_control", kRepo + "              matches: https://github.com/acme/*\n", true, ""},
        Case{"matches_star_stays_in_segment", kRepo + "              matches: https://github.com/*\n", false,
             "does not match"},
        Case{"matches_double_star", kRepo + "              matches: \"https://github.com/**\"\n", true, ""},
        Case{"matches_metacharacters_literal", kRepo + "              matches: https://github.com/acme/ap.\n", false,
             "does not match"},
        Case{"regexp_control", kRepo + "              regexp: \"^https://github\\\\.com/acme/[a-z]+$\"\n", true, ""},
        Case{"regexp_is_whole_match", kRepo + "              regexp: \"github\\\\.com/acme\"\n", false,
             "does not match"},
        Case{"oneOf_control", "            - {path: buildDefinition.externalParameters.workflow.ref, oneOf: "
                              "[refs/heads/main, refs/heads/release]}\n", true, ""},
        Case{"oneOf_attack", "            - {path: buildDefinition.externalParameters.workflow.ref, oneOf: "
                             "[refs/heads/release]}\n", false, "not one of [\"refs/heads/release\"]"},
        Case{"exists_control", "            - {path: runDetails.builder.id, exists: true}\n", true, ""},
        Case{"exists_missing", "            - {path: runDetails.builder.version, exists: true}\n", false,
             "runDetails.builder.version is missing"},
        Case{"exists_null_is_missing", "            - {path: nothing, exists: true}\n", false, "is missing"},
        Case{"exists_false_control", "            - {path: runDetails.byproducts, exists: false}\n", true, ""},
        Case{"exists_false_attack", "            - {path: runDetails, exists: false}\n", false, "is present"},
        Case{"missing_field_fails_equals", "            - {path: no.such.field, equals: x}\n", false, "is missing"},
        Case{"newerThan_control", "            - {path: runDetails.metadata.startedOn, newerThan: 30d}\n", true, ""},
        Case{"newerThan_attack_too_old", "            - {path: runDetails.metadata.startedOn, newerThan: 5d}\n", false,
             "older than 432000s"},
        Case{"newerThan_not_a_time", "            - {path: runDetails.metadata.invocationId, newerThan: 5d}\n", false,
             "not an RFC 3339 time"},
        Case{"index_path", "            - {path: \"buildDefinition.resolvedDependencies[0].digest.gitCommit\", equals: abc}\n",
             true, ""},
        Case{"index_out_of_range", "            - {path: \"buildDefinition.resolvedDependencies[1].uri\", exists: true}\n",
             false, "is missing"},
        Case{"quoted_key", "            - {path: '[\"a.b\"].c', equals: dotted}\n", true, ""},
        Case{"any_control", "            - path: buildDefinition.resolvedDependencies\n              any:\n"
                            "                - {path: uri, matches: \"git+https://github.com/acme/**\"}\n", true, ""},
        Case{"any_attack", "            - path: buildDefinition.resolvedDependencies\n              any:\n"
                           "                - {path: uri, matches: \"git+https://github.com/evil/**\"}\n", false,
             "no element of buildDefinition.resolvedDependencies passes"},
        Case{"all_control", "            - path: buildDefinition.resolvedDependencies\n              all:\n"
                            "                - {path: digest.gitCommit, exists: true}\n", true, ""},
        Case{"all_attack", "            - path: buildDefinition.resolvedDependencies\n              all:\n"
                           "                - {path: digest.sha256, exists: true}\n", false,
             "buildDefinition.resolvedDependencies[0].digest.sha256 is missing"},
        Case{"all_not_an_array", "            - path: runDetails\n              all:\n                - {exists: true}\n",
             false, "not an array"},
        Case{"every_condition_must_hold", kRepo + "              equals: https://github.com/acme/app\n" +
                                              "            - {path: runDetails.builder.id, matches: x}\n", false,
             "runDetails.builder.id"}),
    [](const ::testing::TestParamInfo<Case>& param) { return param.param.name; });

TEST(ConditionEvaluation, EmptyArrays) {
  const std::vector<Condition> all = conditions("            - path: list\n              all: [{exists: true}]\n");
  const std::vector<Condition> any = conditions("            - path: list\n              any: [{exists: true}]\n");
  EXPECT_TRUE(evaluate_conditions(all, R"({"list": []})", kNow).passed);
  EXPECT_FALSE(evaluate_conditions(any, R"({"list": []})", kNow).passed);
  // Elements themselves: an absent path inside all/any is the element.
  const std::vector<Condition> severities =
      conditions("            - path: sev\n              all: [{oneOf: [LOW, MEDIUM]}]\n");
  EXPECT_TRUE(evaluate_conditions(severities, R"({"sev": ["LOW", "MEDIUM"]})", kNow).passed);
  const ConditionOutcome critical = evaluate_conditions(severities, R"({"sev": ["LOW", "CRITICAL"]})", kNow);
  EXPECT_FALSE(critical.passed);
  EXPECT_THAT(critical.detail, HasSubstr("sev[1] is \"CRITICAL\""));
}

TEST(ConditionEvaluation, PredicateBoundsFailClosed) {
  const std::vector<Condition> c = conditions("            - {path: a, exists: false}\n");
  // Deep nesting: beyond kMaxPredicateDepth (control: a shallow predicate passes).
  EXPECT_TRUE(evaluate_conditions(c, R"({"b": [[[1]]]})", kNow).passed);
  const std::string deep = "{\"b\":" + std::string(200, '[') + std::string(200, ']') + "}";
  const ConditionOutcome deep_outcome = evaluate_conditions(c, deep, kNow);
  EXPECT_FALSE(deep_outcome.passed);
  EXPECT_THAT(deep_outcome.detail, HasSubstr("predicate:"));
  // Too large.
  const std::string large = "{\"b\":\"" + std::string(kMaxPredicateBytes, 'x') + "\"}";
  const ConditionOutcome large_outcome = evaluate_conditions(c, large, kNow);
  EXPECT_FALSE(large_outcome.passed);
  EXPECT_THAT(large_outcome.detail, HasSubstr("predicate:"));
  // Not JSON.
  EXPECT_FALSE(evaluate_conditions(c, "{", kNow).passed);
}

TEST(ConditionEvaluation, StepBudgetFailsClosed) {
  // 60 conditions on each of 20,000 elements: 1.2M steps, over kMaxConditionSteps, within the value bound.
  std::string list = "[";
  for (int i = 0; i < 20'000; ++i) list += i ? ",\"1\"" : "\"1\"";
  list += "]";
  std::string nested;
  for (int i = 0; i < 60; ++i) nested += "                - {equals: \"1\"}\n";
  const std::vector<Condition> c = conditions("            - path: m\n              all:\n" + nested);
  ASSERT_FALSE(c.empty());
  const ConditionOutcome outcome = evaluate_conditions(c, "{\"m\":" + list + "}", kNow);
  EXPECT_FALSE(outcome.passed);
  EXPECT_THAT(outcome.detail, HasSubstr("steps"));
  // Control: the same conditions over a smaller array pass.
  EXPECT_TRUE(evaluate_conditions(c, R"({"m": ["1", "1", "1"]})", kNow).passed);
  // Nesting four levels deep loads and evaluates.
  const std::vector<Condition> deep = conditions(
      "            - path: m\n              all:\n                - all:\n                    - all:\n"
      "                        - all: [{equals: \"1\"}]\n");
  ASSERT_FALSE(deep.empty());
  EXPECT_TRUE(evaluate_conditions(deep, R"({"m": [[[["1","1"]]]]})", kNow).passed);
  EXPECT_FALSE(evaluate_conditions(deep, R"({"m": [[[["1","2"]]]]})", kNow).passed);
}

TEST(ConditionPath, Grammar) {
  EXPECT_TRUE(parse_condition_path("a.b_c-d.$e@f").ok());
  EXPECT_TRUE(parse_condition_path("a[0][12].b").ok());
  EXPECT_TRUE(parse_condition_path("[\"x.y\"][\"q\\\"\"]").ok());
  EXPECT_EQ(parse_condition_path("").value().size(), 0u);
  for (const char* bad : {"a..b", ".a", "a.", "a[", "a[x]", "a[\"x]", "a b", "a[1234567890]", "a[\"\"]", "a.[0]"}) {
    EXPECT_FALSE(parse_condition_path(bad).ok()) << bad;
  }
  std::string long_path = "a";
  for (int i = 0; i < 20; ++i) long_path += ".a";
  EXPECT_FALSE(parse_condition_path(long_path).ok());
}

TEST(ConditionLoader, RefusesWithLintQuality) {
  auto first = [](const std::vector<Diagnostic>& d) {
    std::string all;
    for (const Diagnostic& one : d) all += one.to_string() + "\n";
    return all;
  };
  EXPECT_THAT(first(errors_of("            - {path: a, equal: x}\n")), HasSubstr("did you mean \"equals\""));
  EXPECT_THAT(first(errors_of("            - {path: a, equals: x, exists: true}\n")),
              HasSubstr("one operator, not equals and exists"));
  EXPECT_THAT(first(errors_of("            - {path: a}\n")), HasSubstr("needs one operator"));
  EXPECT_THAT(first(errors_of("            - {path: a, regexp: \"(\"}\n")),
              HasSubstr("spec.rules[0].attestations[0].conditions[0].regexp"));
  EXPECT_THAT(first(errors_of("            - {path: \"a..b\", exists: true}\n")), HasSubstr("bad path"));
  EXPECT_THAT(first(errors_of("            - {path: a, newerThan: soon}\n")), HasSubstr("bad duration"));
  EXPECT_THAT(first(errors_of("            - {path: a, oneOf: []}\n")), HasSubstr("lists 1 to 256"));
  EXPECT_THAT(first(errors_of("            - {path: a, all: []}\n")), HasSubstr("at least one condition"));
  EXPECT_THAT(first(errors_of("            - {path: a, exists: maybe}\n")), HasSubstr("must be a boolean"));
  EXPECT_THAT(first(errors_of("            - {path: a, equals: x}\n")), ::testing::IsEmpty());
  // Nesting beyond kMaxConditionDepth.
  EXPECT_THAT(first(errors_of("            - all: [{all: [{all: [{all: [{all: [{exists: true}]}]}]}]}]\n")),
              HasSubstr("nest deeper than 4"));
  // More than kMaxConditions.
  std::string many;
  for (std::size_t i = 0; i <= kMaxConditions; ++i) many += "            - {path: a, exists: true}\n";
  EXPECT_THAT(first(errors_of(many)), HasSubstr("more than 64 conditions"));
  // The location is the condition's line in the file.
  const std::vector<Diagnostic> located = errors_of("            - {path: a, equals: x}\n            - {path: b, bogus: 1}\n");
  ASSERT_FALSE(located.empty());
  EXPECT_EQ(located.front().location.line, 16);
}

}  // namespace
}  // namespace imagegate::policy
