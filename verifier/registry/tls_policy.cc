#include "verifier/registry/tls_policy.h"

namespace imagegate::verifier {

Status apply_legacy_tls_policy(SSL_CTX* ctx) {
  // TLS 1.0/1.1 are refused by the minimum version; SSLv2/3 are gone from OpenSSL 3 altogether.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return internal_error("tls: cannot set protocol versions");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return Ok{};
}

Status apply_tls_policy(SSL_CTX* ctx) {
  if (auto s = apply_legacy_tls_policy(ctx); !s) return s;
  // Only ECDHE with AEAD for TLS 1.2. No static RSA, no CBC, no DHE.
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return internal_error("tls: cannot set the TLS 1.2 cipher list");
  }
  if (SSL_CTX_set1_groups_list(ctx, kTlsGroups) != 1) {
    return internal_error("tls: cannot set the key exchange groups");
  }
  return Ok{};
}

}  // namespace imagegate::verifier
