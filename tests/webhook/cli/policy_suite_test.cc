// Tests for webhook/cli/policy_suite.cc and webhook/cli/report.cc: suite parsing and checking against workloads
// evaluated offline with a real (inline) policy.
#include "webhook/cli/policy_suite.h"

#include <chrono>
#include <memory>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "webhook/cli/report.h"

namespace imagegate::webhook {
namespace {

constexpr std::string_view kPolicy = R"(apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata:
  name: t
spec:
  noMatch: deny
  exemptions:
    namespaces: [kube-system]
  registries:
    allow: [localhost:5000, docker.io]
  rules:
    - name: local
      match:
        images: ["localhost:5000/**"]
      deniedTags: [latest]
    - name: hub
      match:
        images: ["docker.io/**"]
      mode: warn
      requireDigest: true
)";

constexpr std::string_view kWorkloads = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: dev}
spec:
  template:
    spec:
      initContainers: [{name: init, image: "localhost:5000/init:1"}]
      containers:
        - {name: app, image: "localhost:5000/app"}
        - {name: hub, image: "nginx:1.25"}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: "quay.io/x:1"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
)";

class SuiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy::PolicyResult loaded = policy::load_policy(kPolicy, "p.yaml");
    auto* compiled = std::get_if<std::shared_ptr<const policy::CompiledPolicy>>(&loaded);
    ASSERT_NE(compiled, nullptr) << std::get<1>(loaded).front().to_string();
    policy_ = *compiled;
    auto objects = read_manifests(kWorkloads, "w.yaml");
    ASSERT_TRUE(objects.ok()) << objects.error().message;
    auto results = evaluate_offline(*policy_, *objects, "default", std::chrono::system_clock::now());
    ASSERT_TRUE(results.ok()) << results.error().message;
    workloads_ = std::move(*results);
  }

  std::shared_ptr<const policy::CompiledPolicy> policy_;
  std::vector<WorkloadResult> workloads_;
};

TEST_F(SuiteTest, EvaluateOffline) {
  ASSERT_EQ(workloads_.size(), 3u);
  EXPECT_EQ(workloads_[0].id, "Deployment/dev/web");
  EXPECT_EQ(workloads_[1].id, "Pod/default/p");  // no namespace: the default
  EXPECT_EQ(workloads_[2].id, "ConfigMap/default/cm");
  EXPECT_FALSE(workloads_[2].workload.has_pod_spec);
  const auto& web = workloads_[0].decision;
  ASSERT_EQ(web.containers.size(), 3u);
  EXPECT_EQ(web.containers[0].container.name, "app");
  EXPECT_EQ(web.containers[0].decision.action, policy::Action::deny);  // implicit latest
  EXPECT_EQ(web.containers[1].container.name, "hub");
  EXPECT_EQ(web.containers[1].decision.action, policy::Action::warn);
  EXPECT_EQ(web.containers[2].container.name, "init");
  EXPECT_EQ(web.containers[2].decision.action, policy::Action::allow);
  EXPECT_EQ(web.action, policy::Action::deny);

  TestReport report;
  report.policy_file = "p.yaml";
  report.workloads = workloads_;
  EXPECT_TRUE(report.any_denied());
  const std::string table = render_table(report);
  EXPECT_NE(table.find("init (init)"), std::string::npos) << table;
  EXPECT_NE(table.find("ConfigMap/default/cm"), std::string::npos);
  EXPECT_NE(table.find("3 workloads, 4 containers: 1 allowed, 1 warned, 2 denied"), std::string::npos) << table;
  const nlohmann::json j = report_to_json(report);
  EXPECT_EQ(j["summary"]["denied"], 2);
  EXPECT_EQ(j["workloads"][0]["containers"][2]["jsonPointer"], "/spec/template/spec/initContainers/0/image");
  EXPECT_EQ(j["allowed"], false);

  // A workload whose pod spec is malformed is an error naming where it is.
  auto broken = read_manifests("kind: Pod\napiVersion: v1\nmetadata: {name: x}\nspec: {containers: [{name: a}]}\n",
                               "b.yaml");
  ASSERT_TRUE(broken.ok());
  auto r = evaluate_offline(*policy_, *broken, "default", std::chrono::system_clock::now());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("b.yaml#1 (line 1): spec.containers[0].image: required"), std::string::npos)
      << r.error().message;
}

TEST_F(SuiteTest, CheckSuite) {
  auto suite = parse_suite(R"(apiVersion: imagegate.dev/v1alpha1
kind: PolicyTest
policy: ../p.yaml
resources: [w.yaml, more/]
cases:
  - {workload: Deployment/dev/web, container: app, expect: deny, rule: local, reason: latest}
  - {workload: Deployment/dev/web, container: hub, expect: warn, rule: hub}
  - {workload: Deployment/dev/web, container: init, expect: allow}
  - {workload: Deployment/dev/web, expect: deny}
  - {workload: Pod/default/p, container: c, expect: deny, rule: ""}
  - {workload: Deployment/dev/web, container: app, expect: allow}
  - {workload: Deployment/dev/web, container: app, expect: deny, rule: hub}
  - {workload: Deployment/dev/web, container: app, expect: deny, reason: "not there"}
  - {workload: Deployment/prod/web, container: app, expect: deny}
  - {workload: Deployment/dev/web, container: nope, expect: deny}
)",
                           "/suites/s/suite.yaml");
  ASSERT_TRUE(suite.ok()) << suite.error().message;
  EXPECT_EQ(suite->policy, "/suites/p.yaml");
  EXPECT_EQ(suite->resources, (std::vector<std::string>{"/suites/s/w.yaml", "/suites/s/more/"}));
  const auto results = check_suite(*suite, workloads_);
  ASSERT_EQ(results.size(), 10u);
  const std::vector<bool> expected = {true, true, true, true, true, false, false, false, false, false};
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].passed, expected[i]) << "case " << i << ": " << results[i].actual;
  }
  EXPECT_EQ(results[8].actual, "no such workload in the resources");
  EXPECT_NE(results[9].actual.find("no container named \"nope\""), std::string::npos);
  // Each case knows its line, and a failing case says why: expected X, got Y (rule: reasons).
  EXPECT_EQ(results[0].test.line, 6);
  EXPECT_EQ(results[9].test.line, 15);
  EXPECT_EQ(results[0].rule, "local");
  EXPECT_EQ(results[5].reason,
            "expected allow, got deny (rule local: no tag (means latest); tag \"latest\" is denied by rule \"local\")");
  EXPECT_EQ(results[6].reason.rfind("expected rule \"hub\", got rule \"local\": deny (rule local", 0), 0u)
      << results[6].reason;
  EXPECT_EQ(results[7].reason.rfind("expected a reason containing \"not there\", got deny", 0), 0u)
      << results[7].reason;
  EXPECT_EQ(results[8].reason, "expected deny, got no workload Deployment/prod/web in the resources");
  EXPECT_EQ(results[1].reason, results[1].actual);  // a passing case's reason: what happened
}

// The manifest reader records where each image is written: the JSON `line` of a container and the table's
// FILE column are the `image:` line, not the document's first line.
TEST_F(SuiteTest, ImageLines) {
  ASSERT_EQ(workloads_.size(), 3u);
  const WorkloadResult& web = workloads_[0];
  EXPECT_EQ(web.line, 1);
  EXPECT_EQ(image_line(web, web.decision.containers[0].container), 9);   // app
  EXPECT_EQ(image_line(web, web.decision.containers[1].container), 10);  // hub
  EXPECT_EQ(image_line(web, web.decision.containers[2].container), 7);   // init
  EXPECT_EQ(image_line(workloads_[1], workloads_[1].decision.containers[0].container), 16);
  TestReport report;
  report.policy_file = "p.yaml";
  report.workloads = workloads_;
  const nlohmann::json j = report_to_json(report);
  EXPECT_EQ(j["workloads"][0]["line"], 1);
  EXPECT_EQ(j["workloads"][0]["file"], "w.yaml");
  EXPECT_EQ(j["workloads"][0]["containers"][0]["line"], 9);
  const std::string table = render_table(report);
  EXPECT_NE(table.find("w.yaml:9 "), std::string::npos) << table;
  // List items, AdmissionReviews: positions relative to the object. JSON has none: the document's line.
  auto list = read_manifests("kind: List\napiVersion: v1\nitems:\n- kind: Pod\n  apiVersion: v1\n"
                             "  metadata: {name: a}\n  spec:\n    containers:\n    - name: c\n      image: x:1\n",
                             "l.yaml");
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().image_positions.at("spec.containers[0].image").line, 10);
  auto as_json = read_manifests(R"({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a"},
 "spec": {"containers": [{"name": "c", "image": "x:1"}]}})", "j.json");
  ASSERT_TRUE(as_json.ok());
  EXPECT_TRUE(as_json->front().image_positions.empty());
}

TEST_F(SuiteTest, GithubOutput) {
  TestReport report;
  report.policy_file = "p.yaml";
  report.workloads = workloads_;
  const std::string out = render_github(report);
  EXPECT_NE(out.find("::error file=w.yaml,line=9,title=imagegate%3A deny Deployment/dev/web app "
                     "(localhost%3A5000/app)::no tag (means latest); tag \"latest\" is denied by rule \"local\" (rule local)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("::warning file=w.yaml,line=10,"), std::string::npos) << out;
  EXPECT_NE(out.find("::error file=w.yaml,line=16,"), std::string::npos) << out;  // quay.io not allowed
  EXPECT_NE(out.find("::notice title=imagegate::3 workloads, 4 images: 1 allowed, 1 warned, 2 denied"), std::string::npos)
      << out;
  // Every line is a workflow command.
  std::size_t start = 0;
  while (start < out.size()) {
    EXPECT_EQ(out.compare(start, 2, "::"), 0) << out.substr(start);
    start = out.find('\n', start) + 1;
  }
  EXPECT_EQ(github_escape("a%b\r\nc:d,e", false), "a%25b%0D%0Ac:d,e");
  EXPECT_EQ(github_escape("a%b\r\nc:d,e", true), "a%25b%0D%0Ac%3Ad%2Ce");
}

// Image volumes in `imagegate test`: evaluated like containers, marked in the table, typed "volumes" in
// the JSON with their own JSON pointer, counted apart in the summary, and addressed by `volume:` in a suite
// (a container and a volume may share a name).
TEST_F(SuiteTest, ImageVolumes) {
  auto objects = read_manifests(R"(kind: Deployment
apiVersion: apps/v1
metadata: {name: models, namespace: dev}
spec: {template: {spec: {containers: [{name: data, image: "localhost:5000/app:1"}], volumes: [
  {name: scratch, emptyDir: {}},
  {name: data, image: {reference: "localhost:5000/weights:latest", pullPolicy: IfNotPresent}}]}}}
)",
                                "v.yaml");
  ASSERT_TRUE(objects.ok()) << objects.error().message;
  auto results = evaluate_offline(*policy_, *objects, "default", std::chrono::system_clock::now());
  ASSERT_TRUE(results.ok()) << results.error().message;
  const WorkloadResult& w = results->at(0);
  ASSERT_EQ(w.decision.containers.size(), 2u);
  EXPECT_EQ(w.decision.containers[1].decision.action, policy::Action::deny);
  EXPECT_EQ(w.decision.denial_message(),
            "imagegate denied 1 of 2 images: volume \"data\" (localhost:5000/weights:latest): tag \"latest\" is "
            "denied by rule \"local\"");

  TestReport report;
  report.policy_file = "p.yaml";
  report.workloads = *results;
  const std::string table = render_table(report);
  EXPECT_NE(table.find("data (image volume)  localhost:5000/weights:latest"), std::string::npos) << table;
  EXPECT_NE(table.find("1 workload, 1 container, 1 image volume: 1 allowed, 0 warned, 1 denied"), std::string::npos)
      << table;
  const nlohmann::json j = report_to_json(report);
  const nlohmann::json& volume = j["workloads"][0]["containers"][1];
  EXPECT_EQ(volume["type"], "volumes");
  EXPECT_EQ(volume["name"], "data");
  EXPECT_EQ(volume["jsonPath"], "spec.template.spec.volumes[1].image.reference");
  EXPECT_EQ(volume["jsonPointer"], "/spec/template/spec/volumes/1/image/reference");
  EXPECT_EQ(volume["decision"], "deny");
  EXPECT_EQ(j["summary"]["containers"], 1);
  EXPECT_EQ(j["summary"]["imageVolumes"], 1);
  EXPECT_EQ(j["summary"]["denied"], 1);

  auto suite = parse_suite(R"(apiVersion: imagegate.dev/v1alpha1
kind: PolicyTest
policy: p.yaml
resources: [v.yaml]
cases:
  - {workload: Deployment/dev/models, volume: data, expect: deny, rule: local, reason: latest}
  - {workload: Deployment/dev/models, container: data, expect: allow, rule: local}
  - {workload: Deployment/dev/models, volume: scratch, expect: allow}
)",
                           "suite.yaml");
  ASSERT_TRUE(suite.ok()) << suite.error().message;
  const auto checked = check_suite(*suite, *results);
  ASSERT_EQ(checked.size(), 3u);
  EXPECT_TRUE(checked[0].passed) << checked[0].actual;
  EXPECT_TRUE(checked[1].passed) << checked[1].actual;
  EXPECT_FALSE(checked[2].passed);
  EXPECT_EQ(checked[2].actual, "no image volume named \"scratch\" in Deployment/dev/models");
}

TEST(ParseSuite, Errors) {
  const std::string head = "apiVersion: imagegate.dev/v1alpha1\nkind: PolicyTest\npolicy: p.yaml\nresources: [w.yaml]\n";
  struct Case {
    std::string text;
    const char* message;
  };
  const std::vector<Case> cases = {
      {head + "cases: [{workload: A/b/c, expect: maybe}]\n", "cases[0].expect: must be allow, warn or deny"},
      {head + "cases: [{workload: A/b/c, expcet: deny}]\n", "cases[0].expcet: unknown key"},
      {head + "cases: [{workload: A/c, expect: deny}]\n", "cases[0].workload: must be Kind/namespace/name"},
      {head + "cases: []\n", "cases: required"},
      {head + "cases: [{workload: A/b/c, container: x, volume: x, expect: deny}]\n",
       "cases[0]: name a container or a volume, not both"},
      {head + "cases: [{workload: A/b/c, volume: 3, expect: deny}]\n", "cases[0].volume: must be a string"},
      {head + "cases: [{workload: A/b/c, expect: deny, rule: 3}]\n", "cases[0].rule: must be a string"},
      {head + "colour: blue\ncases: [{workload: A/b/c, expect: deny}]\n", "colour: unknown key"},
      {"apiVersion: v1\nkind: PolicyTest\n", "apiVersion: must be imagegate.dev/v1alpha1"},
      {"apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\n", "kind: must be PolicyTest"},
      {"apiVersion: imagegate.dev/v1alpha1\nkind: PolicyTest\nresources: [a]\ncases: [{workload: A/b/c, expect: deny}]\n",
       "policy: required"},
      {head + "cases: [{workload: A/b/c, expect: deny}]\n---\na: b\n", "a suite is one YAML document"},
  };
  for (const Case& c : cases) {
    auto suite = parse_suite(c.text, "s.yaml");
    ASSERT_FALSE(suite.ok()) << c.text;
    EXPECT_NE(suite.error().message.find(c.message), std::string::npos) << suite.error().message;
  }
}

// Every problem in one run, each with file:line:column, its key path and a suggestion for a misspelt key.
TEST(ParseSuite, AllErrorsWithPositions) {
  auto loaded = load_suite(R"(apiVersion: imagegate.dev/v1alpha1
kind: PolicyTest
polcy: p.yaml
resources: [w.yaml]
cases:
  - {workload: A/b/c, expcet: deny}
  - workload: A/b/c
    expect: maybe
  - {workload: A/b/c, expect: deny}
)",
                           "s.yaml");
  auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded);
  ASSERT_NE(diagnostics, nullptr);
  std::vector<std::string> lines;
  for (const policy::Diagnostic& d : *diagnostics) lines.push_back(d.to_string());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "s.yaml:1:1: policy: required",
                       "s.yaml:3:1: polcy: unknown key \"polcy\" (did you mean \"policy\"?)",
                       "s.yaml:6:5: cases[0].expect: required",
                       "s.yaml:6:23: cases[0].expcet: unknown key \"expcet\" (did you mean \"expect\"?)",
                       "s.yaml:8:5: cases[1].expect: must be allow, warn or deny (got \"maybe\")",
                   }));
}

TEST(ParseSuite, SyntaxErrorsHintAtTabs) {
  auto suite = parse_suite("apiVersion: imagegate.dev/v1alpha1\nkind: PolicyTest\ncases:\n\t- {workload: A/b/c}\n",
                           "s.yaml");
  ASSERT_FALSE(suite.ok());
  EXPECT_NE(suite.error().message.find("tabs are not allowed for indentation (line 4 is indented with a tab)"),
            std::string::npos)
      << suite.error().message;
  EXPECT_EQ(suite.error().message.rfind("s.yaml:4:", 0), 0u) << suite.error().message;
}

TEST(DeclaresKind, TopLevelOnly) {
  EXPECT_TRUE(declares_kind("apiVersion: x\nkind: PolicyTest\n", "PolicyTest"));
  EXPECT_TRUE(declares_kind("kind: \"PolicyTest\"  \r\n", "PolicyTest"));
  EXPECT_FALSE(declares_kind("spec:\n  kind: PolicyTest\n", "PolicyTest"));
  EXPECT_FALSE(declares_kind("kind: PolicyTests\n", "PolicyTest"));
  EXPECT_FALSE(declares_kind("kind: ImagePolicy\n", "PolicyTest"));
}

}  // namespace
}  // namespace imagegate::webhook
