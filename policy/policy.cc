#include "policy/policy.h"

#include <algorithm>
#include <cstdint>

#include "policy/compiled_policy.h"
#include "policy/loader.h"
#include "policy/loader_internal.h"

namespace imagegate::policy {
namespace {

// FNV-1a 64 (http://www.isthe.com/chongo/tech/comp/fnv/): a stable content hash for cache keys and the
// decision log, not a security boundary.
std::string fnv1a_hex(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[hash & 0xf];
    hash >>= 4;
  }
  return out;
}

}  // namespace

std::string Diagnostic::to_string() const {
  std::string out = file.empty() ? std::string("<policy>") : file;
  if (location.line > 0) {
    out += ":" + std::to_string(location.line);
    if (location.column > 0) out += ":" + std::to_string(location.column);
  }
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

namespace {

void sort_by_position(std::vector<Diagnostic>& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.location.line, a.location.column) < std::pair(b.location.line, b.location.column);
  });
}

}  // namespace

std::variant<std::vector<Condition>, std::vector<Diagnostic>> parse_conditions(std::string_view yaml_text,
                                                                               std::string_view file_name) {
  std::vector<Diagnostic> diagnostics;
  loader_internal::Loader loader(file_name, diagnostics);
  std::vector<Condition> conditions = loader.load_condition_list(yaml_text);
  if (diagnostics.empty()) return conditions;
  sort_by_position(diagnostics);
  return diagnostics;
}

PolicyResult load_policy(std::string_view yaml_text, std::string_view file_name) {
  std::vector<Diagnostic> diagnostics;
  PolicySpec spec = parse_policy_spec(yaml_text, file_name, diagnostics);
  if (!diagnostics.empty()) {
    sort_by_position(diagnostics);
    return diagnostics;
  }
  auto compiled = CompiledPolicy::compile(std::move(spec), fnv1a_hex(yaml_text));
  if (!compiled.ok()) {
    // The loader checks everything compile does, with locations; reaching this is a loader gap.
    return std::vector<Diagnostic>{{std::string(file_name), {}, "", compiled.error().message}};
  }
  return std::move(compiled).value();
}

const PolicySpec& spec_of(const CompiledPolicy& policy) noexcept { return policy.spec(); }
const std::string& version_of(const CompiledPolicy& policy) noexcept { return policy.version(); }
Result<std::shared_ptr<const CompiledPolicy>> compile_policy(PolicySpec spec, std::string version) {
  return CompiledPolicy::compile(std::move(spec), std::move(version));
}
bool registry_allowed(const CompiledPolicy& policy, std::string_view domain) { return policy.registry_allowed(domain); }

}  // namespace imagegate::policy
