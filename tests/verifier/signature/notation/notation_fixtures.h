// Test-time Notation material: envelopes (JWS JSON and COSE_Sign1) signed on the spot with keys and
// certificate chains from signing_fixtures.h, trust stores laid out as notation's in a temporary
// directory, and trust policy files. Nothing here is committed key material.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/rfc3339.h"

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "tests/verifier/signature/signing_fixtures.h"
#include "verifier/signature/notation/cbor.h"
#include "verifier/signature/notation/notation.h"

namespace imagegate::testing::notation {

namespace fs = std::filesystem;
using namespace imagegate::verifier::notation;

inline std::string base64url(std::string_view bytes) {
  std::string s = base64_encode(bytes);
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

// What to sign and how.
struct EnvelopeSpec {
  std::string digest = "sha256:" + std::string(64, 'a');
  std::int64_t size = 1234;
  std::string media_type = "application/vnd.oci.image.manifest.v1+json";
  std::string algorithm = "PS256";  // PS256 (RSA 2048 key) or ES256 (P-256 key)
  std::string scheme = "notary.x509";
  std::chrono::system_clock::time_point signing_time = std::chrono::system_clock::now() - std::chrono::minutes(5);
  std::optional<std::chrono::system_clock::time_point> expiry;
  std::vector<std::string> critical = {"io.cncf.notary.signingScheme"};  // expiry / authenticSigningTime added
  nlohmann::json extra_protected = nlohmann::json::object();            // extended attributes
  std::vector<std::string> chain_der;                                    // leaf first
  std::optional<std::string> timestamp_token;
};

inline std::string payload_of(const EnvelopeSpec& spec) {
  return nlohmann::json{{"targetArtifact", {{"digest", spec.digest}, {"size", spec.size}, {"mediaType", spec.media_type}}}}.dump();
}

inline std::vector<std::string> critical_of(const EnvelopeSpec& spec) {
  std::vector<std::string> crit = spec.critical;
  if (spec.expiry) crit.push_back("io.cncf.notary.expiry");
  if (spec.scheme == "notary.x509.signingAuthority") crit.push_back("io.cncf.notary.authenticSigningTime");
  return crit;
}

inline std::string sign_with(const TestKey& key, const std::string& algorithm, std::string_view input) {
  if (algorithm == "ES256") return key.sign_raw_ecdsa(input, EVP_sha256());
  const EVP_MD* md = algorithm == "PS384" ? EVP_sha384() : algorithm == "PS512" ? EVP_sha512() : EVP_sha256();
  return key.sign(input, md, true);
}

inline std::string make_jws(const EnvelopeSpec& spec, const TestKey& key) {
  nlohmann::json prot = spec.extra_protected;
  prot["alg"] = spec.algorithm;
  prot["cty"] = "application/vnd.cncf.notary.payload.v1+json";
  prot["crit"] = critical_of(spec);
  prot["io.cncf.notary.signingScheme"] = spec.scheme;
  prot[spec.scheme == "notary.x509" ? "io.cncf.notary.signingTime" : "io.cncf.notary.authenticSigningTime"] = format_rfc3339(spec.signing_time);
  if (spec.expiry) prot["io.cncf.notary.expiry"] = format_rfc3339(*spec.expiry);
  const std::string protected_b64 = base64url(prot.dump());
  const std::string payload_b64 = base64url(payload_of(spec));
  const std::string signature = sign_with(key, spec.algorithm, protected_b64 + "." + payload_b64);
  nlohmann::json header = {{"io.cncf.notary.signingAgent", "imagegate-test"}};
  header["x5c"] = nlohmann::json::array();
  for (const auto& der : spec.chain_der) header["x5c"].push_back(base64_encode(der));
  if (spec.timestamp_token) header["io.cncf.notary.timestampSignature"] = base64_encode(*spec.timestamp_token);
  return nlohmann::json{{"payload", payload_b64}, {"protected", protected_b64}, {"header", header},
                        {"signature", base64url(signature)}}.dump();
}

inline void cbor_text(std::string& out, std::string_view s) {
  cbor::encode_head(out, 3, s.size());
  out += s;
}
inline void cbor_bytes(std::string& out, std::string_view s) {
  cbor::encode_head(out, 2, s.size());
  out += s;
}
inline void cbor_int(std::string& out, std::int64_t v) {
  if (v >= 0) cbor::encode_head(out, 0, static_cast<std::uint64_t>(v));
  else cbor::encode_head(out, 1, static_cast<std::uint64_t>(-1 - v));
}
inline void cbor_time(std::string& out, std::chrono::system_clock::time_point t) {
  cbor::encode_head(out, 6, 1);
  cbor_int(out, std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

inline std::string make_cose(const EnvelopeSpec& spec, const TestKey& key) {
  const std::vector<std::string> crit = critical_of(spec);
  std::string prot;
  cbor::encode_head(prot, 5, spec.expiry ? 6 : 5);
  cbor_int(prot, 1);
  cbor_int(prot, spec.algorithm == "ES256" ? -7 : spec.algorithm == "PS384" ? -38 : -37);
  cbor_int(prot, 2);
  cbor::encode_head(prot, 4, crit.size());
  for (const auto& c : crit) cbor_text(prot, c);
  cbor_int(prot, 3);
  cbor_text(prot, "application/vnd.cncf.notary.payload.v1+json");
  cbor_text(prot, "io.cncf.notary.signingScheme");
  cbor_text(prot, spec.scheme);
  cbor_text(prot, spec.scheme == "notary.x509" ? "io.cncf.notary.signingTime" : "io.cncf.notary.authenticSigningTime");
  cbor_time(prot, spec.signing_time);
  if (spec.expiry) {
    cbor_text(prot, "io.cncf.notary.expiry");
    cbor_time(prot, *spec.expiry);
  }
  const std::string payload = payload_of(spec);
  std::string to_sign;
  cbor::encode_head(to_sign, 4, 4);
  cbor_text(to_sign, "Signature1");
  cbor_bytes(to_sign, prot);
  cbor_bytes(to_sign, "");
  cbor_bytes(to_sign, payload);
  const std::string signature = sign_with(key, spec.algorithm, to_sign);

  std::string out;
  cbor::encode_head(out, 6, 18);
  cbor::encode_head(out, 4, 4);
  cbor_bytes(out, prot);
  cbor::encode_head(out, 5, spec.timestamp_token ? 2 : 1);
  cbor_int(out, 33);
  cbor::encode_head(out, 4, spec.chain_der.size());
  for (const auto& der : spec.chain_der) cbor_bytes(out, der);
  if (spec.timestamp_token) {
    cbor_text(out, "io.cncf.notary.timestampSignature");
    cbor_bytes(out, *spec.timestamp_token);
  }
  cbor_bytes(out, payload);
  cbor_bytes(out, signature);
  return out;
}

inline TargetArtifact target_of(const EnvelopeSpec& spec, std::string reference = "registry.test/app") {
  return TargetArtifact{std::move(reference), spec.digest, spec.size, spec.media_type};
}

// A scratch directory removed at destruction, with helpers to lay out a notation trust store.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("imagegate-notation-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string write(const std::string& relative, const std::string& text) const {
    const fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  // truststore/x509/<type>/<store>/<file> holding `text`.
  void store(const std::string& type, const std::string& store, const std::string& file, const std::string& text) const {
    write("truststore/x509/" + type + "/" + store + "/" + file, text);
  }
  // The same as a symlink to a file read in place (conformance vectors).
  void link(const std::string& type, const std::string& store, const fs::path& target) const {
    const fs::path dir = path_ / "truststore" / "x509" / type / store;
    fs::create_directories(dir);
    fs::create_symlink(target, dir / target.filename());
  }
  std::string trust_store() const { return (path_ / "truststore").string(); }

 private:
  fs::path path_;
};

// A one-statement trust policy document.
inline std::string policy_json(const std::string& level, const std::vector<std::string>& stores,
                               const std::vector<std::string>& identities, const std::string& scope = "*",
                               const nlohmann::json& extra_verification = nlohmann::json::object()) {
  nlohmann::json verification = extra_verification;
  verification["level"] = level;
  nlohmann::json st = {{"name", "test"}, {"registryScopes", {scope}}, {"signatureVerification", verification}};
  if (!stores.empty()) st["trustStores"] = stores;
  if (!identities.empty()) st["trustedIdentities"] = identities;
  return nlohmann::json{{"version", "1.0"}, {"trustPolicies", {st}}}.dump(2);
}

}  // namespace imagegate::testing::notation
