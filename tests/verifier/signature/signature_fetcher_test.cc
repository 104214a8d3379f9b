// SignatureFetcher against a real docker-registry (testing::LocalRegistry, TLS with a test CA): cosign `.sig`
// manifests found and read layer by layer, an image without signatures, more signatures than allowed
// (resource_exhausted, bounded before any layer is read), oversized payloads skipped (by the size the
// manifest claims, and by the bytes when the claim lies), Sigstore bundles through the tag-schema fallback
// (distribution 2.8 has no referrers API) counted against the same bound, and a signature repository
// (cosign's COSIGN_REPOSITORY) holding both formats.
#include "verifier/signature/signature_fetcher.h"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "tests/coroutine_support.h"
#include "tests/signature_registry.h"
#include "tests/test_support.h"
#include "verifier/registry/oci_registry_client.h"

namespace imagegate::verifier {
namespace {

namespace asio = boost::asio;

class SignatureFetcherTest : public testing::LocalRegistryTest<SignatureFetcherTest> {
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

  template <class T>
  T run(asio::awaitable<T> task) {
    return testing::run_on(io_, std::move(task));
  }

  // Pushes a fresh image to `repository` (name without host) and returns its reference and digest.
  std::pair<ImageReference, std::string> push(const std::string& repository, const std::string& seed) {
    const std::string digest = registry_->push(seed, repository + ":1");
    auto ref = ImageReference::from_container_image(registry_->host() + "/" + repository + ":1");
    if (!ref) throw std::runtime_error(ref.error().message);
    return {*ref, digest};
  }

  Result<FetchedSignatures> fetch(const ImageReference& image, const std::string& digest,
                                  SignatureFetchOptions options = {}, const std::string& repository = {}) {
    SignatureFetcher fetcher(*client_, std::move(options));
    return run(fetcher.fetch(image, digest, repository));
  }

  // Declared before the client: its pooled connections close on it.
  asio::io_context io_;
  std::unique_ptr<OciRegistryClient> client_;
};

using SigLayer = testing::SignatureUploader::SigLayer;

TEST_F(SignatureFetcherTest, ReadsEverySigLayerWithItsSignature) {
  auto [image, digest] = push("found/app", "found");
  const auto key = testing::SigningKey::generate();
  const std::string payload = testing::simple_signing_payload(image.name(), digest);
  const std::string signature = key.sign(payload);
  testing::SignatureUploader upload(*registry_);
  upload.attach_sig("found/app", digest, {SigLayer{payload, signature, 0}, SigLayer{payload + " ", "sig-2", 0}});

  auto got = fetch(image, digest);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->digest, digest);
  ASSERT_EQ(got->cosign.size(), 2U);
  EXPECT_EQ(got->cosign[0].payload, payload);
  EXPECT_EQ(got->cosign[0].signature, signature);
  EXPECT_EQ(got->cosign[1].signature, "sig-2");
  EXPECT_TRUE(got->bundles.empty());
  EXPECT_TRUE(got->skipped.empty()) << got->skipped.front();
  // The `.sig` manifest, two payloads, the referrers API (404 on 2.8), the fallback tag (404).
  EXPECT_EQ(got->requests, 5U);
  // The signature verifies with the key: the bytes came through intact.
  auto public_key = PublicKey::from_pem(key.public_pem);
  ASSERT_TRUE(public_key.ok());
  EXPECT_TRUE(verify_cosign_key(got->cosign[0], *public_key, digest, {}, nullptr).ok());
}

// The `.sig` lookup and the referrers lookup are in flight together, and a registry without the referrers
// API (distribution 2.8) is remembered by the client: the next image of that registry costs one request
// fewer (no referrers 404), and finds the same signatures.
TEST_F(SignatureFetcherTest, TheNextImageSkipsTheReferrersApiTheRegistryLacks) {
  const auto key = testing::SigningKey::generate();
  testing::SignatureUploader upload(*registry_);
  const auto access_log = [](const std::string& repository) {
    const std::string log = testing::read_file(registry_->log_file());
    std::size_t n = 0;
    const std::string needle = " /v2/" + repository + "/";
    for (std::size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  };
  std::size_t first_requests = 0;
  for (const char* repository : {"memo/one", "memo/two"}) {
    auto [image, digest] = push(repository, repository);
    const std::string payload = testing::simple_signing_payload(image.name(), digest);
    upload.attach_sig(repository, digest, {SigLayer{payload, key.sign(payload), 0}});
    const std::size_t before = access_log(repository);
    auto got = fetch(image, digest);
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_EQ(got->cosign.size(), 1U) << repository;
    EXPECT_EQ(got->cosign[0].payload, payload);
    const std::size_t made = access_log(repository) - before;
    if (first_requests == 0) {
      first_requests = made;
      EXPECT_EQ(made, 4U) << "`.sig` manifest, its payload, referrers 404, fallback tag 404";
    } else {
      EXPECT_EQ(made, first_requests - 1) << "no referrers request: the registry is known to lack the API";
    }
  }
}

TEST_F(SignatureFetcherTest, UnsignedImageHasNothingAndIsNotAnError) {
  auto [image, digest] = push("unsigned/app", "unsigned");
  auto got = fetch(image, digest);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(got->empty());
  EXPECT_TRUE(got->skipped.empty());
  // Another digest of the same repository: nothing either.
  auto other = fetch(image, "sha256:" + std::string(64, 'c'));
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_TRUE(other->empty());
  // Not a digest: refused before any request.
  EXPECT_EQ(fetch(image, "sha256:xyz").error().code, ErrorCode::invalid_argument);
}

TEST_F(SignatureFetcherTest, MoreSignaturesThanAllowedIsResourceExhausted) {
  auto [image, digest] = push("many/app", "many");
  std::vector<SigLayer> layers;
  for (int i = 0; i < 4; ++i) layers.push_back(SigLayer{"payload-" + std::to_string(i), "s", 0});
  testing::SignatureUploader(*registry_).attach_sig("many/app", digest, layers);

  SignatureFetchOptions three;
  three.max_signatures = 3;
  auto got = fetch(image, digest, three);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::resource_exhausted);
  EXPECT_NE(got.error().message.find("more than 3 signatures"), std::string::npos) << got.error().message;
  SignatureFetchOptions four;
  four.max_signatures = 4;
  auto enough = fetch(image, digest, four);
  ASSERT_TRUE(enough.ok()) << enough.error().message;
  EXPECT_EQ(enough->cosign.size(), 4U);
}

TEST_F(SignatureFetcherTest, OversizedPayloadsAreSkippedNotRead) {
  auto [image, digest] = push("big/app", "big");
  const std::string small = "{\"small\":true}";
  const std::string big(300, 'x');
  testing::SignatureUploader(*registry_)
      .attach_sig("big/app", digest,
                  {SigLayer{small, "s1", 0},
                   SigLayer{big, "s2", 0},                      // claims its true size: over the bound
                   SigLayer{big + "y", "s3", 10},               // claims 10 bytes: the bytes are bounded anyway
                   SigLayer{"huge", "s4", std::size_t{1} << 40}}); // a claim nobody allocates for
  SignatureFetchOptions options;
  options.max_payload_bytes = 100;
  auto got = fetch(image, digest, options);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->cosign.size(), 1U);
  EXPECT_EQ(got->cosign[0].payload, small);
  ASSERT_EQ(got->skipped.size(), 3U);
  EXPECT_NE(got->skipped[0].find("signature layer 2: payload of 300 bytes exceeds 100"), std::string::npos)
      << got->skipped[0];
  EXPECT_NE(got->skipped[1].find("signature layer 3"), std::string::npos) << got->skipped[1];
  EXPECT_NE(got->skipped[2].find("signature layer 4: payload of 1099511627776 bytes exceeds 100"), std::string::npos)
      << got->skipped[2];
  // Skipped by claim: no request for layers 2 and 4 (manifest + layers 1 and 3 + referrers + fallback).
  EXPECT_EQ(got->requests, 5U);
}

TEST_F(SignatureFetcherTest, BundlesThroughTheTagSchemaFallback) {
  auto [image, digest] = push("bundles/app", "bundles");
  const std::string bundle1 = R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","n":1})";
  const std::string bundle2 = R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","n":2})";
  testing::SignatureUploader upload(*registry_);
  upload.attach_bundles("bundles/app", digest, {bundle1, bundle2});

  auto got = fetch(image, digest);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(got->cosign.empty());
  ASSERT_EQ(got->bundles.size(), 2U);
  EXPECT_EQ(got->bundles[0], bundle1);
  EXPECT_EQ(got->bundles[1], bundle2);

  // Bundles count against the same bound as `.sig` layers.
  upload.attach_sig("bundles/app", digest, {SigLayer{"p", "s", 0}, SigLayer{"q", "s", 0}});
  SignatureFetchOptions three;
  three.max_signatures = 3;
  auto over = fetch(image, digest, three);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::resource_exhausted);
  EXPECT_NE(over.error().message.find("2 cosign, 2 Sigstore bundles"), std::string::npos) << over.error().message;
}

TEST_F(SignatureFetcherTest, SignatureRepositoryHoldsBothFormats) {
  auto [image, digest] = push("team/app", "elsewhere");
  testing::SignatureUploader upload(*registry_);
  upload.attach_sig("signatures/app", digest, {SigLayer{"payload", "sig", 0}});
  upload.attach_bundles("signatures/app", digest, {R"({"n":3})"});
  const std::string repository = registry_->host() + "/signatures/app";

  auto there = fetch(image, digest, {}, repository);
  ASSERT_TRUE(there.ok()) << there.error().message;
  EXPECT_EQ(there->cosign.size(), 1U);
  EXPECT_EQ(there->bundles.size(), 1U);
  // Not beside the image.
  auto beside = fetch(image, digest);
  ASSERT_TRUE(beside.ok()) << beside.error().message;
  EXPECT_TRUE(beside->empty());
  // The options' repository is the default; the per-call one wins over it.
  SignatureFetchOptions configured;
  configured.signature_repository = repository;
  auto from_options = fetch(image, digest, configured);
  ASSERT_TRUE(from_options.ok()) << from_options.error().message;
  EXPECT_EQ(from_options->cosign.size(), 1U);
  auto overridden = fetch(image, digest, configured, registry_->host() + "/team/app");
  ASSERT_TRUE(overridden.ok()) << overridden.error().message;
  EXPECT_TRUE(overridden->empty());
  // A reference, not a repository name: refused.
  for (const std::string& bad : {repository + ":v1", repository + "@" + digest, std::string("Bad Repo")}) {
    auto refused = fetch(image, digest, {}, bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace imagegate::verifier
