// NotationFetcher against a real docker-registry (testing::LocalRegistry, distribution 2.8: no referrers
// API, so every signature is found through the `sha256-<hex>` tag-schema fallback index, written here with
// the registry's own API as notation does): the target descriptor, envelopes read from signature manifests
// in index order, other artifact types ignored, an unsigned image, a manifest whose subject is another
// digest (skipped, never handed to the verifier), more signatures than allowed and an index of 1,000
// entries (resource_exhausted, before any signature manifest is read), oversized envelopes (by the claimed
// size, unread; by the bytes when the claim lies). The CLI over the notation CLI's own layouts is
// tests/e2e/notation_test.sh.
#include "verifier/signature/notation/notation_fetcher.h"

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/coroutine_support.h"
#include "tests/signature_registry.h"
#include "tests/test_support.h"
#include "verifier/registry/oci_registry_client.h"
#include "verifier/signature/signature_fetcher.h"

namespace imagegate::verifier {
namespace {

namespace asio = boost::asio;

constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kIndexType = "application/vnd.oci.image.index.v1+json";
constexpr const char* kNotaryType = "application/vnd.cncf.notary.signature";

class NotationFetcherTest : public testing::LocalRegistryTest<NotationFetcherTest> {
 protected:
  void SetUp() override {
    LocalRegistryTest::SetUp();
    if (HasFatalFailure()) return;
    RegistryClientOptions options;
    options.ca_files.push_back(registry_->ca_file().string());
    auto made = OciRegistryClient::create(std::move(options));
    ASSERT_TRUE(made.ok()) << made.error().message;
    client_ = std::move(made.value());
  }
  void TearDown() override { client_.reset(); }

  std::pair<ImageReference, std::string> push(const std::string& repository, const std::string& seed) {
    const std::string digest = registry_->push(seed, repository + ":1");
    auto ref = ImageReference::from_container_image(registry_->host() + "/" + repository + ":1");
    if (!ref) throw std::runtime_error(ref.error().message);
    return {*ref, digest};
  }

  // A Notation signature manifest as notation writes it: config of the notary type, one envelope layer,
  // a subject. `claimed_size` 0: the envelope's size. Returns the index entry naming it.
  nlohmann::json signature(const std::string& repository, const std::string& subject, const std::string& envelope,
                           const std::string& media_type = "application/jose+json", std::size_t claimed_size = 0) {
    testing::SignatureUploader upload(*registry_);
    const std::string config = "{}";
    const std::string config_digest = upload.blob(repository, config);
    const std::string layer = upload.blob(repository, envelope);
    const nlohmann::json m{
        {"schemaVersion", 2},
        {"mediaType", kManifestType},
        {"config", {{"mediaType", kNotaryType}, {"digest", config_digest}, {"size", config.size()}}},
        {"layers", {{{"mediaType", media_type}, {"digest", layer}, {"size", claimed_size ? claimed_size : envelope.size()}}}},
        {"subject", {{"mediaType", kManifestType}, {"digest", subject}, {"size", 500}}}};
    const std::string text = m.dump();
    const std::string digest = "sha256:" + sha256_hex(text);
    upload.manifest(repository, digest, kManifestType, text);
    return {{"mediaType", kManifestType}, {"digest", digest}, {"size", text.size()}, {"artifactType", kNotaryType}};
  }

  void index(const std::string& repository, const std::string& digest, const nlohmann::json& entries) {
    testing::SignatureUploader upload(*registry_);
    const nlohmann::json i{{"schemaVersion", 2}, {"mediaType", kIndexType}, {"manifests", entries}};
    upload.manifest(repository, referrers_fallback_tag(digest), kIndexType, i.dump());
  }

  Result<FetchedNotation> fetch(const ImageReference& image, const std::string& digest, NotationFetchOptions options = {}) {
    NotationFetcher fetcher(*client_, options);
    return testing::run_on(io_, fetcher.fetch(image, digest));
  }

  // Declared before the client: its pooled connections close on it.
  asio::io_context io_;
  std::unique_ptr<OciRegistryClient> client_;
};

TEST_F(NotationFetcherTest, ReadsTheTargetAndEachEnvelopeThroughTheFallbackIndex) {
  auto [image, digest] = push("notation/app", "notation-app");
  const nlohmann::json first = signature("notation/app", digest, R"({"payload":"jws-1"})");
  const nlohmann::json second = signature("notation/app", digest, "cose-bytes", "application/cose");
  // Another artifact about the image (the registry checks that an index's manifests exist): listed, not read.
  nlohmann::json sbom = signature("notation/app", digest, R"({"spdxVersion":"SPDX-2.3"})", "application/spdx+json");
  sbom["artifactType"] = "application/spdx+json";
  index("notation/app", digest, nlohmann::json::array({first, sbom, second}));

  auto got = fetch(image, digest);
  ASSERT_TRUE(got.ok()) << got.error().message;
  auto manifest = testing::run_on(io_, client_->fetch_manifest(image));
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_EQ(got->digest, digest);
  EXPECT_EQ(got->size, manifest->body.size());
  EXPECT_EQ(got->media_type, manifest->media_type);
  EXPECT_FALSE(got->media_type.empty());
  ASSERT_EQ(got->signatures.size(), 2U);
  EXPECT_EQ(got->signatures[0].manifest_digest, first["digest"]);
  EXPECT_EQ(got->signatures[0].media_type, "application/jose+json");
  EXPECT_EQ(got->signatures[0].envelope, R"({"payload":"jws-1"})");
  EXPECT_EQ(got->signatures[1].media_type, "application/cose");
  EXPECT_EQ(got->signatures[1].envelope, "cose-bytes");
  EXPECT_TRUE(got->skipped.empty()) << got->skipped.front();
  // manifest, referrers API (404), fallback index, 2 x (signature manifest, envelope): the SBOM is not read.
  EXPECT_EQ(got->requests, 7U);
}

TEST_F(NotationFetcherTest, UnsignedImageHasNoSignaturesAndIsNotAnError) {
  auto [image, digest] = push("notation/unsigned", "notation-unsigned");
  auto got = fetch(image, digest);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(got->signatures.empty());
  EXPECT_TRUE(got->skipped.empty());
  EXPECT_EQ(fetch(image, "sha256:xyz").error().code, ErrorCode::invalid_argument);
  // A digest the repository does not hold: the target cannot be described.
  EXPECT_EQ(fetch(image, "sha256:" + std::string(64, 'b')).error().code, ErrorCode::not_found);
}

// Attack: the index of image A lists a genuine signature of image B. The manifest says whose it is.
TEST_F(NotationFetcherTest, SignatureOfAnotherDigestIsSkipped) {
  auto [a, a_digest] = push("notation/subject", "subject-a");
  const std::string b_digest = registry_->push("subject-b", "notation/subject:2");
  const nlohmann::json of_b = signature("notation/subject", b_digest, "envelope-of-b");
  index("notation/subject", a_digest, nlohmann::json::array({of_b}));
  auto got = fetch(a, a_digest);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(got->signatures.empty());
  ASSERT_EQ(got->skipped.size(), 1U);
  EXPECT_NE(got->skipped[0].find("its subject is " + b_digest + ", not " + a_digest), std::string::npos)
      << got->skipped[0];
  // Control: listed for B, it is B's signature.
  index("notation/subject", b_digest, nlohmann::json::array({of_b}));
  auto b = ImageReference::from_container_image(registry_->host() + "/notation/subject:2");
  ASSERT_TRUE(b.ok());
  auto for_b = fetch(*b, b_digest);
  ASSERT_TRUE(for_b.ok()) << for_b.error().message;
  ASSERT_EQ(for_b->signatures.size(), 1U);
  EXPECT_EQ(for_b->signatures[0].envelope, "envelope-of-b");
}

// GHSA-87x9-7grx-m28v: a registry listing 1,000 signatures must not make the verifier read 1,000.
TEST_F(NotationFetcherTest, MoreSignaturesThanAllowedFailClosedBeforeAnyIsRead) {
  auto [image, digest] = push("notation/many", "notation-many");
  // The registry checks that an index's entries exist: one real signature manifest, listed 1,000 times.
  const nlohmann::json one = signature("notation/many", digest, "envelope");
  nlohmann::json entries = nlohmann::json::array();
  for (int i = 0; i < 1000; ++i) entries.push_back(one);
  index("notation/many", digest, entries);
  auto got = fetch(image, digest);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::resource_exhausted);
  EXPECT_NE(got.error().message.find("more than 400 entries"), std::string::npos) << got.error().message;

  // Within the index bound but over max_signatures: refused the same way, naming the count.
  nlohmann::json five = nlohmann::json::array();
  for (int i = 0; i < 5; ++i) five.push_back(signature("notation/many", digest, "env-" + std::to_string(i)));
  index("notation/many", digest, five);
  NotationFetchOptions options;
  options.max_signatures = 4;
  auto over = fetch(image, digest, options);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::resource_exhausted);
  EXPECT_NE(over.error().message.find("more than 4 Notation signatures"), std::string::npos) << over.error().message;
  // Control: at the bound, every one is read.
  options.max_signatures = 5;
  auto enough = fetch(image, digest, options);
  ASSERT_TRUE(enough.ok()) << enough.error().message;
  EXPECT_EQ(enough->signatures.size(), 5U);
}

TEST_F(NotationFetcherTest, OversizedEnvelopesAreSkipped) {
  auto [image, digest] = push("notation/big", "notation-big");
  const std::string big(300, 'x');
  const nlohmann::json small = signature("notation/big", digest, "small-envelope");
  const nlohmann::json claimed = signature("notation/big", digest, big);                    // claims 300
  const nlohmann::json lying = signature("notation/big", digest, big + "y", "application/jose+json", 50);  // claims 50
  index("notation/big", digest, nlohmann::json::array({small, claimed, lying}));
  NotationFetchOptions options;
  options.max_envelope_bytes = 100;
  auto got = fetch(image, digest, options);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->signatures.size(), 1U);
  EXPECT_EQ(got->signatures[0].envelope, "small-envelope");
  ASSERT_EQ(got->skipped.size(), 2U);
  EXPECT_NE(got->skipped[0].find("envelope of 300 bytes exceeds 100"), std::string::npos) << got->skipped[0];
  EXPECT_NE(got->skipped[1].find("signature " + lying["digest"].get<std::string>()), std::string::npos)
      << got->skipped[1];
  // Claimed 300: not requested. manifest, referrers, index, 3 manifests, 2 envelopes.
  EXPECT_EQ(got->requests, 8U);
}

}  // namespace
}  // namespace imagegate::verifier
