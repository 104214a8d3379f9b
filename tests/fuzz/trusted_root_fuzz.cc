// Fuzzes verifier/signature/sigstore/trusted_root.cc: a Sigstore trusted_root.json (the first byte 0) or a pair of PEM
// bundles split at the first NUL (Fulcio roots, Rekor keys). Whatever loads must be usable: every log
// is found by its own id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "verifier/signature/sigstore/trusted_root.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::verifier;
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  imagegate::Result<TrustedRoot> root = data[0] % 2 == 0 ? TrustedRoot::from_json(body) : [&] {
    const auto nul = body.find('\0');
    return nul == std::string::npos ? TrustedRoot::from_pem(body, "")
                                    : TrustedRoot::from_pem(body.substr(0, nul), body.substr(nul + 1));
  }();
  if (root.ok()) {
    for (const auto& log : root->tlogs) {
      if (root->tlog(log.log_id) == nullptr) std::abort();
    }
    for (const auto& ca : root->certificate_authorities) {
      if (ca.chain.empty()) std::abort();
    }
  }
  return 0;
}
