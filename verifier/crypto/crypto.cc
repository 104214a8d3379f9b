// OpenSSL 3 EVP underneath verifier/crypto/crypto.h: public keys (PEM, DER, bundles) and signature
// verification. Certificates are in certificate.cc, digests and byte encodings in encoding.cc. Every OpenSSL
// object is owned by a unique_ptr with its free function, and every failure path clears OpenSSL's per-thread
// error queue so one bad signature does not leave stale errors for the next caller on the same thread.
#include "verifier/crypto/crypto.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstring>
#include <ctime>

#include "verifier/crypto/crypto_internal.h"
#include "verifier/crypto/openssl_handles.h"

namespace imagegate::verifier {

namespace crypto_internal {


// RFC 7468 textual encoding. Explanatory text between blocks is skipped (openssl x509 -text writes it);
// RFC 1421 headers inside a block ("Proc-Type: ...") mark encrypted content and are refused.
Result<std::vector<PemBlock>> pem_blocks(std::string_view text) {
  static constexpr std::string_view kBegin = "-----BEGIN ";
  static constexpr std::string_view kDashes = "-----";
  std::vector<PemBlock> blocks;
  std::size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != std::string_view::npos) {
    const std::size_t label_start = pos + kBegin.size();
    const std::size_t label_end = text.find(kDashes, label_start);
    if (label_end == std::string_view::npos) return invalid_argument("PEM: unterminated BEGIN line");
    std::string label(text.substr(label_start, label_end - label_start));
    if (label.find('\n') != std::string::npos) return invalid_argument("PEM: malformed BEGIN line");
    const std::string end_line = "-----END " + label + "-----";
    const std::size_t body_start = label_end + kDashes.size();
    const std::size_t body_end = text.find(end_line, body_start);
    if (body_end == std::string_view::npos) return invalid_argument("PEM: no END line for " + label);
    std::string_view body = text.substr(body_start, body_end - body_start);
    if (body.find(':') != std::string_view::npos) return invalid_argument("PEM: encrypted or headed blocks are not supported");
    auto der = base64_decode(body);
    if (!der) return invalid_argument("PEM: " + label + " body is not base64");
    if (der->empty()) return invalid_argument("PEM: empty " + label + " block");
    blocks.push_back({std::move(label), std::move(*der)});
    pos = body_end + end_line.size();
  }
  return blocks;
}

const EVP_MD* evp_md(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::sha256: return EVP_sha256();
    case HashAlgorithm::sha384: return EVP_sha384();
    case HashAlgorithm::sha512: return EVP_sha512();
  }
  return EVP_sha256();
}


Result<X509Ptr> parse_x509_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    ERR_clear_error();
    return invalid_argument("not a DER X.509 certificate");
  }
  // Trailing bytes would let two different byte strings name the same certificate.
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return invalid_argument("trailing bytes after the certificate");
  }
  return cert;
}

}  // namespace crypto_internal

using namespace crypto_internal;  // NOLINT: the helpers this file defines for its siblings

struct PublicKey::Impl {
  EvpPkeyPtr pkey;
};


std::string_view to_string(KeyType type) noexcept {
  switch (type) {
    case KeyType::ecdsa_p256: return "ecdsa-p256";
    case KeyType::ecdsa_p384: return "ecdsa-p384";
    case KeyType::ecdsa_p521: return "ecdsa-p521";
    case KeyType::rsa: return "rsa";
    case KeyType::ed25519: return "ed25519";
  }
  return "unknown";
}

namespace {

// Classifies a parsed key, refusing what the header does not support: RSA under 2048 bits (factorable
// within reach; cosign refuses them too) and curves other than P-256/384/521.
Result<KeyType> classify_key(EVP_PKEY* pkey) {
  const int id = EVP_PKEY_get_base_id(pkey);
  if (id == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(pkey) < 2048) {
      return invalid_argument("RSA key of " + std::to_string(EVP_PKEY_get_bits(pkey)) +
                              " bits is too small (minimum 2048)");
    }
    return KeyType::rsa;
  }
  if (id == EVP_PKEY_ED25519) return KeyType::ed25519;
  if (id != EVP_PKEY_EC) return invalid_argument("unsupported public key type");
  std::array<char, 64> group{};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, group.data(), group.size(), &len) != 1) {
    ERR_clear_error();
    return invalid_argument("EC key without a named curve");
  }
  const std::string_view g(group.data(), len);
  if (g == "prime256v1" || g == "P-256") return KeyType::ecdsa_p256;
  if (g == "secp384r1" || g == "P-384") return KeyType::ecdsa_p384;
  if (g == "secp521r1" || g == "P-521") return KeyType::ecdsa_p521;
  return invalid_argument("unsupported EC curve " + std::string(g));
}

}  // namespace

Result<PublicKey> PublicKey::from_der(std::string_view spki_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(spki_der.data());
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!pkey) {
    ERR_clear_error();
    return invalid_argument("not a DER SubjectPublicKeyInfo");
  }
  if (p != reinterpret_cast<const unsigned char*>(spki_der.data()) + spki_der.size()) {
    return invalid_argument("trailing bytes after the public key");
  }
  auto type = classify_key(pkey.get());
  if (!type) return type.error();
  PublicKey key;
  key.type_ = *type;
  key.spki_der_ = std::string(spki_der);
  auto impl = std::make_shared<Impl>();
  impl->pkey = std::move(pkey);
  key.impl_ = std::move(impl);
  return key;
}

namespace crypto_internal {

Result<PublicKey> key_from_block(const PemBlock& block) {
  if (block.label == "PUBLIC KEY") return PublicKey::from_der(block.der);
  if (block.label == "RSA PUBLIC KEY") {
    // PKCS#1 RSAPublicKey: d2i_PublicKey reads it without the deprecated RSA_* API.
    const auto* p = reinterpret_cast<const unsigned char*>(block.der.data());
    EvpPkeyPtr pkey(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(block.der.size())));
    if (!pkey) {
      ERR_clear_error();
      return invalid_argument("RSA PUBLIC KEY block does not parse");
    }
    auto spki = der_of(i2d_PUBKEY, pkey.get(), internal_error("cannot encode the public key"));
    if (!spki) return spki.error();
    return PublicKey::from_der(*spki);
  }
  if (block.label == "CERTIFICATE") {
    auto x = parse_x509_der(block.der);
    if (!x) return x.error();
    const X509_PUBKEY* xpk = X509_get_X509_PUBKEY(x->get());
    auto spki = der_of(i2d_X509_PUBKEY, xpk, invalid_argument("certificate public key does not parse"));
    if (!spki) return spki.error();
    return PublicKey::from_der(*spki);
  }
  return invalid_argument("PEM block " + block.label + " is not a public key or certificate");
}

}  // namespace crypto_internal

Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  auto blocks = pem_blocks(pem);
  if (!blocks) return blocks.error();
  for (const auto& block : *blocks) {
    if (block.label == "PUBLIC KEY" || block.label == "RSA PUBLIC KEY" || block.label == "CERTIFICATE") {
      return key_from_block(block);
    }
  }
  return invalid_argument("no PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE block in the PEM text");
}

Result<std::vector<PublicKey>> public_keys_from_pem_bundle(std::string_view pem) {
  auto blocks = pem_blocks(pem);
  if (!blocks) return blocks.error();
  std::vector<PublicKey> keys;
  for (const auto& block : *blocks) {
    if (block.label != "PUBLIC KEY" && block.label != "RSA PUBLIC KEY" && block.label != "CERTIFICATE") continue;
    auto key = key_from_block(block);
    if (!key) return key.error();
    keys.push_back(std::move(*key));
  }
  if (keys.empty()) return invalid_argument("no public key in the PEM bundle");
  return keys;
}

namespace {

std::size_t digest_size(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::sha256: return 32;
    case HashAlgorithm::sha384: return 48;
    case HashAlgorithm::sha512: return 64;
  }
  return 32;
}

struct Resolved {
  SignatureScheme scheme;
  HashAlgorithm hash;
};

Result<Resolved> resolve_scheme(KeyType type, SignatureScheme scheme, std::optional<HashAlgorithm> hash) {
  const bool ec = type == KeyType::ecdsa_p256 || type == KeyType::ecdsa_p384 || type == KeyType::ecdsa_p521;
  if (scheme == SignatureScheme::automatic) {
    scheme = ec ? SignatureScheme::ecdsa_der
                : type == KeyType::rsa ? SignatureScheme::rsa_pkcs1v15 : SignatureScheme::ed25519;
  }
  const bool fits = ((scheme == SignatureScheme::ecdsa_der || scheme == SignatureScheme::ecdsa_raw) && ec) ||
                    ((scheme == SignatureScheme::rsa_pkcs1v15 || scheme == SignatureScheme::rsa_pss) &&
                     type == KeyType::rsa) ||
                    (scheme == SignatureScheme::ed25519 && type == KeyType::ed25519);
  if (!fits) return invalid_argument("signature scheme does not fit a " + std::string(to_string(type)) + " key");
  HashAlgorithm h = HashAlgorithm::sha256;
  if (hash) {
    h = *hash;
  } else if (type == KeyType::ecdsa_p384) {
    h = HashAlgorithm::sha384;
  } else if (type == KeyType::ecdsa_p521) {
    h = HashAlgorithm::sha512;
  }
  return Resolved{scheme, h};
}

// Notary v1 / TUF write ECDSA signatures as fixed-width big-endian r||s; OpenSSL verifies DER.
Result<std::string> raw_ecdsa_to_der(const EVP_PKEY* pkey, std::string_view raw) {
  const int bits = EVP_PKEY_get_bits(pkey);
  const std::size_t width = static_cast<std::size_t>((bits + 7) / 8);
  if (raw.size() != 2 * width) return Error{ErrorCode::permission_denied, "signature does not verify"};
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(width), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + width, static_cast<int>(width), nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ERR_clear_error();
    return internal_error("cannot build an ECDSA signature");
  }
  return der_of(i2d_ECDSA_SIG, sig.get(), internal_error("cannot encode an ECDSA signature"));
}

bool set_rsa_padding(EVP_PKEY_CTX* pctx, SignatureScheme scheme, const EVP_MD* md) {
  if (scheme == SignatureScheme::rsa_pss) {
    // Auto salt on verify accepts any salt length, including the digest length TUF uses.
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
  }
  if (scheme == SignatureScheme::rsa_pkcs1v15) return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  return true;
}

}  // namespace

Status PublicKey::verify(std::string_view message, std::string_view signature, SignatureScheme scheme,
                         std::optional<HashAlgorithm> hash) const {
  if (!impl_) return internal_error("empty public key");
  auto resolved = resolve_scheme(type_, scheme, hash);
  if (!resolved) return resolved.error();
  std::string converted;
  if (resolved->scheme == SignatureScheme::ecdsa_raw) {
    auto der = raw_ecdsa_to_der(impl_->pkey.get(), signature);
    if (!der) return der.error();
    converted = std::move(*der);
    signature = converted;
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return internal_error("out of memory");
  const EVP_MD* md = resolved->scheme == SignatureScheme::ed25519 ? nullptr : evp_md(resolved->hash);
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, impl_->pkey.get()) != 1 ||
      !set_rsa_padding(pctx, resolved->scheme, md)) {
    ERR_clear_error();
    return internal_error("cannot initialise signature verification");
  }
  const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                  signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
  ERR_clear_error();
  if (rc != 1) return permission_denied("signature does not verify");
  return Ok{};
}

Status PublicKey::verify_digest(std::string_view digest, HashAlgorithm hash, std::string_view signature,
                                SignatureScheme scheme) const {
  if (!impl_) return internal_error("empty public key");
  if (type_ == KeyType::ed25519) return invalid_argument("Ed25519 signs messages, not digests");
  if (digest.size() != digest_size(hash)) return invalid_argument("digest length does not match the hash");
  auto resolved = resolve_scheme(type_, scheme, hash);
  if (!resolved) return resolved.error();
  std::string converted;
  if (resolved->scheme == SignatureScheme::ecdsa_raw) {
    auto der = raw_ecdsa_to_der(impl_->pkey.get(), signature);
    if (!der) return der.error();
    converted = std::move(*der);
    signature = converted;
  }
  EvpPkeyCtxPtr pctx(EVP_PKEY_CTX_new(impl_->pkey.get(), nullptr));
  const EVP_MD* md = evp_md(hash);
  if (!pctx || EVP_PKEY_verify_init(pctx.get()) != 1 || !set_rsa_padding(pctx.get(), resolved->scheme, md) ||
      EVP_PKEY_CTX_set_signature_md(pctx.get(), md) != 1) {
    ERR_clear_error();
    return internal_error("cannot initialise signature verification");
  }
  const int rc = EVP_PKEY_verify(pctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                 signature.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                                 digest.size());
  ERR_clear_error();
  if (rc != 1) return permission_denied("signature does not verify");
  return Ok{};
}

}  // namespace imagegate::verifier
