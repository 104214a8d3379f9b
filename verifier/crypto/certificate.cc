// Certificate (verifier/crypto/crypto.h) over OpenSSL's X509: parsing from PEM and DER, the fields the
// Sigstore identity checks read (subject alternative names, Fulcio extensions, embedded SCTs), and chain
// verification at a given time.
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <memory>

#include "verifier/crypto/crypto.h"
#include "verifier/crypto/crypto_internal.h"
#include "verifier/crypto/openssl_handles.h"

namespace imagegate::verifier {

using namespace crypto_internal;  // NOLINT: this file is part of verifier/crypto's implementation

struct Certificate::Impl {
  X509Ptr x509;
};

namespace {

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

}  // namespace

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

std::vector<std::pair<std::string, std::string>> Certificate::subject_attributes() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!impl_) return out;
  const X509_NAME* name = X509_get_subject_name(impl_->x509.get());
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(entry);
    std::string key;
    if (const int nid = OBJ_obj2nid(obj); nid != NID_undef && OBJ_nid2sn(nid) != nullptr) {
      key = OBJ_nid2sn(nid);
    } else {
      char buf[128];
      const int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
      key = n > 0 ? std::string(buf, static_cast<std::size_t>(std::min<int>(n, sizeof buf - 1))) : "?";
    }
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    std::string value = len >= 0 ? to_string_view_bytes(utf8, static_cast<std::size_t>(len)) : std::string();
    OPENSSL_free(utf8);
    ERR_clear_error();
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

Certificate::Extensions Certificate::extensions() const {
  Extensions out;
  if (!impl_) return out;
  X509* x = impl_->x509.get();
  const uint32_t flags = X509_get_extension_flags(x);  // also caches the parsed extensions
  out.ca = (flags & EXFLAG_CA) != 0;
  out.basic_constraints = (flags & EXFLAG_BCONS) != 0;
  if (out.ca && X509_get_pathlen(x) >= 0) out.path_length = X509_get_pathlen(x);
  out.key_usage = (flags & EXFLAG_KUSAGE) != 0;
  out.key_usage_bits = X509_get_key_usage(x) & 0xff;
  if ((flags & EXFLAG_XKUSAGE) != 0) {
    using EkuPtr = std::unique_ptr<EXTENDED_KEY_USAGE, decltype([](EXTENDED_KEY_USAGE* e) { EXTENDED_KEY_USAGE_free(e); })>;
    EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(x, NID_ext_key_usage, nullptr, nullptr)));
    for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
      char buf[128];
      const int n = OBJ_obj2txt(buf, sizeof buf, sk_ASN1_OBJECT_value(eku.get(), i), 1);
      if (n > 0) out.extended_key_usages.emplace_back(buf, static_cast<std::size_t>(std::min<int>(n, sizeof buf - 1)));
    }
  }
  for (int i = 0; i < X509_get_ext_count(x); ++i) {
    X509_EXTENSION* ext = X509_get_ext(x, i);
    if (X509_EXTENSION_get_critical(ext) == 0 || X509_supported_extension(ext) == 1) continue;
    char buf[128];
    const int n = OBJ_obj2txt(buf, sizeof buf, X509_EXTENSION_get_object(ext), 1);
    out.unhandled_critical.emplace_back(n > 0 ? std::string(buf, static_cast<std::size_t>(std::min<int>(n, sizeof buf - 1))) : "?");
  }
  ERR_clear_error();
  return out;
}

int Certificate::key_bits() const {
  if (!impl_) return 0;
  const EVP_PKEY* key = X509_get0_pubkey(impl_->x509.get());
  ERR_clear_error();
  return key == nullptr ? 0 : EVP_PKEY_get_bits(key);
}

bool Certificate::issued_by(const Certificate& issuer) const {
  if (!impl_ || !issuer.impl_) return false;
  if (X509_NAME_cmp(X509_get_issuer_name(impl_->x509.get()), X509_get_subject_name(issuer.impl_->x509.get())) != 0) {
    return false;
  }
  EVP_PKEY* key = X509_get0_pubkey(issuer.impl_->x509.get());
  const bool ok = key != nullptr && X509_verify(impl_->x509.get(), key) == 1;
  ERR_clear_error();
  return ok;
}

bool Certificate::self_signed() const { return issued_by(*this); }

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

}  // namespace imagegate::verifier
