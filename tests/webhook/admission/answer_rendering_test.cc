// The answer (admission_answer.cc) and the decision-log line (decision_rendering.cc) are written by
// common/json_writer.h. Before, nlohmann built a DOM and dumped it; that code is kept here, only as the
// oracle: for a wide set of decisions (allowed, warned, denied, audit failures, errors, warnings,
// annotations, patches, signatures, diagnostics, unicode, control characters, invalid UTF-8, truncated
// text, both API versions) the new writer must produce the same bytes. The log line's `time` is the clock's,
// so it is compared apart (same shape) and then blanked in both. The log line's keys are no longer sorted
// (time, level, msg first): its oracle is an ordered_json built in that order.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "policy/evaluate.h"
#include "webhook/admission/admission_review.h"
#include "webhook/admission/decision_rendering.h"

namespace imagegate::webhook {
namespace {

// ---- The oracle: the nlohmann encoders as they were (admission_review.cc, decision_rendering.cc). ----

std::string old_encode_admission_review(ReviewVersion version, const AdmissionResponse& response) {
  nlohmann::json out_response = {{"uid", response.uid}, {"allowed", response.allowed}};
  if (!response.allowed) {
    out_response["status"] = {{"code", response.code}, {"message", response.message}};
  }
  if (!response.warnings.empty()) out_response["warnings"] = response.warnings;
  if (!response.audit_annotations.empty()) out_response["auditAnnotations"] = response.audit_annotations;
  if (response.json_patch) {
    out_response["patchType"] = "JSONPatch";
    out_response["patch"] = base64_encode(*response.json_patch);
  }
  const nlohmann::json review = {
      {"apiVersion", version == ReviewVersion::v1 ? "admission.k8s.io/v1" : "admission.k8s.io/v1beta1"},
      {"kind", "AdmissionReview"},
      {"response", std::move(out_response)},
  };
  return review.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json old_decision_log_images(const policy::WorkloadDecision& decided) {
  nlohmann::json images = nlohmann::json::array();
  for (const auto& c : decided.containers) {
    const auto& d = c.decision;
    nlohmann::json signatures = nlohmann::json::array();
    for (const auto& a : d.evidence.signatures) {
      signatures.push_back({{"anchor", a.anchor}, {"status", policy::to_string(a.check.status)}, {"detail", a.check.detail}});
    }
    images.push_back({{"container", c.container.name},
                      {"containerKind", c.container.kind},
                      {"image", c.container.image},
                      {"normalized", d.normalized},
                      {"digest", d.evidence.digest},
                      {"decision", decision_name(d.action)},
                      {"outcome", policy::to_string(d.outcome)},
                      {"mode", policy::to_string(d.mode)},
                      {"rule", d.rule},
                      {"reasons", d.reasons},
                      {"signatures", std::move(signatures)}});
    if (auto diagnostics = policy::diagnostics(d.evidence); !diagnostics.empty()) {
      images.back()["diagnostics"] = std::move(diagnostics);
    }
  }
  return images;
}

std::string old_decision_log_line(const AdmissionRequest& request, const std::string& decision,
                                  const std::string& message, const std::string& policy_version, nlohmann::json images,
                                  double seconds) {
  // Keys in the order written (issue 19: time, level, msg first, then docs/api.md's order); the images'
  // members sorted, as before.
  nlohmann::ordered_json line = {
      {"time", "TIME"},
      {"level", decision == "error" ? "error" : "info"},
      {"msg", "admission review"},
      {"uid", request.uid},
      {"apiVersion", request.version == ReviewVersion::v1 ? "admission.k8s.io/v1" : "admission.k8s.io/v1beta1"},
      {"operation", request.operation},
      {"kind", request.kind},
      {"resource", request.resource},
      {"subResource", request.sub_resource},
      {"namespace", request.namespace_name},
      {"name", request.name},
      {"user", request.user},
      {"dryRun", request.dry_run},
      {"policyVersion", policy_version},
      {"decision", decision},
      {"durationMs", std::round(seconds * 1e6) / 1e3},
  };
  if (!message.empty()) line["message"] = message;
  line["images"] = nlohmann::ordered_json(std::move(images));
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// ---- Generated cases. ----

// Text a review or a registry may put into a decision: plain, empty, unicode, escapes, a forged line,
// broken UTF-8, long text cut by truncate_utf8 in the middle of a multi-byte character.
class Texts {
 public:
  explicit Texts(unsigned seed) : random_(seed) {}
  std::string pick() {
    static const std::vector<std::string> pool = {
        "",
        "app",
        "registry.example.com/team/app:1.0",
        "ghcr.io/org/app@sha256:0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c",
        "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x94\x92",
        "quote \" backslash \\ slash / tab \t newline \n cr \r bell \x07 del \x7F",
        "x\n{\"uid\":\"forged\",\"decision\":\"allowed\"}",
        "bad \xFF\xFE utf8 \xC3 cut \xE0\x80\x80 overlong \xED\xA0\x80 surrogate",
        "end cut \xF0\x9F\x94",
        std::string("nul \0 inside", 12),
        truncate_utf8(std::string(50, 'a') + "\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5", 55),
        truncate_utf8(std::string(5000, '\xC3'), kMaxMessageBytes),
        std::string(300, 'w'),
    };
    return pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(random_)];
  }
  std::size_t count(std::size_t max) { return std::uniform_int_distribution<std::size_t>(0, max)(random_); }
  bool coin() { return count(1) == 1; }
  template <typename E>
  E one_of(std::initializer_list<E> values) {
    return *(values.begin() + count(values.size() - 1));
  }

 private:
  std::mt19937 random_;
};

policy::CheckEvidence check(Texts& t) {
  return {t.one_of({policy::EvidenceStatus::not_evaluated, policy::EvidenceStatus::verified,
                    policy::EvidenceStatus::failed, policy::EvidenceStatus::unavailable}),
          t.pick(), t.coin() ? t.pick() : std::string()};
}

policy::WorkloadDecision decision(Texts& t) {
  policy::WorkloadDecision decided;
  decided.action = t.one_of({policy::Action::allow, policy::Action::warn, policy::Action::deny});
  for (std::size_t i = t.count(4); i > 0; --i) {
    policy::ContainerDecision c;
    c.container = {t.pick(), t.one_of({"containers", "initContainers", "ephemeralContainers", "volumes"}), "",
                   t.pick()};
    policy::Decision& d = c.decision;
    d.action = t.one_of({policy::Action::allow, policy::Action::warn, policy::Action::deny});
    d.outcome = t.one_of({policy::Outcome::passed, policy::Outcome::failed, policy::Outcome::exempt,
                          policy::Outcome::no_match, policy::Outcome::invalid});
    d.mode = t.one_of({policy::Mode::enforce, policy::Mode::warn, policy::Mode::audit});
    d.rule = t.pick();
    d.image = c.container.image;
    d.normalized = t.pick();
    for (std::size_t r = t.count(3); r > 0; --r) d.reasons.push_back(t.pick());
    d.evidence.digest = t.pick();
    d.evidence.digest_resolution = check(t);
    for (std::size_t s = t.count(3); s > 0; --s) d.evidence.signatures.push_back({t.pick(), check(t)});
    d.evidence.verdict = check(t);
    decided.containers.push_back(std::move(c));
  }
  return decided;
}

AdmissionRequest request(Texts& t) {
  AdmissionRequest r;
  r.version = t.coin() ? ReviewVersion::v1 : ReviewVersion::v1beta1;
  r.uid = t.pick();
  r.kind = t.pick();
  r.group = t.pick();
  r.resource = t.pick();
  r.sub_resource = t.pick();
  r.name = t.pick();
  r.namespace_name = t.pick();
  r.operation = t.one_of({"CREATE", "UPDATE", "DELETE", "CONNECT"});
  r.user = t.pick();
  r.dry_run = t.coin();
  return r;
}

AdmissionResponse response(Texts& t) {
  AdmissionResponse r;
  r.uid = t.pick();
  r.allowed = t.coin();
  r.code = r.allowed ? 200 : 403;
  r.message = t.pick();
  for (std::size_t i = t.count(3); i > 0; --i) r.warnings.push_back(t.pick());
  for (std::size_t i = t.count(4); i > 0; --i) r.audit_annotations[t.pick()] = t.pick();
  if (t.coin()) r.json_patch = t.pick();
  return r;
}

TEST(AnswerRendering, AnswersAreByteIdenticalToNlohmanns) {
  Texts t(15);
  for (int round = 0; round < 5000; ++round) {
    const AdmissionResponse r = response(t);
    for (const ReviewVersion v : {ReviewVersion::v1, ReviewVersion::v1beta1}) {
      ASSERT_EQ(encode_admission_review(v, r), old_encode_admission_review(v, r)) << "round " << round;
    }
  }
  // The fixed shapes the flow answers with.
  AdmissionResponse allowed;
  allowed.uid = "u";
  allowed.allowed = true;
  EXPECT_EQ(encode_admission_review(ReviewVersion::v1, allowed),
            R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"allowed":true,"uid":"u"}})");
  AdmissionResponse denied = allowed;
  denied.allowed = false;
  denied.code = 403;
  denied.message = "imagegate: internal error; denied (fail closed)";
  EXPECT_EQ(encode_admission_review(ReviewVersion::v1beta1, denied), old_encode_admission_review(ReviewVersion::v1beta1, denied));
}

// The line's time (RFC 3339 UTC with milliseconds) replaced by TIME: the oracle has none. A scan, not a
// std::regex: the regex took minutes over 5,000 lines in the unoptimised sanitizer build.
std::string blank_time(std::string line) {
  static constexpr std::string_view kKey = "\"time\":\"";
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ\"";
  const std::size_t at = line.find(kKey);
  const std::size_t start = at == std::string::npos ? line.size() : at + kKey.size();
  bool shaped = line.size() >= start + kShape.size();
  for (std::size_t i = 0; shaped && i < kShape.size(); ++i) {
    const char c = line[start + i];
    shaped = kShape[i] == 'd' ? (c >= '0' && c <= '9') : c == kShape[i];
  }
  EXPECT_TRUE(shaped) << "no RFC 3339 time with milliseconds in " << line;
  if (shaped) line.replace(start, kShape.size() - 1, "TIME");
  return line;
}

TEST(AnswerRendering, DecisionLogLinesAreByteIdenticalToNlohmanns) {
  Texts t(16);
  for (int round = 0; round < 5000; ++round) {
    const AdmissionRequest r = request(t);
    const policy::WorkloadDecision decided = decision(t);
    const bool has_images = t.coin();
    const std::string decision_text = t.one_of({"allowed", "warned", "denied", "error"});
    const std::string message = t.coin() ? std::string() : t.pick();
    const std::string policy_version = t.pick();
    const double seconds = static_cast<double>(t.count(30'000'000)) / 1e6 + (t.coin() ? 4e-7 : 0);
    std::string line;
    append_decision_log_line(line, r, decision_text, message, policy_version, has_images ? &decided : nullptr,
                             seconds);
    const std::string expected =
        old_decision_log_line(r, decision_text, message, policy_version,
                              has_images ? old_decision_log_images(decided) : nlohmann::json::array(), seconds);
    ASSERT_EQ(blank_time(line), expected) << "round " << round;
  }
}

TEST(AnswerRendering, LinesAppendToTheBufferGiven) {
  Texts t(17);
  const AdmissionRequest r = request(t);
  std::string buffer = "kept";
  append_decision_log_line(buffer, r, "allowed", "", "v1", nullptr, 0.5);
  EXPECT_EQ(buffer.rfind("kept{\"time\":", 0), 0U) << buffer;
  EXPECT_NE(buffer.find(R"("durationMs":500.0,"images":[]})"), std::string::npos) << buffer;
}

}  // namespace
}  // namespace imagegate::webhook
