// libFuzzer target: load_policy on arbitrary bytes. Loading must never crash, hang or throw, whatever
// the input (invalid UTF-8, YAML syntax errors, alias bombs, deep nesting); when it succeeds, evaluating
// a few images against the policy must not crash either.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/evaluate.h"
#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::policy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const PolicyResult result = load_policy(text, "fuzz.yaml");
  if (const auto* policy = std::get_if<std::shared_ptr<const CompiledPolicy>>(&result)) {
    for (const char* image : {"nginx", "registry.example.com/prod/app:1.0", "localhost:5000/a/b@sha256:"
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
      const ImageUnderReview review{"prod-eu", image};
      const Plan p = plan(**policy, review);
      (void)evaluate(**policy, review, unevaluated_evidence(p.needs, "fuzz"), {});
    }
  } else {
    for (const Diagnostic& d : std::get<std::vector<Diagnostic>>(result)) (void)d.to_string();
  }
  return 0;
}
