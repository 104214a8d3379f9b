// Loading a policy: YAML text -> PolicySpec (parse, with every problem located) -> CompiledPolicy
// (globs compiled once, anchors resolved). A CompiledPolicy is immutable; a reload builds a new one and
// swaps the shared_ptr whole, so reviews in flight finish on the snapshot they started with.
//
// No I/O here: callers read the file and pass its text. Thread-safe: a CompiledPolicy may be shared by
// any number of threads.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "policy/model.h"

namespace imagegate::policy {

// One problem in a policy file: `policy.yaml:12:7: rules[2].match.images[0]: bad glob "a**b": ...`.
struct Diagnostic {
  std::string file;
  Location location;
  std::string path;     // key path, e.g. rules[2].match.images[0]; "" for the document itself
  std::string message;

  std::string to_string() const;
};

inline constexpr std::size_t kMaxPolicyBytes = 4 * 1024 * 1024;
inline constexpr int kMaxPolicyDepth = 64;          // nesting of mappings/sequences
inline constexpr std::size_t kMaxPolicyNodes = 200'000;  // after alias expansion (no billion laughs)

class CompiledPolicy;  // defined in policy/compiled_policy.h (internal to policy/)

using PolicyResult = std::variant<std::shared_ptr<const CompiledPolicy>, std::vector<Diagnostic>>;

// Parses and compiles. On failure returns every diagnostic found (not just the first), sorted by position.
PolicyResult load_policy(std::string_view yaml_text, std::string_view file_name);
// Compiles a spec built in code (`imagegate verify`'s flags): invalid_argument for what the loader would have
// rejected (bad globs or regexps, unknown anchors, bad thresholds).
Result<std::shared_ptr<const CompiledPolicy>> compile_policy(PolicySpec spec, std::string version);

// A YAML list of attestation conditions (policy/condition.h) as a rule's `attestations[].conditions` holds
// them, with the same checks and messages (`imagegate verify --condition`). Diagnostics sorted by position.
std::variant<std::vector<Condition>, std::vector<Diagnostic>> parse_conditions(std::string_view yaml_text,
                                                                               std::string_view file_name);

// The spec a policy was compiled from, its name and a version string that changes whenever its content
// does (for cache keys and the decision log).
const PolicySpec& spec_of(const CompiledPolicy& policy) noexcept;
const std::string& version_of(const CompiledPolicy& policy) noexcept;
// True when the policy has no registry allowlist (`registries.allow`) or `domain` matches one of its patterns.
bool registry_allowed(const CompiledPolicy& policy, std::string_view domain);

}  // namespace imagegate::policy
