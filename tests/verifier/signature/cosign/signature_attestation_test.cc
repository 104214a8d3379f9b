// Attestations are not signatures (issue 13, the policy-controller CVE-2022-35930 pattern): a Sigstore bundle
// whose DSSE envelope carries an in-toto statement about the image digest -- an SPDX SBOM, a cosign
// vulnerability scan, a SLSA provenance, cosign's attestation predicate types -- signed by the anchor's key
// is not a signature of the image (cosign 3's own signature predicate, exactly, is the one exception), and check_fetched (verifier/signature/anchor_material.h, a cosign key anchor's CosignVerifier) fails the anchor naming it. The control: a message
// signature bundle over the same manifest by the same key verifies. Keys are made here with OpenSSL; the
// bundles are key-based (no transparency log: the key is the trust, as imagegate reads them).
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/signature_registry.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/sigstore/sigstore_bundle.h"
#include "verifier/signature/anchor_material.h"
#include "verifier/signature/cosign/cosign_verifier.h"

namespace imagegate::verifier {
namespace {

using verifier::AnchorCheck;
using json = nlohmann::json;

// The image: its manifest, and the digest that names it.
const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]})";
const std::string kDigestHex = verifier::sha256_hex(kManifest);
const std::string kDigest = "sha256:" + kDigestHex;

json verification_material() { return {{"publicKey", {{"hint", "release"}}}}; }

// An in-toto statement about the image digest, DSSE-signed by `key`: what `cosign attest --type spdx` (or
// sigstore-js attest) writes.
std::string attestation(const testing::SigningKey& key, const std::string& predicate_type,
                        const std::string& subject_hex = kDigestHex) {
  const std::string payload_type = "application/vnd.in-toto+json";
  const std::string statement =
      json{{"_type", "https://in-toto.io/Statement/v1"},
           {"subject", json::array({json{{"name", "registry.example/app"}, {"digest", {{"sha256", subject_hex}}}}})},
           {"predicateType", predicate_type},
           {"predicate", json::object()}}
          .dump();
  const std::string sig = key.sign(verifier::dsse_pae(payload_type, statement));
  return json{{"mediaType", verifier::kSigstoreBundleMediaTypeV03},
              {"verificationMaterial", verification_material()},
              {"dsseEnvelope",
               {{"payload", imagegate::base64_encode(statement)},
                {"payloadType", payload_type},
                {"signatures", json::array({json{{"sig", imagegate::base64_encode(sig)}}})}}}}
      .dump();
}

// A message signature over the manifest (its SHA-256 is the image digest) by `key`.
std::string message_signature(const testing::SigningKey& key) {
  return json{{"mediaType", verifier::kSigstoreBundleMediaTypeV03},
              {"verificationMaterial", verification_material()},
              {"messageSignature",
               {{"messageDigest", {{"algorithm", "SHA2_256"}, {"digest", imagegate::base64_encode(verifier::sha256(kManifest))}}},
                {"signature", imagegate::base64_encode(key.sign(kManifest))}}}}
      .dump();
}

LoadedAnchor key_anchor(const testing::SigningKey& key) {
  LoadedAnchor anchor;
  anchor.name = "release";
  anchor.kind = LoadedAnchor::Kind::cosign_key;
  auto loaded = verifier::PublicKey::from_pem(key.public_pem);
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
  if (loaded) anchor.verifier = verifier::CosignVerifier::with_key(*loaded);
  return anchor;
}

AnchorCheck check(const testing::SigningKey& key, std::vector<std::string> bundles) {
  verifier::FetchedSignatures fetched;
  fetched.digest = kDigest;
  fetched.bundles = std::move(bundles);
  return check_fetched(key_anchor(key), fetched, std::chrono::system_clock::now());
}

class AttestationBundles : public ::testing::TestWithParam<std::string> {};

TEST_P(AttestationBundles, AttestationByTheAnchorKeyIsNotASignature) {
  const testing::SigningKey key = testing::SigningKey::generate("ec");
  const std::string bundle = attestation(key, GetParam());
  // The attestation itself is genuine: the library verifier accepts it as a DSSE bundle over the digest.
  verifier::Artifact artifact;
  artifact.digest = verifier::sha256(kManifest);
  verifier::BundleTrust trust;
  trust.key = verifier::PublicKey::from_pem(key.public_pem).value();
  trust.tlog_threshold = 0;
  ASSERT_TRUE(verifier::verify_sigstore_bundle(bundle, artifact, verifier::TrustedRoot{}, trust).ok());

  const AnchorCheck c = check(key, {bundle});
  EXPECT_EQ(c.status, AnchorCheck::Status::failed) << c.detail;
  EXPECT_TRUE(c.signers.empty());
  EXPECT_NE(c.detail.find("no signatures found"), std::string::npos) << c.detail;
  EXPECT_NE(c.detail.find("is an attestation"), std::string::npos) << c.detail;
  EXPECT_NE(c.detail.find("not a signature"), std::string::npos) << c.detail;
  EXPECT_NE(c.detail.find(GetParam()), std::string::npos) << c.detail;
}

INSTANTIATE_TEST_SUITE_P(PredicateTypes, AttestationBundles,
                         ::testing::Values("https://spdx.dev/Document",                       // SBOM
                                           "https://cosign.sigstore.dev/attestation/vuln/v1",  // cosign vuln scan
                                           "https://cosign.sigstore.dev/attestation/v1",       // cosign custom
                                           "https://slsa.dev/provenance/v1",
                                           // near misses of cosign 3's signature predicate (below): refused
                                           "https://sigstore.dev/cosign/sign/v2",
                                           "HTTPS://SIGSTORE.DEV/cosign/sign/v1",
                                           "https://sigstore.dev/cosign/sign/v1/x"));

// cosign 3 signs an image as a DSSE statement of exactly this predicate type about the image (`cosign
// verify` calls it a "cosign container image signature"): that one is a signature, about this digest only.
TEST(AttestationBundlesTest, Cosign3SignatureStatementIsASignature) {
  const testing::SigningKey key = testing::SigningKey::generate("ec");
  const std::string predicate(verifier::kCosignSignPredicateType);
  const AnchorCheck c = check(key, {attestation(key, predicate)});
  EXPECT_EQ(c.status, AnchorCheck::Status::verified) << c.detail;
  EXPECT_EQ(c.signers.size(), 1U);
  const AnchorCheck other_image = check(key, {attestation(key, predicate, std::string(64, 'e'))});
  EXPECT_EQ(other_image.status, AnchorCheck::Status::failed) << other_image.detail;
  const AnchorCheck other_key = check(key, {attestation(testing::SigningKey::generate("ec"), predicate)});
  EXPECT_EQ(other_key.status, AnchorCheck::Status::failed) << other_key.detail;
}

TEST(AttestationBundlesTest, MessageSignatureByTheSameKeyVerifies) {
  const testing::SigningKey key = testing::SigningKey::generate("ec");
  const AnchorCheck c = check(key, {message_signature(key)});
  EXPECT_EQ(c.status, AnchorCheck::Status::verified) << c.detail;
  ASSERT_EQ(c.signers.size(), 1U);
}

TEST(AttestationBundlesTest, SignatureBesideAttestationsVerifiesAndAttestationsAreNotCounted) {
  const testing::SigningKey key = testing::SigningKey::generate("ec");
  const testing::SigningKey other = testing::SigningKey::generate("ec");
  EXPECT_EQ(check(key, {attestation(key, "https://spdx.dev/Document"), message_signature(key)}).status,
            AnchorCheck::Status::verified);
  // Another key's signature beside this key's attestation: one signature read, none verified.
  const AnchorCheck c = check(key, {attestation(key, "https://spdx.dev/Document"), message_signature(other)});
  EXPECT_EQ(c.status, AnchorCheck::Status::failed);
  EXPECT_NE(c.detail.find("1 signature, none verified"), std::string::npos) << c.detail;
  EXPECT_NE(c.detail.find("is an attestation"), std::string::npos) << c.detail;
}

TEST(AttestationBundlesTest, NonInTotoEnvelopeIsNamedByItsPayloadType) {
  const testing::SigningKey key = testing::SigningKey::generate("ec");
  json bundle = json::parse(attestation(key, "https://spdx.dev/Document"));
  bundle["dsseEnvelope"]["payloadType"] = "application/vnd.cncf.notary.payload.v1+json";
  const AnchorCheck c = check(key, {bundle.dump()});
  EXPECT_EQ(c.status, AnchorCheck::Status::failed);
  EXPECT_NE(c.detail.find("DSSE payloadType \"application/vnd.cncf.notary.payload.v1+json\""), std::string::npos)
      << c.detail;
}

}  // namespace
}  // namespace imagegate::verifier
