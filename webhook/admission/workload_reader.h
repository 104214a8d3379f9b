// Internal to webhook/admission/: the workload decoder's entry on the one-pass reader (json_stream.h), for
// the AdmissionReview decoder, which reads request.object in place inside the review's document.
#pragma once

#include <string_view>

#include "common/result.h"
#include "policy/workload.h"
#include "webhook/admission/json_stream.h"

namespace imagegate::webhook {

// Reads the Kubernetes object `object` (consumed, every value of it checked: json_stream.h) into `out`:
// the Workload, or the Error decode_workload documents. The returned code is simdjson's: not JSON.
json_stream::error_code read_workload(json_stream::od::object& object, std::string_view request_kind,
                                      Result<policy::Workload>& out);

}  // namespace imagegate::webhook
