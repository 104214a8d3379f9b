// Crypto primitives every signature verifier shares (cosign, Sigstore bundles, Notary v1 / TUF): public
// keys and certificates from PEM or DER, signature verification over a message, digests, base64, and
// X.509 chain verification at a given time with the Sigstore identity fields. OpenSSL 3 EVP underneath;
// OpenSSL types never appear in this header.
//
// Everything here is a pure function of its inputs (no I/O, no clock): the verification time is always a
// parameter. Thread-safe: PublicKey and Certificate are immutable once parsed and may be shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/text.h"

namespace imagegate::verifier {

enum class KeyType { ecdsa_p256, ecdsa_p384, ecdsa_p521, rsa, ed25519 };
std::string_view to_string(KeyType type) noexcept;  // "ecdsa-p256", "rsa", "ed25519", ...

enum class HashAlgorithm { sha256, sha384, sha512 };

// How a signature's bytes are laid out and padded.
enum class SignatureScheme {
  automatic,    // ECDSA: DER; RSA: PKCS#1 v1.5; Ed25519: pure. Hash: sha256 (P-384: sha384, P-521: sha512)
  ecdsa_der,    // ECDSA, ASN.1 DER (cosign, Sigstore)
  ecdsa_raw,    // ECDSA, fixed-width r||s (Notary v1 / TUF "ecdsa")
  rsa_pkcs1v15,
  rsa_pss,      // salt length = digest length (TUF "rsassa-pss-sha256"); verification also accepts auto salt
  ed25519,
};

class PublicKey {
 public:
  // A SubjectPublicKeyInfo ("PUBLIC KEY"), PKCS#1 "RSA PUBLIC KEY", or a "CERTIFICATE" (its key).
  // invalid_argument when the text holds none of these or an unsupported key (RSA < 2048 bits, other curves).
  static Result<PublicKey> from_pem(std::string_view pem);
  static Result<PublicKey> from_der(std::string_view spki_der);  // SubjectPublicKeyInfo DER

  KeyType type() const noexcept { return type_; }
  // Raw SubjectPublicKeyInfo DER (for key IDs: Rekor log id = sha256(spki)).
  const std::string& spki_der() const noexcept { return spki_der_; }

  // ok when `signature` is a valid signature over `message` (the message itself, hashed here with `hash`;
  // Ed25519 signs the message directly). permission_denied "signature does not verify" otherwise;
  // invalid_argument when the scheme does not fit the key type.
  Status verify(std::string_view message, std::string_view signature, SignatureScheme scheme = SignatureScheme::automatic,
                std::optional<HashAlgorithm> hash = std::nullopt) const;
  // The same over a precomputed digest (Sigstore hashedrekord of a blob). Not for Ed25519.
  Status verify_digest(std::string_view digest, HashAlgorithm hash, std::string_view signature,
                       SignatureScheme scheme = SignatureScheme::automatic) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
  KeyType type_ = KeyType::ecdsa_p256;
  std::string spki_der_;
};

// Every PUBLIC KEY / CERTIFICATE block of a PEM bundle, in order. invalid_argument when there is none or a
// block does not parse.
Result<std::vector<PublicKey>> public_keys_from_pem_bundle(std::string_view pem);

class Certificate {
 public:
  static Result<Certificate> from_pem(std::string_view pem);  // the first CERTIFICATE block
  static Result<Certificate> from_der(std::string_view der);

  const std::string& der() const noexcept { return der_; }
  std::string pem() const;
  PublicKey public_key() const;
  std::chrono::system_clock::time_point not_before() const;
  std::chrono::system_clock::time_point not_after() const;
  bool is_ca() const;
  std::string subject() const;  // RFC 2253 text, e.g. "CN=sigstore-intermediate,O=sigstore.dev"
  std::string issuer() const;
  // Subject alternative names: email (rfc822Name), URI, DNS, and otherName UTF8String values (Fulcio's
  // username SAN, OID 1.3.6.1.4.1.57264.1.7), in certificate order.
  std::vector<std::string> subject_alternative_names() const;
  // The value of extension `oid` ("1.3.6.1.4.1.57264.1.1") as text: for Fulcio's 1.1-1.6 the raw octets;
  // for 1.8 and later the DER UTF8String's contents. nullopt when absent.
  std::optional<std::string> extension_text(std::string_view oid) const;
  // Fulcio's OIDC issuer: extension 1.3.6.1.4.1.57264.1.8, else the deprecated 1.1. "" when neither.
  std::string oidc_issuer() const;
  // Embedded SCTs present (1.3.6.1.4.1.11129.2.4.2)?
  bool has_embedded_scts() const;

  // The fields certificate profiles check (Notation's code-signing and timestamping requirements).
  // Subject attributes in order as (short name, value): ("CN", "e2e"), ("O", "Notary"), ... (OpenSSL's short
  // names; an attribute without one as its dotted OID).
  std::vector<std::pair<std::string, std::string>> subject_attributes() const;
  struct Extensions {
    bool basic_constraints = false;  // the extension is present
    bool ca = false;
    long path_length = -1;            // -1: unlimited or absent
    bool key_usage = false;           // the extension is present
    unsigned key_usage_bits = 0;      // kKeyUsage* below
    std::vector<std::string> extended_key_usages;  // dotted OIDs, empty when the extension is absent
    std::vector<std::string> unhandled_critical;   // critical extensions OpenSSL does not understand
  };
  static constexpr unsigned kKeyUsageDigitalSignature = 0x80;
  static constexpr unsigned kKeyUsageKeyCertSign = 0x04;
  Extensions extensions() const;
  int key_bits() const;  // RSA modulus or EC field size; 0 when unknown
  // The subject equals the issuer and the signature verifies with the certificate's own key.
  bool self_signed() const;
  // `issuer`'s subject names this certificate's issuer and its key verifies this certificate's signature.
  bool issued_by(const Certificate& issuer) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
  std::string der_;
};

// Every CERTIFICATE block in a PEM bundle, in order. invalid_argument when none parse.
Result<std::vector<Certificate>> certificates_from_pem_bundle(std::string_view pem);

// Verifies that `leaf` chains to one of `roots` through `intermediates`, with every certificate valid at
// `at` (the Rekor integrated time or TSA time for Sigstore; X509_V_FLAG_USE_CHECK_TIME). Code signing EKU
// is not forced here (Fulcio leaf checks are the caller's). ok with nothing; permission_denied naming the
// OpenSSL reason ("certificate has expired", "unable to get local issuer certificate") otherwise.
Status verify_certificate_chain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                                const std::vector<Certificate>& roots, std::chrono::system_clock::time_point at);

std::string sha256(std::string_view data);      // raw 32 bytes
std::string sha256_hex(std::string_view data);  // lowercase hex
std::string sha_digest(HashAlgorithm hash, std::string_view data);  // raw bytes
std::string hex_encode(std::string_view bytes);
Result<std::string> hex_decode(std::string_view hex);
// Standard base64 (RFC 4648 §4) with padding; whitespace ignored. invalid_argument on bad input.
Result<std::string> base64_decode(std::string_view text);
Result<std::string> base64url_decode(std::string_view text);  // §5, padding optional
// The encoder is imagegate::base64_encode in common/text.h (included above), one for every floor.

}  // namespace imagegate::verifier
