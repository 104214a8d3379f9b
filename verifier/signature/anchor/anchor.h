// Trust anchor specs: what a policy's `trustAnchors` entry says, one value type per signature scheme. The
// policy model (policy/model.h) uses them as it uses verifier::Severity; anchor material
// (verifier/signature/anchor_material.h) loads keys and roots from them, and each scheme verifies with them.
//
// Its own small library (imagegate_anchor: this folder, RE2 only), so the policy floor links the anchor
// types without OpenSSL, SQLite, hiredis or sockets. May include: common/ only.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"

namespace re2 {
class RE2;
}

namespace imagegate::verifier {

// A cosign public key (ECDSA, RSA, Ed25519), inline PEM or a file the anchor material reads.
struct CosignKeyAnchor {
  std::string key_pem;   // inline `key:`
  std::string key_file;  // `keyFile:`
};

// A cosign keyless (Fulcio certificate) identity, with its regexps compiled once (compile_identity, called
// when the policy is compiled).
struct KeylessAnchor {
  std::string issuer;           // exact OIDC issuer, or
  std::string issuer_regexp;    // RE2
  std::string subject;          // exact SAN (email or URI), or
  std::string subject_regexp;   // RE2
  std::string trusted_root_file;  // Sigstore trusted_root.json, or
  std::string fulcio_roots_file;  // PEM bundle, with
  std::string rekor_key_file;     // PEM
  std::shared_ptr<const re2::RE2> compiled_issuer_regexp;   // set by compile_identity when issuer_regexp is
  std::shared_ptr<const re2::RE2> compiled_subject_regexp;  // set by compile_identity when subject_regexp is
};

// Notary v1 (Docker Content Trust): a notary-server and the pinned root.
struct NotaryV1Anchor {
  std::string server;                  // https://notary.example.com
  std::vector<std::string> root_keys;  // inline PEM public keys or certificates
  std::vector<std::string> root_key_files;
  std::vector<std::string> root_key_ids;  // optional pin by key id
  std::vector<std::string> delegations;   // required signer roles, e.g. targets/releases
  bool all_delegations = false;           // all of `delegations` must have signed (default: one)
  std::string ca_file;                    // TLS CA for the server
};

// Notation (Notary Project v2), in one of two forms:
//   files   `trustPolicy:` a notation trust policy document (trustpolicy.json) with `trustStore:` notation's
//           trust store directory (x509/{ca,signingAuthority,tsa}/<name>/*), copied unchanged from a notation
//           CLI setup (verifier/signature/notation/notation.h load_trust);
//   inline  trust stores and trusted identities: one implicit statement for every registry.
struct NotationAnchor {
  std::string trust_policy_file;  // files form: trustpolicy.json, with
  std::string trust_store_dir;    // the `truststore` directory (or one holding `truststore/`)
  std::vector<std::string> trust_store_files;  // inline form: CA certificates (PEM)
  std::vector<std::string> tsa_store_files;
  std::vector<std::string> trusted_identities;  // "x509.subject: CN=...", or "*"
  std::string verification_level = "strict";    // strict | permissive | audit
};

using AnchorSpec = std::variant<CosignKeyAnchor, KeylessAnchor, NotaryV1Anchor, NotationAnchor>;

// Compiles `anchor`'s issuer and subject regexps (RE2, errors not logged) into its compiled_* fields.
// invalid_argument "invalid regular expression: ..." (the caller prefixes where).
Status compile_identity(KeylessAnchor& anchor);

}  // namespace imagegate::verifier
