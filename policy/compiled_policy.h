// CompiledPolicy: a PolicySpec with every glob compiled to RE2 once, rules ready for specificity
// ordering, and trust anchors indexed by name (keyless regexps compiled). Built by compile_policy (or
// load_policy); immutable afterwards and shared as std::shared_ptr<const CompiledPolicy>.
//
// Matching: each group of globs (exempt namespaces, exempt images, allowed registries, every rule's image
// patterns together, every rule's namespace patterns together) is one GlobSet, one automaton per snapshot:
// an image is read once per group, not once per pattern. Every matching method takes a Matcher;
// Matcher::per_pattern is the matcher as it was before the automaton (one RE2 per glob, rule after rule),
// kept as the differential tests' oracle and the benchmark's baseline. The snapshot also owns its plan
// cache (policy/plan_cache.h), which dies with it.
//
// Internal to policy/ (evaluate.cc, planning.cc and the tests use it). Thread-safe: const methods only (the
// plan cache locks itself).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/glob.h"
#include "policy/glob_set.h"
#include "policy/model.h"

namespace re2 {
class RE2;
}

namespace imagegate::policy {

// How specific a rule's match is for one image and namespace; greater wins (see docs/policy.md).
struct Specificity {
  int literal_chars = 0;       // of the best matching image pattern
  int double_stars = 0;        // fewer wins
  int single_stars = 0;        // fewer wins
  bool has_namespaces = false; // a rule constrained to namespaces beats one that is not
  int namespace_literal_chars = 0;  // of the best matching namespace pattern
  std::size_t index = 0;       // declaration order: earlier wins

  // True when this is more specific than `other`.
  bool beats(const Specificity& other) const noexcept;
};

struct CompiledRule {
  const Rule* rule = nullptr;  // points into the policy's spec
  std::size_t index = 0;
  std::vector<Glob> images;
  std::vector<Glob> namespaces;
  // Where images[0] and namespaces[0] sit in the policy's sets of every rule's globs.
  std::size_t first_image = 0;
  std::size_t first_namespace = 0;

  // The rule's specificity for this image if it matches it, nullopt otherwise, matching its globs one by
  // one (Matcher::per_pattern). `namespace_name` "" is unknown: it matches only rules without a namespace
  // constraint.
  std::optional<Specificity> match(std::string_view normalized_name, std::string_view namespace_name) const;
};

class PlanCache;

struct CompiledAnchor {
  const TrustAnchor* anchor = nullptr;
  // Keyless only, when given: the regexps compiled into the anchor's KeylessAnchor (the same objects).
  std::shared_ptr<const re2::RE2> issuer_regexp;
  std::shared_ptr<const re2::RE2> subject_regexp;
};

class CompiledPolicy {
 public:
  // Compiles a spec (normally one the loader produced and validated). Errors (invalid_argument) for specs
  // built in code that the loader would have rejected: bad globs, unknown anchors, bad thresholds.
  static Result<std::shared_ptr<const CompiledPolicy>> compile(PolicySpec spec, std::string version);

  CompiledPolicy(const CompiledPolicy&) = delete;
  CompiledPolicy& operator=(const CompiledPolicy&) = delete;
  ~CompiledPolicy();

  const PolicySpec& spec() const noexcept { return spec_; }
  const std::string& version() const noexcept { return version_; }

  // The exemption pattern that applies (the first declared that matches), or nullptr.
  const Glob* exempt_namespace(std::string_view namespace_name, Matcher matcher = Matcher::automaton) const;
  const Glob* exempt_image(std::string_view normalized_name, Matcher matcher = Matcher::automaton) const;
  // True when there is no allowlist or `domain` matches one of its patterns.
  bool registry_allowed(std::string_view domain, Matcher matcher = Matcher::automaton) const;
  // The most specific matching rule, or nullptr.
  const CompiledRule* select_rule(std::string_view normalized_name, std::string_view namespace_name,
                                  Matcher matcher = Matcher::automaton) const;
  const std::vector<CompiledRule>& rules() const noexcept { return rules_; }
  const CompiledAnchor* anchor(std::string_view name) const;
  // This snapshot's plans (policy/plan_cache.h); thread-safe.
  const PlanCache& plan_cache() const noexcept { return *plans_; }

 private:
  CompiledPolicy() = default;

  PolicySpec spec_;
  std::string version_;
  GlobSet exempt_namespaces_;
  GlobSet exempt_images_;
  GlobSet registries_;
  std::vector<CompiledRule> rules_;
  GlobSet rule_images_;                // every rule's images, rule after rule
  std::vector<std::size_t> rule_of_image_;  // rule_images_ index -> rules_ index
  GlobSet rule_namespaces_;            // every rule's namespaces, rule after rule
  std::vector<CompiledAnchor> anchors_;
  std::unique_ptr<PlanCache> plans_;
};

}  // namespace imagegate::policy
