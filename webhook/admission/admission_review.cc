#include "webhook/admission/admission_review.h"

#include <array>
#include <cstdint>
#include <string>

#include "common/json_bounded.h"
#include "common/text.h"
#include "webhook/admission/workload_decoder.h"

namespace imagegate::webhook {
namespace {

constexpr std::string_view kApiVersionV1 = "admission.k8s.io/v1";
constexpr std::string_view kApiVersionV1beta1 = "admission.k8s.io/v1beta1";
// Kubernetes uids are UUIDs (36 bytes); the bound only keeps what we echo and log small.
constexpr std::size_t kMaxUidBytes = 256;

// A member that must be a string when present. Missing -> "" (callers decide whether that is allowed).
Result<std::string> optional_string(const nlohmann::json& object, std::string_view key, std::string_view where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return invalid_argument(std::string(where) + "." + std::string(key) + " must be a string");
  return it->get<std::string>();
}

// A member that must be an object when present. Missing or null -> nullptr.
Result<const nlohmann::json*> optional_object(const nlohmann::json& object, std::string_view key,
                                              std::string_view where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return static_cast<const nlohmann::json*>(nullptr);
  if (!it->is_object()) return invalid_argument(std::string(where) + "." + std::string(key) + " must be an object");
  return &*it;
}

}  // namespace

// The fields follow admission.k8s.io/v1 AdmissionReview
// (https://github.com/kubernetes/api/blob/master/admission/v1/types.go); v1beta1 has the same schema.
Result<ParsedReview> parse_admission_review(std::string_view body) {
  if (body.size() > kMaxReviewBytes) {
    return resource_exhausted("AdmissionReview body of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                              std::to_string(kMaxReviewBytes));
  }
  auto parsed = parse_json_bounded(body, kReviewJsonLimits);
  if (!parsed) {
    // Too many values -> resource_exhausted (413, as a body over kMaxReviewBytes); not JSON, or nested too
    // deep -> invalid_argument (400, as docs/api.md has always said of depth). Scanned again only to tell.
    const auto violation = json_limit_violation(body, kReviewJsonLimits);
    const ErrorCode code = violation && violation->limit == JsonLimit::depth ? ErrorCode::invalid_argument
                                                                              : parsed.error().code;
    return Error{code, "AdmissionReview: " + parsed.error().message};
  }
  nlohmann::json& review = *parsed;
  if (!review.is_object()) {
    return invalid_argument(std::string("AdmissionReview must be a JSON object, not ") + review.type_name());
  }

  ParsedReview parsed_review;
  AdmissionRequest& request = parsed_review.request;
  const auto api_version = review.find("apiVersion");
  if (api_version == review.end() || !api_version->is_string()) {
    return invalid_argument("AdmissionReview: apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1");
  }
  const auto& api_version_text = api_version->get_ref<const std::string&>();
  if (api_version_text == kApiVersionV1) {
    request.version = ReviewVersion::v1;
  } else if (api_version_text == kApiVersionV1beta1) {
    request.version = ReviewVersion::v1beta1;
  } else {
    return invalid_argument("AdmissionReview: unsupported apiVersion " + api_version->dump(-1, ' ', false,
                            nlohmann::json::error_handler_t::replace) +
                            " (expected admission.k8s.io/v1 or admission.k8s.io/v1beta1)");
  }
  const auto kind = review.find("kind");
  if (kind == review.end() || !kind->is_string() || kind->get_ref<const std::string&>() != "AdmissionReview") {
    return invalid_argument("AdmissionReview: kind must be AdmissionReview");
  }
  const auto req_it = review.find("request");
  if (req_it == review.end() || !req_it->is_object()) {
    return invalid_argument("AdmissionReview: request must be an object");
  }
  nlohmann::json& req = *req_it;

  const auto uid = req.find("uid");
  if (uid == req.end() || !uid->is_string() || uid->get_ref<const std::string&>().empty()) {
    return invalid_argument("AdmissionReview: request.uid must be a non-empty string");
  }
  request.uid = uid->get<std::string>();
  if (request.uid.size() > kMaxUidBytes) {
    return invalid_argument("AdmissionReview: request.uid longer than " + std::to_string(kMaxUidBytes) + " bytes");
  }

  auto operation = optional_string(req, "operation", "request");
  if (!operation) return operation.error();
  request.operation = std::move(*operation);
  if (request.operation != "CREATE" && request.operation != "UPDATE" && request.operation != "DELETE" &&
      request.operation != "CONNECT") {
    return invalid_argument("AdmissionReview: request.operation must be CREATE, UPDATE, DELETE or CONNECT");
  }

  auto kind_object = optional_object(req, "kind", "request");
  if (!kind_object) return kind_object.error();
  if (*kind_object != nullptr) {
    auto k = optional_string(**kind_object, "kind", "request.kind");
    if (!k) return k.error();
    request.kind = std::move(*k);
    auto g = optional_string(**kind_object, "group", "request.kind");
    if (!g) return g.error();
    request.group = std::move(*g);
  }
  auto resource_object = optional_object(req, "resource", "request");
  if (!resource_object) return resource_object.error();
  if (*resource_object != nullptr) {
    auto r = optional_string(**resource_object, "resource", "request.resource");
    if (!r) return r.error();
    request.resource = std::move(*r);
  }
  for (auto [key, field] : {std::pair<std::string_view, std::string*>{"subResource", &request.sub_resource},
                            {"name", &request.name},
                            {"namespace", &request.namespace_name}}) {
    auto value = optional_string(req, key, "request");
    if (!value) return value.error();
    *field = std::move(*value);
  }
  auto user_info = optional_object(req, "userInfo", "request");
  if (!user_info) return user_info.error();
  if (*user_info != nullptr) {
    auto user = optional_string(**user_info, "username", "request.userInfo");
    if (!user) return user.error();
    request.user = std::move(*user);
  }
  if (const auto dry_run = req.find("dryRun"); dry_run != req.end() && !dry_run->is_null()) {
    if (!dry_run->is_boolean()) return invalid_argument("AdmissionReview: request.dryRun must be a boolean");
    request.dry_run = dry_run->get<bool>();
  }

  // Moved, not copied: the review's DOM is at most kReviewJsonLimits.memory_bound(), and a copy would double it.
  nlohmann::json& object = parsed_review.object;
  if (const auto found = req.find("object"); found != req.end()) object = std::move(*found);
  request.has_object = object.is_object();
  // CREATE and UPDATE always carry the object being admitted; without it the review is malformed (there is
  // nothing to check, and answering "allowed" would let a broken client through).
  if ((request.operation == "CREATE" || request.operation == "UPDATE") && !request.has_object) {
    return invalid_argument("AdmissionReview: request.object must be an object for " + request.operation);
  }
  return parsed_review;
}

Result<AdmissionRequest> decode_admission_review(std::string_view body) {
  auto parsed = parse_admission_review(body);
  if (!parsed) return parsed.error();
  AdmissionRequest& request = parsed->request;
  // The workload is read here, once, for every listener and the CLI; its DOM is freed on return. A
  // malformed pod spec is not a malformed review: the flow denies it (fail closed) with this error.
  if (request.has_object) request.workload = decode_workload(parsed->object, request.kind);
  return std::move(request);
}

}  // namespace imagegate::webhook
