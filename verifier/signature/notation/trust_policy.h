// Internal to verifier/signature/notation/: the trust policy document (trust_policy.cc: parsing and
// notation-go's validation rules, statement selection by registry scope), x509 distinguished names as
// trusted identities compare them, and the loaded TrustConfig::Impl (trust_store.cc fills its
// certificates from the trust store).
#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/notation/notation.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier::notation {

inline constexpr std::size_t kMaxTrustPolicyBytes = 1024 * 1024;

// "text" with its double quotes, as notation-go's %q prints names and values in its messages.
inline std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

// A distinguished name as notation compares them: attribute type -> value (single-valued RDNs, unique
// types, C, ST and O present).
using DistinguishedName = std::map<std::string, std::string>;

// RFC 4514 text ("C=US, ST=WA, O=Notary, CN=e2e"; escapes \, \+ \" \\ \XX; spaces around types and values
// ignored). invalid_argument naming the problem (notation-go's pkix.ParseDistinguishedName wording).
Result<DistinguishedName> parse_distinguished_name(std::string_view text);
// A certificate's subject as the same map (Go's short names: C ST L O OU CN STREET POSTALCODE
// SERIALNUMBER). invalid_argument as above (a duplicate attribute, a mandatory one missing).
Result<DistinguishedName> subject_name(const Certificate& cert);
// Every attribute of `trusted` has the same value in `subject`.
bool is_subset(const DistinguishedName& trusted, const DistinguishedName& subject);

enum class StoreType { ca, signing_authority, tsa };
std::string_view to_string(StoreType type) noexcept;  // "ca", "signingAuthority", "tsa"

struct StoreRef {
  StoreType type = StoreType::ca;
  std::string name;
};

struct Statement {
  std::string name;
  std::vector<std::string> registry_scopes;  // exact "registry/repository", or "*" alone
  Level level = Level::strict;
  std::array<Action, 5> actions{};           // indexed by Check
  bool verify_timestamp_always = true;       // verifyTimestamp: "always" (default) or "afterCertExpiry"
  std::vector<StoreRef> stores;              // deduplicated, in order
  bool any_identity = false;                 // trustedIdentities ["*"]
  std::vector<std::string> identity_texts;   // the x509.subject values as written
  std::vector<DistinguishedName> identities;

  // Filled from the trust store at load.
  std::vector<Certificate> ca;
  std::vector<Certificate> signing_authority;
  std::vector<CertificateAuthority> tsa;  // one per root (its subject as uri)

  Action action(Check check) const { return actions[static_cast<std::size_t>(check)]; }
};

// A trust policy document (version "1.0") parsed and validated; errors as notation-go words them
// ("trust policy statement \"e2e\" is either missing trust stores or trusted identities, both must be
// specified"), without a file prefix.
Result<std::vector<Statement>> parse_trust_policy(std::string_view json);
// Validation of one statement's trusted identities (shared with the inline anchor form).
Status parse_trusted_identities(const std::vector<std::string>& identities, Statement& statement);
// The default actions of a level (Notation specification: strict enforces everything, permissive logs
// authentic timestamp, expiry and revocation, audit enforces integrity only, skip skips all).
std::array<Action, 5> level_actions(Level level);

// The statement that applies to `repository` ("registry/repository"): the one listing it, else the one
// with "*"; nullptr when none.
const Statement* select_statement(const std::vector<Statement>& statements, std::string_view repository);

}  // namespace imagegate::verifier::notation

struct imagegate::verifier::notation::TrustConfig::Impl {
  std::vector<Statement> statements;
  std::vector<TrustFile> files;
};
