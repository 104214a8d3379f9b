// Notary v1 (Docker Content Trust): resolve image:tag to the digest its TUF trust data signs, from a
// notary-server, verified against a root the policy pins.
//
// NotaryV1Verifier (a SignatureVerifier reading its own material, signature_verifier.h) runs the TUF client
// workflow: it has /v2/<gun>/_trust/tuf/{root,timestamp,snapshot,targets}.json (and delegated roles such as
// targets/releases) fetched by its TrustDataFetcher (trust_data_fetcher.h: the registry client, its auth
// flow), and verifies the fetched bytes with tuf.h as TUF/notary specify (pinned
// root, root rotation, signatures and thresholds per role, expiry, hashes and lengths down the chain,
// no version rollback within the process, canonical JSON), caches trust data until it expires, and
// answers whether `digest` is the signed target for the tag. GUN = the image's normalised name
// (docker.io/library/nginx).
//
// Thread-safe: one verifier per anchor, shared by every review.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/result.h"
#include "verifier/image/image_reference.h"
#include "verifier/signature/signature_verifier.h"

namespace imagegate::verifier {

struct NotaryV1Config {
  std::string server;                      // https://notary.example.com[:port]
  std::vector<std::string> root_pems;      // pinned root keys or certificates (PEM text), any of them
  std::vector<std::string> root_key_ids;   // optional: the root role must use one of these key ids
  std::vector<std::string> delegations;    // required signer roles ("targets/releases"); empty = targets
  bool all_delegations = false;            // all of `delegations` (default: any one)
  std::vector<std::string> ca_files;       // TLS trust for the server, beside the system CAs
  std::vector<std::string> docker_config_files;  // credentials for the server's token realm
  std::chrono::milliseconds timeout{10'000};
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
};

class NotaryV1Verifier : public SignatureVerifier {
 public:
  // invalid_argument naming what is unusable (no root, a PEM that does not parse, a CA file).
  static Result<std::unique_ptr<NotaryV1Verifier>> create(NotaryV1Config config);
  Reads reads() const noexcept override { return Reads::own_material; }

  // fetch_and_verify: verified with signers = the roles that signed the tag; failed: "no trust data for GUN", "tag T is not
  // signed", "signed digest is sha256:X, not sha256:Y", "required delegation R did not sign", a
  // verification failure; unavailable: server unreachable / 5xx / timeout. Honours cancellation.
};

}  // namespace imagegate::verifier
