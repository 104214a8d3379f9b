// Certificate Transparency for Fulcio certificates: the SCTs Fulcio embeds in each leaf (RFC 6962 §3.3,
// extension 1.3.6.1.4.1.11129.2.4.2) prove a CT log saw the precertificate. Verified offline against the
// CT log keys of a Sigstore trusted root.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "common/result.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier {

inline constexpr std::size_t kMaxEmbeddedScts = 32;

// ok when at least one SCT embedded in `leaf` is signed by a log of `ctlogs` over the precertificate entry
// (the leaf's TBSCertificate without the SCT extension, and the SHA-256 of `issuer`'s public key).
// permission_denied "no embedded SCT verifies ..." otherwise (also when the leaf has none);
// invalid_argument when the SCT list does not parse.
Status verify_embedded_scts(const Certificate& leaf, const Certificate& issuer, const std::vector<LogKey>& ctlogs);

}  // namespace imagegate::verifier
