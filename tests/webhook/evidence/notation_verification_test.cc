// Notation anchors through the server's signature verification (webhook/evidence/signature_verification.h)
// against a real docker-registry (testing::LocalRegistry): the notation CLI's own OCI layouts
// (conformance notation/notation-cli-e2e/oci_layout, read in place) pushed blob by blob and manifest by
// manifest with the registry's API, signature manifests and the `sha256-<hex>` referrers fallback index
// included, then verified under the e2e trust policy with a trust store laid out as notation's:
//   - the CN=e2e signature verifies, its evidence (signer subject, signing scheme) in signers and detail,
//     and the second review is answered from the cache;
//   - the same image under a store with another certificate fails (authenticity), as does an unsigned image;
//   - Notation takes part in m-of-n beside another anchor (threshold 1, then the Notation anchor alone);
//   - the trust store directory is watched: a certificate added to it, or the trust policy changed, makes
//     AnchorKeeper::rotate() rebuild the material; a malformed trust policy fails the anchor naming the file.
#include "webhook/evidence/signature_verification.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/evaluate.h"
#include "policy/policy.h"
#include "tests/coroutine_support.h"
#include "tests/signature_registry.h"
#include "tests/test_support.h"
#include "webhook/evidence/anchor_keeper.h"
#include "webhook/evidence/registry_setup.h"

namespace imagegate::webhook {
namespace {

namespace fs = std::filesystem;

fs::path cli_e2e() { return testing::conformance_dir() / "notation" / "notation-cli-e2e"; }

class NotationVerificationTest : public testing::LocalRegistryTest<NotationVerificationTest> {
 protected:
  void SetUp() override {
    LocalRegistryTest::SetUp();
    if (HasFatalFailure()) return;
    if (!fs::is_directory(cli_e2e())) GTEST_SKIP() << "no conformance vectors at " << cli_e2e();
    dir_ = fs::temp_directory_path() / ("imagegate-notation-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_.ca_files = {registry_->ca_file().string()};
    auto clients = make_registry_clients(config_);
    ASSERT_TRUE(clients.ok()) << clients.error().message;
    clients_ = std::move(clients.value());
  }
  void TearDown() override {
    clients_ = {};
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Pushes the OCI layout `name` to `repository`: every blob, then each manifest of index.json (image and
  // signature manifests before indexes, which the registry checks against what it holds) under its tag or
  // digest. Returns the reference of the `v1` tag.
  verifier::ImageReference push_layout(const std::string& name, const std::string& repository) {
    const fs::path layout = cli_e2e() / "oci_layout" / name;
    testing::SignatureUploader upload(*registry_);
    for (const auto& blob : fs::directory_iterator(layout / "blobs" / "sha256")) {
      upload.blob(repository, testing::read_file(blob.path()));
    }
    const nlohmann::json index = nlohmann::json::parse(testing::read_file(layout / "index.json"));
    for (bool indexes : {false, true}) {
      for (const nlohmann::json& entry : index["manifests"]) {
        const std::string media_type = entry["mediaType"];
        if ((media_type.find("index") != std::string::npos) != indexes) continue;
        const std::string digest = entry["digest"];
        const std::string body = testing::read_file(layout / "blobs" / "sha256" / digest.substr(7));
        std::string reference = digest;
        if (entry.contains("annotations") && entry["annotations"].contains("org.opencontainers.image.ref.name")) {
          reference = entry["annotations"]["org.opencontainers.image.ref.name"];
        }
        upload.manifest(repository, reference, media_type, body);
      }
    }
    auto ref = verifier::ImageReference::from_container_image(registry_->host() + "/" + repository + ":v1");
    if (!ref) throw std::runtime_error(ref.error().message);
    return *ref;
  }

  // notation's trust store layout with `certificate` as the `ca:e2e` store.
  fs::path trust_store(const std::string& certificate) {
    const fs::path store = dir_ / "truststore";
    fs::create_directories(store / "x509" / "ca" / "e2e");
    fs::copy_file(cli_e2e() / "localkeys" / certificate, store / "x509" / "ca" / "e2e" / certificate,
                  fs::copy_options::overwrite_existing);
    return store;
  }

  // A policy with a Notation anchor "release" (files form) and a cosign key anchor "other" that signs
  // nothing here; the rule needs `threshold` of `anchors`.
  std::shared_ptr<const policy::CompiledPolicy> make_policy(const fs::path& trust_policy, const fs::path& store,
                                                       const std::string& anchors, int threshold) {
    const testing::SigningKey key = testing::SigningKey::generate();
    std::ofstream(dir_ / "other.pub") << key.public_pem;
    const std::string yaml = "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: t}\nspec:\n"
                             "  trustAnchors:\n"
                             "    - name: release\n      notation: {trustPolicy: " + trust_policy.string() +
                             ", trustStore: " + store.string() + "}\n"
                             "    - name: other\n      cosign: {keyFile: " + (dir_ / "other.pub").string() + "}\n"
                             "  rules:\n    - name: r\n      match: {images: ['**']}\n"
                             "      signatures: {anchors: [" + anchors + "], threshold: " + std::to_string(threshold) + "}\n";
    policy::PolicyResult loaded = policy::load_policy(yaml, "t.yaml");
    if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
      throw std::runtime_error((*diagnostics)[0].to_string());
    }
    return std::get<std::shared_ptr<const policy::CompiledPolicy>>(loaded);
  }

  SignatureReport verify(SignatureVerification& verification, const std::shared_ptr<const verifier::AnchorMaterial>& material,
                         const verifier::ImageReference& image, const std::vector<std::string>& anchors) {
    auto resolved = testing::run_on(io_, clients_.cached->resolve(image));
    if (!resolved) throw std::runtime_error(resolved.error().message);
    return testing::run_on(io_, verification.verify(material, image, resolved->digest, anchors));
  }

  boost::asio::io_context io_;
  fs::path dir_;
  RegistryConfig config_;
  RegistryClients clients_;
};

TEST_F(NotationVerificationTest, NotationCliSignatureVerifiesWithItsEvidenceAndIsCached) {
  const auto image = push_layout("e2e-valid-signature", "notation/valid");
  const fs::path trust_policy = cli_e2e() / "trustpolicies" / "trustpolicy.json";
  const auto material = build_anchor_material(*make_policy(trust_policy, trust_store("e2e.crt"), "release", 1), config_);
  ASSERT_EQ(material->find("release")->load_error, "");
  SignatureVerification verification(*clients_.cached);
  SignatureReport report = verify(verification, material, image, {"release"});
  ASSERT_EQ(report.anchors.size(), 1U);
  EXPECT_EQ(report.anchors[0].check.status, policy::EvidenceStatus::verified) << report.anchors[0].check.detail;
  ASSERT_EQ(report.signers[0].size(), 1U);
  EXPECT_NE(report.signers[0][0].find("CN=e2e"), std::string::npos) << report.signers[0][0];
  EXPECT_NE(report.signers[0][0].find("notary.x509"), std::string::npos) << report.signers[0][0];
  EXPECT_NE(report.anchors[0].check.detail.find("CN=e2e"), std::string::npos) << report.anchors[0].check.detail;
  EXPECT_NE(report.anchors[0].check.detail.find("\"e2e\""), std::string::npos) << report.anchors[0].check.detail;
  EXPECT_FALSE(report.from_cache);
  SignatureReport again = verify(verification, material, image, {"release"});
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.anchors[0].check.status, policy::EvidenceStatus::verified);

  // Control: the unsigned image of the same layouts has nothing to verify.
  const auto unsigned_image = push_layout("e2e", "notation/unsigned");
  SignatureReport none = verify(verification, material, unsigned_image, {"release"});
  EXPECT_EQ(none.anchors[0].check.status, policy::EvidenceStatus::failed);
  EXPECT_NE(none.anchors[0].check.detail.find("no Notation signatures"), std::string::npos)
      << none.anchors[0].check.detail;
}

TEST_F(NotationVerificationTest, AnotherCertificateInTheStoreFailsAuthenticity) {
  const auto image = push_layout("e2e-valid-signature", "notation/wrongstore");
  const fs::path trust_policy = cli_e2e() / "trustpolicies" / "trustpolicy.json";
  const auto material = build_anchor_material(*make_policy(trust_policy, trust_store("new_e2e.crt"), "release", 1), config_);
  ASSERT_EQ(material->find("release")->load_error, "");
  SignatureVerification verification(*clients_.cached);
  SignatureReport report = verify(verification, material, image, {"release"});
  EXPECT_EQ(report.anchors[0].check.status, policy::EvidenceStatus::failed);
  EXPECT_NE(report.anchors[0].check.detail.find("authenticity"), std::string::npos) << report.anchors[0].check.detail;
  EXPECT_TRUE(report.signers[0].empty());
}

// The migration path: Notation beside another anchor at threshold 1, then Notation alone.
TEST_F(NotationVerificationTest, NotationCountsInTheThresholdWithOtherSchemes) {
  const auto image = push_layout("e2e-valid-signature", "notation/threshold");
  const fs::path trust_policy = cli_e2e() / "trustpolicies" / "trustpolicy.json";
  const fs::path store = trust_store("e2e.crt");
  for (const auto& [anchors, threshold, allowed] :
       std::vector<std::tuple<std::string, int, bool>>{{"other, release", 1, true},
                                                       {"other, release", 2, false},
                                                       {"release", 1, true},
                                                       {"other", 1, false}}) {
    auto compiled = make_policy(trust_policy, store, anchors, threshold);
    const auto material = build_anchor_material(*compiled, config_);
    SignatureVerification verification(*clients_.cached);
    std::vector<std::string> names;
    for (const auto& a : policy::spec_of(*compiled).rules[0].signatures->anchors) names.push_back(a);
    SignatureReport report = verify(verification, material, image, names);
    const policy::ImageUnderReview review{"", image.string()};
    policy::Evidence evidence = policy::unevaluated_evidence(policy::plan(*compiled, review).needs, "not evaluated");
    evidence.digest_resolution = {policy::EvidenceStatus::verified, "resolved"};
    evidence.digest = testing::run_on(io_, clients_.cached->resolve(image))->digest;
    evidence.signatures = report.anchors;
    const policy::Decision decision = policy::evaluate(*compiled, review, evidence, std::chrono::system_clock::now());
    EXPECT_EQ(decision.action == policy::Action::allow, allowed) << anchors << " threshold " << threshold;
  }
}

TEST_F(NotationVerificationTest, TrustStoreAndPolicyChangesRebuildTheMaterial) {
  const fs::path trust_policy = dir_ / "trustpolicy.json";
  fs::copy_file(cli_e2e() / "trustpolicies" / "trustpolicy.json", trust_policy);
  const fs::path store = trust_store("e2e.crt");
  AnchorKeeper keeper(config_, std::chrono::milliseconds(0));
  const auto material = keeper.load(make_policy(trust_policy, store, "release", 1));
  ASSERT_EQ(material->find("release")->load_error, "");
  EXPECT_EQ(keeper.rotate(), nullptr) << "nothing changed";

  // A certificate added to the store (no file the material read before changed).
  fs::copy_file(cli_e2e() / "localkeys" / "new_e2e.crt", store / "x509" / "ca" / "e2e" / "new_e2e.crt");
  const auto added = keeper.rotate();
  ASSERT_NE(added, nullptr);
  EXPECT_NE(added->version(), material->version());
  EXPECT_EQ(keeper.rotate(), nullptr);

  // The trust policy replaced by a malformed one: the anchor fails, naming the file and the problem.
  fs::copy_file(cli_e2e() / "trustpolicies" / "malformed_trusted_identity_trustpolicy.json", trust_policy,
                fs::copy_options::overwrite_existing);
  const auto malformed = keeper.rotate();
  ASSERT_NE(malformed, nullptr);
  const std::string error = malformed->find("release")->load_error;
  EXPECT_NE(error.find("trustpolicy.json"), std::string::npos) << error;
  EXPECT_NE(error.find("missing separator"), std::string::npos) << error;
  EXPECT_EQ(keeper.trust_reloads(), 2U);
}

}  // namespace
}  // namespace imagegate::webhook
