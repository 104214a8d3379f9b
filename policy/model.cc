#include "policy/model.h"

#include <cctype>
#include <string>

namespace imagegate::policy {

std::string_view to_string(Mode m) noexcept {
  switch (m) {
    case Mode::enforce: return "enforce";
    case Mode::warn: return "warn";
    case Mode::audit: return "audit";
  }
  return "enforce";
}

std::string_view to_string(FailurePolicy f) noexcept {
  switch (f) {
    case FailurePolicy::closed: return "closed";
    case FailurePolicy::open: return "open";
  }
  return "closed";
}

std::string_view to_string(Action a) noexcept {
  switch (a) {
    case Action::allow: return "allow";
    case Action::warn: return "warn";
    case Action::deny: return "deny";
  }
  return "deny";
}

std::string_view to_string(Severity s) noexcept { return verifier::severity_name(s); }

std::optional<Severity> parse_severity(std::string_view text) noexcept {
  if (text.size() == 1 && text[0] >= '1' && text[0] <= '5') return static_cast<Severity>(text[0] - '0');
  if (text.size() > 16) return std::nullopt;
  std::string upper;
  for (char c : text) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  // NONE and UNKNOWN share the bottom of the scale: scanners disagree on which one they emit for
  // "no rating", and neither should ever outrank LOW.
  if (upper == "NONE" || upper == "UNKNOWN") return Severity::unknown;
  if (upper == "LOW") return Severity::low;
  if (upper == "MEDIUM") return Severity::medium;
  if (upper == "HIGH") return Severity::high;
  if (upper == "CRITICAL") return Severity::critical;
  return std::nullopt;
}

}  // namespace imagegate::policy
