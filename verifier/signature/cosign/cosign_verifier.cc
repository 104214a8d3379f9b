#include "verifier/signature/cosign/cosign_verifier.h"

#include <algorithm>

#include "common/text.h"
#include "verifier/signature/cosign/cosign.h"
#include "verifier/signature/sigstore/image_attestations.h"
#include "verifier/signature/sigstore/image_bundles.h"

namespace imagegate::verifier {
namespace {

constexpr std::size_t kMaxReasons = 3;

void add_unique(std::vector<std::string>& list, std::string item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
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

std::shared_ptr<const CosignVerifier> CosignVerifier::with_key(PublicKey key) {
  return std::make_shared<const CosignVerifier>(std::move(key), nullptr, CertificateIdentity{});
}

std::shared_ptr<const CosignVerifier> CosignVerifier::keyless(std::shared_ptr<const TrustedRoot> root,
                                                              CertificateIdentity identity) {
  return std::make_shared<const CosignVerifier>(std::nullopt, std::move(root), std::move(identity));
}

AnchorCheck CosignVerifier::verify(const FetchedSignatures& fetched, std::chrono::system_clock::time_point now) const {
  AnchorCheck check;
  check.status = AnchorCheck::Status::failed;
  if (fetched.empty()) {
    check.detail = "no signatures found";
    if (!fetched.skipped.empty()) check.detail += " (unreadable: " + fetched.skipped.front() + ")";
    return check;
  }
  const bool keyless = !key_.has_value();
  if (keyless && !root_) {
    check.detail = "anchor not usable: not loaded";
    return check;
  }
  std::vector<std::string> reasons;
  const auto record = [&](const Result<VerifiedSignature>& r) {
    if (r) {
      add_unique(check.signers, r->signer);
    } else {
      add_unique(reasons, r.error().message);
    }
  };
  const PayloadConstraints constraints;
  for (const CosignSignature& signature : fetched.cosign) {
    if (keyless) {
      if (signature.certificate_pem.empty()) {
        add_unique(reasons, "signature has no Fulcio certificate (not keyless)");
        continue;
      }
      record(verify_cosign_keyless(signature, *root_, identity_, fetched.digest, constraints));
    } else {
      record(verify_cosign_key(signature, *key_, fetched.digest, constraints, nullptr));
    }
  }
  const BundleTrust trust = bundle_trust(now);
  const ImageBundleResults bundles = verify_image_bundles(fetched.bundles, fetched.digest, bundle_root(), trust);
  for (const auto& r : bundles.results) record(r);
  if (!check.signers.empty()) {
    check.status = AnchorCheck::Status::verified;
    check.detail = "signed by " + join(check.signers, ", ");
    return check;
  }
  check.detail = summarize_failures(fetched.cosign.size() + fetched.bundles.size() - bundles.attestations, reasons);
  return check;
}

BundleTrust CosignVerifier::bundle_trust(std::chrono::system_clock::time_point now) const {
  BundleTrust trust;
  trust.now = now;
  if (!key_) {
    trust.identity = identity_;
  } else {
    // A key-based bundle: the key is the trust; transparency-log evidence is checked when the bundle
    // carries it and the (empty) root knows the log, which it does not -- so none is required.
    trust.key = *key_;
    trust.tlog_threshold = 0;
  }
  return trust;
}

const TrustedRoot& CosignVerifier::bundle_root() const {
  static const TrustedRoot kNoRoot;
  return key_ ? kNoRoot : *root_;
}

AttestationCheck CosignVerifier::verify_attestations(const FetchedSignatures& fetched, std::string_view predicate_type,
                                                     std::chrono::system_clock::time_point now) const {
  if (!key_ && !root_) return {{}, "anchor not usable: not loaded"};
  return verify_image_attestations(fetched.bundles, fetched.skipped, fetched.digest, predicate_type, bundle_root(),
                                   bundle_trust(now));
}

}  // namespace imagegate::verifier
