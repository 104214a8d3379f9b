// libFuzzer target for verifier/signature/notary_v1/tuf.cc: TUF / Notary v1 metadata from a (hostile) notary-server must parse
// or fail cleanly, within the size and depth bounds, and canonical JSON must be a fixed point.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "verifier/crypto/crypto.h"
#include "verifier/signature/notary_v1/tuf.h"

namespace tuf = imagegate::verifier::tuf;

namespace {

// connaisseur's Notary v1 test root key (public), so root parsing goes on to pin verification.
constexpr const char* kRootPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUaqgujac1VCdaGHKQMKoDn6/deWJ\n"
    "8cCzsnDqGDgjPBayhJCQiI/qN+iBWEUPM7BkrCyDS878h+qd/MdZS22XwA==\n"
    "-----END PUBLIC KEY-----\n";

const tuf::RootPin& pin() {
  static const tuf::RootPin p = [] {
    tuf::RootPin r;
    auto k = imagegate::verifier::PublicKey::from_pem(kRootPem);
    if (!k) std::abort();
    r.keys.push_back(*k);
    return r;
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 55);

  // Canonical JSON is idempotent. OLPC's form (notary's) writes control characters raw, which is not JSON,
  // so only output free of them must parse again.
  if (auto c = tuf::canonical_json(input); c.ok()) {
    const bool has_control = std::any_of(c->begin(), c->end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
    auto again = tuf::canonical_json(*c);
    if (!has_control && (!again.ok() || *again != *c)) std::abort();
  }
  (void)tuf::parse_rfc3339(input.substr(0, 64));

  if (auto root = tuf::parse_root(input); root.ok()) {
    if (root->envelope.type != "root") std::abort();
    (void)tuf::verify_pinned_root(*root, pin());
    tuf::TrustChain chain(pin());
    (void)chain.update_root(input, {}, now);
  }
  if (auto ts = tuf::parse_timestamp(input); ts.ok()) {
    (void)tuf::check_file_meta(ts->snapshot, input, "snapshot.json");
  }
  if (auto snap = tuf::parse_snapshot(input); snap.ok()) {
    for (const auto& [role, meta] : snap->meta) (void)tuf::check_file_meta(meta, input, role);
  }
  if (auto targets = tuf::parse_targets(input, "targets"); targets.ok()) {
    for (const auto& d : targets->delegations) {
      if (d.keys.threshold < 1) std::abort();
      (void)tuf::delegation_covers(d, "latest");
      (void)tuf::verify_signatures(targets->envelope, targets->delegation_keys, d.keys, d.name);
    }
  }
  return 0;
}
