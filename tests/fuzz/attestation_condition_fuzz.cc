// libFuzzer target for the attestation condition language (policy/condition.h, the loader's
// loader_attestations.cc): the input is conditions (YAML, as a policy's `conditions:` block holds them) and
// a predicate (JSON, the signer's outside input), separated by the first NUL byte. The policy loads or is
// refused with diagnostics; loaded conditions are evaluated against the predicate. Whatever the bytes: no
// crash, no UB, no unbounded work (the step budget), and an evaluation is deterministic and says why it
// fails. Paths are also parsed on their own.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "policy/compiled_policy.h"
#include "policy/condition.h"
#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace imagegate::policy;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find('\0');
  const std::string_view conditions = input.substr(0, split);
  const std::string_view predicate = split == std::string_view::npos ? std::string_view() : input.substr(split + 1);
  (void)parse_condition_path(conditions.substr(0, 300));

  std::string text =
      "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: fuzz}\nspec:\n"
      "  trustAnchors:\n    - name: ci\n      cosign: {keyFile: /k.pub}\n"
      "  rules:\n    - name: r\n      match: {images: [\"**\"]}\n      attestations:\n"
      "        - predicateType: https://slsa.dev/provenance/v1\n          anchors: [ci]\n          conditions:\n";
  std::size_t start = 0;
  while (start <= conditions.size()) {
    const std::size_t end = conditions.find('\n', start);
    const std::string_view line = conditions.substr(start, end == std::string_view::npos ? end : end - start);
    text += "            ";
    text += line;
    text += '\n';
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  PolicyResult result = load_policy(text, "fuzz.yaml");
  const auto* policy = std::get_if<std::shared_ptr<const CompiledPolicy>>(&result);
  if (policy == nullptr) {
    if (std::get<std::vector<Diagnostic>>(result).empty()) std::abort();  // refused, so it says why
    return 0;
  }
  const auto now = std::chrono::sys_days(std::chrono::year(2026) / 12 / 7) + std::chrono::hours(12);
  const auto& requirement = (*policy)->spec().rules.at(0).attestations.at(0);
  const ConditionOutcome first = evaluate_conditions(requirement.conditions, predicate, now);
  const ConditionOutcome again = evaluate_conditions(requirement.conditions, predicate, now);
  if (first.passed != again.passed || first.detail != again.detail) std::abort();
  if (!first.passed && first.detail.empty()) std::abort();
  if (first.passed && !first.detail.empty()) std::abort();
  return 0;
}
