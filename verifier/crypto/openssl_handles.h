// Owning handles for OpenSSL objects: std::unique_ptr with a deleter that calls the object's *_free
// function, so every early return frees what was allocated. Internal to the .cc files that call OpenSSL
// directly (verifier/ and webhook/); public headers never expose OpenSSL types. A handle is as thread-safe as
// the object it owns (not at all, unless OpenSSL says so).
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace imagegate::verifier {

// Calls Free on the pointer (OpenSSL's *_free functions accept nullptr).
template <auto Free>
struct OpenSslDeleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

template <class T, auto Free>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<Free>>;

// STACK_OF(X509) is freed by macros, which have no address: these functions do it.
// The stack owns its certificates: frees them too.
inline void free_x509_stack(STACK_OF(X509) * stack) { sk_X509_pop_free(stack, X509_free); }
// The certificates stay owned elsewhere: frees only the stack.
inline void free_x509_stack_only(STACK_OF(X509) * stack) { sk_X509_free(stack); }

using BioPtr = OpenSslPtr<BIO, BIO_free>;
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using X509StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509ExtensionPtr = OpenSslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509StackPtr = OpenSslPtr<STACK_OF(X509), free_x509_stack>;
using X509StackViewPtr = OpenSslPtr<STACK_OF(X509), free_x509_stack_only>;
using GeneralNamesPtr = OpenSslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using EcdsaSigPtr = OpenSslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using Asn1ObjectPtr = OpenSslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
using Asn1Utf8StringPtr = OpenSslPtr<ASN1_UTF8STRING, ASN1_UTF8STRING_free>;
using Asn1OctetStringPtr = OpenSslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using TsRespPtr = OpenSslPtr<TS_RESP, TS_RESP_free>;
using Pkcs7Ptr = OpenSslPtr<PKCS7, PKCS7_free>;
using TsTstInfoPtr = OpenSslPtr<TS_TST_INFO, TS_TST_INFO_free>;
using TsVerifyCtxPtr = OpenSslPtr<TS_VERIFY_CTX, TS_VERIFY_CTX_free>;

// The DER an OpenSSL i2d_* function writes for `object` (its buffer freed here). `failure` when `object`
// is null or nothing is written; OpenSSL's error queue is cleared then.
template <class I2d, class T>
Result<std::string> der_of(I2d i2d, T* object, Error failure) {
  unsigned char* der = nullptr;
  const int len = object != nullptr ? i2d(object, &der) : -1;
  if (len <= 0) {
    ERR_clear_error();
    return failure;
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace imagegate::verifier
