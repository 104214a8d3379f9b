// The policy loader: YAML text -> PolicySpec, reporting every problem with its file, line, column and key
// path (`spec.rules[2].match.images[0]`). It checks everything that can be checked without I/O: the
// document shape, types, enum values, globs, durations, dates, severities, RE2 regexes, trust anchor
// names and references, thresholds, and the size/depth/node bounds of the document (aliases are counted
// as expanded, so an alias bomb fails fast).
//
// Internal to policy/: callers use load_policy (policy/policy.h). Stateless; safe from any thread.
#pragma once

#include <string_view>
#include <vector>

#include "policy/model.h"
#include "policy/policy.h"

namespace imagegate::policy {

// Parses `yaml_text`, appending a Diagnostic per problem to `diagnostics` (unsorted). The returned spec
// is meaningful only when nothing was appended.
PolicySpec parse_policy_spec(std::string_view yaml_text, std::string_view file_name,
                             std::vector<Diagnostic>& diagnostics);

// The parsers the loader uses for scalar values, exposed for tests and the CLI.
// (Durations: imagegate::parse_duration, common/duration.h.)
// "2027-01-31" (a real calendar date).
std::optional<std::chrono::sys_days> parse_date(std::string_view text) noexcept;
// Whether `text` is valid UTF-8 (no overlong forms, no surrogates); `bad_offset` gets the first bad byte.
bool is_valid_utf8(std::string_view text, std::size_t* bad_offset = nullptr) noexcept;

}  // namespace imagegate::policy
