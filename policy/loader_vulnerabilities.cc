// The policy loader's vulnerabilities section of a rule (policy/loader_internal.h): maximum severity, age,
// what a missing verdict means, secrets, compliance, and CVE exceptions with their expiry dates.
#include <algorithm>
#include <set>
#include <string>

#include "common/duration.h"
#include "common/text.h"
#include "policy/loader_internal.h"

namespace imagegate::policy {

using namespace loader_internal;  // NOLINT: this file is part of the loader

void Loader::load_vulnerabilities(const YAML::Node& node, const std::string& path, VerdictRequirement& out) {
  const std::optional<Fields> f = fields(
      node, path, {"maxSeverity", "fixableOnly", "maxAge", "onMissing", "secrets", "compliance", "exceptions"});
  if (!f) return;
  if (const YAML::Node* severity = find(*f, "maxSeverity")) {
    if (std::optional<std::string> s = string_value(*severity, child(path, "maxSeverity"))) {
      if (std::optional<Severity> parsed = parse_severity(*s)) {
        out.max_severity = parsed;
      } else {
        error(*severity, child(path, "maxSeverity"),
              "bad severity " + quote(*s) + " (1-5, or NONE, UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)");
      }
    }
  }
  if (auto v = bool_field(*f, path, "fixableOnly")) out.fixable_only = *v;
  if (const YAML::Node* age = find(*f, "maxAge")) {
    if (std::optional<std::string> s = string_value(*age, child(path, "maxAge"))) {
      if (std::optional<std::chrono::seconds> d = parse_positive_seconds(*s)) {
        out.max_age = d;
      } else {
        error(*age, child(path, "maxAge"), "bad duration " + quote(*s) + " (like 30s, 15m, 24h, 7d, 1h30m; at least 1s)");
      }
    }
  }
  if (auto a = enum_field(*f, path, "onMissing", {"allow", "warn", "deny"})) out.on_missing = static_cast<Action>(*a);
  if (auto a = enum_field(*f, path, "secrets", {"allow", "warn", "deny"})) out.secrets = static_cast<Action>(*a);
  if (auto c = enum_field(*f, path, "compliance", {"ignore", "required"})) out.compliance_required = *c == 1;
  if (const YAML::Node* exceptions = find(*f, "exceptions")) {
    const std::string ep = child(path, "exceptions");
    if (!exceptions->IsSequence()) {
      error(*exceptions, ep, "must be a list, not " + type_name(*exceptions));
      return;
    }
    std::size_t index = 0;
    for (const YAML::Node& element : *exceptions) {
      const std::string xp = item(ep, index++);
      const std::optional<Fields> xf = fields(element, xp, {"id", "expires", "reason"});
      if (!xf) continue;
      CveException exception;
      if (auto id = string_field(*xf, element, xp, "id", true)) exception.id = *id;
      if (auto reason = string_field(*xf, element, xp, "reason", true)) exception.reason = *reason;
      if (auto expires = string_field(*xf, element, xp, "expires", false)) {
        exception.expires = parse_date(*expires);
        if (!exception.expires) {
          error(*find(*xf, "expires"), child(xp, "expires"), "bad date " + quote(*expires) + " (YYYY-MM-DD)");
        }
      }
      out.exceptions.push_back(std::move(exception));
    }
  }
}

}  // namespace imagegate::policy
