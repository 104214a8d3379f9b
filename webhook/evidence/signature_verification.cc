#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/evidence/signature_verification.h"

#include <algorithm>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "common/expiring_cache.h"
#include "common/single_flight.h"
#include "common/text.h"
#include "verifier/crypto/crypto.h"
#include "webhook/evidence/signature_shared_answer.h"

namespace imagegate::webhook {

namespace asio = boost::asio;
using verifier::AnchorCheck;
using verifier::AnchorMaterial;
using verifier::LoadedAnchor;
using SteadyClock = std::chrono::steady_clock;

namespace {

void add_unique(std::vector<std::string>& list, std::string item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
}

}  // namespace

policy::CheckEvidence to_evidence(const AnchorCheck& check) {
  switch (check.status) {
    case AnchorCheck::Status::verified: return {policy::EvidenceStatus::verified, check.detail, check.diagnostic};
    case AnchorCheck::Status::failed: return {policy::EvidenceStatus::failed, check.detail, check.diagnostic};
    case AnchorCheck::Status::unavailable: return {policy::EvidenceStatus::unavailable, check.detail, check.diagnostic};
  }
  return {policy::EvidenceStatus::failed, check.detail, check.diagnostic};
}

// ---- SignatureVerification ----------------------------------------------------------------------------

namespace {

// How long a replica holds the shared lease while it verifies, and how long the others wait for its answer
// before verifying themselves: a cold fetch is a few registry round trips, well under these.
constexpr std::chrono::milliseconds kSharedLease{10'000};
constexpr std::chrono::milliseconds kSharedWait{3'000};

SignatureReport unavailable_report(const std::vector<std::string>& anchors, const std::string& why) {
  SignatureReport report;
  for (const std::string& name : anchors) {
    report.anchors.push_back({name, {policy::EvidenceStatus::unavailable, why}});
    report.signers.emplace_back();
  }
  return report;
}

// Unix milliseconds: the shared answer's expiry (webhook/evidence/signature_shared_answer.h).
std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string cache_key(const verifier::ImageReference& image, const std::string& digest,
                      const std::string& signature_repository, const std::string& version, const LoadedAnchor* anchor,
                      const std::string& name) {
  std::string key = image.name() + "@" + digest + "|" + signature_repository + "|" + version + "|" + name;
  // Notary signs tags: the same digest under another tag is another question.
  if (anchor != nullptr && anchor->kind == LoadedAnchor::Kind::notary_v1) key += "|" + image.effective_tag();
  return key;
}

}  // namespace

struct SignatureVerification::State {
  mutable std::mutex mutex;  // guards everything below but `flights` (thread-safe itself)
  std::string material_version;  // the newest anchor material seen: the cache holds its answers
  ExpiringCache<AnchorCheck> cache;
  Stats stats;
  SingleFlight<SignatureReport> flights;

  explicit State(std::size_t max_entries) : cache(max_entries) {}

  void store(const std::string& key, const AnchorCheck& check, std::chrono::milliseconds ttl) {
    if (check.status == AnchorCheck::Status::unavailable || ttl.count() <= 0) return;
    const auto now = SteadyClock::now();
    cache.put(key, check, now + ttl, now);
  }
};

SignatureVerification::SignatureVerification(verifier::RegistryClient& client, SignatureVerificationOptions options)
    : client_(client), fetcher_(client, options.fetch), options_(std::move(options)),
      state_(std::make_unique<State>(options_.max_cache_entries)) {}

SignatureVerification::~SignatureVerification() = default;

SignatureVerification::Stats SignatureVerification::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

asio::awaitable<SignatureReport> SignatureVerification::verify(std::shared_ptr<const AnchorMaterial> material,
                                                               verifier::ImageReference image, std::string digest,
                                                               std::vector<std::string> anchors,
                                                               std::string signature_repository) {
  if (!material) co_return unavailable_report(anchors, "trust anchors are not loaded");
  std::shared_ptr<const AnchorMaterial> set = std::move(material);
  SignatureReport report;
  report.anchors.resize(anchors.size());
  report.signers.resize(anchors.size());
  std::vector<std::string> missing;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->material_version != set->version()) {
      // A new policy version or new trust material: results cached under the old one can no longer be hit.
      state_->material_version = set->version();
      state_->cache.clear();
    }
    const auto now = SteadyClock::now();
    for (std::size_t i = 0; i < anchors.size(); ++i) {
      const std::string key =
          cache_key(image, digest, signature_repository, set->version(), set->find(anchors[i]), anchors[i]);
      if (const AnchorCheck* hit = state_->cache.find(key, now)) {
        ++state_->stats.cache_hits;
        report.anchors[i] = {anchors[i], to_evidence(*hit)};
        report.signers[i] = hit->signers;
      } else {
        ++state_->stats.cache_misses;
        add_unique(missing, anchors[i]);
      }
    }
  }
  if (missing.empty()) {
    report.from_cache = true;
    co_return report;
  }

  // One flight per image, signature repository, anchor set and set of anchors still to answer.
  std::string flight_key = image.name() + ":" + image.effective_tag() + "@" + digest + "|" + signature_repository +
                           "|" + set->version() + "|" + join(missing, ",");
  bool waited = false;
  // Named objects, not temporaries in the co_await expression (GCC 12 destroys those twice).
  std::function<asio::awaitable<SignatureReport>()> work = [this, set, image, digest, missing, signature_repository,
                                                           flight_key] {
    return lead(set, image, digest, missing, signature_repository, flight_key);
  };
  std::function<SignatureReport()> cancelled = [missing] {
    return unavailable_report(missing, "signature verification was cancelled");
  };
  asio::awaitable<SignatureReport> flight = state_->flights.run(flight_key, std::move(work), std::move(cancelled), &waited);
  SignatureReport fresh = co_await std::move(flight);
  if (waited) {
    std::lock_guard lock(state_->mutex);
    ++state_->stats.shared;
  }
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    if (!report.anchors[i].anchor.empty()) continue;
    for (std::size_t j = 0; j < fresh.anchors.size(); ++j) {
      if (fresh.anchors[j].anchor == anchors[i]) {
        report.anchors[i] = fresh.anchors[j];
        report.signers[i] = fresh.signers[j];
      }
    }
    if (report.anchors[i].anchor.empty()) {
      report.anchors[i] = {anchors[i], {policy::EvidenceStatus::unavailable, "not verified"}};
    }
  }
  report.signatures = fresh.signatures;
  report.skipped = fresh.skipped;
  report.registry_requests = fresh.registry_requests;
  report.fetch_seconds = fresh.fetch_seconds;
  report.verify_seconds = fresh.verify_seconds;
  co_return report;
}

asio::awaitable<SignatureReport> SignatureVerification::lead(std::shared_ptr<const AnchorMaterial> set,
                                                             verifier::ImageReference image, std::string digest,
                                                             std::vector<std::string> anchors,
                                                             std::string signature_repository,
                                                             std::string flight_key) {
  if (!options_.shared) {
    asio::awaitable<SignatureReport> local =
        run(set, std::move(image), std::move(digest), std::move(anchors), std::move(signature_repository));
    co_return co_await std::move(local);
  }
  // The flight key names the anchor set's version, trust-material hash included: replicas holding other
  // keys or roots never share an answer. Hashed: the key carries image names only, but keeps Redis keys short.
  // "v2:": answers published by older replicas, which counted attestations as signatures (issue 13), are
  // never read during a rolling upgrade.
  const std::string shared_key = "signatures:v2:" + verifier::sha256_hex(flight_key);
  asio::awaitable<verifier::SharedLookup::Claim> acquiring = options_.shared->acquire(shared_key, kSharedLease, kSharedWait);
  verifier::SharedLookup::Claim claim = co_await std::move(acquiring);
  if (claim.value) {
    if (auto answer = decode_signature_answer(*claim.value, anchors)) {
      // Cached here no longer than the published value lives.
      auto ttl = options_.cache_ttl;
      ttl = std::min(ttl, std::chrono::milliseconds(answer->expires_ms - unix_ms(std::chrono::system_clock::now())));
      SignatureReport report;
      std::lock_guard lock(state_->mutex);
      ++state_->stats.shared_hits;
      for (std::size_t i = 0; i < anchors.size(); ++i) {
        const AnchorCheck& check = answer->checks[i];
        report.anchors.push_back({anchors[i], to_evidence(check)});
        report.signers.push_back(check.signers);
        state_->store(cache_key(image, digest, signature_repository, set->version(), set->find(anchors[i]), anchors[i]),
                      check, ttl);
      }
      co_return report;
    }
  }
  std::optional<SignatureReport> fresh;
  std::exception_ptr failure;
  try {
    asio::awaitable<SignatureReport> local = run(set, image, digest, anchors, signature_repository);
    fresh.emplace(co_await std::move(local));
  } catch (...) {
    failure = std::current_exception();
  }
  // A value that could not be used is replaced (without a lease: there is none to hold) once this replica
  // has a decided answer, so it does not keep costing every replica a miss until it expires.
  if (!claim.token.empty() || claim.value) {
    bool decided = fresh.has_value() && options_.cache_ttl.count() > 0;
    if (fresh) {
      for (const policy::AnchorEvidence& a : fresh->anchors) {
        decided = decided && a.check.status != policy::EvidenceStatus::unavailable;
      }
    }
    if (decided) {
      std::vector<std::pair<std::string, AnchorCheck>> answers;
      for (std::size_t i = 0; i < fresh->anchors.size(); ++i) {
        const policy::CheckEvidence& evidence = fresh->anchors[i].check;
        answers.push_back({fresh->anchors[i].anchor,
                           {evidence.status == policy::EvidenceStatus::verified ? AnchorCheck::Status::verified
                                                                                 : AnchorCheck::Status::failed,
                            evidence.detail, i < fresh->signers.size() ? fresh->signers[i] : std::vector<std::string>{}}});
      }
      asio::awaitable<void> publishing = options_.shared->publish(
          shared_key,
          encode_signature_answer(answers, fresh->signatures,
                                  unix_ms(std::chrono::system_clock::now() + options_.cache_ttl)),
          options_.cache_ttl, claim.token);
      co_await std::move(publishing);
    } else if (!failure && !claim.token.empty()) {
      asio::awaitable<void> abandoning = options_.shared->abandon(shared_key, claim.token);
      co_await std::move(abandoning);
    }
    // Cancelled: no await is possible any more; the lease expires on its own.
  }
  if (failure) std::rethrow_exception(failure);
  co_return std::move(*fresh);
}

asio::awaitable<SignatureReport> SignatureVerification::run(std::shared_ptr<const AnchorMaterial> set,
                                                            verifier::ImageReference image, std::string digest,
                                                            std::vector<std::string> anchors,
                                                            std::string signature_repository) {
  SignatureReport report;
  std::vector<AnchorCheck> checks(anchors.size());
  std::vector<const LoadedAnchor*> loaded(anchors.size(), nullptr);
  bool need_fetch = false;
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    loaded[i] = set->find(anchors[i]);
    if (loaded[i] != nullptr && loaded[i]->load_error.empty() && loaded[i]->verifier &&
        loaded[i]->verifier->reads() == verifier::SignatureVerifier::Reads::oci_signatures) {
      need_fetch = true;
    }
  }
  std::optional<Result<verifier::FetchedSignatures>> fetched;
  if (need_fetch) {
    const auto start = SteadyClock::now();
    asio::awaitable<Result<verifier::FetchedSignatures>> fetching = fetcher_.fetch(image, digest, signature_repository);
    Result<verifier::FetchedSignatures> got = co_await std::move(fetching);
    report.fetch_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
    {
      std::lock_guard lock(state_->mutex);
      ++state_->stats.fetches;
    }
    if (got) {
      report.signatures = got->cosign.size() + got->bundles.size();
      report.skipped = got->skipped;
      report.registry_requests = got->requests;
    }
    fetched.emplace(std::move(got));
  }
  const auto now = options_.clock ? options_.clock() : std::chrono::system_clock::now();
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    const LoadedAnchor* anchor = loaded[i];
    AnchorCheck& check = checks[i];
    if (anchor == nullptr) {
      check = {AnchorCheck::Status::failed, "unknown trust anchor", {}};
    } else if (!anchor->load_error.empty()) {
      check = {AnchorCheck::Status::failed, "anchor not usable: " + anchor->load_error, {}};
    } else if (!anchor->verifier) {
      check = {AnchorCheck::Status::failed, "anchor not usable: not loaded", {}};
    } else if (anchor->verifier->reads() == verifier::SignatureVerifier::Reads::own_material) {
      asio::awaitable<AnchorCheck> checking = anchor->verifier->fetch_and_verify(client_, image, digest);
      check = co_await std::move(checking);
    } else if (anchor->verifier->reads() == verifier::SignatureVerifier::Reads::nothing) {
      check = anchor->verifier->verify({}, now);
    } else if (fetched && !fetched->ok()) {
      const Error& e = fetched->error();
      // Too many signatures, a malformed signature manifest, refused credentials: definitive. Network
      // trouble: undecided, the failurePolicy settles it.
      const bool definitive = e.code == ErrorCode::resource_exhausted || e.code == ErrorCode::invalid_argument ||
                              e.code == ErrorCode::permission_denied || e.code == ErrorCode::not_found;
      check = {definitive ? AnchorCheck::Status::failed : AnchorCheck::Status::unavailable,
               "fetching signatures: " + e.message, {}, e.detail.empty() ? "" : "fetching signatures: " + e.detail};
    } else if (fetched) {
      const auto start = SteadyClock::now();
      check = verifier::check_fetched(*anchor, fetched->value(), now);
      report.verify_seconds += std::chrono::duration<double>(SteadyClock::now() - start).count();
    }
  }
  {
    std::lock_guard lock(state_->mutex);
    for (std::size_t i = 0; i < anchors.size(); ++i) {
      state_->store(cache_key(image, digest, signature_repository, set->version(), loaded[i], anchors[i]), checks[i],
                    options_.cache_ttl);
    }
  }
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    report.anchors.push_back({anchors[i], to_evidence(checks[i])});
    report.signers.push_back(checks[i].signers);
  }
  co_return report;
}

}  // namespace imagegate::webhook
