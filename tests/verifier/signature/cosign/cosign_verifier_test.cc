// The offline check of fetched cosign signatures against a key anchor (CosignVerifier through
// check_fetched): valid signatures for ECDSA P-256, RSA and Ed25519 keys made here with OpenSSL, and the
// negative cases (tampered payload byte, tampered signature, wrong key, a signature for another digest,
// nothing fetched, unreadable layers, an anchor that could not be loaded).
#include "verifier/signature/cosign/cosign_verifier.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "tests/signature_registry.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/anchor_material.h"

namespace imagegate::verifier {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kOtherDigest = "sha256:" + std::string(64, 'b');

std::string payload_for(const std::string& digest) {
  return R"({"critical":{"identity":{"docker-reference":"registry.example.com/app"},"image":{"docker-manifest-digest":")" +
         digest + R"("},"type":"cosign container image signature"},"optional":null})";
}

LoadedAnchor key_anchor(const testing::SigningKey& pair) {
  LoadedAnchor anchor;
  anchor.name = "release";
  anchor.kind = LoadedAnchor::Kind::cosign_key;
  auto key = PublicKey::from_pem(pair.public_pem);
  EXPECT_TRUE(key.ok()) << (key.ok() ? "" : key.error().message);
  if (key) anchor.verifier = CosignVerifier::with_key(*key);
  return anchor;
}

FetchedSignatures fetched_with(std::string payload, std::string signature) {
  FetchedSignatures fetched;
  fetched.digest = kDigest;
  CosignSignature s;
  s.payload = std::move(payload);
  s.signature = std::move(signature);
  fetched.cosign.push_back(std::move(s));
  return fetched;
}

AnchorCheck check(const LoadedAnchor& anchor, const FetchedSignatures& fetched) {
  return check_fetched(anchor, fetched, std::chrono::system_clock::now());
}

class KeySignatures : public ::testing::TestWithParam<std::string> {};

TEST_P(KeySignatures, ValidSignatureVerifiesAndNamesTheSigner) {
  const testing::SigningKey pair = testing::SigningKey::generate(GetParam());
  const std::string payload = payload_for(kDigest);
  const AnchorCheck c = check(key_anchor(pair), fetched_with(payload, pair.sign(payload)));
  EXPECT_EQ(c.status, AnchorCheck::Status::verified) << c.detail;
  ASSERT_EQ(c.signers.size(), 1U);
  EXPECT_NE(c.detail.find(c.signers[0]), std::string::npos);
}

TEST_P(KeySignatures, TamperedPayloadByteFails) {
  const testing::SigningKey pair = testing::SigningKey::generate(GetParam());
  std::string payload = payload_for(kDigest);
  const std::string signature = pair.sign(payload);
  payload[payload.find("registry")] = 'R';
  const AnchorCheck c = check(key_anchor(pair), fetched_with(payload, signature));
  EXPECT_EQ(c.status, AnchorCheck::Status::failed);
  EXPECT_NE(c.detail.find("1 signature, none verified"), std::string::npos) << c.detail;
}

TEST_P(KeySignatures, TamperedSignatureFails) {
  const testing::SigningKey pair = testing::SigningKey::generate(GetParam());
  const std::string payload = payload_for(kDigest);
  std::string signature = pair.sign(payload);
  signature[signature.size() / 2] = static_cast<char>(signature[signature.size() / 2] ^ 0x01);
  EXPECT_EQ(check(key_anchor(pair), fetched_with(payload, signature)).status, AnchorCheck::Status::failed);
}

TEST_P(KeySignatures, WrongKeyFails) {
  const testing::SigningKey pair = testing::SigningKey::generate(GetParam());
  const testing::SigningKey other = testing::SigningKey::generate(GetParam());
  const std::string payload = payload_for(kDigest);
  EXPECT_EQ(check(key_anchor(other), fetched_with(payload, pair.sign(payload))).status, AnchorCheck::Status::failed);
}

TEST_P(KeySignatures, SignatureForAnotherDigestFailsNamingIt) {
  const testing::SigningKey pair = testing::SigningKey::generate(GetParam());
  const std::string payload = payload_for(kOtherDigest);
  const AnchorCheck c = check(key_anchor(pair), fetched_with(payload, pair.sign(payload)));
  EXPECT_EQ(c.status, AnchorCheck::Status::failed);
  EXPECT_NE(c.detail.find(kOtherDigest), std::string::npos) << c.detail;
}

INSTANTIATE_TEST_SUITE_P(Keys, KeySignatures, ::testing::Values("ec", "rsa", "ed25519"));

TEST(AnchorCheckTest, OneGoodSignatureAmongBadOnesVerifies) {
  const testing::SigningKey pair = testing::SigningKey::generate("ec");
  const std::string payload = payload_for(kDigest);
  FetchedSignatures fetched = fetched_with(payload, "garbage");
  CosignSignature good;
  good.payload = payload;
  good.signature = pair.sign(payload);
  fetched.cosign.push_back(good);
  EXPECT_EQ(check(key_anchor(pair), fetched).status, AnchorCheck::Status::verified);
}

TEST(AnchorCheckTest, NothingFetchedIsNoSignaturesFound) {
  FetchedSignatures fetched;
  fetched.digest = kDigest;
  const AnchorCheck c = check(key_anchor(testing::SigningKey::generate("ec")), fetched);
  EXPECT_EQ(c.status, AnchorCheck::Status::failed);
  EXPECT_EQ(c.detail, "no signatures found");
  fetched.skipped.push_back("signature layer 1: payload of 300000 bytes exceeds 262144");
  EXPECT_NE(check(key_anchor(testing::SigningKey::generate("ec")), fetched).detail.find("exceeds 262144"),
            std::string::npos);
}

TEST(AnchorCheckTest, LoadErrorFailsTheAnchor) {
  LoadedAnchor anchor;
  anchor.name = "broken";
  anchor.load_error = "keyFile: cannot read /nope.pem";
  const AnchorCheck c = check(anchor, fetched_with("x", "y"));
  EXPECT_EQ(c.status, AnchorCheck::Status::failed);
  EXPECT_NE(c.detail.find("/nope.pem"), std::string::npos);
}

}  // namespace
}  // namespace imagegate::verifier
