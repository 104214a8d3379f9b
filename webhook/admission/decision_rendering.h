// Decision rendering: how a decided review is written down, apart from deciding it
// (policy_admission_service.cc decides). Three renderings of one policy::WorkloadDecision:
//   - the answer's warnings and audit annotations (AdmissionResponse),
//   - the decision log's line (webhook/observe/decision_log.h): one JSON line per review, never the body,
//   - the inventory's entry (Admission, for the AdmissionObserver).
// Everything user-controlled is bounded here (warnings, annotations) and written through the JSON
// writer (log lines, common/json_writer.h), so a forged image string cannot forge a line.
//
// Pure functions of their arguments (the log line also reads the clock for its `time`); safe from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_writer.h"
#include "policy/evaluate.h"
#include "policy/workload.h"
#include "webhook/admission/admission_review.h"
#include "webhook/admission/policy_admission_service.h"

namespace imagegate::webhook {

// Kubernetes caps warnings at 120 characters each when it prints them; we also cap their number.
inline constexpr std::size_t kMaxWarningChars = 120;
inline constexpr std::size_t kMaxWarnings = 32;
inline constexpr std::size_t kMaxMessageBytes = 4096;  // status.message of a denial
inline constexpr std::size_t kMaxAnnotationBytes = 1024;

// "allowed", "warned" or "denied": the metric's, the log's and the annotation's name of an action.
std::string_view decision_name(policy::Action action);

// Cuts `text` to at most `max_bytes` bytes without splitting a UTF-8 sequence, marking the cut.
std::string truncate_utf8(std::string text, std::size_t max_bytes);

// The answer's warnings: the workload's (one per warned image), then the notes of each distinct image's
// evidence (a digest served stale), "IMAGE: note"; at most kMaxWarnings, each cut to kMaxWarningChars.
// `evidence[i]` is the evidence of `distinct[i]`.
std::vector<std::string> review_warnings(const policy::WorkloadDecision& decided,
                                         const std::vector<std::string>& distinct,
                                         const std::vector<policy::Evidence>& evidence);

// The audit annotations: decision, policy-version, and when there are any, rule, digests and
// audit-failures, each value cut to kMaxAnnotationBytes. The API server prefixes each key with the
// webhook's name ("<webhook>/<key>"), so a key is a bare name without a '/'.
std::map<std::string, std::string> audit_annotations(const policy::WorkloadDecision& decided,
                                                     std::string_view decision, const std::string& policy_version);

// The decision log's `images`: per container or image volume, what was decided and on which evidence;
// an empty list when `decided` is null (DELETE, CONNECT, non-workload kinds, refused objects, errors).
void write_decision_log_images(JsonWriter& writer, const policy::WorkloadDecision* decided);

// One decision-log line (without the newline), appended to `out`: identifiers of the review, the decision,
// the images (`decided`, may be null), the time taken. `message` is left out when empty. Members: time,
// level, msg ("admission review") first, as every line serve writes (webhook/observe/logger.h), then the
// fields in docs/api.md's order; strings and numbers byte for byte as nlohmann writes them.
void append_decision_log_line(std::string& out, const AdmissionRequest& request, std::string_view decision,
                              std::string_view message, std::string_view policy_version,
                              const policy::WorkloadDecision* decided, double seconds);

// The inventory's entry of an admitted workload (see Admission): nullopt when the workload was denied or
// no image with a known digest was allowed.
std::optional<Admission> inventory_entry(const AdmissionRequest& request, const std::string& namespace_name,
                                         const policy::Workload& workload, const policy::WorkloadDecision& decided,
                                         std::chrono::system_clock::time_point now);

}  // namespace imagegate::webhook
