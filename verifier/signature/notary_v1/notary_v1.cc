#include "common/asio_warnings.h"  // before any Asio header

// NotaryV1Verifier: has a GUN's TUF trust data fetched from a notary-server by its TrustDataFetcher and
// checks the bytes with tuf::TrustChain, in the order of the TUF client workflow: root (pinned, or reached by
// rotation), timestamp, snapshot, targets, then the delegations the anchor needs.
//
// The chain per GUN is kept for the process: its trusted root and the highest versions seen make later
// fetches rollback-proof, and a verified chain is reused until its earliest expiry or kRefreshAfter,
// whichever comes first, so a revoked tag is noticed within a minute.
#include "verifier/signature/notary_v1/notary_v1.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "verifier/signature/notary_v1/trust_data_fetcher.h"
#include "verifier/signature/notary_v1/tuf.h"

namespace imagegate::verifier {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::system_clock;

constexpr std::chrono::seconds kRefreshAfter{60};

AnchorCheck failed(std::string detail) { return {AnchorCheck::Status::failed, std::move(detail), {}}; }
AnchorCheck unavailable(std::string detail) { return {AnchorCheck::Status::unavailable, std::move(detail), {}}; }

// A fetch error: network trouble leaves the answer open; anything else is definitive.
AnchorCheck from_fetch_error(const Error& e, std::string_view what) {
  if (e.code == ErrorCode::unavailable || e.code == ErrorCode::deadline_exceeded) {
    AnchorCheck check = unavailable("notary server: " + e.message);
    if (!e.detail.empty()) check.diagnostic = "notary server: " + e.detail;
    return check;
  }
  if (e.code == ErrorCode::resource_exhausted) {
    return failed(std::string(what) + " is larger than its trust data allows: " + e.message);
  }
  return failed("fetching " + std::string(what) + ": " + e.message);
}

struct GunState {
  std::optional<tuf::TrustChain> chain;
  Clock::time_point fresh_until{};  // a verified chain is reused until then
  bool verified = false;
};

class NotaryV1VerifierImpl final : public NotaryV1Verifier {
 public:
  NotaryV1VerifierImpl(NotaryV1Config config, tuf::RootPin pin, std::unique_ptr<TrustDataFetcher> fetcher)
      : config_(std::move(config)), pin_(std::move(pin)), fetcher_(std::move(fetcher)) {}

  // The registry client is not used: trust data lives on the notary-server, reached by fetcher_.
  asio::awaitable<AnchorCheck> fetch_and_verify(RegistryClient& /*registry*/, const ImageReference& image,
                                                std::string digest) const override {
    if (!image.has_tag()) {
      co_return failed("Notary v1 signs tags: " + image.string() + " has no tag to look up");
    }
    const std::string gun = image.name();
    const auto now = config_.clock();

    std::optional<tuf::TrustChain> chain;
    {
      std::lock_guard lock(mutex_);
      auto& state = states_[gun];
      if (state.verified && state.chain && now < state.fresh_until) chain = state.chain;
    }
    if (!chain) {
      tuf::TrustChain working = [&] {
        std::lock_guard lock(mutex_);
        auto& state = states_[gun];
        return state.chain ? *state.chain : tuf::TrustChain(pin_);
      }();
      working.begin_update();
      auto check = co_await refresh(working, gun, now);
      {
        std::lock_guard lock(mutex_);
        auto& state = states_[gun];
        // Keep what was learnt (trusted root, versions seen) even when this refresh failed later on.
        if (working.has_root()) state.chain = working;
        state.verified = !check;
        if (!check) state.fresh_until = std::min(working.earliest_expiry(), now + kRefreshAfter);
      }
      if (check) co_return std::move(*check);
      chain = std::move(working);
    }
    auto decision = tuf::decide_tag(*chain, gun, image.tag(), digest, config_.delegations, config_.all_delegations);
    if (!decision.verified) co_return failed(std::move(decision.detail));
    co_return AnchorCheck{AnchorCheck::Status::verified, std::move(decision.detail), std::move(decision.signers)};
  }

  // The earliest expiry among the verified chains kept (timestamp.json aside), for the expiry gauge.
  std::optional<Clock::time_point> fetched_trust_expiry() const override {
    std::optional<Clock::time_point> earliest;
    std::lock_guard lock(mutex_);
    for (const auto& [gun, state] : states_) {
      if (!state.verified || !state.chain) continue;
      const Clock::time_point t = state.chain->earliest_expiry_but_timestamp();
      if (t != Clock::time_point::max() && (!earliest || t < *earliest)) earliest = t;
    }
    return earliest;
  }

 private:
  asio::awaitable<Result<std::string>> fetch(const std::string& gun, const std::string& file, std::size_t limit) const {
    co_return co_await fetcher_->fetch(gun, file, limit);
  }

  // Loads `chain` from the server; nullopt on success, else the answer for the review.
  asio::awaitable<std::optional<AnchorCheck>> refresh(tuf::TrustChain& chain, const std::string& gun,
                                                      Clock::time_point now) const {
    auto root = co_await fetch(gun, "root.json", tuf::kMaxMetadataBytes);
    if (!root) {
      if (root.error().code == ErrorCode::not_found) co_return failed("no trust data for " + gun);
      co_return from_fetch_error(root.error(), "root.json");
    }
    if (auto s = co_await update_root(chain, gun, *root, now); s) co_return s;

    auto ts = co_await fetch(gun, "timestamp.json", tuf::kMaxMetadataBytes);
    if (!ts) co_return from_fetch_error(ts.error(), "timestamp.json");
    if (auto s = chain.update_timestamp(*ts, now); !s) co_return failed(gun + ": " + s.error().message);

    auto snap = co_await fetch(gun, "snapshot.json", chain.snapshot_limit());
    if (!snap) co_return from_fetch_error(snap.error(), "snapshot.json");
    if (auto s = chain.update_snapshot(*snap, now); !s) co_return failed(gun + ": " + s.error().message);

    auto targets = co_await fetch(gun, "targets.json", chain.role_limit("targets"));
    if (!targets) co_return from_fetch_error(targets.error(), "targets.json");
    if (auto s = chain.update_targets(*targets, now); !s) co_return failed(gun + ": " + s.error().message);

    std::size_t loaded = 0;
    for (const auto& role : tuf::roles_to_load(chain, config_.delegations)) {
      // A role its parent does not delegate, or that the snapshot does not list, has no trust data: the
      // decision then says it did not sign.
      if (!chain.delegation(role) || !chain.snapshot_lists(role)) continue;
      if (++loaded > tuf::kMaxDelegations) co_return failed(gun + ": too many delegations to load");
      auto bytes = co_await fetch(gun, role + ".json", chain.role_limit(role));
      if (!bytes) co_return from_fetch_error(bytes.error(), role + ".json");
      if (auto s = chain.update_delegation(role, *bytes, now); !s) co_return failed(gun + ": " + s.error().message);
    }
    co_return std::nullopt;
  }

  // The root: pinned on first sight; afterwards the server's newer versions are walked one by one
  // (/_trust/tuf/<N>.root.json), each signed by its predecessor's root keys and its own.
  asio::awaitable<std::optional<AnchorCheck>> update_root(tuf::TrustChain& chain, const std::string& gun,
                                                          const std::string& bytes, Clock::time_point now) const {
    const std::uint64_t latest = tuf::TrustChain::peek_version(bytes);
    std::uint64_t from = 0;  // first older version to fetch
    // When the walk starts from a pin the published root does not satisfy, why it does not: if the walk
    // fails too, that is what the answer says (the pinned key), not the walk that found no way around it.
    std::string pin_mismatch;
    if (chain.has_root()) {
      const std::uint64_t trusted = chain.root()->envelope.version;
      if (latest > trusted + 1) from = trusted + 1;
    } else {
      auto direct = chain.update_root(bytes, {}, now);
      if (direct) co_return std::nullopt;
      // Not pinned directly: the pinned key may have been rotated out. Walk from version 1.
      if (latest <= 1 || direct.error().code != ErrorCode::permission_denied ||
          direct.error().message.find("expired") != std::string::npos) {
        co_return failed(gun + ": " + direct.error().message);
      }
      from = 1;
      pin_mismatch = gun + ": " + direct.error().message;
    }
    std::vector<std::string> older;
    if (from != 0) {
      if (latest - from > tuf::kMaxRootRotations) co_return failed(gun + ": too many root versions to walk");
      for (std::uint64_t v = from; v < latest; ++v) {
        const std::string file = std::to_string(v) + ".root.json";
        auto r = co_await fetch(gun, file, tuf::kMaxMetadataBytes);
        if (!r && !pin_mismatch.empty() && r.error().code == ErrorCode::not_found) {
          co_return failed(pin_mismatch + " (and the server publishes no " + file + " to rotate from a pinned key)");
        }
        if (!r) co_return from_fetch_error(r.error(), file);
        older.push_back(std::move(*r));
      }
    }
    if (auto s = chain.update_root(bytes, older, now); !s) {
      if (!pin_mismatch.empty()) {
        co_return failed(pin_mismatch + " (nor does a rotation from root version 1 lead to it: " + s.error().message +
                         ")");
      }
      co_return failed(gun + ": " + s.error().message);
    }
    co_return std::nullopt;
  }

  NotaryV1Config config_;
  tuf::RootPin pin_;
  std::unique_ptr<TrustDataFetcher> fetcher_;
  // The chain per GUN (trusted root, versions seen): verification state kept across reviews, behind mutex_.
  mutable std::mutex mutex_;
  mutable std::map<std::string, GunState> states_;
};

}  // namespace

Result<std::unique_ptr<NotaryV1Verifier>> NotaryV1Verifier::create(NotaryV1Config config) {
  if (config.server.rfind("https://", 0) != 0) {
    return invalid_argument("notary server must be an https:// URL: \"" + config.server + "\"");
  }
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  if (config.root_pems.empty()) return invalid_argument("a Notary v1 anchor needs a pinned root key or certificate");
  tuf::RootPin pin;
  for (const auto& pem : config.root_pems) {
    if (pem.find("-----BEGIN") == std::string::npos) {
      return invalid_argument("notary root is in the wrong format: provide a PEM public key or certificate");
    }
    auto keys = public_keys_from_pem_bundle(pem);
    if (!keys) return invalid_argument("notary root: " + keys.error().message);
    for (auto& k : *keys) pin.keys.push_back(std::move(k));
  }
  for (const auto& id : config.root_key_ids) {
    if (id.size() != 64 || !std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isxdigit(c); })) {
      return invalid_argument("notary root key id is not 64 hex digits: \"" + id + "\"");
    }
  }
  pin.key_ids = config.root_key_ids;
  for (const auto& role : config.delegations) {
    if (role.rfind("targets/", 0) != 0 || role.size() == 8) {
      return invalid_argument("notary delegation must be a role under targets/: \"" + role + "\"");
    }
  }
  auto fetcher = TrustDataFetcher::create({config.server, config.ca_files, config.docker_config_files, config.timeout});
  if (!fetcher) return fetcher.error();
  return std::unique_ptr<NotaryV1Verifier>(
      std::make_unique<NotaryV1VerifierImpl>(std::move(config), std::move(pin), std::move(*fetcher)));
}

}  // namespace imagegate::verifier
