// Fuzzes the AdmissionReview codec: arbitrary bytes through decode_admission_review (its bounded parse,
// common/json_bounded.h, has its own target, json_bounded_fuzz; the workload decoder, workload_fuzz). A
// decoded review must satisfy what the admission flow relies on (a uid, a known operation, an object for
// CREATE/UPDATE, a Workload within policy::kMaxContainersPerObject), and its answer must encode to JSON
// that parses back with the same uid and version.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "webhook/admission/admission_review.h"

using imagegate::webhook::AdmissionResponse;
using imagegate::webhook::ReviewVersion;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = imagegate::webhook::decode_admission_review(text);
  if (!decoded.ok()) {
    if (decoded.error().message.empty()) std::abort();
    return 0;
  }
  const auto& request = *decoded;
  if (request.uid.empty()) std::abort();
  const std::string_view op = request.operation;
  if (op != "CREATE" && op != "UPDATE" && op != "DELETE" && op != "CONNECT") std::abort();
  if ((op == "CREATE" || op == "UPDATE") && !request.has_object) std::abort();
  if (request.workload.ok() && request.workload->images.size() > imagegate::policy::kMaxContainersPerObject) {
    std::abort();
  }
  if (!request.has_object && (!request.workload.ok() || request.workload->has_pod_spec)) std::abort();

  AdmissionResponse response;
  response.uid = request.uid;
  response.allowed = false;
  response.code = 403;
  response.message = request.name + request.namespace_name;  // user input, possibly cut mid UTF-8 below
  response.warnings = {request.kind.substr(0, 3)};
  response.audit_annotations = {{"decision", "denied"}};
  response.json_patch = request.user;
  const std::string encoded = imagegate::webhook::encode_admission_review(request.version, response);
  const nlohmann::json answer = nlohmann::json::parse(encoded, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) std::abort();
  if (answer["response"]["uid"] != request.uid) std::abort();
  const char* version = request.version == ReviewVersion::v1 ? "admission.k8s.io/v1" : "admission.k8s.io/v1beta1";
  if (answer["apiVersion"] != version) std::abort();
  return 0;
}
