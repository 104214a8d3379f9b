// Conditions on an attestation's predicate: the small, safe expression language of a rule's
// `attestations[].conditions` (docs/policy.md "Attestations"). Each condition names a field of the predicate
// JSON by a path and tests it with one operator:
//
//   equals: V        the field is the string V (a number or boolean field: its JSON text is V)
//   matches: GLOB    a string field matches GLOB: `*` within one `/`-separated segment, `**` across them
//   regexp: RE       a string field matches the RE2 expression RE, whole (FullMatch)
//   oneOf: [A, B]    the field equals one of them (as `equals`)
//   exists: BOOL     the field is there and not null (true), or absent or null (false)
//   newerThan: 30d   a string field is an RFC 3339 time newer than `now` minus the duration
//   all: [C...]      the field is an array and every element passes every nested condition (an empty one does)
//   any: [C...]      the field is an array and some element passes every nested condition (an empty one does not)
//
// Paths: keys joined by `.`, array indexes in brackets, keys with other characters quoted in brackets:
// `buildDefinition.externalParameters.workflow.repository`, `subject[0].name`, `annotations["a.b/c"]`.
// Inside `all`/`any` a path is relative to the element; an absent path is the value itself (the
// predicate, or the element). A field that is absent fails every operator but `exists: false`.
//
// Safe by construction: no loops but `all`/`any` over the predicate's own arrays (each element once per
// nested condition), bounded nesting (kMaxConditionDepth), bounded counts and lengths (checked by the
// loader), globs and regexps compiled once with RE2 (linear time), and a step budget per evaluation
// (kMaxConditionSteps) that fails closed. Pure: no I/O, no clock (the caller passes `now`).
// Thread-safe: values, and const RE2s.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace re2 {
class RE2;
}

namespace imagegate::policy {

inline constexpr int kMaxConditionDepth = 4;            // all/any inside all/any ..., four levels
inline constexpr std::size_t kMaxConditions = 64;       // conditions of one requirement, nested ones too
inline constexpr std::size_t kMaxConditionPathSteps = 16;
inline constexpr std::size_t kMaxConditionPathBytes = 256;
inline constexpr std::size_t kMaxConditionValueBytes = 1024;  // equals, matches, regexp, each oneOf entry
inline constexpr std::size_t kMaxConditionOneOf = 256;
// Values visited by one evaluation of a requirement's conditions over one predicate, before it fails closed.
inline constexpr std::size_t kMaxConditionSteps = 1'000'000;
// The predicate text an evaluation reads, and its JSON bounds (with kBundle-style arithmetic of
// common/json_bounded.h: 200 B * 150,000 + 2 * 4 MiB = 38 MiB at most per evaluation).
inline constexpr std::size_t kMaxPredicateBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxPredicateValues = 150'000;
inline constexpr int kMaxPredicateDepth = 64;

enum class ConditionOp { equals, matches, regexp, one_of, exists, newer_than, all, any };

struct PathStep {
  std::string key;         // an object member, when !is_index
  std::size_t index = 0;   // an array element, when is_index
  bool is_index = false;
};

struct Condition {
  std::string path_text;       // as written ("" = the value itself)
  std::vector<PathStep> path;
  ConditionOp op = ConditionOp::exists;
  std::string value;                 // equals; the pattern of matches / regexp
  std::vector<std::string> values;   // oneOf
  bool exists = true;                // exists
  std::chrono::seconds newer_than{}; // newerThan
  std::shared_ptr<const re2::RE2> compiled;  // matches (the glob as RE2) and regexp, compiled at load
  std::vector<Condition> nested;     // all / any
};

// The path grammar above. invalid_argument saying what is wrong ("empty key at byte 4").
Result<std::vector<PathStep>> parse_condition_path(std::string_view path);
// A value glob (`*`, `**`) or an RE2 expression, compiled for FullMatch. invalid_argument when it does not
// compile (or is longer than kMaxConditionValueBytes).
Result<std::shared_ptr<const re2::RE2>> compile_condition_glob(std::string_view glob);
Result<std::shared_ptr<const re2::RE2>> compile_condition_regexp(std::string_view regexp);
// "equals", "matches", ... as written in a policy.
std::string_view to_string(ConditionOp op) noexcept;

struct ConditionOutcome {
  bool passed = false;
  // Why not, naming the first failing condition and what the predicate holds there:
  // `buildDefinition.externalParameters.workflow.repository is "https://github.com/evil/app", not
  // "https://github.com/acme/app"`; "" when passed.
  std::string detail;
};

// Every condition against the predicate `predicate_json` (JSON text, within kMaxPredicate* bounds: a larger
// or deeper one fails with a detail saying so, as does text that is not JSON). Conditions that the
// loader would not have produced (an op without its compiled pattern) fail closed.
ConditionOutcome evaluate_conditions(const std::vector<Condition>& conditions, std::string_view predicate_json,
                                     std::chrono::system_clock::time_point now);

}  // namespace imagegate::policy
