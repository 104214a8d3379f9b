// What `imagegate test --suite` prints: the results of one or more policy test suites (policy_suite.h) as
// a table in the shape `kyverno test` prints (ID, FILE, POLICY, RULE, RESOURCE, RESULT, REASON), JSON or
// YAML for machines, JUnit XML for CI test reports (Jenkins, GitLab) and GitHub Actions workflow commands.
// A suite that could not run (its file, policy or resources do not load) carries its diagnostics: an
// `error` entry in JSON, an <error> test case in JUnit, ::error lines for GitHub.
//
// Plain values and pure functions; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/policy.h"
#include "webhook/cli/policy_suite.h"

namespace imagegate::webhook {

struct SuiteRun {
  std::string file;                              // the suite file
  Suite suite;                                   // as loaded (empty when diagnostics say it did not)
  std::string policy_name;                       // metadata.name of the suite's policy
  std::vector<CaseResult> results;
  std::vector<policy::Diagnostic> diagnostics;   // non-empty: the suite could not run

  std::size_t failed() const;
};

// The table, then one summary line per suite (`NAME: N passed, M failed`) and, for several suites, a total.
std::string render_suite_table(const std::vector<SuiteRun>& runs);
// {"suites": [{file, name, policy: {file, name}, passed, failed, error, results: [{id, file, line, name,
// policy, rule, resource, workload, container, volume, expected: {decision, rule, reason}, actual, result,
// reason}]}], "summary": {suites, cases, passed, failed, errors}}
nlohmann::json suites_to_json(const std::vector<SuiteRun>& runs);
// JUnit XML: <testsuites> with a <testsuite> per suite file and a <testcase> per case, <failure> with the
// reason for a failed case, an <error> test case for a suite that could not run.
std::string render_junit(const std::vector<SuiteRun>& runs);
// `::error file=SUITE,line=L,title=T::reason` per failed case and per diagnostic, then a `::notice` summary.
std::string render_suite_github(const std::vector<SuiteRun>& runs);

// XML character data and attribute values: & < > " ' escaped; characters XML 1.0 cannot carry (control
// characters other than tab, LF, CR) become U+FFFD.
std::string xml_escape(std::string_view text);

}  // namespace imagegate::webhook
