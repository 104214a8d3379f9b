#include "verifier/signature/sigstore/image_bundles.h"

#include "verifier/crypto/crypto.h"

namespace imagegate::verifier {

ImageBundleResults verify_image_bundles(const std::vector<std::string>& bundles, std::string_view digest,
                                        const TrustedRoot& root, const BundleTrust& trust) {
  ImageBundleResults out;
  if (bundles.empty()) return out;
  Artifact artifact;
  artifact.hash = HashAlgorithm::sha256;
  auto raw = hex_decode(digest.substr(digest.find(':') + 1));
  if (!raw) {
    out.results.emplace_back(invalid_argument("digest is not hex"));
    return out;
  }
  artifact.digest = std::move(*raw);
  for (const std::string& bundle : bundles) {
    auto parsed = parse_sigstore_bundle(bundle);
    if (!parsed) {
      out.results.emplace_back(parsed.error());
      continue;
    }
    if (is_attestation(*parsed)) ++out.attestations;
    out.results.push_back(verify_sigstore_image_signature(*parsed, artifact, root, trust));
  }
  return out;
}

}  // namespace imagegate::verifier
