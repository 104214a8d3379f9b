// Offline evaluation of manifests (`imagegate test`) and how its results are shown: a table for people,
// JSON/YAML for machines. The decisions come from the same policy functions the server uses; network
// checks (signatures, digest resolution, scan verdicts) are recorded as "not evaluated offline" and count
// as the matching rule's failurePolicy says.
//
// Plain values and pure functions; thread-compatible.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/workload.h"
#include "webhook/cli/manifest_reader.h"

namespace imagegate::webhook {

// The namespace `imagegate test` assumes for an object without metadata.namespace (and not from an
// AdmissionReview that names one), as kubectl does; `--namespace` changes it.
inline constexpr const char* kDefaultNamespace = "default";
inline constexpr const char* kNotEvaluatedOffline = "not evaluated offline";

struct WorkloadResult {
  std::string source;          // file#document, as ManifestObject::source
  int line = 0;                // where the document starts
  std::map<std::string, TextPosition, std::less<>> image_positions;  // as ManifestObject's
  policy::Workload workload;   // kind, name, images (namespace as written)
  std::string namespace_name;  // the namespace the policy was evaluated for
  std::string id;              // Kind/namespace/name, how tables and suites name the workload
  policy::WorkloadDecision decision;
};

struct TestReport {
  std::string policy_file;
  std::string policy_name;
  std::string policy_version;
  std::vector<WorkloadResult> workloads;

  bool online = false;  // digests were resolved against registries (`test --online`)
  bool any_denied() const;
};

// "Deployment/default/web"; an object without a name shows "-".
std::string workload_id(const std::string& kind, const std::string& namespace_name, const std::string& name);

// Decides each container of each object's Workload (decoded by the reader) offline. Errors: a malformed
// pod spec (invalid_argument naming the source and the JSON path) or too many containers.
Result<std::vector<WorkloadResult>> evaluate_offline(const policy::CompiledPolicy& policy,
                                                     const std::vector<ManifestObject>& objects,
                                                     const std::string& default_namespace,
                                                     std::chrono::system_clock::time_point now);
// Gathers the network evidence for one image (`imagegate test --online`); empty: offline.
using EvidenceFunction = std::function<policy::Evidence(const policy::ImageUnderReview&, const policy::Plan&)>;
// The same, with `evidence` gathering what each plan needs (the online CLI).
Result<std::vector<WorkloadResult>> evaluate_offline(const policy::CompiledPolicy& policy,
                                                     const std::vector<ManifestObject>& objects,
                                                     const std::string& default_namespace,
                                                     std::chrono::system_clock::time_point now,
                                                     const EvidenceFunction& evidence);

// The file of a source ("deploy.yaml#2.items[1]" -> "deploy.yaml").
std::string source_file(const std::string& source);
// The line of a container's `image:` (an image volume's `reference:`), else the document's first line.
int image_line(const WorkloadResult& workload, const policy::ContainerImage& container);

// FILE WORKLOAD CONTAINER IMAGE DECISION RULE REASON, one row per container or image volume ("NAME (image
// volume)"; objects without a pod spec get one row with "-" and "no pod spec"), FILE as file:line of the
// image, columns aligned, followed by a summary line.
std::string render_table(const TestReport& report);
// The full structured result: decision, outcome, mode, rule, reasons, evidence, JSON paths and lines.
nlohmann::json report_to_json(const TestReport& report);
// GitHub Actions workflow commands: `::error file=F,line=L,title=T::message` for each denied image,
// `::warning ...` for each warned one (audit-mode failures included), then a `::notice` summary.
std::string render_github(const TestReport& report);

// GitHub's escaping of a workflow command's message (% CR LF) and, with `property`, of a property value
// (also : and ,).
std::string github_escape(std::string_view text, bool property);

}  // namespace imagegate::webhook
