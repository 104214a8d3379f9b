#include "webhook/server/self_signed.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "verifier/crypto/openssl_handles.h"

namespace imagegate::webhook {

namespace {

struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};

// Adds an extension given in OpenSSL's config syntax ("DNS:localhost,IP:127.0.0.1").
bool add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  verifier::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

}  // namespace

Result<std::filesystem::path> make_private_temp_directory(std::string_view prefix) {
  std::error_code ec;
  const auto base = std::filesystem::temp_directory_path(ec);
  if (ec) return internal_error("no temporary directory: " + ec.message());
  std::string pattern = (base / (std::string(prefix) + "XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {  // creates it 0700
    return internal_error("cannot create a directory under " + base.string());
  }
  return std::filesystem::path(buf.data());
}

Result<SelfSignedFiles> write_self_signed_certificate(const std::filesystem::path& directory) {
  SelfSignedFiles files;
  files.cert_file = directory / "tls.crt";
  files.key_file = directory / "tls.key";

  verifier::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return internal_error("self-signed: EC P-256 key generation failed");

  verifier::X509Ptr cert(X509_new());
  if (!cert) return internal_error("self-signed: out of memory");
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return internal_error("self-signed: no randomness");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr;
  BN_free(bn);
  if (!serial_ok) return internal_error("self-signed: cannot set the serial number");
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60 * 5);  // tolerate a little clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 30);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("imagegate demo"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  // Clients check the SAN, never the CN (RFC 6125); curl --cacert tls.crt https://localhost or 127.0.0.1 works.
  if (!add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !add_extension(cert.get(), NID_subject_key_identifier, "hash")) {
    return internal_error("self-signed: cannot add the certificate extensions");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return internal_error("self-signed: signing failed");

  {
    // The key file is created 0600 from the start, never briefly world-readable.
    const int fd = ::open(files.key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    std::unique_ptr<FILE, FileClose> out(fd >= 0 ? ::fdopen(fd, "w") : nullptr);
    if (fd >= 0 && !out) ::close(fd);
    if (!out || PEM_write_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return internal_error("self-signed: cannot write " + files.key_file.string());
    }
  }
  {
    const int fd = ::open(files.cert_file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    std::unique_ptr<FILE, FileClose> out(fd >= 0 ? ::fdopen(fd, "w") : nullptr);
    if (fd >= 0 && !out) ::close(fd);
    if (!out || PEM_write_X509(out.get(), cert.get()) != 1) {
      return internal_error("self-signed: cannot write " + files.cert_file.string());
    }
  }
  return files;
}

}  // namespace imagegate::webhook
