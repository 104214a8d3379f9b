// The test oracle of the AdmissionReview decoder: the nlohmann DOM decoder imagegate used before the
// one-pass reader (webhook/admission/json_stream.h): parse_json_bounded builds the whole review, then the
// checks walk it. Not linked into imagegate: the unit tests, the differential test
// (review_differential_test.cc) and the differential fuzz target (tests/fuzz/review_differential_fuzz.cc)
// hold the production decoder to it: the same AdmissionRequest and Workload, or the same Error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "policy/workload.h"
#include "webhook/admission/admission_review.h"

namespace imagegate::webhook {

// The review as the DOM decoder parsed it: the request, with request.object as parsed (null when absent)
// and `workload` not yet decoded. Tests read the object through it.
struct ParsedReview {
  AdmissionRequest request;
  nlohmann::json object;
};
Result<ParsedReview> parse_admission_review(std::string_view body);

// The DOM decoders, as decode_admission_review and decode_workload were.
Result<AdmissionRequest> decode_admission_review_dom(std::string_view body);
Result<policy::Workload> decode_workload_dom(const nlohmann::json& object, std::string_view request_kind = {});

// What differs between two decodes (nullopt: nothing): every field, the Workload, and an Error's code and
// message.
std::optional<std::string> review_difference(const Result<AdmissionRequest>& got, const Result<AdmissionRequest>& want);
std::optional<std::string> workload_difference(const Result<policy::Workload>& got,
                                               const Result<policy::Workload>& want);

// decode_admission_review(body) against decode_admission_review_dom(body).
std::optional<std::string> differential(std::string_view body);

}  // namespace imagegate::webhook
