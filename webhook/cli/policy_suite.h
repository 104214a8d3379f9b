// Policy test suites (`imagegate test --suite suite.yaml`): a policy, the resources to evaluate and the
// decision expected for each container or image volume, like `kyverno test`. The format is documented in
// docs/cli.md:
//
//   apiVersion: imagegate.dev/v1alpha1
//   kind: PolicyTest
//   policy: ../policy.yaml          # relative to the suite file
//   resources: [workloads.yaml]     # files or directories, relative to the suite file
//   namespace: default              # optional: for objects without metadata.namespace
//   cases:
//     - {workload: Deployment/default/web, container: nginx, expect: deny, rule: pinned, reason: digest}
//     - {workload: Deployment/default/web, volume: models, expect: allow}   # an image volume
//
// Plain values and pure functions; thread-compatible.
#pragma once

#include <optional>
#include <variant>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/model.h"
#include "policy/policy.h"
#include "webhook/cli/report.h"

namespace imagegate::webhook {

struct SuiteCase {
  int line = 0;                     // where the case starts in the suite file
  std::string name;                 // optional description
  std::string workload;             // Kind/namespace/name
  std::string container;            // container name; "" (and no volume) = the workload's overall decision
  std::string volume;               // image volume name, instead of a container
  policy::Action expect = policy::Action::deny;
  std::optional<std::string> rule;  // exact rule name ("" = no rule matched)
  std::string reason;               // substring of the reasons (or the denial message)
};

struct Suite {
  std::string file;
  std::string name;                    // metadata.name, optional
  std::string policy;                  // resolved against the suite file's directory
  std::vector<std::string> resources;  // resolved likewise
  std::string namespace_name = kDefaultNamespace;
  std::vector<SuiteCase> cases;
};

// Parses and validates a suite, reporting every problem as the policy linter does: file:line:column, the
// key path and the message (`suite.yaml:9:40: cases[2].expcet: unknown key "expcet" (did you mean
// "expect"?)`). YAML syntax errors name the line and hint at tabs and indentation.
std::variant<Suite, std::vector<policy::Diagnostic>> load_suite(std::string_view text, const std::string& file);
// load_suite, with the diagnostics as one invalid_argument message, one per line.
Result<Suite> parse_suite(std::string_view text, const std::string& file);

// The suite files under `dir`: every .yaml/.yml in the tree that declares `kind: PolicyTest` at its top
// level (declares_kind, manifest_reader.h), sorted by path.
Result<std::vector<std::string>> find_suites(const std::string& dir);

struct CaseResult {
  SuiteCase test;
  bool passed = false;
  std::string actual;   // what happened: "deny (rule r: reason)" or "no such workload"
  std::string rule;     // the rule that decided ("" none, or the case names the whole workload)
  // Why it failed, for people: "expected allow, got deny (rule r: ...)", "expected rule "a", got rule
  // "b"", "expected a reason containing "x"; the reasons are: ..."; for a passed case, `actual`.
  std::string reason;
};

// Checks every case against evaluated workloads. A case naming a workload, container or image volume
// that does not exist fails.
std::vector<CaseResult> check_suite(const Suite& suite, const std::vector<WorkloadResult>& workloads);

}  // namespace imagegate::webhook
