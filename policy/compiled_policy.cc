#include "policy/compiled_policy.h"

#include <algorithm>
#include <set>
#include <tuple>

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

}  // namespace

bool Specificity::beats(const Specificity& other) const noexcept {
  // Greater is more specific for every component but the wildcard counts and the declaration index.
  return std::tuple(literal_chars, -double_stars, -single_stars, has_namespaces, namespace_literal_chars,
                    -static_cast<long long>(index)) >
         std::tuple(other.literal_chars, -other.double_stars, -other.single_stars, other.has_namespaces,
                    other.namespace_literal_chars, -static_cast<long long>(other.index));
}

std::optional<Specificity> CompiledRule::match(std::string_view normalized_name,
                                               std::string_view namespace_name) const {
  std::optional<Specificity> best;
  for (const Glob& glob : images) {
    if (!glob.matches(normalized_name)) continue;
    Specificity s;
    s.literal_chars = glob.literal_chars();
    s.double_stars = glob.double_stars();
    s.single_stars = glob.single_stars();
    s.index = index;
    if (!best || s.beats(*best)) best = s;
  }
  if (!best || namespaces.empty()) return best;
  std::optional<int> namespace_literals;
  for (const Glob& glob : namespaces) {
    if (!namespace_name.empty() && glob.matches(namespace_name)) {
      namespace_literals = std::max(namespace_literals.value_or(0), glob.literal_chars());
    }
  }
  if (!namespace_literals) return std::nullopt;
  best->has_namespaces = true;
  best->namespace_literal_chars = *namespace_literals;
  return best;
}

Result<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::compile(PolicySpec spec, std::string version) {
  std::shared_ptr<CompiledPolicy> policy(new CompiledPolicy());
  policy->spec_ = std::move(spec);
  policy->version_ = std::move(version);
  const PolicySpec& s = policy->spec_;

  auto namespaces = compile_globs(s.exemptions.namespaces, GlobKind::namespace_name, "spec.exemptions.namespaces");
  if (!namespaces.ok()) return namespaces.error();
  policy->exempt_namespaces_ = std::move(namespaces).value();
  auto images = compile_globs(s.exemptions.images, GlobKind::image, "spec.exemptions.images");
  if (!images.ok()) return images.error();
  policy->exempt_images_ = std::move(images).value();
  auto registries = compile_globs(s.allowed_registries, GlobKind::registry, "spec.registries.allow");
  if (!registries.ok()) return registries.error();
  policy->registries_ = std::move(registries).value();

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
      if (sig.anchors.empty()) return invalid_argument(where + ": signatures name no anchor");
      for (const std::string& name : sig.anchors) {
        if (!anchor_names.contains(name)) return invalid_argument(where + ": unknown trust anchor \"" + name + "\"");
      }
      for (const std::string& name : sig.required) {
        if (std::find(sig.anchors.begin(), sig.anchors.end(), name) == sig.anchors.end()) {
          return invalid_argument(where + ": required anchor \"" + name + "\" is not in anchors");
        }
      }
      if (sig.threshold < 1 || static_cast<std::size_t>(sig.threshold) > sig.anchors.size()) {
        return invalid_argument(where + ": threshold out of range");
      }
    }
    policy->rules_.push_back(std::move(compiled));
  }
  return std::shared_ptr<const CompiledPolicy>(std::move(policy));
}

const Glob* CompiledPolicy::exempt_namespace(std::string_view namespace_name) const {
  if (namespace_name.empty()) return nullptr;
  for (const Glob& glob : exempt_namespaces_) {
    if (glob.matches(namespace_name)) return &glob;
  }
  return nullptr;
}

const Glob* CompiledPolicy::exempt_image(std::string_view normalized_name) const {
  for (const Glob& glob : exempt_images_) {
    if (glob.matches(normalized_name)) return &glob;
  }
  return nullptr;
}

bool CompiledPolicy::registry_allowed(std::string_view domain) const {
  if (registries_.empty()) return true;
  return std::any_of(registries_.begin(), registries_.end(), [&](const Glob& g) { return g.matches(domain); });
}

const CompiledRule* CompiledPolicy::select_rule(std::string_view normalized_name,
                                                std::string_view namespace_name) const {
  const CompiledRule* best = nullptr;
  Specificity best_specificity;
  for (const CompiledRule& rule : rules_) {
    const std::optional<Specificity> s = rule.match(normalized_name, namespace_name);
    if (s && (best == nullptr || s->beats(best_specificity))) {
      best = &rule;
      best_specificity = *s;
    }
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
