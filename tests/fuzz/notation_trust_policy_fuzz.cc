// Fuzzes verifier/signature/notation/trust_policy.cc and distinguished_name.cc: a notation trust policy
// document. Whatever validates selects a statement for "*" scopes consistently, and every x509 identity it
// kept parses again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "verifier/signature/notation/trust_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::verifier::notation;
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto statements = parse_trust_policy(input);
  if (!statements.ok()) return 0;
  if (statements->empty()) std::abort();
  for (const Statement& st : *statements) {
    if (st.registry_scopes.empty() || st.identities.size() != st.identity_texts.size()) std::abort();
    for (const std::string& scope : st.registry_scopes) {
      if (select_statement(*statements, scope) == nullptr) std::abort();
    }
  }
  (void)parse_distinguished_name(input.substr(0, 256));
  return 0;
}
