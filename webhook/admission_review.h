// The AdmissionReview codec (admission.k8s.io/v1 and v1beta1; the request schema is identical):
// decoding a review body into an AdmissionRequest, and encoding the answer in the version it came in.
// https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
//
// Decoding validates what imagegate relies on (apiVersion, kind, request.uid, operation) and bounds the
// input (size, JSON depth); a body that fails is an invalid_argument Error, answered with HTTP 400.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace imagegate::webhook {

inline constexpr std::size_t kMaxReviewBytes = 8 * 1024 * 1024;  // UPDATE carries two 3 MiB objects
inline constexpr int kMaxJsonDepth = 128;

enum class ReviewVersion { v1, v1beta1 };

struct AdmissionRequest {
  ReviewVersion version = ReviewVersion::v1;
  std::string uid;
  std::string kind;          // request.kind.kind (Pod, Deployment, ...)
  std::string group;         // request.kind.group
  std::string resource;      // request.resource.resource (pods, deployments)
  std::string sub_resource;  // request.subResource (ephemeralcontainers)
  std::string name;
  std::string namespace_name;
  std::string operation;     // CREATE, UPDATE, DELETE, CONNECT
  std::string user;          // request.userInfo.username
  bool dry_run = false;
  nlohmann::json object;     // request.object; null for DELETE
};

struct AdmissionResponse {
  std::string uid;
  bool allowed = false;
  int code = 200;            // status.code: 403 on deny
  std::string message;       // status.message on deny
  std::vector<std::string> warnings;
  std::map<std::string, std::string> audit_annotations;
  std::optional<std::string> json_patch;  // JSONPatch (RFC 6902) for /mutate, base64-encoded on the wire
};

// Parses a review body: a JSON AdmissionReview object with a request. Bare AdmissionRequest objects
// (no apiVersion/kind wrapper) are rejected here; the CLI wraps them before calling.
Result<AdmissionRequest> decode_admission_review(std::string_view body);

// The AdmissionReview answer, in `version`, as compact JSON.
std::string encode_admission_review(ReviewVersion version, const AdmissionResponse& response);

// Parses JSON with the depth bound above; errors name the byte offset. Used for every JSON body we read.
Result<nlohmann::json> parse_bounded_json(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace imagegate::webhook
