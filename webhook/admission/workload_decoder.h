// The one decoder of a Kubernetes object into the typed review model (policy/workload.h): every image of a
// workload that carries a pod spec, with its JSON path. The AdmissionReview codec (admission_review.h)
// calls it on request.object, the CLI's manifest reader on each object it reads, so the server and the CLI
// decide byte for byte the same. The JSON DOM it reads stays on this floor: policy/ sees only Workload.
//
// Bounds: the caller's parse bounds the object (size, depth, values; common/json_bounded.h); this decoder
// bounds the images (policy::kMaxContainersPerObject). Plain function, no state: safe from any thread.
#pragma once

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
Result<policy::Workload> decode_workload(const nlohmann::json& object, std::string_view request_kind = {});

}  // namespace imagegate::webhook
