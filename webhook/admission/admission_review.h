// The AdmissionReview codec (admission.k8s.io/v1 and v1beta1; the request schema is identical):
// decoding a review body into an AdmissionRequest, and encoding the answer in the version it came in.
// https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
//
// Decoding validates what imagegate relies on (apiVersion, kind, request.uid, operation) and bounds the
// input (kReviewJsonLimits: bytes, JSON depth, JSON values): a body over a bound is a resource_exhausted
// Error (HTTP 413), one that is not an AdmissionReview an invalid_argument Error (HTTP 400). It is the one
// decoder of the typed review model: JSON bytes in, an AdmissionRequest with request.object's Workload
// (workload_decoder.h) out, read in one pass with no JSON DOM (json_stream.h); nothing after the decoder
// holds JSON.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "common/result.h"
#include "policy/workload.h"

namespace imagegate::webhook {

inline constexpr std::size_t kMaxReviewBytes = 8 * 1024 * 1024;  // UPDATE carries two 3 MiB objects
inline constexpr int kMaxJsonDepth = 128;
// JSON values in one review (every array element and object member counts; see common/json_bounded.h).
// A large Pod with managedFields is a few thousand; 1 MiB of dense compact Deployment JSON (~9 bytes a
// value) ~110,000, so a busy workload's UPDATE (object and oldObject) fits well below. A review over it is
// refused with 413, like a body over kMaxReviewBytes (issue 13: 8 MiB of `[],` is ~2.8M values, and took
// the server from 13 MB to 357 MB).
inline constexpr std::size_t kMaxReviewJsonValues = 100'000;
// The memory of one review (json_stream.h, simdjson On-Demand): the parser reserves ~4 B of structural
// index and ~1.7 B of string buffer per body byte (for an 8 MiB body, 46 MiB of address space, freed on
// return for bodies over json_stream::kReusedParserBytes), but touches only 4 B per token (bounded by
// kMaxReviewJsonValues: a few MiB) and the strings it unescapes (at most the body's bytes), plus one
// padded copy of the body when the caller's buffer has no room after it: at most ~2 x 8 MiB + a few MiB
// next to the 8 MiB body, inside the 64 MiB over idle docs/install.md promises for one review. tests/e2e/
// memory_bounds_test.sh measures it (VmHWM) with the worst shapes at and over the limit. (The nlohmann DOM
// it replaced was bounded by kReviewJsonLimits.memory_bound(): 36 MiB.)
inline constexpr JsonLimits kReviewJsonLimits{kMaxReviewBytes, kMaxJsonDepth, kMaxReviewJsonValues};

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
  // request.object: whether the review carries one (a JSON object; CREATE and UPDATE always do, DELETE
  // none), and the Workload decoded from it, or why its images cannot be read (the flow denies such a
  // CREATE/UPDATE, fail closed). Without an object: an empty Workload. oldObject is never read.
  bool has_object = false;
  Result<policy::Workload> workload = policy::Workload{};
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

// Decodes a review body: a JSON AdmissionReview object with a request, and request.object's Workload, in
// one pass over the text (json_stream.h: no DOM; what it accepts and refuses, and its error messages, are
// those of a bounded nlohmann DOM parse, tests/webhook/admission/review_dom_oracle.h). Bare
// AdmissionRequest objects (no apiVersion/kind wrapper) are rejected here; the CLI wraps them before
// calling. `readable_after`: how many bytes of the caller's buffer follow `body` (std::string:
// capacity() - size()); SIMDJSON_PADDING (64) or more and the body is read in place, else it is copied
// once into a padded buffer. Never read beyond body.size() + readable_after.
Result<AdmissionRequest> decode_admission_review(std::string_view body, std::size_t readable_after = 0);

// The AdmissionReview answer, in `version`, as compact JSON (admission_answer.cc: common/json_writer.h).
std::string encode_admission_review(ReviewVersion version, const AdmissionResponse& response);

}  // namespace imagegate::webhook
