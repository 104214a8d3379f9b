// Test helpers that attach signatures to images in a real registry (testing::LocalRegistry): cosign's
// classic `.sig` manifest (simple-signing payload layers with the signature annotation) and Sigstore bundles
// behind the OCI tag-schema referrers fallback (`sha256-<hex>` index). Blobs and manifests are uploaded with
// curl through the registry's own API (POST + PUT uploads, PUT manifests), as cosign does; the layouts are
// cosign's, written here because Debian has no cosign binary (issue 5). Signatures are made with OpenSSL.
// Header-only, used by tests/verifier and tests/webhook. Not thread-safe: one test thread drives it.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_support.h"
#include "verifier/signature/cosign/cosign.h"
#include "verifier/crypto/crypto.h"

namespace imagegate::testing {

struct SigningKey {
  std::shared_ptr<EVP_PKEY> key;
  std::string public_pem;

  // kind: "ec" (P-256), "rsa" (2048 bits) or "ed25519".
  static SigningKey generate(const std::string& kind = "ec") {
    EVP_PKEY* raw = nullptr;
    if (kind == "ec") raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    if (kind == "rsa") raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    if (kind == "ed25519") raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (raw == nullptr) throw std::runtime_error("could not generate a " + kind + " key");
    SigningKey out{std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free), ""};
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, raw);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    out.public_pem.assign(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  }

  // What cosign writes: SHA-256 digest-sign (ECDSA DER, RSA PKCS#1 v1.5), Ed25519 pure.
  std::string sign(const std::string& message) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ed = EVP_PKEY_is_a(key.get(), "ED25519") == 1;
    EVP_DigestSignInit(ctx, nullptr, ed ? nullptr : EVP_sha256(), nullptr, key.get());
    size_t len = 0;
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size());
    std::string out(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                   reinterpret_cast<const unsigned char*>(message.data()), message.size());
    out.resize(len);
    EVP_MD_CTX_free(ctx);
    return out;
  }
};

// Base of a fixture whose suite shares one LocalRegistry: started in SetUpTestSuite, where a failure is kept
// (not thrown) and reported by every test's SetUp. Derived is the fixture itself, so each suite has its own
// registry. A derived SetUp calls this one first and returns when HasFatalFailure(). Not thread-safe.
template <class Derived>
class LocalRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      registry_ = std::make_unique<LocalRegistry>();
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() { registry_.reset(); }
  void SetUp() override { ASSERT_TRUE(registry_) << "registry set-up failed: " << setup_error_; }

  static inline std::unique_ptr<LocalRegistry> registry_;
  static inline std::string setup_error_;
};

// cosign's simple-signing payload for `digest`.
inline std::string simple_signing_payload(const std::string& repository, const std::string& digest) {
  return R"({"critical":{"identity":{"docker-reference":")" + repository +
         R"("},"image":{"docker-manifest-digest":")" + digest +
         R"("},"type":"cosign container image signature"},"optional":null})";
}

class SignatureUploader {
 public:
  explicit SignatureUploader(const LocalRegistry& registry) : registry_(registry) {}

  // Uploads `bytes` as a blob of `repository` (name without host); returns its digest.
  std::string blob(const std::string& repository, const std::string& bytes) {
    const std::string digest = "sha256:" + verifier::sha256_hex(bytes);
    const auto body = write_temp(bytes);
    const auto headers = registry_.dir() / "upload.headers";
    curl({"-sS", "-f", "-X", "POST", "-D", headers.string(), "-o", "/dev/null",
          base() + "/v2/" + repository + "/blobs/uploads/"});
    std::string location;
    std::ifstream in(headers);
    for (std::string line; std::getline(in, line);) {
      if (line.size() > 10 && (line.rfind("Location:", 0) == 0 || line.rfind("location:", 0) == 0)) {
        location = line.substr(9);
        while (!location.empty() && (location.front() == ' ')) location.erase(0, 1);
        while (!location.empty() && (location.back() == '\r' || location.back() == ' ')) location.pop_back();
      }
    }
    if (location.empty()) throw std::runtime_error("no upload Location from the registry");
    if (location.rfind("http", 0) != 0) location = base() + location;
    location += (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
    curl({"-sS", "-f", "-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary",
          "@" + body.string(), "-o", "/dev/null", location});
    return digest;
  }

  // PUTs a manifest under `reference` (tag or digest); returns its digest.
  std::string manifest(const std::string& repository, const std::string& reference, const std::string& media_type,
                       const std::string& json) {
    const auto body = write_temp(json);
    curl({"-sS", "-f", "-X", "PUT", "-H", "Content-Type: " + media_type, "--data-binary", "@" + body.string(),
          "-o", "/dev/null", base() + "/v2/" + repository + "/manifests/" + reference});
    return "sha256:" + verifier::sha256_hex(json);
  }

  // A layer of a `.sig` manifest: the payload and its annotations.
  struct SigLayer {
    std::string payload;
    std::string signature;       // raw signature bytes (base64-encoded into the annotation); "" = none
    std::size_t claimed_size = 0;  // 0: the payload's size
  };

  // cosign's `.sig` manifest for `digest` in `repository`, with these layers.
  std::string attach_sig(const std::string& repository, const std::string& digest, const std::vector<SigLayer>& layers) {
    const std::string config = "{}";
    const std::string config_digest = blob(repository, config);
    nlohmann::json manifest_layers = nlohmann::json::array();
    for (const SigLayer& layer : layers) {
      const std::string d = blob(repository, layer.payload);
      nlohmann::json annotations = nlohmann::json::object();
      if (!layer.signature.empty()) annotations[verifier::kCosignSignatureAnnotation] = imagegate::base64_encode(layer.signature);
      manifest_layers.push_back({{"mediaType", "application/vnd.dev.cosign.simplesigning.v1+json"},
                                 {"digest", d},
                                 {"size", layer.claimed_size != 0 ? layer.claimed_size : layer.payload.size()},
                                 {"annotations", annotations}});
    }
    const nlohmann::json manifest{{"schemaVersion", 2},
                                  {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                  {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                              {"digest", config_digest},
                                              {"size", config.size()}}},
                                  {"layers", manifest_layers}};
    return this->manifest(repository, verifier::cosign_signature_tag(digest),
                          "application/vnd.oci.image.manifest.v1+json", manifest.dump());
  }

  // Sigstore bundles attached to `digest` in `repository` through the tag-schema fallback index.
  void attach_bundles(const std::string& repository, const std::string& digest, const std::vector<std::string>& bundles) {
    const std::string bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json";
    const std::string config = "{}";
    const std::string config_digest = blob(repository, config);
    nlohmann::json entries = nlohmann::json::array();
    for (const std::string& bundle : bundles) {
      const std::string d = blob(repository, bundle);
      const nlohmann::json m{{"schemaVersion", 2},
                             {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"artifactType", bundle_type},
                             {"config", {{"mediaType", "application/vnd.oci.empty.v1+json"},
                                         {"digest", config_digest},
                                         {"size", config.size()}}},
                             {"layers", {{{"mediaType", bundle_type}, {"digest", d}, {"size", bundle.size()}}}}};
      const std::string text = m.dump();
      const std::string md = this->manifest(repository, "sha256-" + verifier::sha256_hex(text).substr(0, 20),
                                            "application/vnd.oci.image.manifest.v1+json", text);
      entries.push_back({{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                         {"digest", md},
                         {"size", text.size()},
                         {"artifactType", bundle_type}});
    }
    const nlohmann::json index{{"schemaVersion", 2},
                               {"mediaType", "application/vnd.oci.image.index.v1+json"},
                               {"manifests", entries}};
    std::string tag = digest;
    tag[tag.find(':')] = '-';
    this->manifest(repository, tag, "application/vnd.oci.image.index.v1+json", index.dump());
  }

 private:
  std::string base() const { return "https://" + registry_.host(); }

  std::filesystem::path write_temp(const std::string& bytes) {
    const auto path = registry_.dir() / ("upload-" + std::to_string(++uploads_));
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // Runs curl through the shell (arguments quoted; they come from the test, not from the registry).
  void curl(std::vector<std::string> args) {
    args.insert(args.begin(), {"curl", "--max-time", "30", "--cacert", registry_.ca_file().string()});
    const auto log = registry_.dir() / "curl.log";
    std::string command;
    for (const std::string& arg : args) {
      std::string quoted = "'";
      for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      command += quoted + "' ";
    }
    command += "> '" + log.string() + "' 2>&1";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("curl failed: " + read_file(log));
  }

  const LocalRegistry& registry_;
  int uploads_ = 0;
};

}  // namespace imagegate::testing
