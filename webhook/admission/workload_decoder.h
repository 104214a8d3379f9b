// The one decoder of a Kubernetes object into the typed review model (policy/workload.h): every image of a
// workload that carries a pod spec, with its JSON path. The AdmissionReview codec (admission_review.h)
// reads request.object with it in place, in the review's one pass (json_stream.h, workload_reader.h); the
// CLI's manifest reader hands it each object it reads as JSON text, so the server and the CLI decide byte
// for byte the same. No JSON type leaves this floor: policy/ sees only Workload.
//
// Bounds: the caller bounds the object (size, depth, values; common/json_bounded.h: the review's limits, or
// the manifest reader's); this decoder bounds the images (policy::kMaxContainersPerObject). Duplicate keys:
// the last wins. Plain functions, no state shared between threads: safe from any thread.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "policy/workload.h"

namespace imagegate::webhook {

// Errors: invalid_argument for a known workload kind whose pod spec is malformed (a container without a
// string `image`, containers not a list, an image volume without a string `reference`);
// resource_exhausted beyond policy::kMaxContainersPerObject images.
//
// Kinds are recognised by the object's `kind`, and only in their Kubernetes API groups (Pod in "v1",
// Deployment in apps/v1, extensions/v1beta1, ...): a custom resource that happens to be called `Job` in
// another group is not a pod-spec kind. An object without `apiVersion` is taken by kind alone.
//
// `request_kind` (request.kind.kind of an AdmissionRequest whose `object` may lack `kind`/`apiVersion`, as
// kwctl feeds them; the item kind of a typed List) is used when the object has no `kind`; when both are
// present and differ, that is an invalid_argument error. A known kind with no pod spec at all (e.g. a Pod
// object without `spec`) is an invalid_argument error, never an empty allow.
//
// `object_text` is the object as JSON text; text that is not a JSON object is an invalid_argument error
// ("object: must be a JSON object", or "invalid JSON at byte N: ..."). `readable_after`: bytes readable
// after the text in the caller's buffer (json_stream.h: SIMDJSON_PADDING or more saves a copy).
Result<policy::Workload> decode_workload_json(std::string_view object_text, std::string_view request_kind = {},
                                              std::size_t readable_after = 0);

// The same, from a parsed value (the CLI's YAML and JSON documents): serialised, then decoded as above.
Result<policy::Workload> decode_workload(const nlohmann::json& object, std::string_view request_kind = {});

}  // namespace imagegate::webhook
