// libFuzzer target for verifier/registry/www_authenticate.cc: arbitrary header values must parse or fail cleanly,
// and what parses must hold its invariants (lowercase scheme and names, bounded counts).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "verifier/registry/www_authenticate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto r = imagegate::verifier::parse_www_authenticate(input);
  if (!r.ok()) return 0;
  if (r->empty() || r->size() > 32) std::abort();
  for (const auto& c : *r) {
    if (c.scheme.empty()) std::abort();
    for (char ch : c.scheme) {
      if (ch >= 'A' && ch <= 'Z') std::abort();
    }
    if (c.params.size() > 64) std::abort();
    for (const auto& [k, v] : c.params) {
      if (k.empty() || v.size() > input.size()) std::abort();
    }
  }
  return 0;
}
