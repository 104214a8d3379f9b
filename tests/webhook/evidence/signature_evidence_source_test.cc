// gather_signature_evidence against a real docker-registry (testing::LocalRegistry) with two-platform
// indexes pushed by skopeo and `.sig` manifests signed here with OpenSSL -- only on the index digest:
// - `name:tag@sha256:<platform>` verifies through the index with acceptIndexSignatures (the detail names
//   the index, the platform digest and its platform), not without the option, not without the registry
//   client (`verify`), not without a tag;
// - another image's platform digest: the detail says the index does not list it; a tag moved to a
//   single-platform image: not an index; an unknown tag: could not resolve;
// - two anchors, one signing the platform manifest and one the index: both verified, each saying how;
// - a signature repository (the rule's `repository`) is where the index's signatures are read;
// - the registry gone after the platform digest's answer was cached: the anchor becomes unavailable;
// - one snapshot per review: a policy reloaded while a review gathers (its anchor renamed to another key)
//   does not change the anchors that review verifies with; the next review uses the new ones.
#include "webhook/evidence/signature_evidence_source.h"

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <variant>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/evaluate.h"
#include "policy/policy.h"
#include "tests/coroutine_support.h"
#include "tests/signature_registry.h"
#include "tests/test_support.h"
#include "verifier/registry/oci_index.h"
#include "webhook/evidence/anchor_keeper.h"
#include "webhook/evidence/registry_evidence_source.h"
#include "webhook/evidence/registry_setup.h"
#include "webhook/observe/decision_log.h"
#include "webhook/observe/metrics.h"

namespace imagegate::webhook {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;
using ::testing::Not;
using policy::EvidenceStatus;

class SignatureEvidenceTest : public testing::LocalRegistryTest<SignatureEvidenceTest> {
 protected:
  void SetUp() override {
    LocalRegistryTest::SetUp();
    if (HasFatalFailure()) return;
    if (!registry_->running()) registry_->start();
    dir_ = std::filesystem::temp_directory_path() /
           ("imagegate-sigevidence-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_.ca_files = {registry_->ca_file().string()};
    auto clients = make_registry_clients(config_);
    ASSERT_TRUE(clients.ok()) << clients.error().message;
    clients_ = std::move(clients.value());
    verification_.emplace(*clients_.cached);
  }
  void TearDown() override {
    verification_.reset();
    clients_ = {};
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string host() const { return registry_->host(); }

  // A policy with anchors `release` and `platform` (keys written to files) and the rules `index` (accepts
  // index signatures), `plain` (does not) and `elsewhere` (index signatures, read from sigs/elsewhere).
  std::shared_ptr<const policy::CompiledPolicy> make_policy() {
    std::ofstream(dir_ / "release.pub") << release_.public_pem;
    std::ofstream(dir_ / "platform.pub") << platform_.public_pem;
    const std::string yaml =
        "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: t}\nspec:\n"
        "  trustAnchors:\n"
        "    - {name: release, cosign: {keyFile: " + (dir_ / "release.pub").string() + "}}\n"
        "    - {name: platform, cosign: {keyFile: " + (dir_ / "platform.pub").string() + "}}\n"
        "  rules:\n"
        "    - name: index\n      match: {images: ['" + host() + "/index/*']}\n"
        "      signatures: {anchors: [release, platform], acceptIndexSignatures: true}\n"
        "    - name: plain\n      match: {images: ['" + host() + "/plain/*']}\n"
        "      signatures: {anchors: [release, platform]}\n"
        "    - name: elsewhere\n      match: {images: ['" + host() + "/elsewhere/*']}\n"
        "      signatures: {anchors: [release, platform], acceptIndexSignatures: true,\n"
        "                   repository: '" + host() + "/sigs/elsewhere'}\n";
    policy::PolicyResult loaded = policy::load_policy(yaml, "t.yaml");
    if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
      ADD_FAILURE() << (*diagnostics)[0].to_string();
      return nullptr;
    }
    return std::get<std::shared_ptr<const policy::CompiledPolicy>>(loaded);
  }

  // Pushes a two-platform index to `repository:tag`; returns the index digest.
  std::string push_index(const std::string& seed, const std::string& repository, const std::string& tag) {
    return registry_->push(seed, repository + ":" + tag, {}, {"--multi"});
  }
  // The digest of the platform with `architecture` in `repository`'s index `index_digest`.
  std::string platform_of(const std::string& repository, const std::string& index_digest,
                          const std::string& architecture) {
    auto ref = verifier::ImageReference::from_container_image(host() + "/" + repository + "@" + index_digest);
    EXPECT_TRUE(ref.ok());
    auto fetched = run(clients_.network->fetch_manifest(*ref));
    EXPECT_TRUE(fetched.ok()) << fetched.error().message;
    auto index = verifier::parse_image_index(fetched->body, fetched->media_type);
    EXPECT_TRUE(index.ok()) << index.error().message;
    for (const auto& m : index->manifests) {
      if (m.platform && m.platform->architecture == architecture) return m.digest;
    }
    ADD_FAILURE() << "no " << architecture << " in " << index_digest;
    return {};
  }
  // `key` signs `digest`, attached as cosign's `.sig` in `sig_repository`.
  void sign(const testing::SigningKey& key, const std::string& image_repository, const std::string& digest,
            const std::string& sig_repository) {
    const std::string payload = testing::simple_signing_payload(host() + "/" + image_repository, digest);
    testing::SignatureUploader(*registry_).attach_sig(sig_repository, digest, {{payload, key.sign(payload), 0}});
  }

  template <class T>
  T run(asio::awaitable<T> task) {
    return testing::run_on(io_, std::move(task));
  }

  // The evidence for `image` under `policy`, as the server gathers it (with or without the registry client).
  policy::Evidence gather(const std::shared_ptr<const policy::CompiledPolicy>& policy, const std::string& image,
                          verifier::RegistryClient* registry) {
    const policy::ImageUnderReview review{"default", image};
    const policy::Plan plan = policy::plan(*policy, review);
    policy::Evidence evidence = policy::unevaluated_evidence(plan.needs, "not evaluated");
    const auto anchors = build_anchor_material(*policy, config_);  // as the policy's snapshot holds it
    if (registry != nullptr) {
      report_ = run(gather_signature_evidence(*verification_, *registry, anchors, review, plan, evidence));
    } else {
      report_ = run(gather_signature_evidence(*verification_, anchors, review, plan, evidence));
    }
    EXPECT_EQ(evidence.signatures.size(), 2u) << image;
    return evidence;
  }
  policy::Evidence gather(const std::shared_ptr<const policy::CompiledPolicy>& policy, const std::string& image) {
    return gather(policy, image, clients_.cached.get());
  }
  static const policy::CheckEvidence& anchor(const policy::Evidence& e, const std::string& name) {
    for (const auto& a : e.signatures) {
      if (a.anchor == name) return a.check;
    }
    static const policy::CheckEvidence kMissing{EvidenceStatus::not_evaluated, "anchor missing"};
    return kMissing;
  }

  testing::SigningKey release_ = testing::SigningKey::generate();
  testing::SigningKey platform_ = testing::SigningKey::generate();
  std::filesystem::path dir_;
  RegistryConfig config_;
  asio::io_context io_;  // before the clients: their pooled connections close on it
  RegistryClients clients_;
  std::optional<SignatureVerification> verification_;
  SignatureReport report_;
};

TEST_F(SignatureEvidenceTest, PlatformDigestVerifiesThroughTheSignedIndexItsTagResolvesTo) {
  auto policy = make_policy();
  ASSERT_NE(policy, nullptr);
  const std::string index = push_index("seed-index-app", "index/app", "1.0");
  push_index("seed-index-app", "plain/app", "1.0");
  const std::string arm = platform_of("index/app", index, "arm64");
  const std::string amd = platform_of("index/app", index, "amd64");
  ASSERT_NE(arm, amd);
  sign(release_, "index/app", index, "index/app");
  sign(release_, "plain/app", index, "plain/app");
  sign(platform_, "index/app", amd, "index/app");  // the other anchor signs one platform manifest directly

  const std::string tagged = host() + "/index/app:1.0@" + arm;
  policy::Evidence e = gather(policy, tagged);
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::verified) << anchor(e, "release").detail;
  EXPECT_THAT(anchor(e, "release").detail,
              HasSubstr("on the index " + index + " that " + host() + "/index/app:1.0 resolves to, which lists " +
                        arm + " (linux/arm64/v8)"));
  EXPECT_THAT(anchor(e, "release").detail, HasSubstr("signed by key sha256:"));
  ASSERT_EQ(report_.signers.size(), 2u);
  EXPECT_FALSE(report_.signers[0].empty()) << "the index's signer is reported";
  // `platform` signed neither arm64 nor the index: failed, saying both.
  EXPECT_EQ(anchor(e, "platform").status, EvidenceStatus::failed);
  EXPECT_THAT(anchor(e, "platform").detail, HasSubstr("no signatures found; on the index " + index));
  const policy::Decision decided = policy::evaluate(*policy, {"default", tagged}, e, std::chrono::system_clock::now());
  EXPECT_EQ(decided.action, policy::Action::allow) << (decided.reasons.empty() ? "" : decided.reasons[0]);

  // amd64: `platform` verified on the manifest itself (no index in its detail), `release` through the index.
  e = gather(policy, host() + "/index/app:1.0@" + amd);
  EXPECT_EQ(anchor(e, "platform").status, EvidenceStatus::verified);
  EXPECT_THAT(anchor(e, "platform").detail, Not(HasSubstr("index")));
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::verified);
  EXPECT_THAT(anchor(e, "release").detail, HasSubstr("which lists " + amd + " (linux/amd64)"));

  // Without the option, without the registry client (`verify`), without a tag: the platform digest alone.
  e = gather(policy, host() + "/plain/app:1.0@" + arm);
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::failed);
  EXPECT_EQ(anchor(e, "release").detail, "no signatures found");
  e = gather(policy, tagged, nullptr);
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::failed);
  EXPECT_EQ(anchor(e, "release").detail, "no signatures found");
  e = gather(policy, host() + "/index/app@" + arm);
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::failed);
  EXPECT_EQ(anchor(e, "release").detail, "no signatures found");
  // The index digest itself verifies directly.
  e = gather(policy, host() + "/index/app:1.0@" + index);
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::verified);
  EXPECT_THAT(anchor(e, "release").detail, Not(HasSubstr("on the index")));
}

TEST_F(SignatureEvidenceTest, AnIndexThatDoesNotListTheDigestOrIsNoIndexVouchesForNothing) {
  auto policy = make_policy();
  ASSERT_NE(policy, nullptr);
  const std::string index = push_index("seed-index-lists", "index/lists", "1.0");
  const std::string other_index = push_index("seed-index-other", "index/other", "1.0");
  const std::string other_arm = platform_of("index/other", other_index, "arm64");
  sign(release_, "index/lists", index, "index/lists");

  policy::Evidence e = gather(policy, host() + "/index/lists:1.0@" + other_arm);
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::failed);
  EXPECT_THAT(anchor(e, "release").detail,
              HasSubstr("the index " + index + " that " + host() + "/index/lists:1.0 resolves to does not list " +
                        other_arm));

  // A tag on a single-platform image: what it resolves to is no index.
  const std::string single = registry_->push("seed-index-single", "index/single:1.0");
  sign(release_, "index/single", single, "index/single");
  e = gather(policy, host() + "/index/single:1.0@" + other_arm);
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::failed);
  EXPECT_THAT(anchor(e, "release").detail, HasSubstr("resolves to " + single + ", which is not an image index"));

  // A tag that does not exist: definitive, stays failed and says why.
  e = gather(policy, host() + "/index/lists:9.9@" + other_arm);
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::failed);
  EXPECT_THAT(anchor(e, "release").detail, HasSubstr("could not resolve " + host() + "/index/lists:9.9"));
}

TEST_F(SignatureEvidenceTest, IndexSignaturesAreReadFromTheRulesSignatureRepository) {
  auto policy = make_policy();
  ASSERT_NE(policy, nullptr);
  const std::string index = push_index("seed-index-elsewhere", "elsewhere/app", "1.0");
  const std::string arm = platform_of("elsewhere/app", index, "arm64");
  sign(release_, "elsewhere/app", index, "sigs/elsewhere");

  policy::Evidence e = gather(policy, host() + "/elsewhere/app:1.0@" + arm);
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::verified) << anchor(e, "release").detail;
  EXPECT_THAT(anchor(e, "release").detail, HasSubstr("on the index " + index));
  e = gather(policy, host() + "/elsewhere/app:1.0@" + index);
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::verified) << anchor(e, "release").detail;
}

TEST_F(SignatureEvidenceTest, RegistryGoneWhileLookingForTheIndexIsUnavailable) {
  auto policy = make_policy();
  ASSERT_NE(policy, nullptr);
  const std::string index = push_index("seed-index-gone", "index/gone", "1.0");
  const std::string arm = platform_of("index/gone", index, "arm64");
  // The platform digest's answer ("no signatures found") is cached; then the registry stops, so the
  // index cannot be looked at: the anchor could still have verified -> unavailable.
  policy::Evidence e = gather(policy, host() + "/index/gone@" + arm);
  ASSERT_EQ(anchor(e, "release").status, EvidenceStatus::failed);
  registry_->stop();
  e = gather(policy, host() + "/index/gone:1.0@" + arm, clients_.network.get());
  registry_->start();
  EXPECT_EQ(anchor(e, "release").status, EvidenceStatus::unavailable) << anchor(e, "release").detail;
  EXPECT_THAT(anchor(e, "release").detail, HasSubstr("could not resolve " + host() + "/index/gone:1.0"));
}

// The evidence source the server chains under the signatures: here it also reloads the policy while the
// review gathers, once (the watcher swapping the service's snapshot mid-review).
class ReloadingSource final : public EvidenceSource {
 public:
  ReloadingSource(EvidenceSource& inner, std::function<void()> reload) : inner_(inner), reload_(std::move(reload)) {}
  asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview& image, const policy::Plan& plan,
                                           const PolicySnapshot& snapshot) override {
    if (reload_) std::exchange(reload_, nullptr)();
    co_return co_await inner_.gather(image, plan, snapshot);
  }

 private:
  EvidenceSource& inner_;
  std::function<void()> reload_;
};

TEST_F(SignatureEvidenceTest, PolicyReloadedMidReviewDoesNotChangeTheAnchorsItUses) {
  const std::string digest = registry_->push("seed-snapshot", "snapshot/app:1");
  sign(release_, "snapshot/app", digest, "snapshot/app");
  std::ofstream(dir_ / "a.pub") << release_.public_pem;
  std::ofstream(dir_ / "b.pub") << platform_.public_pem;
  // A and B name the same anchor; B's is another key, which did not sign the image.
  const auto policy_with = [&](const std::string& key_file) {
    const std::string yaml = "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: t}\nspec:\n"
                             "  trustAnchors:\n    - {name: release, cosign: {keyFile: " + (dir_ / key_file).string() +
                             "}}\n  rules:\n    - name: r\n      match: {images: ['" + host() + "/snapshot/*']}\n"
                             "      signatures: {anchors: [release]}\n";
    policy::PolicyResult loaded = policy::load_policy(yaml, "t.yaml");
    return std::get<std::shared_ptr<const policy::CompiledPolicy>>(loaded);
  };
  const auto a = policy_with("a.pub");
  const auto b = policy_with("b.pub");
  ASSERT_NE(policy::version_of(*a), policy::version_of(*b));

  AnchorKeeper keeper(config_, std::chrono::milliseconds(0));
  Metrics metrics;
  std::ostringstream log_text;
  DecisionLog log(log_text);
  RegistryEvidenceSource registry(*clients_.cached);
  PolicyAdmissionService* reviewing = nullptr;
  ReloadingSource reloading(registry, [&] { reviewing->set_policy(b); });
  SignatureEvidenceSource signatures(reloading, *verification_, *clients_.cached);
  PolicyAdmissionService service(AdmissionOptions{}, signatures, metrics, log);
  reviewing = &service;
  service.set_anchor_loader([&keeper](std::shared_ptr<const policy::CompiledPolicy> p) { return keeper.load(std::move(p)); });
  service.set_policy(a);
  const auto material_a = service.snapshot().anchors;
  ASSERT_NE(material_a, nullptr);
  EXPECT_EQ(material_a->policy_version(), policy::version_of(*a));

  const std::string body =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"",)"
      R"("version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"default","object":{"apiVersion":"v1",)"
      R"("kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":")" +
      host() + R"(/snapshot/app:1"}]}}}})";
  HttpAnswer answer = run(service.validate(body, "/validate"));
  nlohmann::json review = nlohmann::json::parse(answer.body);
  EXPECT_EQ(review["response"]["allowed"], true) << answer.body;  // verified with A's key, under A
  // The reload happened during that review: B, with its own material, is in force now.
  ASSERT_EQ(service.policy(), b);
  ASSERT_NE(service.snapshot().anchors, nullptr);
  EXPECT_EQ(service.snapshot().anchors->policy_version(), policy::version_of(*b));
  answer = run(service.validate(body, "/validate"));
  review = nlohmann::json::parse(answer.body);
  EXPECT_EQ(review["response"]["allowed"], false) << answer.body;  // B's key did not sign it
}

}  // namespace
}  // namespace imagegate::webhook
