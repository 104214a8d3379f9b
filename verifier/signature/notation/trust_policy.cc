// The notation trust policy document: parsing, the validation rules of notation-go
// (verifier/trustpolicy/oci.go Validate, validateTrustStore, validateTrustedIdentities,
// validateRegistryScopes, GetVerificationLevel), statement selection, and distinguished names.
#include "verifier/signature/notation/trust_policy.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"

namespace imagegate::verifier::notation {
namespace {

// A trust policy is a few statements; 20000 values is far beyond any real one. Bound: 200 B * 20000 +
// 2 * 1 MiB, about 6 MiB of DOM.
constexpr JsonLimits kPolicyJson{kMaxTrustPolicyBytes, 16, 20000};

std::string statement_prefix(const std::string& name) { return "trust policy statement " + in_quotes(name) + " "; }

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// OCI distribution's repository name grammar: path components of [a-z0-9]+ joined by ".", "_", "__" or
// runs of "-", separated by "/".
bool valid_repository(std::string_view repo) {
  if (repo.empty()) return false;
  std::size_t start = 0;
  while (start <= repo.size()) {
    const std::size_t end = std::min(repo.find('/', start), repo.size());
    const std::string_view comp = repo.substr(start, end - start);
    if (comp.empty() || !is_lower_alnum(comp.front()) || !is_lower_alnum(comp.back())) return false;
    for (std::size_t i = 0; i < comp.size(); ++i) {
      const char c = comp[i];
      if (is_lower_alnum(c) || c == '-') continue;
      if (c == '.' || c == '_') {
        const bool double_underscore = c == '_' && i + 1 < comp.size() && comp[i + 1] == '_';
        const std::size_t next = i + (double_underscore ? 2 : 1);
        if (next >= comp.size() || !is_lower_alnum(comp[next])) return false;
        i = next - 1;
        continue;
      }
      return false;
    }
    start = end + 1;
  }
  return true;
}

bool valid_registry(std::string_view host) {
  if (host.empty()) return false;
  const std::size_t colon = host.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    host = host.substr(0, colon);
  }
  if (host.empty()) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

Status check_scope_format(const std::string& scope) {
  const std::size_t slash = scope.find('/');
  if (slash == std::string::npos || !valid_registry(std::string_view(scope).substr(0, slash)) ||
      !valid_repository(std::string_view(scope).substr(slash + 1))) {
    return invalid_argument("registry scope " + in_quotes(scope) +
                            " is not valid, make sure it is a fully qualified repository without the tag, digest, or "
                            "wildcards. Example - registry.example.com/my/repository");
  }
  return Ok{};
}

Result<Level> parse_level(const std::string& text) {
  if (text == "strict") return Level::strict;
  if (text == "permissive") return Level::permissive;
  if (text == "audit") return Level::audit;
  if (text == "skip") return Level::skip;
  if (text.empty()) return invalid_argument("signature verification level is empty or missing in the trust policy statement");
  return invalid_argument("invalid signature verification level " + in_quotes(text));
}

Result<std::vector<std::string>> string_array(const nlohmann::json& s, const char* key, const std::string& name) {
  std::vector<std::string> out;
  const auto it = s.find(key);
  if (it == s.end() || it->is_null()) return out;
  if (!it->is_array()) return invalid_argument(statement_prefix(name) + "has " + key + " that is not an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return invalid_argument(statement_prefix(name) + "has " + key + " that is not an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// signatureVerification: level, override, verifyTimestamp.
Status parse_verification(const nlohmann::json& sv, Statement& st) {
  const std::string prefix = statement_prefix(st.name) + "has invalid signatureVerification: ";
  if (!sv.is_object()) return invalid_argument(prefix + "not an object");
  const auto level_it = sv.find("level");
  auto level = parse_level(level_it != sv.end() && level_it->is_string() ? level_it->get<std::string>() : "");
  if (!level) return invalid_argument(prefix + level.error().message);
  st.level = *level;
  st.actions = level_actions(st.level);
  if (const auto ov = sv.find("override"); ov != sv.end() && !ov->is_null()) {
    if (!ov->is_object()) return invalid_argument(prefix + "override is not an object");
    if (st.level == Level::skip && !ov->empty()) {
      return invalid_argument(prefix + "signature verification level 'skip' can't be used to customize signature verification");
    }
    for (const auto& [key, value] : ov->items()) {
      static constexpr std::pair<std::string_view, Check> kChecks[] = {
          {"integrity", Check::integrity}, {"authenticity", Check::authenticity},
          {"authenticTimestamp", Check::authentic_timestamp}, {"expiry", Check::expiry},
          {"revocation", Check::revocation}};
      const auto check = std::find_if(std::begin(kChecks), std::end(kChecks), [&](const auto& c) { return c.first == key; });
      if (check == std::end(kChecks)) {
        return invalid_argument(prefix + "verification type " + in_quotes(key) + " in custom signature verification is not supported");
      }
      const std::string action = value.is_string() ? value.get<std::string>() : "";
      const Action a = action == "enforce" ? Action::enforce : action == "log" ? Action::log : Action::skip;
      if (action != "enforce" && action != "log" && action != "skip") {
        return invalid_argument(prefix + "verification action " + in_quotes(action) + " in custom signature verification is not supported");
      }
      if (check->second == Check::integrity) {
        return invalid_argument(prefix + in_quotes(key) + " verification can not be overridden in custom signature verification");
      }
      if (check->second != Check::revocation && a == Action::skip) {
        return invalid_argument(prefix + in_quotes(key) + " verification can not be skipped in custom signature verification");
      }
      st.actions[static_cast<std::size_t>(check->second)] = a;
    }
  }
  if (const auto vt = sv.find("verifyTimestamp"); vt != sv.end() && !vt->is_null()) {
    const std::string v = vt->is_string() ? vt->get<std::string>() : "?";
    if (v != "" && v != "always" && v != "afterCertExpiry") {
      return invalid_argument(prefix + "verifyTimestamp " + in_quotes(v) + " is not supported, supported values are \"always\" and \"afterCertExpiry\"");
    }
    st.verify_timestamp_always = v != "afterCertExpiry";
  }
  return Ok{};
}

Status parse_stores(const std::vector<std::string>& stores, Statement& st) {
  for (const std::string& value : stores) {
    const std::size_t colon = value.find(':');
    if (colon == std::string::npos) {
      return invalid_argument(statement_prefix(st.name) + "has malformed trust store value " + in_quotes(value) +
                              ". The required format is <TrustStoreType>:<TrustStoreName>");
    }
    const std::string type = value.substr(0, colon);
    const std::string name = value.substr(colon + 1);
    StoreRef ref;
    if (type == "ca") ref.type = StoreType::ca;
    else if (type == "signingAuthority") ref.type = StoreType::signing_authority;
    else if (type == "tsa") ref.type = StoreType::tsa;
    else return invalid_argument(statement_prefix(st.name) + "uses an unsupported trust store type " + in_quotes(type) + " in trust store value " + in_quotes(value));
    const bool valid_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    }) && name != "." && name != "..";
    if (!valid_name) {
      return invalid_argument(statement_prefix(st.name) + "uses an unsupported trust store name " + in_quotes(name) +
                              " in trust store value " + in_quotes(value) + ". Named store name needs to follow [a-zA-Z0-9_.-]+ format");
    }
    ref.name = name;
    const bool seen = std::any_of(st.stores.begin(), st.stores.end(), [&](const StoreRef& r) { return r.type == ref.type && r.name == ref.name; });
    if (!seen) st.stores.push_back(std::move(ref));
  }
  return Ok{};
}

Result<Statement> parse_statement(const nlohmann::json& s) {
  if (!s.is_object()) return invalid_argument("a trust policy statement is not a JSON object");
  Statement st;
  if (const auto n = s.find("name"); n != s.end() && n->is_string()) st.name = n->get<std::string>();
  if (st.name.empty()) return invalid_argument("a trust policy statement is missing a name, every statement requires a name");
  auto scopes = string_array(s, "registryScopes", st.name);
  if (!scopes) return scopes.error();
  st.registry_scopes = std::move(*scopes);
  const auto sv = s.find("signatureVerification");
  if (sv == s.end()) return invalid_argument(statement_prefix(st.name) + "has invalid signatureVerification: signature verification level is empty or missing in the trust policy statement");
  if (auto v = parse_verification(*sv, st); !v) return v.error();
  auto stores = string_array(s, "trustStores", st.name);
  if (!stores) return stores.error();
  auto identities = string_array(s, "trustedIdentities", st.name);
  if (!identities) return identities.error();
  if (st.level == Level::skip) {
    if (!stores->empty() || !identities->empty()) {
      return invalid_argument(statement_prefix(st.name) + "is set to skip signature verification but configured with trust stores and/or trusted identities, remove them if signature verification needs to be skipped");
    }
    return st;
  }
  if (stores->empty() || identities->empty()) {
    return invalid_argument(statement_prefix(st.name) + "is either missing trust stores or trusted identities, both must be specified");
  }
  if (auto v = parse_stores(*stores, st); !v) return v.error();
  if (auto v = parse_trusted_identities(*identities, st); !v) return v.error();
  return st;
}

Status check_scopes(const std::vector<Statement>& statements) {
  std::set<std::string> seen;
  for (const Statement& st : statements) {
    if (st.registry_scopes.empty()) {
      return invalid_argument(statement_prefix(st.name) + "has zero registry scopes, it must specify registry scopes with at least one value");
    }
    const bool wildcard = std::find(st.registry_scopes.begin(), st.registry_scopes.end(), "*") != st.registry_scopes.end();
    if (wildcard && st.registry_scopes.size() > 1) {
      return invalid_argument(statement_prefix(st.name) + "uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values");
    }
    for (const std::string& scope : st.registry_scopes) {
      if (scope != "*") {
        if (auto s = check_scope_format(scope); !s) return s.error();
      }
      if (!seen.insert(scope).second) {
        return invalid_argument("registry scope " + in_quotes(scope) + " is present in multiple trust policy statements, one registry scope value can only be associated with one statement");
      }
    }
  }
  return Ok{};
}

}  // namespace

std::array<Action, 5> level_actions(Level level) {
  using enum Action;
  switch (level) {
    case Level::strict: return {enforce, enforce, enforce, enforce, enforce};
    case Level::permissive: return {enforce, enforce, log, log, log};
    case Level::audit: return {enforce, log, log, log, log};
    case Level::skip: return {skip, skip, skip, skip, skip};
  }
  return {enforce, enforce, enforce, enforce, enforce};
}

Status parse_trusted_identities(const std::vector<std::string>& identities, Statement& st) {
  const bool wildcard = std::find(identities.begin(), identities.end(), "*") != identities.end();
  if (wildcard && identities.size() > 1) {
    return invalid_argument(statement_prefix(st.name) + "uses a wildcard trusted identity '*', a wildcard identity cannot be used in conjunction with other values");
  }
  st.any_identity = wildcard;
  for (const std::string& identity : identities) {
    if (identity.empty()) return invalid_argument(statement_prefix(st.name) + "has an empty trusted identity");
    if (identity == "*") continue;
    const std::size_t colon = identity.find(':');
    if (colon == std::string::npos) return invalid_argument(statement_prefix(st.name) + "has trusted identity " + in_quotes(identity) + " missing separator");
    // notation understands x509.subject only; other prefixes belong to verification plugins, which
    // imagegate does not run: such an identity never matches.
    if (identity.substr(0, colon) != "x509.subject") continue;
    const std::string value = identity.substr(colon + 1);
    if (value.empty()) return invalid_argument(statement_prefix(st.name) + "has trusted identity " + in_quotes(identity) + " without an identity value");
    auto dn = parse_distinguished_name(value);
    if (!dn) return invalid_argument(statement_prefix(st.name) + "has trusted identity " + in_quotes(identity) + " with invalid identity value: " + dn.error().message);
    st.identity_texts.push_back(identity);
    st.identities.push_back(std::move(*dn));
  }
  for (std::size_t i = 0; i < st.identities.size(); ++i) {
    for (std::size_t j = 0; j < st.identities.size(); ++j) {
      if (i != j && is_subset(st.identities[i], st.identities[j])) {
        return invalid_argument(statement_prefix(st.name) + "has overlapping x509 trustedIdentities, " + in_quotes(st.identity_texts[i]) + " overlaps with " + in_quotes(st.identity_texts[j]));
      }
    }
  }
  return Ok{};
}

Result<std::vector<Statement>> parse_trust_policy(std::string_view json) {
  auto doc = parse_json_bounded(json, kPolicyJson);
  if (!doc) return invalid_argument("malformed trust policy: " + doc.error().message);
  if (!doc->is_object()) return invalid_argument("malformed trust policy: not a JSON object");
  const auto version = doc->find("version");
  const std::string v = version != doc->end() && version->is_string() ? version->get<std::string>() : "";
  if (v.empty()) return invalid_argument("trust policy document has empty version, version must be specified");
  if (v != "1.0") return invalid_argument("trust policy document uses unsupported version " + in_quotes(v));
  const auto list = doc->find("trustPolicies");
  if (list == doc->end() || !list->is_array() || list->empty()) {
    return invalid_argument("trust policy document can not have zero trust policy statements");
  }
  std::vector<Statement> statements;
  std::set<std::string> names;
  for (const auto& s : *list) {
    auto st = parse_statement(s);
    if (!st) return st.error();
    statements.push_back(std::move(*st));
  }
  if (auto s = check_scopes(statements); !s) return s.error();
  for (const Statement& st : statements) {
    if (!names.insert(st.name).second) {
      return invalid_argument("multiple trust policy statements use the same name " + in_quotes(st.name) + ", statement names must be unique");
    }
  }
  return statements;
}

const Statement* select_statement(const std::vector<Statement>& statements, std::string_view repository) {
  const Statement* wildcard = nullptr;
  for (const Statement& st : statements) {
    for (const std::string& scope : st.registry_scopes) {
      if (scope == "*") wildcard = &st;
      else if (scope == repository) return &st;
    }
  }
  return wildcard;
}

std::string_view to_string(StoreType type) noexcept {
  switch (type) {
    case StoreType::ca: return "ca";
    case StoreType::signing_authority: return "signingAuthority";
    case StoreType::tsa: return "tsa";
  }
  return "?";
}

}  // namespace imagegate::verifier::notation
