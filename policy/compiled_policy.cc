#include "policy/compiled_policy.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "policy/plan_cache.h"

namespace imagegate::policy {
namespace {

Result<std::vector<Glob>> compile_globs(const std::vector<std::string>& patterns, GlobKind kind,
                                        std::string_view where) {
  std::vector<Glob> out;
  out.reserve(patterns.size());
  for (const std::string& pattern : patterns) {
    Result<Glob> glob = Glob::compile(pattern, kind);
    if (!glob.ok()) return invalid_argument(std::string(where) + ": " + glob.error().message);
    out.push_back(std::move(glob).value());
  }
  return out;
}

// anchors / threshold / required of a signatures or attestation requirement, against the defined anchors.
Status check_anchor_choice(const std::string& where, const std::vector<std::string>& anchors, int threshold,
                           const std::vector<std::string>& required,
                           const std::set<std::string, std::less<>>& anchor_names) {
  if (anchors.empty()) return invalid_argument(where + " name no anchor");
  for (const std::string& name : anchors) {
    if (!anchor_names.contains(name)) return invalid_argument(where + ": unknown trust anchor \"" + name + "\"");
  }
  for (const std::string& name : required) {
    if (std::find(anchors.begin(), anchors.end(), name) == anchors.end()) {
      return invalid_argument(where + ": required anchor \"" + name + "\" is not in anchors");
    }
  }
  if (threshold < 1 || static_cast<std::size_t>(threshold) > anchors.size()) {
    return invalid_argument(where + ": threshold out of range");
  }
  return Ok{};
}

// Every glob and regexp of the conditions compiled (a spec built in code may lack them).
bool conditions_compiled(const std::vector<Condition>& conditions) {
  return std::all_of(conditions.begin(), conditions.end(), [](const Condition& c) {
    const bool pattern = c.op == ConditionOp::matches || c.op == ConditionOp::regexp;
    return (!pattern || c.compiled != nullptr) && conditions_compiled(c.nested);
  });
}

}  // namespace

bool Specificity::beats(const Specificity& other) const noexcept {
  // Greater is more specific for every component but the wildcard counts and the declaration index.
  return std::tuple(literal_chars, -double_stars, -single_stars, has_namespaces, namespace_literal_chars,
                    -static_cast<long long>(index)) >
         std::tuple(other.literal_chars, -other.double_stars, -other.single_stars, other.has_namespaces,
                    other.namespace_literal_chars, -static_cast<long long>(other.index));
}

namespace {

// The rule's specificity for an image, given which of its image globs and namespace globs match
// (image_hit(i), namespace_hit(j) for its i-th and j-th): the one definition both matchers share.
template <typename ImageHit, typename NamespaceHit>
std::optional<Specificity> rule_specificity(const CompiledRule& rule, bool namespace_known, ImageHit image_hit,
                                            NamespaceHit namespace_hit) {
  std::optional<Specificity> best;
  for (std::size_t i = 0; i < rule.images.size(); ++i) {
    if (!image_hit(i)) continue;
    const Glob& glob = rule.images[i];
    Specificity s;
    s.literal_chars = glob.literal_chars();
    s.double_stars = glob.double_stars();
    s.single_stars = glob.single_stars();
    s.index = rule.index;
    if (!best || s.beats(*best)) best = s;
  }
  if (!best || rule.namespaces.empty()) return best;
  std::optional<int> namespace_literals;
  for (std::size_t j = 0; namespace_known && j < rule.namespaces.size(); ++j) {
    if (namespace_hit(j)) {
      namespace_literals = std::max(namespace_literals.value_or(0), rule.namespaces[j].literal_chars());
    }
  }
  if (!namespace_literals) return std::nullopt;
  best->has_namespaces = true;
  best->namespace_literal_chars = *namespace_literals;
  return best;
}

}  // namespace

std::optional<Specificity> CompiledRule::match(std::string_view normalized_name,
                                               std::string_view namespace_name) const {
  return rule_specificity(
      *this, !namespace_name.empty(), [&](std::size_t i) { return images[i].matches(normalized_name); },
      [&](std::size_t j) { return namespaces[j].matches(namespace_name); });
}

CompiledPolicy::~CompiledPolicy() = default;

Result<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::compile(PolicySpec spec, std::string version) {
  std::shared_ptr<CompiledPolicy> policy(new CompiledPolicy());
  policy->spec_ = std::move(spec);
  policy->version_ = std::move(version);
  const PolicySpec& s = policy->spec_;

  auto namespaces = compile_globs(s.exemptions.namespaces, GlobKind::namespace_name, "spec.exemptions.namespaces");
  if (!namespaces.ok()) return namespaces.error();
  policy->exempt_namespaces_ = GlobSet(std::move(namespaces).value());
  auto images = compile_globs(s.exemptions.images, GlobKind::image, "spec.exemptions.images");
  if (!images.ok()) return images.error();
  policy->exempt_images_ = GlobSet(std::move(images).value());
  auto registries = compile_globs(s.allowed_registries, GlobKind::registry, "spec.registries.allow");
  if (!registries.ok()) return registries.error();
  policy->registries_ = GlobSet(std::move(registries).value());

  std::set<std::string, std::less<>> anchor_names;
  for (TrustAnchor& anchor : policy->spec_.trust_anchors) {
    const std::string where = "trust anchor \"" + anchor.name + "\"";
    if (anchor.name.empty()) return invalid_argument("a trust anchor has no name");
    if (!anchor_names.insert(anchor.name).second) return invalid_argument("duplicate " + where);
    CompiledAnchor compiled;
    compiled.anchor = &anchor;
    if (auto* keyless = std::get_if<KeylessAnchor>(&anchor.spec)) {
      // Compiled into the anchor itself (a verifier value type), which the anchor material reads.
      if (auto compiled_identity = verifier::compile_identity(*keyless); !compiled_identity.ok()) {
        return invalid_argument(where + ": " + compiled_identity.error().message);
      }
      compiled.issuer_regexp = keyless->compiled_issuer_regexp;
      compiled.subject_regexp = keyless->compiled_subject_regexp;
    }
    policy->anchors_.push_back(std::move(compiled));
  }

  std::set<std::string, std::less<>> rule_names;
  for (std::size_t i = 0; i < s.rules.size(); ++i) {
    const Rule& rule = s.rules[i];
    const std::string where = "rule \"" + rule.name + "\"";
    if (rule.name.empty()) return invalid_argument("rule " + std::to_string(i) + " has no name");
    if (!rule_names.insert(rule.name).second) return invalid_argument("duplicate " + where);
    if (rule.images.empty()) return invalid_argument(where + " matches no image pattern");
    CompiledRule compiled;
    compiled.rule = &rule;
    compiled.index = i;
    auto rule_images = compile_globs(rule.images, GlobKind::image, where);
    if (!rule_images.ok()) return rule_images.error();
    compiled.images = std::move(rule_images).value();
    auto rule_namespaces = compile_globs(rule.namespaces, GlobKind::namespace_name, where);
    if (!rule_namespaces.ok()) return rule_namespaces.error();
    compiled.namespaces = std::move(rule_namespaces).value();
    if (rule.signatures) {
      const SignatureRequirement& sig = *rule.signatures;
      if (Status ok = check_anchor_choice(where + ": signatures", sig.anchors, sig.threshold, sig.required,
                                          anchor_names);
          !ok.ok()) {
        return ok.error();
      }
    }
    for (const AttestationRequirement& att : rule.attestations) {
      const std::string at = where + ": attestation \"" + att.name + "\"";
      if (att.predicate_type.empty()) return invalid_argument(at + " has no predicate type");
      if (Status ok = check_anchor_choice(at, att.anchors, att.threshold, att.required, anchor_names); !ok.ok()) {
        return ok.error();
      }
      if (!conditions_compiled(att.conditions)) return invalid_argument(at + ": a pattern is not compiled");
    }
    policy->rules_.push_back(std::move(compiled));
  }
  std::vector<Glob> rule_images;
  std::vector<Glob> rule_namespaces;
  for (CompiledRule& rule : policy->rules_) {
    rule.first_image = rule_images.size();
    rule.first_namespace = rule_namespaces.size();
    rule_images.insert(rule_images.end(), rule.images.begin(), rule.images.end());
    rule_namespaces.insert(rule_namespaces.end(), rule.namespaces.begin(), rule.namespaces.end());
    policy->rule_of_image_.insert(policy->rule_of_image_.end(), rule.images.size(), rule.index);
  }
  policy->rule_images_ = GlobSet(std::move(rule_images));
  policy->rule_namespaces_ = GlobSet(std::move(rule_namespaces));
  policy->plans_ = std::make_unique<PlanCache>();
  return std::shared_ptr<const CompiledPolicy>(std::move(policy));
}

const Glob* CompiledPolicy::exempt_namespace(std::string_view namespace_name, Matcher matcher) const {
  if (namespace_name.empty()) return nullptr;
  return exempt_namespaces_.first_match(namespace_name, matcher);
}

const Glob* CompiledPolicy::exempt_image(std::string_view normalized_name, Matcher matcher) const {
  return exempt_images_.first_match(normalized_name, matcher);
}

bool CompiledPolicy::registry_allowed(std::string_view domain, Matcher matcher) const {
  return registries_.empty() || registries_.first_match(domain, matcher) != nullptr;
}

const CompiledRule* CompiledPolicy::select_rule(std::string_view normalized_name, std::string_view namespace_name,
                                                Matcher matcher) const {
  const CompiledRule* best = nullptr;
  Specificity best_specificity;
  auto consider = [&](const CompiledRule& rule, const std::optional<Specificity>& s) {
    if (s && (best == nullptr || s->beats(best_specificity))) {
      best = &rule;
      best_specificity = *s;
    }
  };
  if (matcher == Matcher::per_pattern) {
    for (const CompiledRule& rule : rules_) consider(rule, rule.match(normalized_name, namespace_name));
    return best;
  }
  // One pass over the name for every rule's images; the namespace likewise, only when some rule matched.
  std::vector<int> images;
  rule_images_.match(normalized_name, images);
  if (images.empty()) return nullptr;
  std::vector<int> namespaces;
  if (!namespace_name.empty()) rule_namespaces_.match(namespace_name, namespaces);
  auto hit = [](const std::vector<int>& matched, std::size_t at) {
    return std::binary_search(matched.begin(), matched.end(), static_cast<int>(at));
  };
  std::size_t previous = rules_.size();
  for (const int i : images) {  // ascending, so rule after rule, each once
    const std::size_t r = rule_of_image_[static_cast<std::size_t>(i)];
    if (r == previous) continue;
    previous = r;
    const CompiledRule& rule = rules_[r];
    consider(rule, rule_specificity(
                       rule, !namespace_name.empty(), [&](std::size_t k) { return hit(images, rule.first_image + k); },
                       [&](std::size_t k) { return hit(namespaces, rule.first_namespace + k); }));
  }
  return best;
}

const CompiledAnchor* CompiledPolicy::anchor(std::string_view name) const {
  for (const CompiledAnchor& a : anchors_) {
    if (a.anchor->name == name) return &a;
  }
  return nullptr;
}

}  // namespace imagegate::policy
