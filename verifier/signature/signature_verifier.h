// SignatureVerifier: one interface for every signature scheme. An instance is one trust anchor made ready
// (keys parsed, trusted roots loaded, identity regexps compiled: verifier/signature/anchor_material.h builds
// it from the anchor's spec), and answers for one image digest with an AnchorCheck
// (verifier/signature/signature_check.h), never throwing for what it reads.
//
// What a scheme reads is fetched apart from it:
//   oci_signatures  the digest's classic `.sig` signatures and Sigstore bundles, fetched once per image for
//                   every anchor by SignatureFetcher (signature_fetcher.h), bounded there; verify() is a
//                   pure function of them (cosign/: key and keyless; sigstore/: bundles).
//   own_material    what the scheme fetches itself (notary_v1/: TUF metadata from a notary-server through
//                   a registry client of its own, verified by notary_v1/tuf.h over the fetched bytes;
//                   notation/: the digest's Notation signatures through the referrers API or its tag
//                   schema, read with the `registry` client fetch_and_verify is given, the one every other
//                   registry read of the review uses); fetch_and_verify() honours cancellation.
//   nothing         a scheme this build does not verify: fails closed.
//
// Thread-safe: one instance per anchor, shared by every review.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "verifier/image/image_reference.h"
#include "verifier/registry/registry_client.h"
#include "verifier/signature/attestation/attestation_check.h"
#include "verifier/signature/signature_check.h"
#include "verifier/signature/signature_fetcher.h"

namespace imagegate::verifier {

class SignatureVerifier {
 public:
  enum class Reads { oci_signatures, own_material, nothing };

  virtual ~SignatureVerifier() = default;
  virtual Reads reads() const noexcept = 0;
  // own_material schemes: when the earliest of the trust data this verifier has fetched and verified stops
  // being valid (Notary v1: the TUF metadata it keeps, timestamp.json aside), for the expiry gauge; nullopt
  // when it keeps none. Others: nullopt.
  virtual std::optional<std::chrono::system_clock::time_point> fetched_trust_expiry() const { return std::nullopt; }

  // oci_signatures: the anchor against what was fetched for `fetched.digest` (no I/O). `now` is the
  // verification time for evidence that carries none (key-based bundles). Others: failed.
  virtual AnchorCheck verify(const FetchedSignatures& fetched, std::chrono::system_clock::time_point now) const;
  // own_material: fetches the scheme's trust data for `image` (its repository and tag) and verifies that it
  // signs `digest`; `registry` reaches the image's registry (a scheme with a server of its own ignores it).
  // Others: failed.
  virtual boost::asio::awaitable<AnchorCheck> fetch_and_verify(RegistryClient& registry, const ImageReference& image,
                                                               std::string digest) const;
  // Schemes that sign DSSE envelopes (cosign key, keyless): the attestations of exactly `predicate_type`
  // this anchor signed about `fetched.digest`, among what was fetched (no I/O; see
  // attestation/attestation_check.h). Others: none, with a detail saying the anchor cannot sign them.
  virtual AttestationCheck verify_attestations(const FetchedSignatures& fetched, std::string_view predicate_type,
                                               std::chrono::system_clock::time_point now) const;
};

}  // namespace imagegate::verifier
