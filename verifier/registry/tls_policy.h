// The TLS imagegate speaks, in one place: as the webhook's server (webhook/server/tls_context.cc) and as a client
// of registries, notary-servers (verifier/registry/oci_registry_client.cc) and the verdict API (`imagegate verdict`,
// webhook/cli/https_request.cc). TLS 1.2 and 1.3 only; in TLS 1.2, ECDHE key exchange with AEAD ciphers only
// (forward secrecy: no static RSA key exchange; no CBC, no SHA-1 MACs; no DHE); ECDHE groups X25519, P-256,
// P-384; no compression, no renegotiation. TLS 1.3 suites are all AEAD (OpenSSL's defaults).
//
// A legacy registry that offers nothing better (registry.legacyTLSRegistries in the server configuration)
// gets a client context with TLS 1.2+ and OpenSSL's default cipher list (CBC and static RSA included):
// an explicit, per-registry opt-out, never a default.
//
// Thread-safety: the functions configure a context before it is shared; call them before any connection.
#pragma once

#include <openssl/ssl.h>

#include "common/result.h"

namespace imagegate::verifier {

// The TLS 1.2 cipher list: ECDHE + AEAD only.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* kTlsGroups = "X25519:P-256:P-384";

// Applies the policy above to a server or client context. internal when OpenSSL refuses a setting.
Status apply_tls_policy(SSL_CTX* ctx);

// For a client context of a registry listed as legacy: TLS 1.2+ (never 1.0/1.1), no compression or
// renegotiation, OpenSSL's default ciphers and groups.
Status apply_legacy_tls_policy(SSL_CTX* ctx);

}  // namespace imagegate::verifier
