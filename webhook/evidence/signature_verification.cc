#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/evidence/signature_verification.h"

#include <algorithm>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <utility>

#include "common/single_flight.h"
#include "common/text.h"
#include "policy/compiled_policy.h"
#include "policy/policy.h"
#include "verifier/signature/cosign/cosign.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/sigstore/sigstore_bundle.h"
#include "webhook/evidence/signature_shared_answer.h"

namespace imagegate::webhook {

namespace asio = boost::asio;
using verifier::AnchorCheck;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxTrustFileBytes = 4 * 1024 * 1024;
constexpr std::size_t kMaxReasons = 3;

Result<std::string> read_trust_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument("cannot read " + path);
  std::string text;
  text.resize(kMaxTrustFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxTrustFileBytes) return resource_exhausted(path + " is larger than 4 MiB");
  return text;
}

void add_unique(std::vector<std::string>& list, std::string item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
}

// Reads trust files for one AnchorSet and remembers each with the hash of what was read, so the set can
// tell later whether a rotated Secret changed one.
class TrustFileReader {
 public:
  explicit TrustFileReader(std::vector<AnchorSet::TrustFile>& files) : files_(files) {}
  Result<std::string> operator()(const std::string& path) {
    auto text = read_trust_file(path);
    files_.push_back({path, text ? verifier::sha256_hex(*text) : std::string()});
    return text;
  }

 private:
  std::vector<AnchorSet::TrustFile>& files_;
};

LoadedAnchor load_anchor(const policy::CompiledPolicy& policy, const policy::TrustAnchor& anchor,
                         const RegistryConfig& registry, TrustFileReader& read_file) {
  LoadedAnchor out;
  out.name = anchor.name;
  if (const auto* cosign = std::get_if<policy::CosignKeyAnchor>(&anchor.spec)) {
    out.kind = LoadedAnchor::Kind::cosign_key;
    std::string pem = cosign->key_pem;
    if (pem.empty()) {
      auto text = read_file(cosign->key_file);
      if (!text) {
        out.load_error = "keyFile: " + text.error().message;
        return out;
      }
      pem = std::move(*text);
    }
    auto key = verifier::PublicKey::from_pem(pem);
    if (!key) {
      out.load_error = (cosign->key_pem.empty() ? "keyFile " + cosign->key_file : std::string("key")) + ": " +
                       key.error().message;
      return out;
    }
    out.key = std::move(*key);
  } else if (const auto* keyless = std::get_if<policy::KeylessAnchor>(&anchor.spec)) {
    out.kind = LoadedAnchor::Kind::keyless;
    Result<verifier::TrustedRoot> root = internal_error("no trust root");
    if (!keyless->trusted_root_file.empty()) {
      auto text = read_file(keyless->trusted_root_file);
      if (!text) {
        out.load_error = "trustedRoot: " + text.error().message;
        return out;
      }
      root = verifier::TrustedRoot::from_json(*text);
      if (!root) {
        out.load_error = "trustedRoot " + keyless->trusted_root_file + ": " + root.error().message;
        return out;
      }
    } else {
      auto fulcio = read_file(keyless->fulcio_roots_file);
      if (!fulcio) {
        out.load_error = "fulcioRoots: " + fulcio.error().message;
        return out;
      }
      auto rekor = read_file(keyless->rekor_key_file);
      if (!rekor) {
        out.load_error = "rekorKey: " + rekor.error().message;
        return out;
      }
      root = verifier::TrustedRoot::from_pem(*fulcio, *rekor);
      if (!root) {
        out.load_error = "fulcioRoots/rekorKey: " + root.error().message;
        return out;
      }
    }
    out.trusted_root = std::make_shared<const verifier::TrustedRoot>(std::move(root.value()));
    out.identity.issuer = keyless->issuer;
    out.identity.subject = keyless->subject;
    if (const policy::CompiledAnchor* compiled = policy.anchor(anchor.name)) {
      out.identity.issuer_regexp = compiled->issuer_regexp;
      out.identity.subject_regexp = compiled->subject_regexp;
    }
    if (out.identity.subject.empty() && !out.identity.subject_regexp) {
      out.load_error = "a keyless anchor needs subject or subjectRegExp";
    } else if (out.identity.issuer.empty() && !out.identity.issuer_regexp) {
      out.load_error = "a keyless anchor needs issuer or issuerRegExp";
    }
  } else if (const auto* notary = std::get_if<policy::NotaryV1Anchor>(&anchor.spec)) {
    out.kind = LoadedAnchor::Kind::notary_v1;
    verifier::NotaryV1Config config;
    config.server = notary->server;
    config.root_pems = notary->root_keys;
    for (const std::string& file : notary->root_key_files) {
      auto text = read_file(file);
      if (!text) {
        out.load_error = "rootKeyFiles: " + text.error().message;
        return out;
      }
      config.root_pems.push_back(std::move(*text));
    }
    config.root_key_ids = notary->root_key_ids;
    config.delegations = notary->delegations;
    config.all_delegations = notary->all_delegations;
    if (!notary->ca_file.empty()) {
      // Read here only for its hash (the verifier reads it itself): a rotated notary-server CA is trust
      // material too.
      (void)read_file(notary->ca_file);
      config.ca_files.push_back(notary->ca_file);
    }
    config.ca_files.insert(config.ca_files.end(), registry.ca_files.begin(), registry.ca_files.end());
    config.docker_config_files = registry.docker_config_files;
    config.timeout = registry.timeout;
    auto verifier = verifier::NotaryV1Verifier::create(std::move(config));
    if (!verifier) {
      out.load_error = verifier.error().message;
      return out;
    }
    out.notary = std::shared_ptr<verifier::NotaryV1Verifier>(std::move(verifier.value()));
  } else {
    out.kind = LoadedAnchor::Kind::notation;
    out.load_error = "Notation signatures are not verified by this build";
  }
  return out;
}

// The reasons signatures did not verify, shortened for a decision message. `count` signatures were read
// (attestations are not counted: with none, the message says so and why).
std::string summarize_failures(std::size_t count, const std::vector<std::string>& reasons) {
  std::string text = count == 0 ? std::string("no signatures found")
                                : std::to_string(count) + (count == 1 ? " signature" : " signatures") + ", none verified";
  if (reasons.empty()) return text;
  std::vector<std::string> shown(reasons.begin(), reasons.begin() + static_cast<std::ptrdiff_t>(
                                                                        std::min(kMaxReasons, reasons.size())));
  text += ": " + join(shown, "; ");
  if (reasons.size() > kMaxReasons) text += "; ...";
  return text;
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

// ---- AnchorSet ---------------------------------------------------------------------------------------

std::shared_ptr<const AnchorSet> AnchorSet::build(const policy::CompiledPolicy& policy, const RegistryConfig& registry) {
  auto set = std::make_shared<AnchorSet>();
  set->version_ = policy::version_of(policy);
  TrustFileReader reader(set->trust_files_);
  for (const policy::TrustAnchor& anchor : policy::spec_of(policy).trust_anchors) {
    try {
      set->anchors_.push_back(load_anchor(policy, anchor, registry, reader));
    } catch (const std::exception& e) {
      // A bad anchor never takes the server down: it fails its checks with the reason.
      LoadedAnchor failed;
      failed.name = anchor.name;
      failed.load_error = std::string("cannot load: ") + e.what();
      set->anchors_.push_back(std::move(failed));
    }
  }
  std::string material;
  for (const TrustFile& file : set->trust_files_) material += file.path + '\0' + file.sha256 + '\n';
  set->full_version_ = set->version_ + "/" + verifier::sha256_hex(material).substr(0, 16);
  return set;
}

bool AnchorSet::trust_files_changed() const {
  for (const TrustFile& file : trust_files_) {
    auto text = read_trust_file(file.path);
    if ((text ? verifier::sha256_hex(*text) : std::string()) != file.sha256) return true;
  }
  return false;
}

const LoadedAnchor* AnchorSet::find(std::string_view name) const {
  for (const LoadedAnchor& a : anchors_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

AnchorCheck AnchorSet::check_fetched(const LoadedAnchor& anchor, const verifier::FetchedSignatures& fetched,
                                     std::chrono::system_clock::time_point now) {
  AnchorCheck check;
  check.status = AnchorCheck::Status::failed;
  if (!anchor.load_error.empty()) {
    check.detail = "anchor not usable: " + anchor.load_error;
    return check;
  }
  if (fetched.empty()) {
    check.detail = "no signatures found";
    if (!fetched.skipped.empty()) check.detail += " (unreadable: " + fetched.skipped.front() + ")";
    return check;
  }
  const bool keyless = anchor.kind == LoadedAnchor::Kind::keyless;
  if ((keyless && !anchor.trusted_root) || (!keyless && !anchor.key)) {
    check.detail = "anchor not usable: not loaded";
    return check;
  }
  std::vector<std::string> reasons;
  std::size_t attestations = 0;
  const auto record = [&](const Result<verifier::VerifiedSignature>& r) {
    if (r) {
      add_unique(check.signers, r->signer);
    } else {
      add_unique(reasons, r.error().message);
    }
  };
  const verifier::PayloadConstraints constraints;
  for (const verifier::CosignSignature& signature : fetched.cosign) {
    if (keyless) {
      if (signature.certificate_pem.empty()) {
        add_unique(reasons, "signature has no Fulcio certificate (not keyless)");
        continue;
      }
      record(verifier::verify_cosign_keyless(signature, *anchor.trusted_root, anchor.identity, fetched.digest,
                                             constraints));
    } else {
      record(verifier::verify_cosign_key(signature, *anchor.key, fetched.digest, constraints, nullptr));
    }
  }
  if (!fetched.bundles.empty()) {
    verifier::Artifact artifact;
    artifact.hash = verifier::HashAlgorithm::sha256;
    auto raw = verifier::hex_decode(std::string_view(fetched.digest).substr(fetched.digest.find(':') + 1));
    if (raw) artifact.digest = std::move(*raw);
    verifier::BundleTrust trust;
    trust.now = now;
    static const verifier::TrustedRoot kNoRoot;
    if (keyless) {
      trust.identity = anchor.identity;
    } else {
      // A key-based bundle: the key is the trust; transparency-log evidence is checked when the bundle
      // carries it and the (empty) root knows the log, which it does not -- so none is required.
      trust.key = *anchor.key;
      trust.tlog_threshold = 0;
    }
    const verifier::TrustedRoot& root = keyless ? *anchor.trusted_root : kNoRoot;
    for (const std::string& bundle : fetched.bundles) {
      if (!raw) {
        add_unique(reasons, "digest is not hex");
        break;
      }
      auto parsed = verifier::parse_sigstore_bundle(bundle);
      if (!parsed) {
        add_unique(reasons, parsed.error().message);
        continue;
      }
      // Attestations (DSSE in-toto statements: SBOMs, provenance, scan results) are refused here, by the
      // verifier's rule of what signs an image, and are not counted as signatures in the message.
      if (verifier::is_attestation(*parsed)) ++attestations;
      record(verifier::verify_sigstore_image_signature(*parsed, artifact, root, trust));
    }
  }
  if (!check.signers.empty()) {
    check.status = AnchorCheck::Status::verified;
    check.detail = "signed by " + join(check.signers, ", ");
    return check;
  }
  check.detail = summarize_failures(fetched.cosign.size() + fetched.bundles.size() - attestations, reasons);
  return check;
}

// ---- SignatureVerification ----------------------------------------------------------------------------

namespace {

// How long a replica holds the shared lease while it verifies, and how long the others wait for its answer
// before verifying themselves: a cold fetch is a few registry round trips, well under these.
constexpr std::chrono::milliseconds kSharedLease{10'000};
constexpr std::chrono::milliseconds kSharedWait{3'000};

struct CacheEntry {
  SteadyClock::time_point expires;
  AnchorCheck check;
};

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
  std::shared_ptr<const AnchorSet> anchor_set;
  SteadyClock::time_point next_trust_check;
  std::map<std::string, CacheEntry> cache;
  Stats stats;
  SingleFlight<SignatureReport> flights;

  void store(const std::string& key, const AnchorCheck& check, std::chrono::milliseconds ttl,
             std::size_t max_entries) {
    if (check.status == AnchorCheck::Status::unavailable || ttl.count() <= 0) return;
    if (cache.size() >= max_entries && cache.find(key) == cache.end()) cache.clear();
    cache[key] = {SteadyClock::now() + ttl, check};
  }
};

SignatureVerification::SignatureVerification(verifier::RegistryClient& client, RegistryConfig registry,
                                             SignatureVerificationOptions options)
    : fetcher_(client, options.fetch), registry_(std::move(registry)), options_(std::move(options)),
      state_(std::make_unique<State>()) {}

SignatureVerification::~SignatureVerification() = default;

SignatureVerification::Stats SignatureVerification::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

std::shared_ptr<const AnchorSet> SignatureVerification::anchor_set(const policy::CompiledPolicy& policy) {
  std::shared_ptr<const AnchorSet> current;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->anchor_set && state_->anchor_set->policy_version() == policy::version_of(policy)) {
      const auto now = SteadyClock::now();
      if (options_.trust_reload_interval.count() <= 0 || now < state_->next_trust_check) return state_->anchor_set;
      // This caller checks the files; the others keep using the set meanwhile.
      state_->next_trust_check = now + options_.trust_reload_interval;
      current = state_->anchor_set;
    }
  }
  if (current) {
    // Rereading a few small files every interval is cheap, and a content hash sees a rotated Secret
    // whatever kubelet did to the paths (the `..data` symlink swap keeps every stat of the old file valid).
    if (!current->trust_files_changed()) return current;
  }
  // Built outside the lock (it reads key and root files); two first reviews may both build: harmless.
  auto built = AnchorSet::build(policy, registry_);
  std::lock_guard lock(state_->mutex);
  if (current) ++state_->stats.trust_reloads;
  state_->anchor_set = built;
  state_->next_trust_check = SteadyClock::now() + options_.trust_reload_interval;
  // A new policy version or new trust material: results cached under the old set can no longer be hit.
  state_->cache.clear();
  return built;
}

asio::awaitable<SignatureReport> SignatureVerification::verify(std::shared_ptr<const policy::CompiledPolicy> policy,
                                                               verifier::ImageReference image, std::string digest,
                                                               std::vector<std::string> anchors,
                                                               std::string signature_repository) {
  std::shared_ptr<const AnchorSet> set = anchor_set(*policy);
  SignatureReport report;
  report.anchors.resize(anchors.size());
  report.signers.resize(anchors.size());
  std::vector<std::string> missing;
  {
    std::lock_guard lock(state_->mutex);
    const auto now = SteadyClock::now();
    for (std::size_t i = 0; i < anchors.size(); ++i) {
      const std::string key =
          cache_key(image, digest, signature_repository, set->version(), set->find(anchors[i]), anchors[i]);
      auto it = state_->cache.find(key);
      if (it != state_->cache.end() && it->second.expires > now) {
        ++state_->stats.cache_hits;
        report.anchors[i] = {anchors[i], to_evidence(it->second.check)};
        report.signers[i] = it->second.check.signers;
      } else {
        if (it != state_->cache.end()) state_->cache.erase(it);
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

asio::awaitable<SignatureReport> SignatureVerification::lead(std::shared_ptr<const AnchorSet> set,
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
                      check, ttl, options_.max_cache_entries);
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

asio::awaitable<SignatureReport> SignatureVerification::run(std::shared_ptr<const AnchorSet> set,
                                                            verifier::ImageReference image, std::string digest,
                                                            std::vector<std::string> anchors,
                                                            std::string signature_repository) {
  SignatureReport report;
  std::vector<AnchorCheck> checks(anchors.size());
  std::vector<const LoadedAnchor*> loaded(anchors.size(), nullptr);
  bool need_fetch = false;
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    loaded[i] = set->find(anchors[i]);
    if (loaded[i] != nullptr && loaded[i]->load_error.empty() &&
        (loaded[i]->kind == LoadedAnchor::Kind::cosign_key || loaded[i]->kind == LoadedAnchor::Kind::keyless)) {
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
    } else if (anchor->kind == LoadedAnchor::Kind::notary_v1) {
      check = co_await anchor->notary->verify(image, digest);
    } else if (anchor->kind == LoadedAnchor::Kind::notation) {
      check = {AnchorCheck::Status::failed, "Notation signatures are not verified by this build", {}};
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
      check = AnchorSet::check_fetched(*anchor, fetched->value(), now);
      report.verify_seconds += std::chrono::duration<double>(SteadyClock::now() - start).count();
    }
  }
  {
    std::lock_guard lock(state_->mutex);
    for (std::size_t i = 0; i < anchors.size(); ++i) {
      state_->store(cache_key(image, digest, signature_repository, set->version(), loaded[i], anchors[i]), checks[i],
                    options_.cache_ttl, options_.max_cache_entries);
    }
  }
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    report.anchors.push_back({anchors[i], to_evidence(checks[i])});
    report.signers.push_back(checks[i].signers);
  }
  co_return report;
}

}  // namespace imagegate::webhook
