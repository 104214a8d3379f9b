// Test-time signing material: keys generated per test run and certificates issued on the spot with the
// OpenSSL API, so no private key is ever committed and every validity window, SAN and Fulcio extension a
// negative test needs is made exactly. Header-only; used by the verifier tests.
#pragma once

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace imagegate::testing {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL fixture step failed: ") + what);
}

// A freshly generated key pair.
class TestKey {
 public:
  static TestKey ec(const char* curve = "P-256") { return TestKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve)); }
  static TestKey rsa(std::size_t bits = 2048) {
    return TestKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
  }
  static TestKey ed25519() { return TestKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")); }

  EVP_PKEY* get() const { return key_.get(); }

  std::string public_pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    check(PEM_write_bio_PUBKEY(bio, key_.get()) == 1, "PEM_write_bio_PUBKEY");
    std::string out = drain(bio);
    BIO_free(bio);
    return out;
  }
  std::string public_der() const {
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key_.get(), &der);
    check(len > 0, "i2d_PUBKEY");
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
  }

  // md nullptr for Ed25519. pss: RSA-PSS with salt length = digest length.
  std::string sign(std::string_view message, const EVP_MD* md = EVP_sha256(), bool pss = false) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    check(EVP_DigestSignInit(ctx, &pctx, EVP_PKEY_get_base_id(key_.get()) == EVP_PKEY_ED25519 ? nullptr : md,
                             nullptr, key_.get()) == 1,
          "EVP_DigestSignInit");
    if (pss) {
      check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1, "pss padding");
      check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1, "pss salt");
    }
    std::size_t len = 0;
    check(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(message.data()),
                         message.size()) == 1,
          "EVP_DigestSign size");
    std::string sig(len, '\0');
    check(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                         reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1,
          "EVP_DigestSign");
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    return sig;
  }

  // ECDSA as fixed-width r||s (Notary v1 / TUF).
  std::string sign_raw_ecdsa(std::string_view message, const EVP_MD* md = EVP_sha256()) const {
    const std::string der = sign(message, md);
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    check(sig != nullptr, "d2i_ECDSA_SIG");
    const int width = (EVP_PKEY_get_bits(key_.get()) + 7) / 8;
    std::string out(static_cast<std::size_t>(2 * width), '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), width);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data()) + width, width);
    ECDSA_SIG_free(sig);
    return out;
  }

  static std::string drain(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(len));
  }

 private:
  explicit TestKey(EVP_PKEY* k) : key_(k, PkeyDeleter{}) { check(k != nullptr, "keygen"); }
  std::shared_ptr<EVP_PKEY> key_;
};

// What a certificate should say.
struct CertSpec {
  std::string common_name = "test";
  std::chrono::system_clock::time_point not_before = std::chrono::system_clock::now() - std::chrono::hours(1);
  std::chrono::system_clock::time_point not_after = std::chrono::system_clock::now() + std::chrono::hours(1);
  bool ca = false;
  std::vector<std::string> san_emails;
  std::vector<std::string> san_uris;
  std::string san_othername_utf8;  // Fulcio username SAN (1.3.6.1.4.1.57264.1.7)
  // Fulcio extensions: OID text -> value. .1.1-.1.6 stored raw, .1.8+ as DER UTF8String.
  std::vector<std::pair<std::string, std::string>> fulcio_extensions;
  long serial = 1;
  bool code_signing = true;  // extKeyUsage codeSigning on a leaf (else serverAuth)
  // Subject attributes before O and CN, e.g. {{"C", "US"}, {"ST", "WA"}} (Notation identities need C, ST, O).
  std::vector<std::pair<std::string, std::string>> subject_prefix;
  std::string organization = "imagegate-test";
};

class TestCert {
 public:
  // Self-signed when issuer is nullptr.
  static TestCert issue(const CertSpec& spec, const TestKey& subject_key, const TestCert* issuer,
                        const TestKey& issuer_key) {
    X509* x = X509_new();
    check(x != nullptr, "X509_new");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), spec.serial);
    ASN1_TIME_set(X509_getm_notBefore(x), std::chrono::system_clock::to_time_t(spec.not_before));
    ASN1_TIME_set(X509_getm_notAfter(x), std::chrono::system_clock::to_time_t(spec.not_after));
    check(X509_set_pubkey(x, subject_key.get()) == 1, "X509_set_pubkey");
    X509_NAME* name = X509_get_subject_name(x);
    for (const auto& [field, value] : spec.subject_prefix) {
      X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_ASC, reinterpret_cast<const unsigned char*>(value.c_str()),
                                 -1, -1, 0);
    }
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.organization.c_str()), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer->get()) : name);

    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer != nullptr ? issuer->get() : x, x, nullptr, nullptr, 0);
    add_ext(x, &v3, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, &v3, NID_key_usage, spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_ext(x, &v3, NID_subject_key_identifier, "hash");
    if (issuer != nullptr || spec.ca) add_ext(x, &v3, NID_authority_key_identifier, "keyid:always");
    if (!spec.ca) add_ext(x, &v3, NID_ext_key_usage, spec.code_signing ? "codeSigning" : "serverAuth");

    GENERAL_NAMES* sans = sk_GENERAL_NAME_new_null();
    for (const auto& e : spec.san_emails) push_ia5(sans, GEN_EMAIL, e);
    for (const auto& u : spec.san_uris) push_ia5(sans, GEN_URI, u);
    if (!spec.san_othername_utf8.empty()) {
      GENERAL_NAME* gn = GENERAL_NAME_new();
      ASN1_TYPE* value = ASN1_TYPE_new();
      ASN1_UTF8STRING* s = ASN1_UTF8STRING_new();
      ASN1_STRING_set(s, spec.san_othername_utf8.data(), static_cast<int>(spec.san_othername_utf8.size()));
      ASN1_TYPE_set(value, V_ASN1_UTF8STRING, s);
      check(GENERAL_NAME_set0_othername(gn, OBJ_txt2obj("1.3.6.1.4.1.57264.1.7", 1), value) == 1, "othername");
      sk_GENERAL_NAME_push(sans, gn);
    }
    if (sk_GENERAL_NAME_num(sans) > 0) {
      check(X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 1, X509V3_ADD_DEFAULT) == 1, "SAN");
    }
    GENERAL_NAMES_free(sans);

    for (const auto& [oid, value] : spec.fulcio_extensions) {
      std::string der_value = value;
      const std::string prefix = "1.3.6.1.4.1.57264.1.";
      if (oid.rfind(prefix, 0) == 0 && std::stoi(oid.substr(prefix.size())) >= 8) {
        ASN1_UTF8STRING* s = ASN1_UTF8STRING_new();
        ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
        unsigned char* der = nullptr;
        const int len = i2d_ASN1_UTF8STRING(s, &der);
        der_value.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
        OPENSSL_free(der);
        ASN1_UTF8STRING_free(s);
      }
      ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
      ASN1_OCTET_STRING_set(data, reinterpret_cast<const unsigned char*>(der_value.data()),
                            static_cast<int>(der_value.size()));
      ASN1_OBJECT* obj = OBJ_txt2obj(oid.c_str(), 1);
      X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, data);
      check(ext != nullptr && X509_add_ext(x, ext, -1) == 1, "fulcio extension");
      X509_EXTENSION_free(ext);
      ASN1_OBJECT_free(obj);
      ASN1_OCTET_STRING_free(data);
    }
    const bool ed = EVP_PKEY_get_base_id(issuer_key.get()) == EVP_PKEY_ED25519;
    check(X509_sign(x, issuer_key.get(), ed ? nullptr : EVP_sha256()) > 0, "X509_sign");
    return TestCert(x);
  }

  X509* get() const { return cert_.get(); }
  std::string der() const {
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert_.get(), &der);
    check(len > 0, "i2d_X509");
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
  }
  std::string pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    check(PEM_write_bio_X509(bio, cert_.get()) == 1, "PEM_write_bio_X509");
    std::string out = TestKey::drain(bio);
    BIO_free(bio);
    return out;
  }

 private:
  explicit TestCert(X509* x) : cert_(x, X509Deleter{}) {}
  static void add_ext(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
    check(ext != nullptr && X509_add_ext(x, ext, -1) == 1, "X509V3 extension");
    X509_EXTENSION_free(ext);
  }
  static void push_ia5(GENERAL_NAMES* sans, int type, const std::string& value) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
    GENERAL_NAME_set0_value(gn, type, s);
    sk_GENERAL_NAME_push(sans, gn);
  }
  std::shared_ptr<X509> cert_;
};

}  // namespace imagegate::testing
