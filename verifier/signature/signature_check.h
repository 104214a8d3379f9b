// AnchorCheck: what one trust anchor concluded about one image digest. Every verifier (cosign keys,
// keyless, Sigstore bundles, Notary v1) answers in this shape; the webhook turns it into the policy's
// AnchorEvidence.
#pragma once

#include <string>
#include <vector>

namespace imagegate::verifier {

struct AnchorCheck {
  enum class Status {
    verified,     // a valid signature from this anchor covers the digest
    failed,       // definitive: no signature, wrong key, digest mismatch, untrusted root, ...
    unavailable,  // could not be decided: registry / notary-server down, timeout (failurePolicy settles it)
  };
  Status status = Status::failed;
  std::string detail;                // short and human: why it failed, or what verified it
  std::vector<std::string> signers;  // verified signer identities: "key sha256:ab12..", "SUBJECT (ISSUER)", "targets/releases"
  std::string diagnostic = {};       // what `detail` leaves out (Error::detail), for the decision log only
};

}  // namespace imagegate::verifier
