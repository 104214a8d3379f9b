// DigestPinning: the optional mutating endpoint (POST /mutate). For each container image whose matching
// rule says `pinDigest: true`, the image is resolved through the registry client (the same cache and
// single flight as /validate) and rewritten to `name@sha256:...` by a JSONPatch "replace" on its JSON
// pointer. Idempotent: an image that already carries a digest is left alone. An image that cannot be
// resolved is never patched (a warning says why); /validate then decides about it on its own.
// The answer always allows: denying is /validate's job. DELETE/CONNECT get no patch. Dry-run requests get
// the same patch (the API server applies it to the dry-run object only) and an audit annotation.
// Image volumes are pinned like containers: the patch replaces `/spec/.../volumes/N/image/reference`.
//
// Budget: the resolutions run concurrently through gather_within_budget (the same race as /validate), so a
// hung registry cannot hold the answer past the API server's timeout: images still resolving when the
// review's budget runs out are left unpinned, with a warning.
//
// Thread-safe: holds references only; each call works on its own data.
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>

#include "verifier/registry/registry_client.h"
#include "webhook/admission/admission_service.h"
#include "webhook/admission/policy_admission_service.h"
#include "webhook/evidence/registry_evidence_source.h"

namespace imagegate::webhook {

class DigestPinning {
 public:
  // `service` supplies the current policy snapshot and the budget options; both references must
  // outlive this object.
  DigestPinning(PolicyAdmissionService& service, verifier::RegistryClient& client, AdmissionOptions options);

  boost::asio::awaitable<HttpAnswer> mutate(std::string body, std::string target);

 private:
  PolicyAdmissionService& service_;
  RegistryEvidenceSource source_;  // resolves through the client; outlives any straggling resolution
  AdmissionOptions options_;
};

}  // namespace imagegate::webhook
