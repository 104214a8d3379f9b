// Fuzzes what a registry hands the cosign verifier (verifier/signature/cosign/cosign.cc, verifier/signature/sigstore/rekor.cc): the first byte
// picks the parser (signature manifest, simple signing payload, Rekor bundle annotation, hashedrekord body),
// the rest is the input. Whatever parses must be internally consistent and within its bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "verifier/signature/cosign/cosign.h"
#include "verifier/signature/sigstore/rekor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::verifier;
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: {
      constexpr std::size_t kMax = 8;
      auto m = parse_manifest(body, kMax);
      if (m.ok()) {
        if (m->layers.size() > kMax || m->manifests.size() > kMax) std::abort();
        for (const auto& layer : m->layers) {
          auto sig = cosign_signature_from_layer(layer, body);
          if (sig.ok() && sig->payload.size() > kMaxSignaturePayloadBytes) std::abort();
        }
      }
      break;
    }
    case 1: {
      auto p = parse_simple_signing(body);
      if (p.ok() && p->manifest_digest.size() > body.size()) std::abort();
      break;
    }
    case 2: {
      auto b = parse_cosign_rekor_bundle(body);
      if (b.ok() && (b->entry.integrated_time < 0 || b->entry.log_index < 0 || b->entry.log_id.empty())) std::abort();
      if (b.ok()) {
        // The SET check must refuse, not crash, with an empty trust root.
        if (verify_rekor_set(b->entry, b->set_signature, TrustedRoot{}).ok()) std::abort();
      }
      break;
    }
    default: {
      auto s = check_hashedrekord_body(body, "sig", "", std::string(32, '\0'));
      if (s.ok()) std::abort();  // no signer PEM can match
      break;
    }
  }
  return 0;
}
