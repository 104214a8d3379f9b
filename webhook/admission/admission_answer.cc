// encode_admission_review (declared in admission_review.h): the answer, written by common/json_writer.h
// straight into one string. Members come in nlohmann's order (sorted keys), so the bytes are those the
// nlohmann encoder wrote before (tests/webhook/admission/answer_rendering_test.cc compares them).
#include <string>
#include <string_view>

#include "common/json_writer.h"
#include "common/text.h"
#include "webhook/admission/admission_review.h"

namespace imagegate::webhook {

std::string encode_admission_review(ReviewVersion version, const AdmissionResponse& response) {
  std::size_t estimate = 160 + response.uid.size() + response.message.size();
  for (const auto& warning : response.warnings) estimate += warning.size() + 4;
  for (const auto& [key, value] : response.audit_annotations) estimate += key.size() + value.size() + 6;
  if (response.json_patch) estimate += response.json_patch->size() * 4 / 3 + 40;
  std::string out;
  out.reserve(estimate);
  JsonWriter w(out);
  w.begin_object();
  w.member("apiVersion", version == ReviewVersion::v1 ? "admission.k8s.io/v1" : "admission.k8s.io/v1beta1");
  w.member("kind", "AdmissionReview");
  w.key("response");
  w.begin_object();
  w.member("allowed", response.allowed);
  if (!response.audit_annotations.empty()) {
    w.key("auditAnnotations");
    w.begin_object();
    for (const auto& [key, value] : response.audit_annotations) w.member(key, value);  // a std::map: sorted
    w.end_object();
  }
  if (response.json_patch) {
    w.member("patch", base64_encode(*response.json_patch));
    w.member("patchType", "JSONPatch");
  }
  if (!response.allowed) {
    w.key("status");
    w.begin_object();
    w.member("code", response.code);
    // Messages and warnings may carry truncated user input: invalid UTF-8 becomes U+FFFD.
    w.member("message", response.message);
    w.end_object();
  }
  w.member("uid", response.uid);
  if (!response.warnings.empty()) {
    w.key("warnings");
    w.string_array(response.warnings);
  }
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace imagegate::webhook
