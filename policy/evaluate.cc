#include "policy/evaluate.h"

#include <algorithm>
#include <cstdio>

#include "common/text.h"
#include "policy/compiled_policy.h"
#include "policy/plan_cache.h"
#include "verifier/image/image_reference.h"

namespace imagegate::policy {
namespace {

constexpr std::size_t kMaxDenialMessage = 1024;
constexpr std::size_t kMaxContainerPart = 320;
constexpr std::size_t kMaxWarning = 120;

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string truncate(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  text.resize(limit - 3);
  // Do not cut a UTF-8 sequence in half.
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
  if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
  return text + "...";
}

// What a mode makes of an action that would deny: enforce keeps it, warn admits with a warning, audit
// admits silently (the decision still records the failure).
Action apply_mode(Action action, Mode mode) {
  switch (mode) {
    case Mode::enforce: return action;
    case Mode::warn: return action == Action::deny ? Action::warn : action;
    case Mode::audit: return Action::allow;
  }
  return action;
}

}  // namespace

ImagePlan make_plan(const CompiledPolicy& policy, const ImageUnderReview& image, Matcher matcher) {
  ImagePlan out(image);
  Plan& p = out.plan;
  Result<verifier::ImageReference> ref = verifier::ImageReference::from_container_image(image.image);
  if (!ref.ok()) {
    p.outcome = Outcome::invalid;
    p.reason = ref.error().message;
    return out;
  }
  out.reference = std::move(ref).value();
  const verifier::ImageReference& reference = *out.reference;
  out.normalized = reference.string();
  const std::string name = reference.name();
  if (const Glob* g = policy.exempt_namespace(image.namespace_name, matcher)) {
    p.outcome = Outcome::exempt;
    p.reason = "namespace " + quoted(image.namespace_name) + " is exempt (" + quoted(g->pattern()) + ")";
    return out;
  }
  if (const Glob* g = policy.exempt_image(name, matcher)) {
    p.outcome = Outcome::exempt;
    p.reason = "image " + name + " is exempt (" + quoted(g->pattern()) + ")";
    return out;
  }
  if (!policy.registry_allowed(reference.domain(), matcher)) {
    p.outcome = Outcome::failed;
    p.reason = "registry " + quoted(reference.domain()) + " is not in the allowed registries";
    return out;
  }
  const CompiledRule* selected = policy.select_rule(name, image.namespace_name, matcher);
  if (selected == nullptr) {
    p.outcome = Outcome::no_match;
    p.reason = "no rule matches " + name + (image.namespace_name.empty() ? std::string()
                                                                           : " in namespace " + image.namespace_name);
    return out;
  }
  const Rule& rule = *selected->rule;
  p.rule = &rule;
  const bool network = rule.signatures.has_value() || rule.vulnerabilities.has_value() || rule.pin_digest ||
                       !rule.attestations.empty();
  p.needs.resolve_digest = network && !reference.has_digest();
  if (rule.signatures) {
    p.needs.anchors = rule.signatures->anchors;
    p.needs.accept_index_signatures = rule.signatures->accept_index_signatures;
    p.needs.signature_repository = rule.signatures->repository;
  }
  p.needs.verdict = rule.vulnerabilities.has_value();
  for (const AttestationRequirement& a : rule.attestations) p.needs.attestations.push_back(&a);
  return out;
}

namespace {

// "no signature found", "unavailable: registry returned 503", "not evaluated offline".
std::string describe(const CheckEvidence& check) {
  switch (check.status) {
    case EvidenceStatus::verified: return check.detail.empty() ? "verified" : "verified: " + check.detail;
    case EvidenceStatus::failed: return check.detail.empty() ? "failed" : check.detail;
    case EvidenceStatus::not_evaluated: return check.detail.empty() ? "not evaluated" : check.detail;
    case EvidenceStatus::unavailable: return check.detail.empty() ? "unavailable" : "unavailable: " + check.detail;
  }
  return check.detail;
}

// Collects the outcome of a rule's checks.
struct Checks {
  FailurePolicy failure_policy = FailurePolicy::closed;
  std::vector<std::string> failures;      // checks that failed (or could not complete, failure-closed)
  std::vector<std::string> settled_open;  // checks that could not complete, allowed by failure-open
  std::vector<std::string> warnings;      // findings the policy says to warn about (onMissing/secrets: warn)

  // A check that could not complete: the failure policy decides.
  void unsettled(const std::string& reason) {
    if (failure_policy == FailurePolicy::closed) {
      failures.push_back(reason);
    } else {
      settled_open.push_back(reason + " (allowed: failurePolicy open)");
    }
  }
  void check(std::string_view name, const CheckEvidence& evidence) {
    const std::string reason = std::string(name) + ": " + describe(evidence);
    switch (evidence.status) {
      case EvidenceStatus::verified: return;
      case EvidenceStatus::failed: failures.push_back(reason); return;
      case EvidenceStatus::not_evaluated:
      case EvidenceStatus::unavailable: unsettled(reason); return;
    }
  }
};

// m-of-n over anchors: `label` ("signatures", `attestation "provenance"`) names the requirement in the reason.
void check_anchors(std::string_view label, const std::vector<std::string>& anchors, int threshold_wanted,
                   const std::vector<std::string>& required, const std::vector<AnchorEvidence>& evidence,
                   Checks& checks) {
  std::vector<std::string> verified;
  std::vector<std::string> unsettled;
  // Anchors grouped by what happened to them, in first-seen order, so ten anchors that were all "not
  // evaluated offline" make one short phrase.
  std::vector<std::pair<std::string, std::string>> groups;  // description -> "a, b"
  for (const std::string& anchor : anchors) {
    auto it = std::find_if(evidence.begin(), evidence.end(),
                           [&](const AnchorEvidence& e) { return e.anchor == anchor; });
    const CheckEvidence check = it != evidence.end() ? it->check : CheckEvidence{};
    if (check.status == EvidenceStatus::verified) {
      verified.push_back(anchor);
      continue;
    }
    if (check.status != EvidenceStatus::failed) unsettled.push_back(anchor);
    const std::string description = describe(check);
    auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == description; });
    if (group == groups.end()) {
      groups.emplace_back(description, anchor);
    } else {
      group->second += ", " + anchor;
    }
  }
  auto contains = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  bool required_ok = true;
  bool required_possible = true;
  for (const std::string& r : required) {
    if (!contains(verified, r)) {
      required_ok = false;
      if (!contains(unsettled, r)) required_possible = false;
    }
  }
  const auto threshold = static_cast<std::size_t>(std::max(1, threshold_wanted));
  if (verified.size() >= threshold && required_ok) return;

  std::string reason = std::string(label) + ": " + std::to_string(verified.size()) + " of " +
                       std::to_string(anchors.size()) + " anchors verified, need " +
                       std::to_string(threshold);
  if (!required.empty()) reason += " including " + join(required, ", ");
  std::string details;
  if (!verified.empty()) details = "verified: " + join(verified, ", ");
  for (const auto& [description, names] : groups) {
    details += (details.empty() ? "" : "; ") + names + ": " + description;
  }
  reason += " (" + details + ")";
  // If the anchors that could not be checked might still have made up the difference, the failure
  // policy decides; if even all of them verifying would not be enough, the image fails outright.
  if (verified.size() + unsettled.size() >= threshold && required_possible) {
    checks.unsettled(reason);
  } else {
    checks.failures.push_back(reason);
  }
}


void check_signatures(const SignatureRequirement& requirement, const Evidence& evidence, Checks& checks) {
  check_anchors("signatures", requirement.anchors, requirement.threshold, requirement.required, evidence.signatures,
                checks);
}

void check_attestations(const Rule& rule, const Evidence& evidence, Checks& checks) {
  static const std::vector<AnchorEvidence> kNone;
  for (const AttestationRequirement& requirement : rule.attestations) {
    auto it = std::find_if(evidence.attestations.begin(), evidence.attestations.end(),
                           [&](const AttestationEvidence& e) { return e.requirement == requirement.name; });
    check_anchors("attestation " + quoted(requirement.name), requirement.anchors, requirement.threshold,
                  requirement.required, it != evidence.attestations.end() ? it->anchors : kNone, checks);
  }
}


// ---- The scan verdict gate. ----------------------------------------------------------------------------

// An action from the policy (onMissing, secrets) applied to one finding of the gate.
void settle(Action action, const std::string& reason, Checks& checks) {
  switch (action) {
    case Action::deny: checks.failures.push_back(reason); return;
    case Action::warn: checks.warnings.push_back(reason); return;
    case Action::allow: return;
  }
}

std::string age_text(std::chrono::seconds age) {
  const auto s = age.count();
  if (s >= 2 * 86'400) return std::to_string(s / 86'400) + "d";
  if (s >= 2 * 3'600) return std::to_string(s / 3'600) + "h";
  if (s >= 120) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string date_text(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

// The worst findings first, at most three: "CVE-1 (CRITICAL, openssl), CVE-2 (HIGH, zlib) and 4 more".
std::string worst(std::vector<const verifier::Vulnerability*> found) {
  std::stable_sort(found.begin(), found.end(), [](const auto* a, const auto* b) {
    if (a->severity != b->severity) return a->severity > b->severity;
    return a->cvss.value_or(0) > b->cvss.value_or(0);
  });
  std::string out;
  const std::size_t shown = std::min<std::size_t>(found.size(), 3);
  for (std::size_t i = 0; i < shown; ++i) {
    const verifier::Vulnerability& v = *found[i];
    out += (i == 0 ? "" : ", ") + truncate(v.id, 40) + " (" + std::string(verifier::severity_name(v.severity)) +
           (v.package.empty() ? "" : ", " + truncate(v.package, 40)) + ")";
  }
  if (found.size() > shown) out += " and " + std::to_string(found.size() - shown) + " more";
  return out;
}

void check_verdict(const VerdictRequirement& req, const Evidence& evidence,
                   std::chrono::system_clock::time_point now, Checks& checks) {
  const CheckEvidence& status = evidence.verdict;
  if (evidence.scan_missing) {
    settle(req.on_missing,
           "vulnerabilities: " + (status.detail.empty() ? std::string("no scan verdict") : status.detail) +
               " (onMissing: " + std::string(to_string(req.on_missing)) + ")",
           checks);
    return;
  }
  if (!evidence.scan || status.status != EvidenceStatus::verified) {
    checks.check("vulnerabilities", status);  // status only: not evaluated, unavailable, failed, verified
    return;
  }
  const verifier::ScanVerdict& scan = *evidence.scan;
  if (req.max_age) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - scan.scanned_at);
    if (age > *req.max_age) {
      settle(req.on_missing,
             "vulnerabilities: the scan verdict is " + age_text(age) + " old, older than maxAge " +
                 age_text(*req.max_age) + " (onMissing: " + std::string(to_string(req.on_missing)) + ")",
             checks);
      return;
    }
  }
  if (req.max_severity) {
    std::vector<const verifier::Vulnerability*> above;
    std::vector<std::string> expired;
    for (const verifier::Vulnerability& v : scan.vulnerabilities) {
      if (v.severity <= *req.max_severity) continue;
      if (req.fixable_only && !v.fixable()) continue;
      const CveException* exception = nullptr;
      for (const CveException& e : req.exceptions) {
        if (e.id == v.id) exception = &e;
      }
      // An exception applies until the start of its expiry day (UTC).
      if (exception != nullptr && (!exception->expires || now < *exception->expires)) continue;
      above.push_back(&v);
      if (exception != nullptr && expired.size() < 3) {
        expired.push_back(truncate(v.id, 40) + " expired " + date_text(*exception->expires));
      }
    }
    if (!above.empty()) {
      std::string reason = "vulnerabilities: " + std::to_string(above.size()) +
                           (req.fixable_only ? " fixable" : "") + (above.size() == 1 ? " finding" : " findings") +
                           " above " + std::string(verifier::severity_name(*req.max_severity)) + ": " + worst(above);
      if (!expired.empty()) {
        reason += "; exception";
        reason += expired.size() == 1 ? " " : "s ";
        for (std::size_t i = 0; i < expired.size(); ++i) reason += (i == 0 ? "" : ", ") + expired[i];
      }
      checks.failures.push_back(std::move(reason));
    }
  }
  if (!scan.secrets.empty()) {
    std::string ids;
    for (std::size_t i = 0; i < scan.secrets.size() && i < 3; ++i) {
      ids += (i == 0 ? "" : ", ") + truncate(scan.secrets[i].id, 40) + " (" +
             std::string(verifier::severity_name(scan.secrets[i].severity)) + ")";
    }
    if (scan.secrets.size() > 3) ids += " and " + std::to_string(scan.secrets.size() - 3) + " more";
    settle(req.secrets,
           "secrets: the scan found " + std::to_string(scan.secrets.size()) +
               (scan.secrets.size() == 1 ? " secret: " : " secrets: ") + ids,
           checks);
  }
  if (req.compliance_required) {
    std::size_t failed = 0;
    std::string ids;
    for (const verifier::ComplianceResult& c : scan.compliance) {
      if (c.passed) continue;
      if (++failed <= 3) ids += (failed == 1 ? "" : ", ") + truncate(c.id, 40);
    }
    if (failed > 3) ids += " and " + std::to_string(failed - 3) + " more";
    if (scan.compliance.empty()) {
      checks.failures.push_back("compliance: the scan verdict has no compliance results");
    } else if (failed > 0) {
      checks.failures.push_back("compliance: " + std::to_string(failed) + " failed " +
                                (failed == 1 ? "check: " : "checks: ") + ids);
    }
  }
}

}  // namespace

std::shared_ptr<const ImagePlan> plan_image(const CompiledPolicy& policy, const ImageUnderReview& image) {
  const PlanCache& cache = policy.plan_cache();
  if (auto cached = cache.find(image)) return cached;
  return cache.insert(std::make_shared<const ImagePlan>(make_plan(policy, image, Matcher::automaton)));
}

Plan plan(const CompiledPolicy& policy, const ImageUnderReview& image) { return plan_image(policy, image)->plan; }

Evidence unevaluated_evidence(const Requirements& needs, const std::string& detail) {
  Evidence evidence;
  if (needs.resolve_digest) evidence.digest_resolution = {EvidenceStatus::not_evaluated, detail};
  for (const std::string& anchor : needs.anchors) {
    evidence.signatures.push_back({anchor, {EvidenceStatus::not_evaluated, detail}});
  }
  if (needs.verdict) evidence.verdict = {EvidenceStatus::not_evaluated, detail};
  for (const AttestationRequirement* requirement : needs.attestations) {
    AttestationEvidence a{requirement->name, {}};
    for (const std::string& anchor : requirement->anchors) {
      a.anchors.push_back({anchor, {EvidenceStatus::not_evaluated, detail}});
    }
    evidence.attestations.push_back(std::move(a));
  }
  return evidence;
}

CheckEvidence check_from_error(EvidenceStatus status, const Error& error, const std::string& prefix) {
  return {status, prefix + error.message, error.detail.empty() ? std::string() : prefix + error.detail};
}

std::vector<std::string> diagnostics(const Evidence& evidence) {
  std::vector<std::string> out;
  if (!evidence.digest_resolution.diagnostic.empty()) out.push_back("digest: " + evidence.digest_resolution.diagnostic);
  for (const AnchorEvidence& a : evidence.signatures) {
    if (!a.check.diagnostic.empty()) out.push_back("signature " + a.anchor + ": " + a.check.diagnostic);
  }
  for (const AttestationEvidence& a : evidence.attestations) {
    for (const AnchorEvidence& anchor : a.anchors) {
      if (!anchor.check.diagnostic.empty()) {
        out.push_back("attestation " + a.requirement + " " + anchor.anchor + ": " + anchor.check.diagnostic);
      }
    }
  }
  if (!evidence.verdict.diagnostic.empty()) out.push_back("verdict: " + evidence.verdict.diagnostic);
  return out;
}

Decision evaluate(const CompiledPolicy& policy, const ImageUnderReview& image, const Evidence& evidence,
                  std::chrono::system_clock::time_point now) {
  return evaluate(policy, *plan_image(policy, image), evidence, now);
}

Decision evaluate(const CompiledPolicy& policy, const ImagePlan& planned, const Evidence& evidence,
                  std::chrono::system_clock::time_point now) {
  const PolicySpec& spec = policy.spec();
  Decision d;
  d.image = planned.image.image;
  d.evidence = evidence;
  d.mode = spec.mode;
  const Plan& p = planned.plan;
  if (planned.reference) {
    d.normalized = planned.normalized;
    if (planned.reference->has_digest() && d.evidence.digest.empty()) d.evidence.digest = planned.reference->digest();
  }
  switch (p.outcome) {
    case Outcome::invalid:
      // Whatever the mode: an image we cannot parse cannot be checked, and the runtime would parse it
      // differently from us at our peril.
      d.action = Action::deny;
      d.outcome = Outcome::invalid;
      d.reasons = {p.reason};
      return d;
    case Outcome::exempt:
      d.action = Action::allow;
      d.outcome = Outcome::exempt;
      d.reasons = {p.reason};
      return d;
    case Outcome::failed:  // the registry allowlist
      d.action = apply_mode(Action::deny, spec.mode);
      d.outcome = Outcome::failed;
      d.reasons = {p.reason};
      return d;
    case Outcome::no_match:
      d.action = apply_mode(spec.no_match, spec.mode);
      d.outcome = Outcome::no_match;
      d.reasons = {p.reason + " (noMatch: " + std::string(to_string(spec.no_match)) + ")"};
      return d;
    case Outcome::passed:
      break;
  }

  const Rule& rule = *p.rule;
  const verifier::ImageReference& ref = *planned.reference;
  d.rule = rule.name;
  d.mode = rule.mode.value_or(spec.mode);
  Checks checks;
  checks.failure_policy = rule.failure_policy.value_or(spec.failure_policy);

  // A reference with a digest is pulled by digest: its tag is informational and cannot move, so only
  // tag-only references (and bare names, which pull `latest`) are checked against deniedTags.
  if (!ref.has_digest()) {
    const std::string tag = ref.effective_tag();
    if (std::find(rule.denied_tags.begin(), rule.denied_tags.end(), tag) != rule.denied_tags.end()) {
      // A bare name pulls `latest` without saying so: the message says the tag was left out.
      checks.failures.push_back((ref.has_tag() ? std::string() : std::string("no tag (means latest); ")) + "tag " +
                                quoted(tag) + " is denied by rule " + quoted(rule.name));
    }
  }
  if (rule.require_digest && !ref.has_digest()) {
    checks.failures.push_back("rule " + quoted(rule.name) + " requires a digest (name@sha256:...)");
  }
  if (p.needs.resolve_digest) checks.check("digest", evidence.digest_resolution);
  if (rule.signatures) check_signatures(*rule.signatures, evidence, checks);
  check_attestations(rule, evidence, checks);
  if (p.needs.verdict) check_verdict(*rule.vulnerabilities, evidence, now, checks);

  if (!checks.failures.empty()) {
    d.outcome = Outcome::failed;
    d.action = apply_mode(Action::deny, d.mode);
    d.reasons = std::move(checks.failures);
    d.reasons.insert(d.reasons.end(), checks.settled_open.begin(), checks.settled_open.end());
    d.reasons.insert(d.reasons.end(), checks.warnings.begin(), checks.warnings.end());
  } else {
    d.outcome = Outcome::passed;
    d.reasons = std::move(checks.settled_open);
    d.reasons.insert(d.reasons.end(), checks.warnings.begin(), checks.warnings.end());
    d.action = d.reasons.empty() ? Action::allow : apply_mode(Action::warn, d.mode);
  }
  return d;
}

namespace {

std::string container_label(const ContainerDecision& c) {
  const std::string& image = c.decision.normalized.empty() ? c.container.image : c.decision.normalized;
  return owner_label(c.container, "container") + " (" + image + ")";
}

}  // namespace

std::string WorkloadDecision::denial_message() const {
  std::vector<const ContainerDecision*> denied;
  for (const ContainerDecision& c : containers) {
    if (c.decision.action == Action::deny) denied.push_back(&c);
  }
  if (denied.empty()) return "";
  // "containers" unless image volumes are among them: then they are "images" (a volume is no container).
  const bool volumes = std::any_of(containers.begin(), containers.end(),
                                   [](const ContainerDecision& c) { return c.container.is_volume(); });
  std::string out = "imagegate denied " + std::to_string(denied.size()) + " of " + std::to_string(containers.size()) +
                    (volumes ? " image" : " container") + (containers.size() == 1 ? ": " : "s: ");
  for (std::size_t i = 0; i < denied.size(); ++i) {
    std::string part = truncate(container_label(*denied[i]) + ": " + join(denied[i]->decision.reasons, ", "),
                                kMaxContainerPart);
    const std::string more = "; and " + std::to_string(denied.size() - i) + " more";
    if (out.size() + part.size() + 2 + more.size() > kMaxDenialMessage) {
      out += i == 0 ? part.substr(0, 0) + more.substr(2) : more;
      break;
    }
    out += (i == 0 ? "" : "; ") + part;
  }
  return out;
}

std::vector<std::string> WorkloadDecision::warnings() const {
  std::vector<std::string> out;
  for (const ContainerDecision& c : containers) {
    if (c.decision.action != Action::warn) continue;
    out.push_back(truncate(container_label(c) + ": " + join(c.decision.reasons, ", "), kMaxWarning));
  }
  return out;
}

WorkloadDecision decide_workload(std::vector<ContainerDecision> containers) {
  WorkloadDecision w;
  w.containers = std::move(containers);
  w.action = Action::allow;
  for (const ContainerDecision& c : w.containers) {
    if (c.decision.action == Action::deny) {
      w.action = Action::deny;
    } else if (c.decision.action == Action::warn && w.action == Action::allow) {
      w.action = Action::warn;
    }
  }
  return w;
}

std::string_view to_string(Outcome o) noexcept {
  switch (o) {
    case Outcome::passed: return "passed";
    case Outcome::failed: return "failed";
    case Outcome::exempt: return "exempt";
    case Outcome::no_match: return "no_match";
    case Outcome::invalid: return "invalid";
  }
  return "failed";
}

std::string_view to_string(EvidenceStatus s) noexcept {
  switch (s) {
    case EvidenceStatus::not_evaluated: return "not_evaluated";
    case EvidenceStatus::verified: return "verified";
    case EvidenceStatus::failed: return "failed";
    case EvidenceStatus::unavailable: return "unavailable";
  }
  return "not_evaluated";
}

}  // namespace imagegate::policy
