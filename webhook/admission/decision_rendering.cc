#include "webhook/admission/decision_rendering.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <utility>
#include <variant>

#include "common/text.h"
#include "verifier/image/image_reference.h"
#include "webhook/observe/logger.h"

namespace imagegate::webhook {

std::string_view decision_name(policy::Action action) {
  switch (action) {
    case policy::Action::allow:
      return "allowed";
    case policy::Action::warn:
      return "warned";
    case policy::Action::deny:
      return "denied";
  }
  return "error";
}

std::string truncate_utf8(std::string text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes >= 3 ? max_bytes - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  if (max_bytes >= 3) text += "...";
  return text;
}

std::vector<std::string> review_warnings(const policy::WorkloadDecision& decided,
                                         const std::vector<std::string>& distinct,
                                         const std::vector<policy::Evidence>& evidence) {
  std::vector<std::string> out;
  for (auto warning : decided.warnings()) {
    if (out.size() == kMaxWarnings) break;
    out.push_back(truncate_utf8(std::move(warning), kMaxWarningChars));
  }
  // Notes from the evidence itself (a digest served from the stale-if-error window) for allowed images.
  for (std::size_t i = 0; i < distinct.size() && i < evidence.size(); ++i) {
    for (const std::string& note : evidence[i].warnings) {
      if (out.size() == kMaxWarnings) break;
      out.push_back(truncate_utf8(distinct[i] + ": " + note, kMaxWarningChars));
    }
  }
  return out;
}

std::map<std::string, std::string> audit_annotations(const policy::WorkloadDecision& decided,
                                                     std::string_view decision, const std::string& policy_version) {
  std::vector<std::string> rules;
  std::vector<std::string> digests;
  std::vector<std::string> audit_failures;
  for (const auto& c : decided.containers) {
    const auto& d = c.decision;
    if (!d.rule.empty() && std::find(rules.begin(), rules.end(), d.rule) == rules.end()) rules.push_back(d.rule);
    if (!d.evidence.digest.empty()) digests.push_back(policy::owner_label(c.container, "") + "=" + d.evidence.digest);
    if (d.mode == policy::Mode::audit && d.outcome == policy::Outcome::failed) {
      audit_failures.push_back(policy::owner_label(c.container, "") + ": " +
                               (d.reasons.empty() ? d.image : join(d.reasons, "; ")));
    }
  }
  std::map<std::string, std::string> annotations;
  annotations["decision"] = std::string(decision);
  annotations["policy-version"] = truncate_utf8(policy_version, kMaxAnnotationBytes);
  if (!rules.empty()) annotations["rule"] = truncate_utf8(join(rules, ","), kMaxAnnotationBytes);
  if (!digests.empty()) annotations["digests"] = truncate_utf8(join(digests, ","), kMaxAnnotationBytes);
  if (!audit_failures.empty()) {
    annotations["audit-failures"] = truncate_utf8(join(audit_failures, " | "), kMaxAnnotationBytes);
  }
  return annotations;
}

namespace {

// One `{anchor, detail, status}` per anchor: a rule's signatures, or one attestation requirement's anchors.
void write_anchors(JsonWriter& w, const std::vector<policy::AnchorEvidence>& anchors) {
  w.begin_array();
  for (const auto& a : anchors) {
    w.begin_object();
    w.member("anchor", a.anchor);
    w.member("detail", a.check.detail);
    w.member("status", policy::to_string(a.check.status));
    w.end_object();
  }
  w.end_array();
}

}  // namespace

void write_decision_log_images(JsonWriter& w, const policy::WorkloadDecision* decided) {
  w.begin_array();
  if (decided != nullptr) {
    for (const auto& c : decided->containers) {
      const auto& d = c.decision;
      // Members in sorted order, as nlohmann wrote them (tests/webhook/admission/answer_rendering_test.cc).
      w.begin_object();
      // Which statement satisfied each attestation requirement's anchors, or why none did (rules with
      // `attestations:` only).
      if (!d.evidence.attestations.empty()) {
        w.key("attestations");
        w.begin_array();
        for (const auto& r : d.evidence.attestations) {
          w.begin_object();
          w.key("anchors");
          write_anchors(w, r.anchors);
          w.member("requirement", r.requirement);
          w.end_object();
        }
        w.end_array();
      }
      w.member("container", c.container.name);
      w.member("containerKind", c.container.kind);
      w.member("decision", decision_name(d.action));
      // What the reasons leave out for the requester (the socket error behind "registry unreachable").
      if (auto diagnostics = policy::diagnostics(d.evidence); !diagnostics.empty()) {
        w.key("diagnostics");
        w.string_array(diagnostics);
      }
      w.member("digest", d.evidence.digest);
      w.member("image", c.container.image);
      w.member("mode", policy::to_string(d.mode));
      w.member("normalized", d.normalized);
      w.member("outcome", policy::to_string(d.outcome));
      w.key("reasons");
      w.string_array(d.reasons);
      w.member("rule", d.rule);
      // Which trust anchors vouched (or failed) and how: an index signature accepting a platform digest
      // says so here, for allowed reviews too (incident response reads this log).
      w.key("signatures");
      write_anchors(w, d.evidence.signatures);
      w.end_object();
    }
  }
  w.end_array();
}

void append_decision_log_line(std::string& out, const AdmissionRequest& request, std::string_view decision,
                              std::string_view message, std::string_view policy_version,
                              const policy::WorkloadDecision* decided, double seconds) {
  JsonWriter w(out);
  // time, level, msg first (as every line serve writes: webhook/observe/logger.h), then the review's
  // fields in the order docs/api.md lists them.
  write_log_head(w, std::chrono::system_clock::now(), decision == "error" ? LogLevel::error : LogLevel::info,
                 "admission review");
  w.member("uid", request.uid);
  w.member("apiVersion", request.version == ReviewVersion::v1 ? "admission.k8s.io/v1" : "admission.k8s.io/v1beta1");
  w.member("operation", request.operation);
  w.member("kind", request.kind);
  w.member("resource", request.resource);
  w.member("subResource", request.sub_resource);
  w.member("namespace", request.namespace_name);
  w.member("name", request.name);
  w.member("user", request.user);
  w.member("dryRun", request.dry_run);
  w.member("policyVersion", policy_version);
  w.member("decision", decision);
  w.member("durationMs", std::round(seconds * 1e6) / 1e3);
  if (!message.empty()) w.member("message", message);
  w.key("images");
  write_decision_log_images(w, decided);
  w.end_object();
}

std::optional<Admission> inventory_entry(const AdmissionRequest& request, const std::string& namespace_name,
                                         const policy::Workload& workload, const policy::WorkloadDecision& decided,
                                         std::chrono::system_clock::time_point now) {
  if (decided.action == policy::Action::deny) return std::nullopt;
  // The inventory records what now runs: containers allowed (or warned) whose digest is known, either
  // resolved for this review or written in the reference itself.
  Admission admitted{namespace_name, workload.kind, workload.name, {}, now};
  bool every_digest_known = true;
  for (const auto& c : decided.containers) {
    const auto& d = c.decision;
    if (d.action == policy::Action::deny || d.normalized.empty()) {
      every_digest_known = false;
      continue;
    }
    std::string digest = d.evidence.digest;
    if (digest.empty()) {
      auto ref = verifier::ImageReference::parse_normalized(c.container.image);
      if (auto* parsed = std::get_if<verifier::ImageReference>(&ref); parsed != nullptr) digest = parsed->digest();
    }
    if (digest.empty()) {
      every_digest_known = false;
      continue;
    }
    const bool seen = std::any_of(admitted.images.begin(), admitted.images.end(), [&](const AdmittedImage& a) {
      return a.image == d.normalized && a.digest == digest;
    });
    if (!seen) admitted.images.push_back({d.normalized, std::move(digest)});
  }
  // An UPDATE replaces the workload's inventory only when it names everything the workload now runs.
  admitted.replaces = request.operation == "UPDATE" && every_digest_known;
  if (admitted.images.empty()) return std::nullopt;
  return admitted;
}

}  // namespace imagegate::webhook
