// Anchor material built from a policy (build_anchor_material: keys inline and from files, load errors that
// fail only their anchor; the offline checks of the schemes are tests/verifier/signature/). Then verify()
// against a real docker-registry (testing::LocalRegistry) with `.sig` manifests signed here: key files
// rotated in place and by a kubelet-style `..data` symlink swap are picked up by the AnchorKeeper after
// trustReloadInterval (and not before, nor with the reload off); trust files are read when the material is
// built, never by verify() (a key file deleted after that changes nothing until the rotation sees it); a
// signature repository is read instead of
// the image's; two SignatureVerification objects (two replicas) sharing answers through a real
// redis-server, where the second answers without a registry fetch and a replica with other trust material
// does not share.
#include "webhook/evidence/signature_verification.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "policy/policy.h"
#include "tests/coroutine_support.h"
#include "tests/signature_registry.h"
#include "tests/test_support.h"
#include "verifier/registry/shared_cache.h"
#include "webhook/evidence/anchor_keeper.h"
#include "webhook/evidence/registry_setup.h"

namespace imagegate::webhook {
namespace {

using verifier::AnchorCheck;
using verifier::LoadedAnchor;

const std::string kDigest = "sha256:" + std::string(64, 'a');

std::string payload_for(const std::string& digest) {
  return R"({"critical":{"identity":{"docker-reference":"registry.example.com/app"},"image":{"docker-manifest-digest":")" +
         digest + R"("},"type":"cosign container image signature"},"optional":null})";
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
  return verifier::check_fetched(anchor, fetched, std::chrono::system_clock::now());
}

TEST(AnchorCheckTest, ToEvidenceKeepsStatusAndDetail) {
  EXPECT_EQ(to_evidence({AnchorCheck::Status::verified, "ok", {}}).status, policy::EvidenceStatus::verified);
  EXPECT_EQ(to_evidence({AnchorCheck::Status::failed, "no", {}}).status, policy::EvidenceStatus::failed);
  EXPECT_EQ(to_evidence({AnchorCheck::Status::unavailable, "down", {}}).detail, "down");
}

TEST(AnchorMaterialTest, BuildsFromPolicyAndIsolatesLoadErrors) {
  const testing::SigningKey pair = testing::SigningKey::generate("ec");
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
  auto set = build_anchor_material(*policy, RegistryConfig{});
  EXPECT_EQ(set->policy_version(), policy::version_of(*policy));
  ASSERT_NE(set->find("from-file"), nullptr);
  EXPECT_EQ(set->find("from-file")->load_error, "");
  EXPECT_NE(set->find("from-file")->verifier, nullptr);
  EXPECT_EQ(set->find("inline")->load_error, "");
  EXPECT_NE(set->find("missing")->load_error.find("missing.pub"), std::string::npos);
  EXPECT_NE(set->find("bad")->load_error.find("bad.pub"), std::string::npos);
  EXPECT_NE(set->find("roots-missing")->load_error.find("nope.json"), std::string::npos);
  EXPECT_EQ(set->find("roots-missing")->kind, LoadedAnchor::Kind::keyless);
  EXPECT_EQ(set->find("unknown"), nullptr);
  // The loaded key verifies what the file's key signed.
  const std::string payload = payload_for(kDigest);
  EXPECT_EQ(check(*set->find("from-file"), fetched_with(payload, pair.sign(payload))).status,
            AnchorCheck::Status::verified);
  // Keys never expire: no expiry, so no imagegate_trust_material_expiry_seconds series.
  EXPECT_TRUE(set->find("from-file")->expiries.empty());
  EXPECT_TRUE(set->find("inline")->expiries.empty());
  std::filesystem::remove_all(dir);
}

// imagegate_trust_material_expiry_seconds' source: a keyless anchor's trusted root expires when the first
// authority still valid does (its certificates' notAfter included); the retired ones a Sigstore root keeps
// for old signatures do not count, unless nothing else is left. (The vector is an old public-good root: its
// TSA leaf has already expired, which is exactly what the gauge is for.)
TEST(AnchorMaterialTest, TrustedRootExpiryIgnoresRetiredAuthorities) {
  const auto public_good = testing::conformance_dir() / "sigstore" / "trusted_root" / "public-good.json";
  if (!std::filesystem::exists(public_good)) GTEST_SKIP() << "no conformance vectors at " << public_good;
  const auto dir = std::filesystem::temp_directory_path() / ("imagegate-expiry-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // The same root with only its retired CA (validFor ends 2022-12-31T23:59:59.999Z), no TSA.
  nlohmann::json retired = nlohmann::json::parse(testing::read_file(public_good));
  retired["certificateAuthorities"].erase(1);
  retired.erase("timestampAuthorities");
  std::ofstream(dir / "retired.json") << retired.dump();
  const std::string yaml = "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: t}\nspec:\n"
                           "  trustAnchors:\n"
                           "    - name: current\n      keyless:\n        issuer: https://issuer.example\n"
                           "        subjectRegExp: '.*'\n        trustedRoot: " + public_good.string() + "\n"
                           "    - name: retired\n      keyless:\n        issuer: https://issuer.example\n"
                           "        subjectRegExp: '.*'\n        trustedRoot: " + (dir / "retired.json").string() + "\n"
                           "  rules:\n    - name: r\n      match: {images: ['**']}\n"
                           "      signatures: {anchors: [current, retired]}\n";
  policy::PolicyResult loaded = policy::load_policy(yaml, "t.yaml");
  if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
    FAIL() << (*diagnostics)[0].to_string();
  }
  auto set = build_anchor_material(*std::get<std::shared_ptr<const policy::CompiledPolicy>>(loaded), RegistryConfig{});
  const LoadedAnchor* current = set->find("current");
  ASSERT_EQ(current->load_error, "");
  ASSERT_EQ(current->expiries.size(), 1U);
  EXPECT_EQ(current->expiries[0].kind, "trusted_root");
  using namespace std::chrono;
  // Among the authorities still valid (the current Fulcio CA, certificates to 2031; the GitHub TSA, whose
  // leaf in this vector ended 2024-04-13T00:00:00Z): the TSA leaf. Not the retired Fulcio CA's 2022 end.
  EXPECT_EQ(time_point_cast<seconds>(current->expiries[0].not_after), sys_days(year(2024) / 4 / 13));
  const LoadedAnchor* old = set->find("retired");
  ASSERT_EQ(old->load_error, "");
  ASSERT_EQ(old->expiries.size(), 1U);
  const auto end_2022 = sys_days(year(2022) / 12 / 31) + hours(23) + minutes(59) + seconds(59) + milliseconds(999);
  EXPECT_EQ(time_point_cast<milliseconds>(old->expiries[0].not_after), end_2022);
  std::filesystem::remove_all(dir);
}

// ---- verify() against a real registry ------------------------------------------------------------------

namespace asio = boost::asio;
using SigLayer = testing::SignatureUploader::SigLayer;

std::shared_ptr<const policy::CompiledPolicy> key_file_policy(const std::filesystem::path& key_file) {
  const std::string yaml = "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: t}\nspec:\n"
                           "  trustAnchors:\n"
                           "    - name: release\n      cosign: {keyFile: " + key_file.string() + "}\n"
                           "  rules:\n    - name: r\n      match: {images: ['**']}\n"
                           "      signatures: {anchors: [release]}\n";
  policy::PolicyResult loaded = policy::load_policy(yaml, "t.yaml");
  if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
    throw std::runtime_error((*diagnostics)[0].to_string());
  }
  return std::get<std::shared_ptr<const policy::CompiledPolicy>>(loaded);
}

// redis-cli against the test's redis-server; its standard output.
std::string run_redis_cli(const testing::RedisServer& redis, const std::vector<std::string>& args) {
  const auto out = std::filesystem::temp_directory_path() / ("imagegate-redis-cli-" + std::to_string(::getpid()));
  std::string command = "redis-cli -h 127.0.0.1 -p " + std::to_string(redis.port());
  for (const std::string& arg : args) {
    std::string quoted = "'";
    for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += " " + quoted + "'";
  }
  command += " > '" + out.string() + "' 2>&1";
  const int rc = std::system(command.c_str());
  std::string text = testing::read_file(out);
  std::filesystem::remove(out);
  if (rc != 0) throw std::runtime_error("redis-cli failed: " + text);
  return text;
}

class RegistryVerificationTest : public testing::LocalRegistryTest<RegistryVerificationTest> {
 protected:
  void SetUp() override {
    LocalRegistryTest::SetUp();
    if (HasFatalFailure()) return;
    dir_ = std::filesystem::temp_directory_path() /
           ("imagegate-sigverify-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_.ca_files = {registry_->ca_file().string()};
    auto clients = make_registry_clients(config_);
    ASSERT_TRUE(clients.ok()) << clients.error().message;
    clients_ = std::move(clients.value());
  }
  void TearDown() override {
    clients_ = {};
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  template <class T>
  T run(asio::awaitable<T> task) {
    return testing::run_on(io_, std::move(task));
  }

  // A signed image: pushed to `repository`, its `.sig` (signed with `key`) in `sig_repository`.
  std::pair<verifier::ImageReference, std::string> signed_image(const std::string& repository,
                                                                const std::string& sig_repository,
                                                                const testing::SigningKey& key) {
    const std::string digest = registry_->push(repository, repository + ":1");
    auto ref = verifier::ImageReference::from_container_image(registry_->host() + "/" + repository + ":1");
    if (!ref) throw std::runtime_error(ref.error().message);
    const std::string payload = testing::simple_signing_payload(ref->name(), digest);
    testing::SignatureUploader(*registry_).attach_sig(sig_repository, digest, {SigLayer{payload, key.sign(payload), 0}});
    return {*ref, digest};
  }

  policy::EvidenceStatus status(SignatureVerification& verification,
                                const std::shared_ptr<const verifier::AnchorMaterial>& material,
                                const verifier::ImageReference& image, const std::string& digest,
                                const std::string& sig_repository = {}) {
    SignatureReport report = run(verification.verify(material, image, digest, {"release"}, sig_repository));
    last_ = report;
    return report.anchors.at(0).check.status;
  }
  // With the material of `policy` as its trust files read now (a policy just loaded).
  policy::EvidenceStatus status(SignatureVerification& verification,
                                const std::shared_ptr<const policy::CompiledPolicy>& policy,
                                const verifier::ImageReference& image, const std::string& digest,
                                const std::string& sig_repository = {}) {
    return status(verification, build_anchor_material(*policy, config_), image, digest, sig_repository);
  }

  // One replica's trust: an AnchorKeeper that loaded `policy` and rotates its trust files every `interval`
  // on a pool thread, publishing into `material` (as the server publishes into its snapshot).
  struct Trust {
    Trust(const RegistryConfig& config, std::chrono::milliseconds interval,
          std::shared_ptr<const policy::CompiledPolicy> policy, boost::asio::thread_pool& pool)
        : keeper(config, interval), material(keeper.load(std::move(policy))) {
      keeper.start(pool.get_executor(), [this](std::shared_ptr<const verifier::AnchorMaterial> rotated) {
        std::lock_guard lock(mutex);
        material = std::move(rotated);
      });
    }
    std::shared_ptr<const verifier::AnchorMaterial> current() {
      std::lock_guard lock(mutex);
      return material;
    }
    AnchorKeeper keeper;
    std::mutex mutex;
    std::shared_ptr<const verifier::AnchorMaterial> material;
  };

  // The kubelet's layout for a Secret volume: FILE -> ..data/FILE, ..data -> ..<timestamp>/.
  void write_secret_volume(const std::filesystem::path& volume, const std::string& generation, const std::string& pem) {
    std::filesystem::create_directories(volume / generation);
    std::ofstream(volume / generation / "key.pub") << pem;
    std::filesystem::create_directory_symlink(generation, volume / "..data_tmp");
    std::filesystem::rename(volume / "..data_tmp", volume / "..data");  // atomic swap, as kubelet does
    if (!std::filesystem::is_symlink(volume / "key.pub")) std::filesystem::create_symlink("..data/key.pub", volume / "key.pub");
  }

  std::filesystem::path dir_;
  RegistryConfig config_;
  asio::io_context io_;  // before the clients: their pooled connections close on it
  RegistryClients clients_;
  SignatureReport last_;
};

TEST_F(RegistryVerificationTest, RotatedKeyFileIsPickedUpAfterTheReloadInterval) {
  const auto old_key = testing::SigningKey::generate();
  const auto new_key = testing::SigningKey::generate();
  auto [image, digest] = signed_image("rotate/app", "rotate/app", new_key);
  const auto volume = dir_ / "trust";
  write_secret_volume(volume, "..2026_11_28_00_00_00.1", old_key.public_pem);
  auto policy = key_file_policy(volume / "key.pub");

  boost::asio::thread_pool pool(1);  // the keepers' rotation runs here, as on the server's policy pool
  Trust rotating_trust(config_, std::chrono::milliseconds(200), policy, pool);
  SignatureVerification rotating(*clients_.cached);
  Trust fixed_trust(config_, std::chrono::milliseconds(0), policy, pool);
  SignatureVerification fixed(*clients_.cached);

  EXPECT_EQ(status(rotating, rotating_trust.current(), image, digest), policy::EvidenceStatus::failed) << "signed with the new key";
  EXPECT_EQ(status(fixed, fixed_trust.current(), image, digest), policy::EvidenceStatus::failed);
  const std::string first_version = rotating_trust.current()->version();

  // The Secret is updated: kubelet writes a new generation and swaps `..data`.
  write_secret_volume(volume, "..2026_11_28_00_05_00.2", new_key.public_pem);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(status(rotating, rotating_trust.current(), image, digest), policy::EvidenceStatus::verified) << last_.anchors[0].check.detail;
  EXPECT_FALSE(last_.from_cache) << "the old answer was cached under the old anchor material";
  EXPECT_EQ(rotating_trust.keeper.trust_reloads(), 1U);
  const auto rotated = rotating_trust.current();
  EXPECT_NE(rotated->version(), first_version);
  EXPECT_EQ(rotated->policy_version(), policy::version_of(*policy)) << "same policy, new trust material";
  // With the reload off, the old key stays until the policy changes (and the cached answer with it).
  EXPECT_EQ(status(fixed, fixed_trust.current(), image, digest), policy::EvidenceStatus::failed);
  EXPECT_EQ(fixed_trust.keeper.trust_reloads(), 0U);

  // No change: the material is kept (same version) across intervals.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(status(rotating, rotating_trust.current(), image, digest), policy::EvidenceStatus::verified);
  EXPECT_TRUE(last_.from_cache);
  EXPECT_EQ(rotating_trust.current()->version(), rotated->version());

  // A file rewritten in place (no symlink swap) is seen too.
  std::ofstream(volume / "..data" / "key.pub", std::ios::trunc) << old_key.public_pem;
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(status(rotating, rotating_trust.current(), image, digest), policy::EvidenceStatus::failed);
  EXPECT_EQ(rotating_trust.keeper.trust_reloads(), 2U);
  // A file that disappears fails the anchor with the reason, and its return is seen.
  std::filesystem::remove(volume / "..data" / "key.pub");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(status(rotating, rotating_trust.current(), image, digest), policy::EvidenceStatus::failed);
  EXPECT_NE(last_.anchors[0].check.detail.find("key.pub"), std::string::npos) << last_.anchors[0].check.detail;
  std::ofstream(volume / "..data" / "key.pub") << new_key.public_pem;
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(status(rotating, rotating_trust.current(), image, digest), policy::EvidenceStatus::verified);
  rotating_trust.keeper.stop();
  fixed_trust.keeper.stop();
  pool.join();
}

// Trust files are read when the material is built (when the policy is loaded, or by the rotation), never
// by verify(): deleting the key file after the snapshot's material was built changes no answer (nor the
// cached one's key) until the rotation rebuilds it.
TEST_F(RegistryVerificationTest, TrustFilesAreNotReadDuringAReview) {
  const auto key = testing::SigningKey::generate();
  auto [image, digest] = signed_image("snapshot/app", "snapshot/app", key);
  std::ofstream(dir_ / "key.pub") << key.public_pem;
  auto policy = key_file_policy(dir_ / "key.pub");
  AnchorKeeper keeper(config_, std::chrono::milliseconds(0));
  const auto material = keeper.load(policy);
  std::filesystem::remove(dir_ / "key.pub");
  SignatureVerificationOptions uncached;
  uncached.cache_ttl = std::chrono::milliseconds(0);  // every verify() verifies: nothing answers from a cache
  SignatureVerification verification(*clients_.cached, uncached);
  EXPECT_EQ(status(verification, material, image, digest), policy::EvidenceStatus::verified)
      << last_.anchors[0].check.detail;
  EXPECT_FALSE(last_.from_cache);
  EXPECT_EQ(status(verification, material, image, digest), policy::EvidenceStatus::verified);
  EXPECT_EQ(verification.stats().fetches, 2U);
  // The rotation sees the file gone: the new material fails the anchor naming it.
  const auto rotated = keeper.rotate();
  ASSERT_NE(rotated, nullptr);
  EXPECT_NE(rotated->version(), material->version());
  EXPECT_EQ(status(verification, rotated, image, digest), policy::EvidenceStatus::failed);
  EXPECT_NE(last_.anchors[0].check.detail.find("key.pub"), std::string::npos) << last_.anchors[0].check.detail;
  // A review that started with the old material still finishes with it.
  EXPECT_EQ(status(verification, material, image, digest), policy::EvidenceStatus::verified);
  EXPECT_EQ(keeper.trust_reloads(), 1U);
}

TEST_F(RegistryVerificationTest, SignatureRepositoryIsReadInsteadOfTheImages) {
  const auto key = testing::SigningKey::generate();
  auto [image, digest] = signed_image("sigrepo/app", "sigrepo/signatures", key);
  std::ofstream(dir_ / "key.pub") << key.public_pem;
  auto policy = key_file_policy(dir_ / "key.pub");
  SignatureVerification verification(*clients_.cached);
  const std::string repository = registry_->host() + "/sigrepo/signatures";

  EXPECT_EQ(status(verification, policy, image, digest, repository), policy::EvidenceStatus::verified)
      << last_.anchors[0].check.detail;
  EXPECT_EQ(last_.signatures, 1U);
  EXPECT_EQ(status(verification, policy, image, digest), policy::EvidenceStatus::failed);
  EXPECT_EQ(last_.anchors[0].check.detail, "no signatures found") << "nothing beside the image";
  EXPECT_FALSE(last_.from_cache) << "another repository is another cache entry";
  EXPECT_EQ(status(verification, policy, image, digest, repository), policy::EvidenceStatus::verified);
  EXPECT_TRUE(last_.from_cache);
  EXPECT_EQ(verification.stats().fetches, 2U);
  // A repository that is not a repository name: a definitive failure naming it.
  EXPECT_EQ(status(verification, policy, image, digest, repository + ":tag"), policy::EvidenceStatus::failed);
  EXPECT_NE(last_.anchors[0].check.detail.find("signature repository"), std::string::npos)
      << last_.anchors[0].check.detail;
}

TEST_F(RegistryVerificationTest, ReplicasShareAnswersThroughRedis) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  const auto key = testing::SigningKey::generate();
  auto [image, digest] = signed_image("shared/app", "shared/app", key);
  std::ofstream(dir_ / "key.pub") << key.public_pem;
  auto policy = key_file_policy(dir_ / "key.pub");
  auto replica = [&] {
    auto cache = verifier::open_redis_shared_cache(redis.url());
    if (!cache) throw std::runtime_error(cache.error().message);
    SignatureVerificationOptions options;
    options.shared = std::make_shared<verifier::SharedLookup>(std::shared_ptr<verifier::SharedCache>(std::move(*cache)));
    return options;
  };
  SignatureVerification one(*clients_.cached, replica());
  SignatureVerification two(*clients_.cached, replica());

  EXPECT_EQ(status(one, policy, image, digest), policy::EvidenceStatus::verified) << last_.anchors[0].check.detail;
  const std::vector<std::string> signers = last_.signers.at(0);
  EXPECT_EQ(one.stats().fetches, 1U);
  EXPECT_EQ(one.stats().shared_hits, 0U);
  EXPECT_EQ(status(two, policy, image, digest), policy::EvidenceStatus::verified) << last_.anchors[0].check.detail;
  EXPECT_EQ(two.stats().fetches, 0U) << "the second replica answered from Redis";
  EXPECT_EQ(two.stats().shared_hits, 1U);
  EXPECT_EQ(last_.signers.at(0), signers);
  EXPECT_EQ(last_.registry_requests, 0U);

  // Failed answers are decided: shared as well.
  const std::string unsigned_digest = registry_->push("unsigned", "shared/unsigned:1");
  auto unsigned_ref = verifier::ImageReference::from_container_image(registry_->host() + "/shared/unsigned:1");
  ASSERT_TRUE(unsigned_ref.ok());
  EXPECT_EQ(status(one, policy, *unsigned_ref, unsigned_digest), policy::EvidenceStatus::failed);
  EXPECT_EQ(status(two, policy, *unsigned_ref, unsigned_digest), policy::EvidenceStatus::failed);
  EXPECT_EQ(last_.anchors[0].check.detail, "no signatures found");
  EXPECT_EQ(two.stats().fetches, 0U);
  EXPECT_EQ(two.stats().shared_hits, 2U);

  // Values a replica cannot use count as misses: it verifies itself, and never crashes or trusts them.
  // Overwritten through redis-cli (the registry client shares digests in the same Redis: only the
  // signature keys are touched).
  const std::string keys = run_redis_cli(redis, {"--scan", "--pattern", "imagegate:cache:signatures:*"});
  std::vector<std::string> signature_keys;
  for (std::size_t start = 0, end; start < keys.size(); start = end + 1) {
    end = keys.find('\n', start);
    if (end == std::string::npos) end = keys.size();
    if (end > start) signature_keys.push_back(keys.substr(start, end - start));
  }
  ASSERT_EQ(signature_keys.size(), 2U) << keys;  // the signed and the unsigned image
  int fetches = 0;
  for (const std::string& garbage :
       {std::string("not json"), std::string(R"({"v":1,"anchors":[{"name":"release","status":"unavailable","detail":"x","signers":[]}]})"),
        std::string(R"({"v":1,"anchors":[{"name":"other","status":"verified","detail":"x","signers":[]}]})"),
        std::string(R"({"v":2,"anchors":[]})"), std::string(R"({"v":1,"anchors":[{"name":"release"}]})"),
        std::string(R"([1,2,3])")}) {
    for (const std::string& k : signature_keys) run_redis_cli(redis, {"SET", k, garbage});
    SignatureVerification fresh_replica(*clients_.cached, replica());
    EXPECT_EQ(status(fresh_replica, policy, image, digest), policy::EvidenceStatus::verified) << garbage;
    EXPECT_EQ(fresh_replica.stats().shared_hits, 0U) << garbage;
    EXPECT_EQ(fresh_replica.stats().fetches, 1U) << garbage;
    ++fetches;
  }
  EXPECT_EQ(fetches, 6);
  // The replica that could not use the value replaced it with its own answer: the next one uses that.
  SignatureVerification healed(*clients_.cached, replica());
  EXPECT_EQ(status(healed, policy, image, digest), policy::EvidenceStatus::verified);
  EXPECT_EQ(healed.stats().shared_hits, 1U);
  EXPECT_EQ(healed.stats().fetches, 0U);

  // A replica with other trust material (same policy, another key in the file) never uses those answers.
  const auto other = testing::SigningKey::generate();
  const auto other_dir = dir_ / "other";
  std::filesystem::create_directories(other_dir);
  std::ofstream(other_dir / "key.pub") << other.public_pem;
  // Same path in the policy, so the policy version is the same: only the trust hash differs.
  std::filesystem::rename(dir_ / "key.pub", dir_ / "key.pub.orig");
  std::filesystem::copy_file(other_dir / "key.pub", dir_ / "key.pub");
  SignatureVerification three(*clients_.cached, replica());
  EXPECT_EQ(status(three, policy, image, digest), policy::EvidenceStatus::failed) << "signed by the first key";
  EXPECT_EQ(three.stats().fetches, 1U);
  EXPECT_EQ(three.stats().shared_hits, 0U);

  // Redis down: each replica verifies for itself, nothing fails because of it.
  SignatureVerification four(*clients_.cached, replica());
  redis.stop();
  std::filesystem::remove(dir_ / "key.pub");
  std::filesystem::rename(dir_ / "key.pub.orig", dir_ / "key.pub");
  EXPECT_EQ(status(four, policy, image, digest), policy::EvidenceStatus::verified) << last_.anchors[0].check.detail;
  EXPECT_EQ(four.stats().fetches, 1U);
}

}  // namespace
}  // namespace imagegate::webhook
