// Fuzzes verifier/signature/notation/cbor.cc and envelope_cose.cc: a COSE_Sign1 envelope (bounded CBOR:
// definite lengths, depth and item limits) checked against a fixed target.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "verifier/signature/notation/cbor.h"
#include "verifier/signature/notation/envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::verifier;
  const std::string input(reinterpret_cast<const char*>(data), size);
  (void)notation::cbor::decode(input);
  auto parsed = notation::parse_cose(input);
  if (!parsed.ok()) return 0;
  if (parsed->certificates.empty() || parsed->algorithm.empty()) std::abort();
  std::vector<Certificate> chain;
  const notation::TargetArtifact target{"registry.test/app", "sha256:00", 1, "application/vnd.oci.image.manifest.v1+json"};
  (void)notation::check_integrity(*parsed, target, chain);
  return 0;
}
