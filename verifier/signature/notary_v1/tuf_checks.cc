// The client-side checks of the TUF specification
// (https://theupdateframework.github.io/specification/latest/#detailed-client-workflow) on parsed Notary v1
// metadata: threshold signatures, expiry, file lengths and hashes, delegation paths, the pinned root and
// root rotation.
#include <algorithm>
#include <optional>
#include <set>

#include "common/rfc3339.h"
#include "common/text.h"
#include "verifier/image/scan_verdict.h"
#include "verifier/signature/notary_v1/tuf.h"
#include "verifier/signature/notary_v1/tuf_internal.h"

namespace imagegate::verifier::tuf {

using internal::check_hashes;
using internal::denied;

namespace {

// The key ids of `role` whose signature on `env` verifies, one per distinct public key.
std::vector<std::string> verified_key_ids(const Envelope& env, const std::map<std::string, Key>& keys,
                                          const RoleKeys& role) {
  std::vector<std::string> ids;
  std::set<std::string> seen_spki;
  for (const auto& sig : env.signatures) {
    if (sig.value.empty()) continue;
    if (std::find(role.key_ids.begin(), role.key_ids.end(), sig.key_id) == role.key_ids.end()) continue;
    auto it = keys.find(sig.key_id);
    if (it == keys.end() || !it->second.usable || !it->second.key) continue;
    const PublicKey& key = *it->second.key;
    if (seen_spki.count(key.spki_der())) continue;
    std::string method = sig.method.empty() ? it->second.scheme : sig.method;
    SignatureScheme scheme;
    std::optional<HashAlgorithm> hash = HashAlgorithm::sha256;
    if (method == "ecdsa") {
      scheme = SignatureScheme::ecdsa_raw;  // notary: r||s over sha256
    } else if (method == "ecdsa-sha2-nistp256") {
      scheme = SignatureScheme::ecdsa_der;
    } else if (method == "ecdsa-sha2-nistp384") {
      scheme = SignatureScheme::ecdsa_der;
      hash = HashAlgorithm::sha384;
    } else if (method == "rsapss" || method == "rsassa-pss-sha256") {
      scheme = SignatureScheme::rsa_pss;
    } else if (method == "rsapkcs1v15" || method == "rsa-pkcs1v15-sha256") {
      scheme = SignatureScheme::rsa_pkcs1v15;
    } else if (method == "eddsa" || method == "ed25519") {
      scheme = SignatureScheme::ed25519;
      hash = std::nullopt;
    } else {
      continue;
    }
    if (key.verify(env.canonical_signed, sig.value, scheme, hash).ok()) {
      seen_spki.insert(key.spki_der());
      ids.push_back(sig.key_id);
    }
  }
  return ids;
}

// "key sha256:<16 hex>": the sha256 of the SubjectPublicKeyInfo (`openssl pkey -pubin -outform DER |
// sha256sum`), the same for a pinned certificate and its bare public key.
std::string key_fingerprint(const PublicKey& key) { return "key sha256:" + sha256_hex(key.spki_der()).substr(0, 16); }

// What a pin mismatch is about: who signed the root the server publishes, and what is pinned.
std::string describe_pin_mismatch(const Root& root, const RootPin& pin) {
  std::vector<std::string> signers;
  for (const auto& id : verified_key_ids(root.envelope, root.keys, root.roles.at("root"))) {
    signers.push_back(key_fingerprint(*root.keys.at(id).key) + " (key id " + id.substr(0, 12) + ")");
  }
  std::vector<std::string> pinned;
  for (const auto& key : pin.keys) pinned.push_back(key_fingerprint(key));
  std::string out = "the server's root version " + std::to_string(root.envelope.version) + " is signed by " +
                    join(signers, ", ") + "; pinned: " + join(pinned, ", ");
  if (!pin.key_ids.empty()) out += " with key id " + join(pin.key_ids, " or ");
  return out;
}

}  // namespace

namespace internal {

Status check_hashes(const FileMeta& meta, std::string_view bytes, std::string_view what) {
  bool any = false;
  for (const auto& [alg, want] : meta.hashes) {
    std::string got;
    if (alg == "sha256") {
      got = sha_digest(HashAlgorithm::sha256, bytes);
    } else if (alg == "sha384") {
      got = sha_digest(HashAlgorithm::sha384, bytes);
    } else if (alg == "sha512") {
      got = sha_digest(HashAlgorithm::sha512, bytes);
    } else {
      continue;
    }
    any = true;
    if (got != want) return denied(std::string(what) + " does not match its " + alg + " hash");
  }
  if (!any) return denied(std::string(what) + " has no sha256 or sha512 hash to check");
  return Ok{};
}

}  // namespace internal

Status verify_signatures(const Envelope& envelope, const std::map<std::string, Key>& keys, const RoleKeys& role,
                         std::string_view role_name) {
  const std::string name(role_name);
  bool any = std::any_of(envelope.signatures.begin(), envelope.signatures.end(),
                         [](const SignatureEntry& s) { return !s.value.empty(); });
  if (!any) return denied(name + ": no signatures");
  auto ok = verified_key_ids(envelope, keys, role);
  if (ok.size() >= role.threshold) return Ok{};
  return denied(name + ": " + std::to_string(ok.size()) + " of " + std::to_string(role.threshold) +
                " required signatures verify");
}

Status check_expiry(const Envelope& envelope, TimePoint now, std::string_view role_name) {
  if (now >= envelope.expires) {
    return denied(std::string(role_name) + " trust data expired at " + format_rfc3339(envelope.expires));
  }
  return Ok{};
}

Status check_file_meta(const FileMeta& meta, std::string_view bytes, std::string_view what) {
  if (meta.length && bytes.size() > *meta.length) {
    return denied(std::string(what) + " is " + std::to_string(bytes.size()) + " bytes, more than the " +
                  std::to_string(*meta.length) + " recorded for it");
  }
  return check_hashes(meta, bytes, what);
}

bool delegation_covers(const DelegatedRole& role, std::string_view target) {
  for (const auto& p : role.paths) {
    if (target.substr(0, p.size()) == p) return true;
  }
  if (!role.path_hash_prefixes.empty()) {
    const std::string h = sha256_hex(target);
    for (const auto& p : role.path_hash_prefixes) {
      if (h.compare(0, p.size(), ascii_lower(p)) == 0) return true;
    }
  }
  return false;
}

Status verify_pinned_root(const Root& root, const RootPin& pin) {
  bool any = std::any_of(root.envelope.signatures.begin(), root.envelope.signatures.end(),
                         [](const SignatureEntry& s) { return !s.value.empty(); });
  if (!any) return denied("root has no signatures");
  const RoleKeys& role = root.roles.at("root");
  if (auto s = verify_signatures(root.envelope, root.keys, role, "root"); !s) return s;
  for (const auto& id : verified_key_ids(root.envelope, root.keys, role)) {
    const Key& key = root.keys.at(id);
    const bool key_pinned = std::any_of(pin.keys.begin(), pin.keys.end(),
                                        [&](const PublicKey& p) { return p.spki_der() == key.key->spki_der(); });
    if (!key_pinned) continue;
    if (!pin.key_ids.empty()) {
      const bool id_pinned = std::any_of(pin.key_ids.begin(), pin.key_ids.end(), [&](const std::string& want) {
        return ascii_lower(want) == ascii_lower(id) || (!key.public_key_id.empty() && ascii_lower(want) == key.public_key_id);
      });
      if (!id_pinned) continue;
    }
    return Ok{};
  }
  return denied("root is not signed by a pinned key: " + describe_pin_mismatch(root, pin));
}

Status verify_root_rotation(const Root& trusted, const Root& next) {
  if (next.envelope.version != trusted.envelope.version + 1) {
    return denied("root version " + std::to_string(next.envelope.version) + " does not follow trusted version " +
                  std::to_string(trusted.envelope.version));
  }
  const RoleKeys& old_role = trusted.roles.at("root");
  if (verified_key_ids(next.envelope, trusted.keys, old_role).size() < old_role.threshold) {
    return denied("root version " + std::to_string(next.envelope.version) +
                  " is not signed by the keys of the trusted root version " + std::to_string(trusted.envelope.version));
  }
  if (auto s = verify_signatures(next.envelope, next.keys, next.roles.at("root"), "root"); !s) return s;
  return Ok{};
}

}  // namespace imagegate::verifier::tuf
