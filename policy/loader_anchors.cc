// The policy loader's trustAnchors section (policy/loader_internal.h): one anchor per scheme (cosign key,
// keyless identity, Notary v1 root, Notation trust policy: `trustPolicy` + `trustStore` files, or the inline
// trust stores and identities) with exactly one body each.
#include <algorithm>
#include <set>
#include <string>

#include "common/text.h"
#include "policy/loader_internal.h"

namespace imagegate::policy {

using namespace loader_internal;  // NOLINT: this file is part of the loader

void Loader::load_anchor(const YAML::Node& node, const std::string& path, PolicySpec& spec) {
  const std::optional<Fields> f = fields(node, path, {"name", "cosign", "keyless", "notaryV1", "notation"});
  if (!f) return;
  TrustAnchor anchor;
  anchor.location = location_of(node);
  if (std::optional<std::string> name = string_field(*f, node, path, "name", true)) {
    check_name(*find(*f, "name"), child(path, "name"), *name);
    for (const TrustAnchor& other : spec.trust_anchors) {
      if (other.name == *name) {
        error(*find(*f, "name"), child(path, "name"),
              "duplicate trust anchor name " + quote(*name) + " (first at line " +
                  std::to_string(other.location.line) + ")");
      }
    }
    anchor.name = *name;
  }
  std::vector<std::string_view> kinds;
  for (std::string_view kind : {"cosign", "keyless", "notaryV1", "notation"}) {
    if (find(*f, kind) != nullptr) kinds.push_back(kind);
  }
  if (kinds.size() != 1) {
    if (!anchor.name.empty()) spec.trust_anchors.push_back(std::move(anchor));  // rules may still name it
    error(node, path,
          kinds.empty() ? "a trust anchor needs one of cosign, keyless, notaryV1, notation"
                        : "a trust anchor has exactly one of cosign, keyless, notaryV1, notation; found " + join(kinds, ", "));
    return;
  }
  load_anchor_body(*find(*f, kinds[0]), child(path, kinds[0]), kinds[0], anchor);
  // Kept even when its body had errors, so rules naming it do not report a second, misleading error.
  if (!anchor.name.empty()) spec.trust_anchors.push_back(std::move(anchor));
}

void Loader::load_anchor_body(const YAML::Node& body, const std::string& bp, std::string_view kind,
                              TrustAnchor& anchor) {
  auto exactly_one = [&](const Fields& bf, std::string_view a, std::string_view b) {
    const bool has_a = find(bf, a) != nullptr;
    const bool has_b = find(bf, b) != nullptr;
    if (has_a == has_b) {
      error(body, bp, "needs exactly one of \"" + std::string(a) + "\" and \"" + std::string(b) + "\"");
    }
  };
  if (kind == "cosign") {
    const std::optional<Fields> bf = fields(body, bp, {"key", "keyFile"});
    if (!bf) return;
    CosignKeyAnchor cosign;
    exactly_one(*bf, "key", "keyFile");
    if (auto key = string_field(*bf, body, bp, "key", false)) {
      if (key->find("-----BEGIN ") == std::string::npos) {
        error(*find(*bf, "key"), child(bp, "key"), "must be a PEM public key (-----BEGIN PUBLIC KEY-----)");
      }
      cosign.key_pem = *key;
    }
    if (auto file = string_field(*bf, body, bp, "keyFile", false)) cosign.key_file = *file;
    anchor.spec = cosign;
  } else if (kind == "keyless") {
    const std::optional<Fields> bf = fields(
        body, bp, {"issuer", "issuerRegExp", "subject", "subjectRegExp", "trustedRoot", "fulcioRoots", "rekorKey"});
    if (!bf) return;
    KeylessAnchor keyless;
    exactly_one(*bf, "issuer", "issuerRegExp");
    exactly_one(*bf, "subject", "subjectRegExp");
    if (auto v = string_field(*bf, body, bp, "issuer", false)) keyless.issuer = *v;
    if (auto v = string_field(*bf, body, bp, "subject", false)) keyless.subject = *v;
    check_regexp(*bf, bp, "issuerRegExp", keyless.issuer_regexp);
    check_regexp(*bf, bp, "subjectRegExp", keyless.subject_regexp);
    if (auto v = string_field(*bf, body, bp, "trustedRoot", false)) keyless.trusted_root_file = *v;
    if (auto v = string_field(*bf, body, bp, "fulcioRoots", false)) keyless.fulcio_roots_file = *v;
    if (auto v = string_field(*bf, body, bp, "rekorKey", false)) keyless.rekor_key_file = *v;
    const bool has_root = find(*bf, "trustedRoot") != nullptr;
    const bool has_fulcio = find(*bf, "fulcioRoots") != nullptr;
    const bool has_rekor = find(*bf, "rekorKey") != nullptr;
    if (has_root == (has_fulcio || has_rekor) || has_fulcio != has_rekor) {
      error(body, bp, "needs either \"trustedRoot\", or both \"fulcioRoots\" and \"rekorKey\"");
    }
    anchor.spec = keyless;
  } else if (kind == "notaryV1") {
    const std::optional<Fields> bf = fields(
        body, bp, {"server", "rootKeys", "rootKeyFiles", "rootKeyIds", "delegations", "allDelegations", "caFile"});
    if (!bf) return;
    NotaryV1Anchor notary;
    if (auto server = string_field(*bf, body, bp, "server", true)) {
      if (server->rfind("https://", 0) != 0 && server->rfind("http://", 0) != 0) {
        error(*find(*bf, "server"), child(bp, "server"), "must be an https:// URL");
      }
      notary.server = *server;
    }
    string_list(*bf, bp, "rootKeys", notary.root_keys);
    string_list(*bf, bp, "rootKeyFiles", notary.root_key_files);
    string_list(*bf, bp, "rootKeyIds", notary.root_key_ids);
    if (notary.root_keys.empty() && notary.root_key_files.empty() && notary.root_key_ids.empty()) {
      error(body, bp, "needs the pinned root: \"rootKeys\", \"rootKeyFiles\" or \"rootKeyIds\"");
    }
    for (const auto& [element_path, element] : string_list(*bf, bp, "delegations", notary.delegations)) {
      if (element.Scalar().rfind("targets/", 0) != 0 || element.Scalar().size() <= 8) {
        error(element, element_path, "a delegation role is named targets/<name>; got " + quote(element.Scalar()));
      }
    }
    if (auto all = bool_field(*bf, bp, "allDelegations")) notary.all_delegations = *all;
    if (notary.all_delegations && notary.delegations.empty()) {
      error(*find(*bf, "allDelegations"), child(bp, "allDelegations"), "needs \"delegations\"");
    }
    if (auto ca = string_field(*bf, body, bp, "caFile", false)) notary.ca_file = *ca;
    anchor.spec = notary;
  } else {
    load_notation(body, bp, anchor);
  }
}

// Notation: `trustPolicy` + `trustStore` (notation's own files, read by the server when the policy loads)
// or the inline trust stores and identities, not both.
void Loader::load_notation(const YAML::Node& body, const std::string& bp, TrustAnchor& anchor) {
  const std::optional<Fields> bf = fields(
      body, bp, {"trustPolicy", "trustStore", "trustStores", "tsaStores", "trustedIdentities", "verificationLevel"});
  if (!bf) return;
  NotationAnchor notation;
  const bool files = find(*bf, "trustPolicy") != nullptr || find(*bf, "trustStore") != nullptr;
  if (files) {
    for (std::string_view inline_key : {"trustStores", "tsaStores", "trustedIdentities", "verificationLevel"}) {
      if (const YAML::Node* node = find(*bf, inline_key)) {
        error(*node, child(bp, inline_key),
              "\"" + std::string(inline_key) +
                  "\" belongs to the inline form; with \"trustPolicy\" the trust policy document says it");
      }
    }
    if (auto policy = string_field(*bf, body, bp, "trustPolicy", true)) notation.trust_policy_file = *policy;
    if (auto store = string_field(*bf, body, bp, "trustStore", true)) notation.trust_store_dir = *store;
    anchor.spec = notation;
    return;
  }
  string_list(*bf, bp, "trustStores", notation.trust_store_files);
  if (notation.trust_store_files.empty()) missing(body, bp, "trustStores");
  string_list(*bf, bp, "tsaStores", notation.tsa_store_files);
  const auto identities = string_list(*bf, bp, "trustedIdentities", notation.trusted_identities);
  if (notation.trusted_identities.empty()) missing(body, bp, "trustedIdentities");
  for (const auto& [element_path, element] : identities) {
    const std::string& id = element.Scalar();
    if (id != "*" && id.rfind("x509.subject:", 0) != 0) {
      error(element, element_path, "a trusted identity is \"*\" or \"x509.subject: <DN>\"; got " + quote(id));
    }
  }
  static const std::vector<std::string_view> kLevels = {"strict", "permissive", "audit"};
  if (auto level = enum_field(*bf, bp, "verificationLevel", kLevels)) {
    notation.verification_level = std::string(kLevels[*level]);
  }
  anchor.spec = notation;
}

}  // namespace imagegate::policy
