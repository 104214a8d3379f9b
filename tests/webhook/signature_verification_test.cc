// AnchorSet: anchors loaded from a policy (keys inline and from files, load errors that fail only their
// anchor), and the offline check of fetched cosign signatures against a key anchor: valid signatures for
// ECDSA P-256, RSA and Ed25519 keys made here with OpenSSL, and the negative cases (tampered payload byte,
// tampered signature, wrong key, a signature for another digest, nothing fetched, unreadable layers).
// The registry side (fetching from a real docker-registry) is covered by tests/e2e/signatures_test.sh.
#include "webhook/signature_verification.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <variant>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "policy/compiled_policy.h"
#include "policy/policy.h"

namespace imagegate::webhook {
namespace {

using verifier::AnchorCheck;

struct KeyPair {
  std::shared_ptr<EVP_PKEY> key;
  std::string public_pem;
};

KeyPair generate(const std::string& kind) {
  EVP_PKEY* raw = nullptr;
  if (kind == "ec") raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (kind == "rsa") raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  if (kind == "ed25519") raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  KeyPair pair{std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free), ""};
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, raw);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  pair.public_pem.assign(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return pair;
}

// cosign's signature: SHA-256 digest-sign (ECDSA DER, RSA PKCS#1 v1.5), Ed25519 pure.
std::string sign(const KeyPair& pair, const std::string& message) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ed = EVP_PKEY_is_a(pair.key.get(), "ED25519") == 1;
  EVP_DigestSignInit(ctx, nullptr, ed ? nullptr : EVP_sha256(), nullptr, pair.key.get());
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  std::string out(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                 reinterpret_cast<const unsigned char*>(message.data()), message.size());
  out.resize(len);
  EVP_MD_CTX_free(ctx);
  return out;
}

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kOtherDigest = "sha256:" + std::string(64, 'b');

std::string payload_for(const std::string& digest) {
  return R"({"critical":{"identity":{"docker-reference":"registry.example.com/app"},"image":{"docker-manifest-digest":")" +
         digest + R"("},"type":"cosign container image signature"},"optional":null})";
}

LoadedAnchor key_anchor(const KeyPair& pair) {
  LoadedAnchor anchor;
  anchor.name = "release";
  anchor.kind = LoadedAnchor::Kind::cosign_key;
  auto key = verifier::PublicKey::from_pem(pair.public_pem);
  EXPECT_TRUE(key.ok()) << (key.ok() ? "" : key.error().message);
  if (key) anchor.key = *key;
  return anchor;
}

verifier::FetchedSignatures fetched_with(std::string payload, std::string signature) {
  verifier::FetchedSignatures fetched;
  fetched.digest = kDigest;
  verifier::CosignSignature s;
  s.payload = std::move(payload);
  s.signature = std::move(signature);
  fetched.cosign.push_back(std::move(s));
  return fetched;
}

AnchorCheck check(const LoadedAnchor& anchor, const verifier::FetchedSignatures& fetched) {
  return AnchorSet::check_fetched(anchor, fetched, std::chrono::system_clock::now());
}

class KeySignatures : public testing::TestWithParam<std::string> {};

TEST_P(KeySignatures, ValidSignatureVerifiesAndNamesTheSigner) {
  const KeyPair pair = generate(GetParam());
  const std::string payload = payload_for(kDigest);
  const AnchorCheck c = check(key_anchor(pair), fetched_with(payload, sign(pair, payload)));
  EXPECT_EQ(c.status, AnchorCheck::Status::verified) << c.detail;
  ASSERT_EQ(c.signers.size(), 1U);
  EXPECT_NE(c.detail.find(c.signers[0]), std::string::npos);
}

TEST_P(KeySignatures, TamperedPayloadByteFails) {
  const KeyPair pair = generate(GetParam());
  std::string payload = payload_for(kDigest);
  const std::string signature = sign(pair, payload);
  payload[payload.find("registry")] = 'R';
  const AnchorCheck c = check(key_anchor(pair), fetched_with(payload, signature));
  EXPECT_EQ(c.status, AnchorCheck::Status::failed);
  EXPECT_NE(c.detail.find("1 signature, none verified"), std::string::npos) << c.detail;
}

TEST_P(KeySignatures, TamperedSignatureFails) {
  const KeyPair pair = generate(GetParam());
  const std::string payload = payload_for(kDigest);
  std::string signature = sign(pair, payload);
  signature[signature.size() / 2] = static_cast<char>(signature[signature.size() / 2] ^ 0x01);
  EXPECT_EQ(check(key_anchor(pair), fetched_with(payload, signature)).status, AnchorCheck::Status::failed);
}

TEST_P(KeySignatures, WrongKeyFails) {
  const KeyPair pair = generate(GetParam());
  const KeyPair other = generate(GetParam());
  const std::string payload = payload_for(kDigest);
  EXPECT_EQ(check(key_anchor(other), fetched_with(payload, sign(pair, payload))).status, AnchorCheck::Status::failed);
}

TEST_P(KeySignatures, SignatureForAnotherDigestFailsNamingIt) {
  const KeyPair pair = generate(GetParam());
  const std::string payload = payload_for(kOtherDigest);
  const AnchorCheck c = check(key_anchor(pair), fetched_with(payload, sign(pair, payload)));
  EXPECT_EQ(c.status, AnchorCheck::Status::failed);
  EXPECT_NE(c.detail.find(kOtherDigest), std::string::npos) << c.detail;
}

INSTANTIATE_TEST_SUITE_P(Keys, KeySignatures, testing::Values("ec", "rsa", "ed25519"));

TEST(AnchorCheckTest, OneGoodSignatureAmongBadOnesVerifies) {
  const KeyPair pair = generate("ec");
  const std::string payload = payload_for(kDigest);
  verifier::FetchedSignatures fetched = fetched_with(payload, "garbage");
  verifier::CosignSignature good;
  good.payload = payload;
  good.signature = sign(pair, payload);
  fetched.cosign.push_back(good);
  EXPECT_EQ(check(key_anchor(pair), fetched).status, AnchorCheck::Status::verified);
}

TEST(AnchorCheckTest, NothingFetchedIsNoSignaturesFound) {
  verifier::FetchedSignatures fetched;
  fetched.digest = kDigest;
  const AnchorCheck c = check(key_anchor(generate("ec")), fetched);
  EXPECT_EQ(c.status, AnchorCheck::Status::failed);
  EXPECT_EQ(c.detail, "no signatures found");
  fetched.skipped.push_back("signature layer 1: payload of 300000 bytes exceeds 262144");
  EXPECT_NE(check(key_anchor(generate("ec")), fetched).detail.find("exceeds 262144"), std::string::npos);
}

TEST(AnchorCheckTest, LoadErrorFailsTheAnchor) {
  LoadedAnchor anchor;
  anchor.name = "broken";
  anchor.load_error = "keyFile: cannot read /nope.pem";
  const AnchorCheck c = check(anchor, fetched_with("x", "y"));
  EXPECT_EQ(c.status, AnchorCheck::Status::failed);
  EXPECT_NE(c.detail.find("/nope.pem"), std::string::npos);
}

TEST(AnchorCheckTest, ToEvidenceKeepsStatusAndDetail) {
  EXPECT_EQ(to_evidence({AnchorCheck::Status::verified, "ok", {}}).status, policy::EvidenceStatus::verified);
  EXPECT_EQ(to_evidence({AnchorCheck::Status::failed, "no", {}}).status, policy::EvidenceStatus::failed);
  EXPECT_EQ(to_evidence({AnchorCheck::Status::unavailable, "down", {}}).detail, "down");
}

TEST(AnchorSetTest, BuildsFromPolicyAndIsolatesLoadErrors) {
  const KeyPair pair = generate("ec");
  const auto dir = std::filesystem::temp_directory_path() / ("imagegate-anchors-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "key.pub") << pair.public_pem;
  std::ofstream(dir / "bad.pub") << "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  std::string indented;
  for (char ch : pair.public_pem) {
    indented += ch;
    if (ch == '\n') indented += "          ";
  }
  const std::string yaml = "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: t}\nspec:\n"
                           "  trustAnchors:\n"
                           "    - name: from-file\n      cosign: {keyFile: " + (dir / "key.pub").string() + "}\n"
                           "    - name: missing\n      cosign: {keyFile: " + (dir / "missing.pub").string() + "}\n"
                           "    - name: bad\n      cosign: {keyFile: " + (dir / "bad.pub").string() + "}\n"
                           "    - name: inline\n      cosign:\n        key: |\n          " + indented + "\n"
                           "    - name: roots-missing\n      keyless:\n        issuer: https://issuer.example\n"
                           "        subjectRegExp: '.*@example\\.com'\n        trustedRoot: " +
                           (dir / "nope.json").string() + "\n"
                           "  rules:\n    - name: r\n      match: {images: ['**']}\n"
                           "      signatures: {anchors: [from-file, missing, bad, inline, roots-missing]}\n";
  policy::PolicyResult loaded = policy::load_policy(yaml, "t.yaml");
  if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
    FAIL() << (*diagnostics)[0].to_string();
  }
  auto policy = std::get<std::shared_ptr<const policy::CompiledPolicy>>(loaded);
  auto set = AnchorSet::build(*policy, RegistryConfig{});
  EXPECT_EQ(set->policy_version(), policy::version_of(*policy));
  ASSERT_NE(set->find("from-file"), nullptr);
  EXPECT_EQ(set->find("from-file")->load_error, "");
  EXPECT_TRUE(set->find("from-file")->key.has_value());
  EXPECT_EQ(set->find("inline")->load_error, "");
  EXPECT_NE(set->find("missing")->load_error.find("missing.pub"), std::string::npos);
  EXPECT_NE(set->find("bad")->load_error.find("bad.pub"), std::string::npos);
  EXPECT_NE(set->find("roots-missing")->load_error.find("nope.json"), std::string::npos);
  EXPECT_EQ(set->find("roots-missing")->kind, LoadedAnchor::Kind::keyless);
  EXPECT_EQ(set->find("unknown"), nullptr);
  // The loaded key verifies what the file's key signed.
  const std::string payload = payload_for(kDigest);
  EXPECT_EQ(check(*set->find("from-file"), fetched_with(payload, sign(pair, payload))).status,
            AnchorCheck::Status::verified);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace imagegate::webhook
