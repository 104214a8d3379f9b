// Fuzzes verifier/signature/notation/envelope_jws.cc and the integrity checks behind it: a JWS JSON
// envelope checked against a fixed target. Whatever parses has its certificates and a signing input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "verifier/signature/notation/envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::verifier;
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto parsed = notation::parse_jws(input);
  if (!parsed.ok()) return 0;
  if (parsed->certificates.empty() || parsed->signing_input.empty()) std::abort();
  std::vector<Certificate> chain;
  const notation::TargetArtifact target{"registry.test/app", "sha256:00", 1, "application/vnd.oci.image.manifest.v1+json"};
  (void)notation::check_integrity(*parsed, target, chain);
  return 0;
}
