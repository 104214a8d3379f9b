// verifier/signature/sigstore/trusted_root.h: the public-good Sigstore root and every sigstore-conformance per-case root read
// in place, PEM roots, and the Fulcio leaf check (chain, time, identity) against the real connaisseur
// keyless certificate and certificates issued at test time.
#include "verifier/signature/sigstore/trusted_root.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/test_support.h"
#include "tests/verifier/signature/signing_fixtures.h"

namespace imagegate::verifier {
namespace {

using imagegate::testing::CertSpec;
using imagegate::testing::conformance_dir;
using imagegate::testing::read_file;
using imagegate::testing::TestCert;
using imagegate::testing::TestKey;
using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::system_clock;

TrustedRoot public_good() {
  auto root = TrustedRoot::from_json(read_file(conformance_dir() / "sigstore/trusted_root/public-good.json"));
  if (!root) ADD_FAILURE() << root.error().message;
  return root ? *root : TrustedRoot{};
}

std::shared_ptr<const re2::RE2> re(const std::string& pattern) { return std::make_shared<const re2::RE2>(pattern); }

TEST(TrustedRoot, PublicGood) {
  TrustedRoot root = public_good();
  ASSERT_EQ(root.tlogs.size(), 1U);
  ASSERT_EQ(root.certificate_authorities.size(), 2U);
  EXPECT_EQ(root.ctlogs.size(), 2U);
  EXPECT_EQ(root.timestamp_authorities.size(), 1U);
  const LogKey& rekor = root.tlogs[0];
  EXPECT_EQ(rekor.base_url, "https://rekor.sigstore.dev");
  EXPECT_EQ(hex_encode(rekor.log_id), "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d");
  // Rekor's log id is the SHA-256 of its key.
  EXPECT_EQ(sha256(rekor.key.spki_der()), rekor.log_id);
  EXPECT_EQ(rekor.key.type(), KeyType::ecdsa_p256);
  EXPECT_EQ(root.tlog(rekor.log_id), &root.tlogs[0]);
  EXPECT_EQ(root.tlog("nope"), nullptr);
  ASSERT_TRUE(rekor.valid.start.has_value());
  EXPECT_FALSE(rekor.valid.end.has_value());
  EXPECT_EQ(system_clock::to_time_t(*rekor.valid.start), 1610452407);  // 2021-01-12T11:53:27Z
  const auto& first = root.certificate_authorities[0];
  EXPECT_EQ(first.chain.size(), 1U);
  ASSERT_TRUE(first.valid.end.has_value());
  // "2022-12-31T23:59:59.999Z": the fraction is kept and the end is inclusive.
  EXPECT_TRUE(first.valid.contains(system_clock::from_time_t(1672531199) + std::chrono::milliseconds(999)));
  EXPECT_FALSE(first.valid.contains(system_clock::from_time_t(1672531200)));
  EXPECT_FALSE(first.valid.contains(system_clock::from_time_t(1615000000)));  // before 2021-03-07
  const auto& second = root.certificate_authorities[1];
  ASSERT_EQ(second.chain.size(), 2U);
  EXPECT_EQ(second.chain[0].subject(), "CN=sigstore-intermediate,O=sigstore.dev");
  EXPECT_EQ(second.chain[1].subject(), "CN=sigstore,O=sigstore.dev");
  EXPECT_EQ(root.timestamp_authorities[0].chain.size(), 3U);
}

TEST(TrustedRoot, EveryConformanceRootLoads) {
  std::size_t loaded = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(conformance_dir() / "sigstore")) {
    const std::string name = entry.path().filename().string();
    const bool is_root = name == "trusted_root.json" || entry.path().parent_path().filename() == "trusted-roots";
    if (!is_root) continue;
    auto root = TrustedRoot::from_json(read_file(entry.path()));
    const std::string dir = entry.path().parent_path().filename().string();
    if (dir == "trust-root-tlog-missing-validity-start_fail") {
      ASSERT_FALSE(root.ok()) << entry.path();
      EXPECT_NE(root.error().message.find("validFor.start is required"), std::string::npos) << root.error().message;
      continue;
    }
    ASSERT_TRUE(root.ok()) << entry.path() << ": " << root.error().message;
    EXPECT_FALSE(root->tlogs.empty() && root->certificate_authorities.empty() && root->timestamp_authorities.empty())
        << entry.path();
    if (dir == "invalid-ct-key_fail") {
      // A PKCS#1 RSA CT key (keyDetails PKCS1_RSA_PKCS1V5) parses; the case fails on the SCT, not here.
      EXPECT_EQ(root->ctlogs[0].key.type(), KeyType::rsa);
    }
    ++loaded;
  }
  EXPECT_GE(loaded, 35U);
}

TEST(TrustedRoot, RefusesMalformedRoots) {
  const std::string good = read_file(conformance_dir() / "sigstore/trusted_root/public-good.json");
  auto mutate = [&](auto f) {
    auto doc = nlohmann::json::parse(good);
    f(doc);
    return TrustedRoot::from_json(doc.dump());
  };
  EXPECT_FALSE(TrustedRoot::from_json("").ok());
  EXPECT_FALSE(TrustedRoot::from_json("[]").ok());
  EXPECT_FALSE(TrustedRoot::from_json("{\"mediaType\":1}").ok());
  auto r = mutate([](auto& d) { d["mediaType"] = "application/json"; });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("mediaType"), std::string::npos);
  EXPECT_FALSE(mutate([](auto& d) { d["tlogs"][0]["publicKey"]["rawBytes"] = "AAAA"; }).ok());
  EXPECT_FALSE(mutate([](auto& d) { d["tlogs"][0]["publicKey"]["rawBytes"] = "!!"; }).ok());
  EXPECT_FALSE(mutate([](auto& d) { d["tlogs"][0]["logId"].erase("keyId"); }).ok());
  EXPECT_FALSE(mutate([](auto& d) { d["tlogs"][0]["publicKey"]["validFor"]["start"] = "yesterday"; }).ok());
  EXPECT_FALSE(mutate([](auto& d) { d["tlogs"][0]["publicKey"]["validFor"]["start"] = "2021-13-12T11:53:27Z"; }).ok());
  EXPECT_FALSE(mutate([](auto& d) { d["certificateAuthorities"][1]["certChain"]["certificates"] = nlohmann::json::array(); }).ok());
  EXPECT_FALSE(mutate([](auto& d) { d["certificateAuthorities"][1]["certChain"]["certificates"][0]["rawBytes"] = "AAAA"; }).ok());
  EXPECT_FALSE(mutate([](auto& d) { d["ctlogs"] = "x"; }).ok());
  // Time zones and fractions.
  auto shifted = mutate([](auto& d) { d["tlogs"][0]["publicKey"]["validFor"]["start"] = "2021-01-12T12:53:27.5+01:00"; });
  ASSERT_TRUE(shifted.ok()) << shifted.error().message;
  EXPECT_EQ(*shifted->tlogs[0].valid.start, system_clock::from_time_t(1610452407) + std::chrono::milliseconds(500));
}

struct KeylessFixture {
  std::string leaf_pem;
  std::string chain_pem;
  system_clock::time_point integrated = system_clock::from_time_t(1717082297);
  KeylessFixture() {
    auto manifest = nlohmann::json::parse(read_file(
        conformance_dir() /
        "cosign/connaisseur/securesystemsengineering/testimage/manifests/"
        "sha256-31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee.sig.json"));
    const auto& ann = manifest["layers"][0]["annotations"];
    leaf_pem = ann["dev.sigstore.cosign/certificate"];
    chain_pem = ann["dev.sigstore.cosign/chain"];
  }
};

TEST(FulcioCertificate, ConnaisseurKeylessIdentity) {
  KeylessFixture k;
  TrustedRoot root = public_good();
  auto leaf = Certificate::from_pem(k.leaf_pem);
  ASSERT_TRUE(leaf.ok());
  auto chain = certificates_from_pem_bundle(k.chain_pem);
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(leaf->oidc_issuer(), "https://github.com/login/oauth");
  EXPECT_EQ(leaf->extension_text("1.3.6.1.4.1.57264.1.1"), "https://github.com/login/oauth");
  EXPECT_TRUE(leaf->has_embedded_scts());
  EXPECT_EQ(leaf->subject_alternative_names(), std::vector<std::string>{"philipp.belitz@securesystems.de"});

  // connaisseur's issuerRegex "github" / subjectRegex "philipp" are unanchored searches; ours full-match.
  CertificateIdentity philipp{"", re(".*github.*"), "", re(".*philipp.*")};
  auto ok = verify_fulcio_certificate(*leaf, *chain, root, philipp, k.integrated);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, "philipp.belitz@securesystems.de (https://github.com/login/oauth)");
  // Exact strings; and the root's own intermediate suffices when the signature carries no chain.
  CertificateIdentity exact{"https://github.com/login/oauth", nullptr, "philipp.belitz@securesystems.de", nullptr};
  EXPECT_TRUE(verify_fulcio_certificate(*leaf, {}, root, exact, k.integrated).ok());
  // Full match, not search.
  CertificateIdentity partial{"", re("github"), "", re("philipp")};
  EXPECT_FALSE(verify_fulcio_certificate(*leaf, *chain, root, partial, k.integrated).ok());

  CertificateIdentity bob{"", re(".*google.*"), "bob@gmail.com", nullptr};
  auto bad = verify_fulcio_certificate(*leaf, *chain, root, bob, k.integrated);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::permission_denied);
  EXPECT_EQ(bad.error().message,
            "identity mismatch: certificate has subject philipp.belitz@securesystems.de issuer "
            "https://github.com/login/oauth, policy requires subject=bob@gmail.com issuer=~.*google.*");
  CertificateIdentity wrong_issuer{"https://accounts.google.com", nullptr, "philipp.belitz@securesystems.de", nullptr};
  EXPECT_FALSE(verify_fulcio_certificate(*leaf, *chain, root, wrong_issuer, k.integrated).ok());

  // Ten minutes later the leaf had expired.
  auto late = verify_fulcio_certificate(*leaf, *chain, root, philipp, k.integrated + hours(1));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().message.rfind("certificate expired at integrated time 2024-05-30T16:18:17Z", 0), 0U)
      << late.error().message;

  // A root without the 2022 CA: the chain does not reach a trusted root.
  TrustedRoot only_old = root;
  only_old.certificate_authorities.pop_back();
  auto untrusted = verify_fulcio_certificate(*leaf, *chain, only_old, philipp, k.integrated);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.error().message.rfind("certificate does not chain to a trusted Fulcio root: ", 0), 0U)
      << untrusted.error().message;
  // The same CA, but its validity window closed before the signing time.
  TrustedRoot closed = root;
  closed.certificate_authorities[1].valid.end = k.integrated - seconds(1);
  EXPECT_FALSE(verify_fulcio_certificate(*leaf, *chain, closed, philipp, k.integrated).ok());

  // PEM form of the same trust: the Fulcio root from connaisseur's config.
  auto pem_root = TrustedRoot::from_pem(root.certificate_authorities[1].chain[1].pem(), "");
  ASSERT_TRUE(pem_root.ok()) << pem_root.error().message;
  EXPECT_TRUE(verify_fulcio_certificate(*leaf, *chain, *pem_root, philipp, k.integrated).ok());
  EXPECT_FALSE(verify_fulcio_certificate(*leaf, {}, *pem_root, philipp, k.integrated).ok());
}

TEST(FulcioCertificate, IssuedAtTestTime) {
  TestKey root_key = TestKey::ec("P-384");
  TestKey leaf_key = TestKey::ec("P-256");
  const auto t0 = system_clock::now() - hours(48);
  CertSpec rs;
  rs.common_name = "fulcio-test-root";
  rs.ca = true;
  rs.not_before = t0;
  rs.not_after = t0 + hours(1000);
  TestCert root_cert = TestCert::issue(rs, root_key, nullptr, root_key);
  CertSpec ls;
  ls.common_name = "";
  ls.not_before = t0 + hours(1);
  ls.not_after = t0 + hours(1) + std::chrono::minutes(10);
  ls.san_othername_utf8 = "builder!example.com";
  ls.fulcio_extensions = {{"1.3.6.1.4.1.57264.1.8", "https://issuer.example"}};
  TestCert leaf_cert = TestCert::issue(ls, leaf_key, &root_cert, root_key);

  auto root = TrustedRoot::from_pem(root_cert.pem(), TestKey::ec().public_pem());
  ASSERT_TRUE(root.ok()) << root.error().message;
  ASSERT_EQ(root->tlogs.size(), 1U);
  EXPECT_EQ(root->tlogs[0].log_id, sha256(root->tlogs[0].key.spki_der()));
  auto leaf = Certificate::from_pem(leaf_cert.pem());
  ASSERT_TRUE(leaf.ok());
  CertificateIdentity id{"https://issuer.example", nullptr, "builder!example.com", nullptr};
  auto ok = verify_fulcio_certificate(*leaf, {}, *root, id, t0 + hours(1) + std::chrono::minutes(1));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, "builder!example.com (https://issuer.example)");
  // Before the leaf's start.
  EXPECT_FALSE(verify_fulcio_certificate(*leaf, {}, *root, id, t0 + std::chrono::minutes(59)).ok());
  // A leaf for TLS, not code signing, from the same CA.
  ls.code_signing = false;
  auto tls_leaf = Certificate::from_pem(TestCert::issue(ls, leaf_key, &root_cert, root_key).pem());
  ASSERT_TRUE(tls_leaf.ok());
  auto tls = verify_fulcio_certificate(*tls_leaf, {}, *root, id, t0 + hours(1) + std::chrono::minutes(1));
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().message, "certificate is not for code signing (extended key usage)");
  // Any identity when nothing is required.
  EXPECT_TRUE(verify_fulcio_certificate(*leaf, {}, *root, {}, t0 + hours(1) + std::chrono::minutes(1)).ok());
  EXPECT_FALSE(TrustedRoot::from_pem("junk", "").ok());
  EXPECT_FALSE(TrustedRoot::from_pem("", "junk").ok());
  auto empty = TrustedRoot::from_pem("", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(verify_fulcio_certificate(*leaf, {}, *empty, id, t0 + hours(1)).ok());
}

}  // namespace
}  // namespace imagegate::verifier
