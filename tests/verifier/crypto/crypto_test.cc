// verifier/crypto/crypto.h: every key type and signature scheme against signatures made at test time, the
// negatives a verifier must refuse, X.509 chains at a chosen time, and the Sigstore identity fields.
#include "verifier/crypto/crypto.h"

#include <gtest/gtest.h>

#include "tests/test_support.h"
#include "tests/verifier/signature/signing_fixtures.h"

namespace imagegate::verifier {
namespace {

using imagegate::testing::CertSpec;
using imagegate::testing::TestCert;
using imagegate::testing::TestKey;
using std::chrono::hours;
using std::chrono::system_clock;

constexpr std::string_view kMessage = "{\"critical\":{\"type\":\"cosign container image signature\"}}";

PublicKey must_key(const std::string& pem) {
  auto k = PublicKey::from_pem(pem);
  if (!k) ADD_FAILURE() << k.error().message;
  return k ? *k : PublicKey{};
}

std::string flip_last(std::string s) {
  s.back() = static_cast<char>(s.back() ^ 0x01);
  return s;
}

TEST(Crypto, EcdsaP256DerVerifiesAndRefusesTampering) {
  auto key = TestKey::ec("P-256");
  PublicKey pub = must_key(key.public_pem());
  EXPECT_EQ(pub.type(), KeyType::ecdsa_p256);
  EXPECT_EQ(pub.spki_der(), key.public_der());
  const std::string sig = key.sign(kMessage);
  EXPECT_TRUE(pub.verify(kMessage, sig).ok());
  EXPECT_TRUE(pub.verify(kMessage, sig, SignatureScheme::ecdsa_der).ok());
  std::string tampered(kMessage);
  tampered[3] ^= 0x20;
  auto r = pub.verify(tampered, sig);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::permission_denied);
  EXPECT_EQ(r.error().message, "signature does not verify");
  EXPECT_FALSE(pub.verify(kMessage, flip_last(sig)).ok());
  EXPECT_FALSE(pub.verify(kMessage, "").ok());
  EXPECT_FALSE(pub.verify(kMessage, "garbage that is not DER").ok());
  // Wrong key.
  PublicKey other = must_key(TestKey::ec("P-256").public_pem());
  EXPECT_EQ(other.verify(kMessage, sig).error().code, ErrorCode::permission_denied);
}

TEST(Crypto, EcdsaCurvesUseTheirDefaultHash) {
  auto p384 = TestKey::ec("P-384");
  PublicKey pub384 = must_key(p384.public_pem());
  EXPECT_EQ(pub384.type(), KeyType::ecdsa_p384);
  EXPECT_TRUE(pub384.verify(kMessage, p384.sign(kMessage, EVP_sha384())).ok());
  EXPECT_FALSE(pub384.verify(kMessage, p384.sign(kMessage, EVP_sha256())).ok());
  EXPECT_TRUE(pub384.verify(kMessage, p384.sign(kMessage, EVP_sha256()), SignatureScheme::automatic,
                            HashAlgorithm::sha256)
                  .ok());
  auto p521 = TestKey::ec("P-521");
  PublicKey pub521 = must_key(p521.public_pem());
  EXPECT_EQ(pub521.type(), KeyType::ecdsa_p521);
  EXPECT_TRUE(pub521.verify(kMessage, p521.sign(kMessage, EVP_sha512())).ok());
}

TEST(Crypto, EcdsaRawRAndS) {
  auto key = TestKey::ec("P-256");
  PublicKey pub = must_key(key.public_pem());
  const std::string raw = key.sign_raw_ecdsa(kMessage);
  ASSERT_EQ(raw.size(), 64U);
  EXPECT_TRUE(pub.verify(kMessage, raw, SignatureScheme::ecdsa_raw).ok());
  EXPECT_FALSE(pub.verify(kMessage, flip_last(raw), SignatureScheme::ecdsa_raw).ok());
  EXPECT_FALSE(pub.verify(kMessage, raw.substr(0, 63), SignatureScheme::ecdsa_raw).ok());
  // The raw bytes are not DER: the default scheme must not accept them.
  EXPECT_FALSE(pub.verify(kMessage, raw).ok());
  // Digest form.
  EXPECT_TRUE(pub.verify_digest(sha256(kMessage), HashAlgorithm::sha256, raw, SignatureScheme::ecdsa_raw).ok());
}

TEST(Crypto, RsaPkcs1AndPss) {
  auto key = TestKey::rsa(2048);
  PublicKey pub = must_key(key.public_pem());
  EXPECT_EQ(pub.type(), KeyType::rsa);
  const std::string pkcs1 = key.sign(kMessage);
  const std::string pss = key.sign(kMessage, EVP_sha256(), true);
  EXPECT_TRUE(pub.verify(kMessage, pkcs1).ok());
  EXPECT_TRUE(pub.verify(kMessage, pkcs1, SignatureScheme::rsa_pkcs1v15).ok());
  EXPECT_TRUE(pub.verify(kMessage, pss, SignatureScheme::rsa_pss).ok());
  // Each scheme refuses the other's signature.
  EXPECT_FALSE(pub.verify(kMessage, pss).ok());
  EXPECT_FALSE(pub.verify(kMessage, pkcs1, SignatureScheme::rsa_pss).ok());
  EXPECT_FALSE(pub.verify(kMessage, flip_last(pss), SignatureScheme::rsa_pss).ok());
  EXPECT_TRUE(pub.verify_digest(sha256(kMessage), HashAlgorithm::sha256, pkcs1).ok());
  EXPECT_TRUE(pub.verify_digest(sha256(kMessage), HashAlgorithm::sha256, pss, SignatureScheme::rsa_pss).ok());
  EXPECT_FALSE(pub.verify_digest(sha256("other"), HashAlgorithm::sha256, pkcs1).ok());
}

TEST(Crypto, RsaPkcs1PublicKeyPem) {
  auto key = TestKey::rsa(2048);
  // PKCS#1 "RSA PUBLIC KEY": i2d_PublicKey writes RSAPublicKey DER.
  unsigned char* der = nullptr;
  const int len = i2d_PublicKey(key.get(), &der);
  ASSERT_GT(len, 0);
  std::string pkcs1(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  const std::string pem = "-----BEGIN RSA PUBLIC KEY-----\n" + base64_encode(pkcs1) + "\n-----END RSA PUBLIC KEY-----\n";
  auto pub = PublicKey::from_pem(pem);
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  EXPECT_EQ(pub->spki_der(), key.public_der());
  EXPECT_TRUE(pub->verify(kMessage, key.sign(kMessage)).ok());
}

TEST(Crypto, Ed25519) {
  auto key = TestKey::ed25519();
  PublicKey pub = must_key(key.public_pem());
  EXPECT_EQ(pub.type(), KeyType::ed25519);
  const std::string sig = key.sign(kMessage, nullptr);
  EXPECT_TRUE(pub.verify(kMessage, sig).ok());
  EXPECT_TRUE(pub.verify(kMessage, sig, SignatureScheme::ed25519).ok());
  EXPECT_FALSE(pub.verify(kMessage, flip_last(sig)).ok());
  EXPECT_FALSE(pub.verify(std::string(kMessage) + " ", sig).ok());
  EXPECT_EQ(pub.verify_digest(sha256(kMessage), HashAlgorithm::sha256, sig).error().code, ErrorCode::invalid_argument);
}

TEST(Crypto, WrongSchemeForKeyIsInvalidArgument) {
  PublicKey ec = must_key(TestKey::ec().public_pem());
  PublicKey rsa = must_key(TestKey::rsa().public_pem());
  PublicKey ed = must_key(TestKey::ed25519().public_pem());
  EXPECT_EQ(ec.verify(kMessage, "x", SignatureScheme::rsa_pss).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(ec.verify(kMessage, "x", SignatureScheme::ed25519).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(rsa.verify(kMessage, "x", SignatureScheme::ecdsa_der).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(ed.verify(kMessage, "x", SignatureScheme::rsa_pkcs1v15).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(ed.verify(kMessage, "x", SignatureScheme::ecdsa_raw).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(PublicKey{}.verify(kMessage, "x").error().code, ErrorCode::internal);
}

TEST(Crypto, BadPemAndRefusedKeys) {
  for (const char* bad : {"", "not pem", "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
                          "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                          "-----BEGIN PUBLIC KEY-----\nMFkw\n", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}) {
    auto r = PublicKey::from_pem(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  }
  auto small = PublicKey::from_pem(TestKey::rsa(1024).public_pem());
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("too small"), std::string::npos) << small.error().message;
  EXPECT_FALSE(PublicKey::from_pem(TestKey::ec("secp256k1").public_pem()).ok());
  // Trailing garbage after DER.
  EXPECT_FALSE(PublicKey::from_der(TestKey::ec().public_der() + "x").ok());
  EXPECT_FALSE(Certificate::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
}

TEST(Crypto, PemBundles) {
  auto a = TestKey::ec();
  auto b = TestKey::ed25519();
  auto keys = public_keys_from_pem_bundle("comment\n" + a.public_pem() + "between\n" + b.public_pem());
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 2U);
  EXPECT_EQ((*keys)[0].type(), KeyType::ecdsa_p256);
  EXPECT_EQ((*keys)[1].type(), KeyType::ed25519);
  EXPECT_FALSE(public_keys_from_pem_bundle("nothing").ok());
  EXPECT_FALSE(public_keys_from_pem_bundle(a.public_pem() + "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
}

struct Pki {
  TestKey root_key = TestKey::ec("P-384");
  TestKey inter_key = TestKey::ec("P-384");
  TestKey leaf_key = TestKey::ec("P-256");
  system_clock::time_point t0 = system_clock::now() - hours(24 * 30);
  TestCert root;
  TestCert inter;
  TestCert leaf;
  Pki()
      : root(make_root()), inter(make_inter()), leaf(make_leaf()) {}
  TestCert make_root() {
    CertSpec s;
    s.common_name = "test-root";
    s.ca = true;
    s.not_before = t0;
    s.not_after = t0 + hours(24 * 365);
    return TestCert::issue(s, root_key, nullptr, root_key);
  }
  TestCert make_inter() {
    CertSpec s;
    s.common_name = "test-intermediate";
    s.ca = true;
    s.not_before = t0;
    s.not_after = t0 + hours(24 * 365);
    s.serial = 2;
    return TestCert::issue(s, inter_key, &root, root_key);
  }
  TestCert make_leaf() {
    CertSpec s;
    s.common_name = "";
    s.not_before = t0 + hours(24);
    s.not_after = t0 + hours(24) + std::chrono::minutes(10);
    s.san_emails = {"alice@example.com"};
    s.san_uris = {"https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1"};
    s.san_othername_utf8 = "alice!example.com";
    s.fulcio_extensions = {{"1.3.6.1.4.1.57264.1.1", "https://legacy.example"},
                           {"1.3.6.1.4.1.57264.1.8", "https://accounts.example"},
                           {"1.3.6.1.4.1.57264.1.9", "https://github.com/org/repo"}};
    s.serial = 3;
    return TestCert::issue(s, leaf_key, &inter, inter_key);
  }
  Certificate c(const TestCert& t) {
    auto r = Certificate::from_pem(t.pem());
    if (!r) ADD_FAILURE() << r.error().message;
    return *r;
  }
};

TEST(Crypto, CertificateFields) {
  Pki pki;
  Certificate leaf = pki.c(pki.leaf);
  Certificate root = pki.c(pki.root);
  EXPECT_EQ(leaf.der(), pki.leaf.der());
  EXPECT_FALSE(leaf.is_ca());
  EXPECT_TRUE(root.is_ca());
  EXPECT_EQ(root.subject(), "CN=test-root,O=imagegate-test");
  EXPECT_EQ(leaf.issuer(), "CN=test-intermediate,O=imagegate-test");
  EXPECT_EQ(leaf.subject_alternative_names(),
            (std::vector<std::string>{"alice@example.com",
                                      "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1",
                                      "alice!example.com"}));
  EXPECT_EQ(leaf.extension_text("1.3.6.1.4.1.57264.1.1"), "https://legacy.example");
  EXPECT_EQ(leaf.extension_text("1.3.6.1.4.1.57264.1.8"), "https://accounts.example");
  EXPECT_EQ(leaf.extension_text("1.3.6.1.4.1.57264.1.9"), "https://github.com/org/repo");
  EXPECT_EQ(leaf.extension_text("1.3.6.1.4.1.57264.1.12"), std::nullopt);
  EXPECT_EQ(leaf.extension_text("not an oid"), std::nullopt);
  EXPECT_EQ(leaf.oidc_issuer(), "https://accounts.example");
  EXPECT_EQ(root.oidc_issuer(), "");
  EXPECT_FALSE(leaf.has_embedded_scts());
  EXPECT_EQ(system_clock::to_time_t(leaf.not_before()), system_clock::to_time_t(pki.t0 + hours(24)));
  EXPECT_EQ(leaf.public_key().spki_der(), pki.leaf_key.public_der());
  // PEM round trip.
  auto again = Certificate::from_pem(leaf.pem());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->der(), leaf.der());
  auto bundle = certificates_from_pem_bundle(pki.inter.pem() + pki.root.pem());
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(bundle->size(), 2U);
  EXPECT_FALSE(Certificate::from_der(leaf.der() + "x").ok());
  EXPECT_FALSE(Certificate::from_der("").ok());
}

TEST(Crypto, ChainVerifiesAtTimeT) {
  Pki pki;
  Certificate leaf = pki.c(pki.leaf);
  Certificate inter = pki.c(pki.inter);
  Certificate root = pki.c(pki.root);
  const auto inside = pki.t0 + hours(24) + std::chrono::minutes(5);
  EXPECT_TRUE(verify_certificate_chain(leaf, {inter}, {root}, inside).ok());
  // Expired at t (the leaf lived ten minutes); not yet valid before.
  auto expired = verify_certificate_chain(leaf, {inter}, {root}, inside + hours(1));
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, ErrorCode::permission_denied);
  EXPECT_EQ(expired.error().message, "certificate has expired");
  EXPECT_EQ(verify_certificate_chain(leaf, {inter}, {root}, pki.t0).error().message, "certificate is not yet valid");
  // Missing intermediate; unknown root.
  EXPECT_EQ(verify_certificate_chain(leaf, {}, {root}, inside).error().message,
            "unable to get local issuer certificate");
  Pki other;
  EXPECT_FALSE(verify_certificate_chain(leaf, {inter}, {pki.c(other.root)}, inside).ok());
  EXPECT_FALSE(verify_certificate_chain(leaf, {pki.c(other.inter)}, {pki.c(other.root)}, inside).ok());
  EXPECT_FALSE(verify_certificate_chain(leaf, {inter}, {}, inside).ok());
  // An intermediate configured as a trust anchor is enough.
  EXPECT_TRUE(verify_certificate_chain(leaf, {}, {inter}, inside).ok());
}

TEST(Crypto, DigestsAndEncodings) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_encode(sha_digest(HashAlgorithm::sha384, "abc")).substr(0, 16), "cb00753f45a35e8b");
  EXPECT_EQ(sha_digest(HashAlgorithm::sha512, "").size(), 64U);
  EXPECT_EQ(hex_decode("00ffAB").value(), std::string("\x00\xff\xab", 3));
  EXPECT_FALSE(hex_decode("abc").ok());
  EXPECT_FALSE(hex_decode("zz").ok());
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)).value(), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_decode("Zm9v\nYmFy\n").value(), "foobar");
  EXPECT_EQ(base64_decode("Zm8").value(), "fo");
  EXPECT_FALSE(base64_decode("Zm8=a").ok());
  EXPECT_FALSE(base64_decode("Z").ok());
  EXPECT_FALSE(base64_decode("Zm8==").ok());
  EXPECT_FALSE(base64_decode("Zm-_").ok());
  EXPECT_FALSE(base64_decode("Zm9v!").ok());
  EXPECT_EQ(base64url_decode("-_8").value(), "\xfb\xff");
  EXPECT_FALSE(base64url_decode("+/8").ok());
}

}  // namespace
}  // namespace imagegate::verifier
