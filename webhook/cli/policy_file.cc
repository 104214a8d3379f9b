#include "webhook/cli/policy_file.h"

#include <variant>

#include "common/bounded_file.h"
#include "verifier/signature/anchor_material.h"
#include "webhook/cli/manifest_reader.h"

namespace imagegate::webhook {

PolicyFile read_policy(const std::string& path) {
  PolicyFile out;
  auto text = read_bounded_file(path, policy::kMaxPolicyBytes);
  if (!text.ok()) {
    out.unreadable = true;
    out.diagnostics.push_back({path, {}, "", "cannot load policy: " + text.error().message});
    return out;
  }
  policy::PolicyResult loaded = policy::load_policy(*text, path);
  if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
    out.diagnostics = std::move(*diagnostics);
    return out;
  }
  out.policy = std::get<std::shared_ptr<const policy::CompiledPolicy>>(std::move(loaded));
  return out;
}

namespace {

// What of `spec` can be checked without its files: the inline keys, alone. nullopt: nothing inline.
std::optional<std::pair<verifier::AnchorSpec, std::string>> inline_part(const verifier::AnchorSpec& spec) {
  if (const auto* cosign = std::get_if<verifier::CosignKeyAnchor>(&spec); cosign && !cosign->key_pem.empty()) {
    return std::pair{verifier::AnchorSpec{verifier::CosignKeyAnchor{cosign->key_pem, ""}}, std::string("cosign.key")};
  }
  if (const auto* notary = std::get_if<verifier::NotaryV1Anchor>(&spec); notary && !notary->root_keys.empty()) {
    verifier::NotaryV1Anchor copy = *notary;
    copy.root_key_files.clear();
    copy.ca_file.clear();
    return std::pair{verifier::AnchorSpec{std::move(copy)}, std::string("notaryV1.rootKeys")};
  }
  return std::nullopt;
}

std::string kind_key(const verifier::AnchorSpec& spec) {
  switch (spec.index()) {
    case 0: return "cosign";
    case 1: return "keyless";
    case 2: return "notaryV1";
    default: return "notation";
  }
}

}  // namespace

std::vector<policy::Diagnostic> check_trust_material(const policy::CompiledPolicy& compiled, const std::string& file,
                                                     bool check_files) {
  const policy::PolicySpec& spec = policy::spec_of(compiled);
  std::vector<verifier::AnchorSpec> specs;  // storage for the inline parts
  specs.reserve(spec.trust_anchors.size());
  std::vector<verifier::NamedAnchorSpec> named;
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < spec.trust_anchors.size(); ++i) {
    const policy::TrustAnchor& anchor = spec.trust_anchors[i];
    const std::string base = "spec.trustAnchors[" + std::to_string(i) + "].";
    if (check_files) {
      named.push_back({anchor.name, &anchor.spec});
      paths.push_back(base + kind_key(anchor.spec));
    } else if (auto part = inline_part(anchor.spec)) {
      specs.push_back(std::move(part->first));
      named.push_back({anchor.name, &specs.back()});
      paths.push_back(base + part->second);
    }
  }
  std::vector<policy::Diagnostic> out;
  if (named.empty()) return out;
  auto material = verifier::AnchorMaterial::build(policy::version_of(compiled), named, verifier::NotaryTransport{});
  for (std::size_t i = 0; i < named.size(); ++i) {
    const verifier::LoadedAnchor* loaded = material->find(named[i].name);
    if (loaded == nullptr || loaded->load_error.empty()) continue;
    const policy::TrustAnchor* anchor = nullptr;
    for (const policy::TrustAnchor& a : spec.trust_anchors) {
      if (a.name == named[i].name) anchor = &a;
    }
    out.push_back({file, anchor ? anchor->location : policy::Location{}, paths[i],
                   "trust anchor \"" + named[i].name + "\" cannot be used: " + loaded->load_error});
  }
  return out;
}

std::string suggestion_of(const policy::Diagnostic& diagnostic) {
  constexpr std::string_view kOpen = "(did you mean \"";
  const std::size_t start = diagnostic.message.find(kOpen);
  if (start == std::string::npos) return "";
  const std::size_t from = start + kOpen.size();
  const std::size_t end = diagnostic.message.find("\"?)", from);
  return end == std::string::npos ? std::string() : diagnostic.message.substr(from, end - from);
}

}  // namespace imagegate::webhook
