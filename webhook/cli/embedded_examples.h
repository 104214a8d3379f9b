// The examples compiled into the binary for the embedded demo (`imagegate serve` with no policy):
// manifests/examples/policy.yaml and manifests/examples/admission-review.json, as they were at build time.
// The root CMakeLists.txt generates the definitions (embedded_examples.cc in the build tree).
// Immutable; safe from any thread.
#pragma once

#include <string_view>

namespace imagegate::webhook {

std::string_view example_policy_yaml();
std::string_view example_admission_review_json();

}  // namespace imagegate::webhook
