// The policy loader's rules section (policy/loader_internal.h): a rule's match, mode, failure policy,
// digest and tag requirements, and its signature requirement (anchors by name, threshold, repository); the
// anchors m-of-n shape is shared with attestation requirements (loader_attestations.cc).
#include <algorithm>
#include <set>
#include <string>

#include "verifier/image/image_reference.h"

#include "common/text.h"
#include "policy/loader_internal.h"

namespace imagegate::policy {

using namespace loader_internal;  // NOLINT: this file is part of the loader

namespace {

bool is_tag_char(char c, bool first) {
  const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  return first ? word : (word || c == '.' || c == '-');
}

}  // namespace

void Loader::load_rule(const YAML::Node& node, const std::string& path, const PolicySpec& spec, Rule& rule) {
  const std::optional<Fields> f = fields(node, path,
                                         {"name", "match", "mode", "failurePolicy", "requireDigest", "deniedTags",
                                          "pinDigest", "signatures", "vulnerabilities", "attestations"});
  if (!f) return;
  if (std::optional<std::string> name = string_field(*f, node, path, "name", true)) {
    check_name(*find(*f, "name"), child(path, "name"), *name);
    rule.name = *name;
  }
  if (const YAML::Node* match = find(*f, "match")) {
    const std::string mp = child(path, "match");
    if (const std::optional<Fields> mf = fields(*match, mp, {"images", "namespaces"})) {
      glob_list(*mf, mp, "images", GlobKind::image, rule.images);
      if (find(*mf, "images") == nullptr || (find(*mf, "images")->IsSequence() && find(*mf, "images")->size() == 0)) {
        error(*match, child(mp, "images"), "a rule matches at least one image pattern (\"**\" for every image)");
      }
      glob_list(*mf, mp, "namespaces", GlobKind::namespace_name, rule.namespaces);
    }
  } else {
    missing(node, path, "match");
  }
  if (auto m = enum_field(*f, path, "mode", {"enforce", "warn", "audit"})) rule.mode = static_cast<Mode>(*m);
  if (auto fp = enum_field(*f, path, "failurePolicy", {"closed", "open"})) {
    rule.failure_policy = static_cast<FailurePolicy>(*fp);
  }
  if (auto v = bool_field(*f, path, "requireDigest")) rule.require_digest = *v;
  if (auto v = bool_field(*f, path, "pinDigest")) rule.pin_digest = *v;
  for (const auto& [element_path, element] : string_list(*f, path, "deniedTags", rule.denied_tags)) {
    const std::string& tag = element.Scalar();
    bool valid = !tag.empty() && tag.size() <= 128;
    for (std::size_t i = 0; valid && i < tag.size(); ++i) valid = is_tag_char(tag[i], i == 0);
    if (!valid) error(element, element_path, "not a valid tag: " + quote(tag));
  }
  if (const YAML::Node* signatures = find(*f, "signatures")) {
    SignatureRequirement requirement;
    load_signatures(*signatures, child(path, "signatures"), spec, requirement);
    rule.signatures = std::move(requirement);
  }
  if (const YAML::Node* vulnerabilities = find(*f, "vulnerabilities")) {
    VerdictRequirement requirement;
    load_vulnerabilities(*vulnerabilities, child(path, "vulnerabilities"), requirement);
    rule.vulnerabilities = std::move(requirement);
  }
  if (const YAML::Node* attestations = find(*f, "attestations")) {
    load_attestations(*attestations, child(path, "attestations"), spec, rule.attestations);
  }
}

void Loader::load_anchor_choice(const Fields& f, const YAML::Node& node, const std::string& path,
                                const PolicySpec& spec, std::vector<std::string>& anchors, int& threshold_out,
                                std::vector<std::string>& required_anchors) {
  auto check_references = [&](const std::vector<std::pair<std::string, YAML::Node>>& refs) {
    std::set<std::string, std::less<>> seen;
    for (const auto& [element_path, element] : refs) {
      const std::string& name = element.Scalar();
      if (!seen.insert(name).second) error(element, element_path, "anchor " + quote(name) + " is listed twice");
      const bool known = std::any_of(spec.trust_anchors.begin(), spec.trust_anchors.end(),
                                     [&](const TrustAnchor& a) { return a.name == name; });
      if (!known) {
        std::vector<std::string_view> names;
        for (const TrustAnchor& a : spec.trust_anchors) names.push_back(a.name);
        error(element, element_path,
              "unknown trust anchor " + quote(name) +
                  (names.empty() ? std::string(" (spec.trustAnchors defines none)")
                                 : " (defined: " + join(names, ", ") + ")"));
      }
    }
  };
  check_references(string_list(f, path, "anchors", anchors));
  if (anchors.empty() && find(f, "anchors") == nullptr) missing(node, path, "anchors");
  else if (anchors.empty()) error(*find(f, "anchors"), child(path, "anchors"), "must name at least one anchor");
  const auto required = string_list(f, path, "required", required_anchors);
  check_references(required);
  for (const auto& [element_path, element] : required) {
    if (std::find(anchors.begin(), anchors.end(), element.Scalar()) == anchors.end()) {
      error(element, element_path, "required anchor " + quote(element.Scalar()) + " is not in \"anchors\"");
    }
  }
  if (const YAML::Node* threshold = find(f, "threshold")) {
    if (std::optional<long long> t = int_value(*threshold, child(path, "threshold"))) {
      const auto n = static_cast<long long>(anchors.size());
      if (*t < 1 || (n > 0 && *t > n)) {
        error(*threshold, child(path, "threshold"),
              "threshold " + std::to_string(*t) + " is out of range 1.." + std::to_string(std::max(1LL, n)));
      } else {
        threshold_out = static_cast<int>(*t);
      }
    }
  }
}

void Loader::load_signatures(const YAML::Node& node, const std::string& path, const PolicySpec& spec,
                             SignatureRequirement& out) {
  const std::optional<Fields> f =
      fields(node, path, {"anchors", "threshold", "required", "acceptIndexSignatures", "repository"});
  if (!f) return;
  load_anchor_choice(*f, node, path, spec, out.anchors, out.threshold, out.required);
  if (auto v = bool_field(*f, path, "acceptIndexSignatures")) out.accept_index_signatures = *v;
  if (auto repository = string_field(*f, node, path, "repository", false)) {
    const YAML::Node& repository_node = *find(*f, "repository");
    const std::string repository_path = child(path, "repository");
    // The same grammar and normalisation as an image name (cosign's COSIGN_REPOSITORY), so the fetcher
    // reaches exactly the repository the policy names; a tag or digest would name one manifest instead.
    auto parsed = verifier::ImageReference::parse_normalized(*repository);
    if (repository->empty()) {
      error(repository_node, repository_path, "must not be empty (omit it to use the image's own repository)");
    } else if (const auto* bad = std::get_if<verifier::ReferenceParseError>(&parsed)) {
      error(repository_node, repository_path, "not a repository: " + bad->error.message);
    } else if (const auto& ref = std::get<verifier::ImageReference>(parsed); ref.has_tag() || ref.has_digest()) {
      error(repository_node, repository_path,
            "a repository without tag or digest (like registry.example.com/signatures); got " + quote(*repository));
    } else {
      out.repository = *repository;
    }
  }
}

}  // namespace imagegate::policy
