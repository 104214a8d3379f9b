// A self-signed server certificate for the embedded demo (`imagegate serve` with no policy or config):
// an EC P-256 key and an X.509 v3 certificate for localhost (SAN DNS:localhost, IP:127.0.0.1), valid for
// 30 days, written as PEM into a directory (make_private_temp_directory makes one, mode 0700; the key file
// is created 0600).
//
// Not for production: a real deployment mounts a certificate from cert-manager or a Secret.
// Stateless; safe from any thread.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/result.h"

namespace imagegate::webhook {

struct SelfSignedFiles {
  std::filesystem::path cert_file;  // directory/tls.crt
  std::filesystem::path key_file;   // directory/tls.key
};

// A new directory, mode 0700, named `prefix` plus random characters, under the system temp dir.
Result<std::filesystem::path> make_private_temp_directory(std::string_view prefix);

// Generates the key and certificate into `directory` (tls.crt, tls.key; neither may exist yet).
Result<SelfSignedFiles> write_self_signed_certificate(const std::filesystem::path& directory);

}  // namespace imagegate::webhook
