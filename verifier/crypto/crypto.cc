// OpenSSL 3 EVP underneath verifier/crypto/crypto.h. Every OpenSSL object is owned by a unique_ptr with its free
// function, and every failure path clears OpenSSL's per-thread error queue so one bad signature does not
// leave stale errors for the next caller on the same thread.
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

#include "verifier/crypto/openssl_handles.h"

namespace imagegate::verifier {

namespace {

Error permission_denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

std::string to_string_view_bytes(const unsigned char* data, std::size_t len) {
  return std::string(reinterpret_cast<const char*>(data), len);
}

// One "-----BEGIN LABEL-----" block of a PEM text, its body base64-decoded.
struct PemBlock {
  std::string label;
  std::string der;
};

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

std::size_t digest_size(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::sha256: return 32;
    case HashAlgorithm::sha384: return 48;
    case HashAlgorithm::sha512: return 64;
  }
  return 32;
}

std::chrono::system_clock::time_point asn1_time_point(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::chrono::system_clock::time_point{};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
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

}  // namespace

struct PublicKey::Impl {
  EvpPkeyPtr pkey;
};

struct Certificate::Impl {
  X509Ptr x509;
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

namespace {

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
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(pkey.get(), &der);
    if (len <= 0) {
      ERR_clear_error();
      return internal_error("cannot encode the public key");
    }
    std::string spki(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return PublicKey::from_der(spki);
  }
  if (block.label == "CERTIFICATE") {
    auto x = parse_x509_der(block.der);
    if (!x) return x.error();
    const X509_PUBKEY* xpk = X509_get_X509_PUBKEY(x->get());
    unsigned char* der = nullptr;
    const int len = xpk != nullptr ? i2d_X509_PUBKEY(xpk, &der) : -1;
    if (len <= 0) {
      ERR_clear_error();
      return invalid_argument("certificate public key does not parse");
    }
    std::string spki(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return PublicKey::from_der(spki);
  }
  return invalid_argument("PEM block " + block.label + " is not a public key or certificate");
}

}  // namespace

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
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) {
    ERR_clear_error();
    return internal_error("cannot encode an ECDSA signature");
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
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

Result<Certificate> Certificate::from_der(std::string_view der) {
  auto x = parse_x509_der(der);
  if (!x) return x.error();
  Certificate cert;
  auto impl = std::make_shared<Impl>();
  impl->x509 = std::move(*x);
  cert.impl_ = std::move(impl);
  cert.der_ = std::string(der);
  return cert;
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  auto blocks = pem_blocks(pem);
  if (!blocks) return blocks.error();
  for (const auto& block : *blocks) {
    if (block.label == "CERTIFICATE") return from_der(block.der);
  }
  return invalid_argument("no CERTIFICATE block in the PEM text");
}

Result<std::vector<Certificate>> certificates_from_pem_bundle(std::string_view pem) {
  auto blocks = pem_blocks(pem);
  if (!blocks) return blocks.error();
  std::vector<Certificate> certs;
  for (const auto& block : *blocks) {
    if (block.label != "CERTIFICATE") continue;
    auto cert = Certificate::from_der(block.der);
    if (!cert) return invalid_argument("certificate " + std::to_string(certs.size() + 1) + ": " + cert.error().message);
    certs.push_back(std::move(*cert));
  }
  if (certs.empty()) return invalid_argument("no certificate in the PEM bundle");
  return certs;
}

std::string Certificate::pem() const {
  const std::string b64 = base64_encode(der_);
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) {
    out += b64.substr(i, 64);
    out += '\n';
  }
  out += "-----END CERTIFICATE-----\n";
  return out;
}

PublicKey Certificate::public_key() const {
  // A certificate whose key we do not support yields an empty key; verify() then says so.
  auto key = key_from_block(PemBlock{"CERTIFICATE", der_});
  return key ? std::move(*key) : PublicKey{};
}

std::chrono::system_clock::time_point Certificate::not_before() const {
  return impl_ ? asn1_time_point(X509_get0_notBefore(impl_->x509.get())) : std::chrono::system_clock::time_point{};
}

std::chrono::system_clock::time_point Certificate::not_after() const {
  return impl_ ? asn1_time_point(X509_get0_notAfter(impl_->x509.get())) : std::chrono::system_clock::time_point{};
}

bool Certificate::is_ca() const {
  return impl_ && (X509_get_extension_flags(impl_->x509.get()) & EXFLAG_CA) != 0;
}

std::string Certificate::subject() const { return impl_ ? name_text(X509_get_subject_name(impl_->x509.get())) : ""; }
std::string Certificate::issuer() const { return impl_ ? name_text(X509_get_issuer_name(impl_->x509.get())) : ""; }

std::vector<std::string> Certificate::subject_alternative_names() const {
  std::vector<std::string> out;
  if (!impl_) return out;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(impl_->x509.get(), NID_subject_alt_name, nullptr, nullptr)));
  ERR_clear_error();
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    const ASN1_STRING* s = nullptr;
    switch (gn->type) {
      case GEN_EMAIL:
      case GEN_URI:
      case GEN_DNS:
        s = gn->d.ia5;
        break;
      case GEN_OTHERNAME:
        // Fulcio's username SAN (1.3.6.1.4.1.57264.1.7) is an otherName holding a UTF8String.
        if (gn->d.otherName->value != nullptr && gn->d.otherName->value->type == V_ASN1_UTF8STRING) {
          s = gn->d.otherName->value->value.utf8string;
        }
        break;
      default:
        break;
    }
    if (s != nullptr) out.push_back(to_string_view_bytes(ASN1_STRING_get0_data(s), static_cast<std::size_t>(ASN1_STRING_length(s))));
  }
  return out;
}

std::optional<std::string> Certificate::extension_text(std::string_view oid) const {
  if (!impl_) return std::nullopt;
  Asn1ObjectPtr obj(OBJ_txt2obj(std::string(oid).c_str(), 1));
  if (!obj) {
    ERR_clear_error();
    return std::nullopt;
  }
  const int idx = X509_get_ext_by_OBJ(impl_->x509.get(), obj.get(), -1);
  if (idx < 0) return std::nullopt;
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(impl_->x509.get(), idx));
  if (data == nullptr) return std::nullopt;
  std::string raw = to_string_view_bytes(ASN1_STRING_get0_data(data), static_cast<std::size_t>(ASN1_STRING_length(data)));
  // Fulcio's extensions 1.1-1.6 hold the raw string; 1.8 onwards hold a DER UTF8String
  // (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
  static constexpr std::string_view kFulcio = "1.3.6.1.4.1.57264.1.";
  if (oid.substr(0, kFulcio.size()) == kFulcio) {
    const std::string_view arc = oid.substr(kFulcio.size());
    int n = 0;
    for (char c : arc) {
      if (c < '0' || c > '9' || n > 100000) return raw;
      n = n * 10 + (c - '0');
    }
    if (n >= 8) {
      const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
      Asn1Utf8StringPtr s(d2i_ASN1_UTF8STRING(nullptr, &p, static_cast<long>(raw.size())));
      if (!s) {
        ERR_clear_error();
        return std::nullopt;  // malformed: treat as absent rather than as a string an attacker shaped
      }
      return to_string_view_bytes(ASN1_STRING_get0_data(s.get()), static_cast<std::size_t>(ASN1_STRING_length(s.get())));
    }
  }
  return raw;
}

std::string Certificate::oidc_issuer() const {
  if (auto v = extension_text("1.3.6.1.4.1.57264.1.8")) return *v;
  if (auto v = extension_text("1.3.6.1.4.1.57264.1.1")) return *v;
  return "";
}

bool Certificate::has_embedded_scts() const {
  return impl_ && X509_get_ext_by_NID(impl_->x509.get(), NID_ct_precert_scts, -1) >= 0;
}

Status verify_certificate_chain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                                const std::vector<Certificate>& roots, std::chrono::system_clock::time_point at) {
  if (roots.empty()) return permission_denied("no trusted root certificates");
  // Parse our own copies: Certificate's X509 is const-shared, and OpenSSL's store takes references.
  auto leaf_x = parse_x509_der(leaf.der());
  if (!leaf_x) return leaf_x.error();
  X509StorePtr store(X509_STORE_new());
  X509StackViewPtr untrusted(sk_X509_new_null());
  if (!store || !untrusted) return internal_error("out of memory");
  std::vector<X509Ptr> owned;
  for (const auto& root : roots) {
    auto x = parse_x509_der(root.der());
    if (!x) return x.error();
    if (X509_STORE_add_cert(store.get(), x->get()) != 1) ERR_clear_error();  // duplicates are harmless
    owned.push_back(std::move(*x));
  }
  for (const auto& inter : intermediates) {
    auto x = parse_x509_der(inter.der());
    if (!x) return x.error();
    if (sk_X509_push(untrusted.get(), x->get()) <= 0) return internal_error("out of memory");
    owned.push_back(std::move(*x));
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf_x->get(), untrusted.get()) != 1) {
    ERR_clear_error();
    return internal_error("cannot initialise chain verification");
  }
  // The caller's roots are trust anchors even when not self-signed (a configured Fulcio intermediate).
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_PARTIAL_CHAIN);
  // The verification time is the signing time (Rekor integrated time), not now: sets USE_CHECK_TIME.
  X509_STORE_CTX_set_time(ctx.get(), 0, std::chrono::system_clock::to_time_t(at));
  const int rc = X509_verify_cert(ctx.get());
  if (rc != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return permission_denied(X509_verify_cert_error_string(err));
  }
  return Ok{};
}

std::string sha_digest(HashAlgorithm hash, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, evp_md(hash), nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return to_string_view_bytes(md.data(), len);
}

std::string sha256(std::string_view data) { return sha_digest(HashAlgorithm::sha256, data); }
std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

std::string hex_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

Result<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return invalid_argument("hex string of odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return invalid_argument("not a hex string");
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

namespace {

// RFC 4648 decoding for both alphabets. Whitespace is skipped (PEM bodies, wrapped JSON). Padding may be
// omitted, but when present it must be complete and final.
Result<std::string> base64_decode_with(std::string_view text, bool url) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned int acc = 0;
  int bits = 0;
  std::size_t chars = 0;
  std::size_t padding = 0;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return invalid_argument("base64: data after padding");
    int v = -1;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == (url ? '-' : '+')) {
      v = 62;
    } else if (c == (url ? '_' : '/')) {
      v = 63;
    }
    if (v < 0) return invalid_argument("base64: invalid character");
    ++chars;
    acc = (acc << 6) | static_cast<unsigned int>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (chars % 4 == 1) return invalid_argument("base64: truncated input");
  if (padding > 0 && (chars + padding) % 4 != 0) return invalid_argument("base64: wrong padding");
  if (padding > 2) return invalid_argument("base64: wrong padding");
  return out;
}

}  // namespace

Result<std::string> base64_decode(std::string_view text) { return base64_decode_with(text, false); }
Result<std::string> base64url_decode(std::string_view text) { return base64_decode_with(text, true); }

}  // namespace imagegate::verifier
