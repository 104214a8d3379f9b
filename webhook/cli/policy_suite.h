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
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/model.h"
#include "webhook/cli/report.h"

namespace imagegate::webhook {

struct SuiteCase {
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

// Parses and validates a suite (unknown keys, wrong types, bad `expect` values are errors naming the
// key path, e.g. `suite.yaml: cases[2].expect: must be allow, warn or deny`).
Result<Suite> parse_suite(std::string_view text, const std::string& file);

struct CaseResult {
  SuiteCase test;
  bool passed = false;
  std::string actual;   // what happened: "deny (rule r: reason)" or "no such workload"
};

// Checks every case against evaluated workloads. A case naming a workload, container or image volume
// that does not exist fails.
std::vector<CaseResult> check_suite(const Suite& suite, const std::vector<WorkloadResult>& workloads);

}  // namespace imagegate::webhook
