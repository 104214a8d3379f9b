// Internal to verifier/crypto/: what crypto.cc (keys, signatures), certificate.cc and encoding.cc share.
// Not for other rooms; OpenSSL types appear here, never in crypto.h.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/crypto/crypto.h"
#include "verifier/crypto/openssl_handles.h"

namespace imagegate::verifier {

namespace crypto_internal {

inline Error permission_denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

inline std::string to_string_view_bytes(const unsigned char* data, std::size_t len) {
  return std::string(reinterpret_cast<const char*>(data), len);
}

// One "-----BEGIN LABEL-----" block of a PEM text, its body base64-decoded.
struct PemBlock {
  std::string label;
  std::string der;
};

// RFC 7468 textual encoding. Explanatory text between blocks is skipped (openssl x509 -text writes it);
// RFC 1421 headers inside a block ("Proc-Type: ...") mark encrypted content and are refused.
Result<std::vector<PemBlock>> pem_blocks(std::string_view text);

const EVP_MD* evp_md(HashAlgorithm hash);

// A DER certificate, refused when trailing bytes follow it.
Result<X509Ptr> parse_x509_der(std::string_view der);

// The key of a "PUBLIC KEY", "RSA PUBLIC KEY" or "CERTIFICATE" block.
Result<PublicKey> key_from_block(const PemBlock& block);

}  // namespace crypto_internal
}  // namespace imagegate::verifier
