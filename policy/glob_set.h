// GlobSet: many globs matched in one automaton (an RE2::Set of the globs' expressions, anchored at both
// ends), so a subject is read once whatever the number of patterns, instead of once per pattern.
//
// The semantics are Glob::matches' exactly: the set holds the very expressions and options each Glob's
// RE2 was compiled with. tests/policy/glob_set_test.cc and tests/fuzz/glob_set_fuzz.cc check the set
// against the globs one by one (Matcher::per_pattern, kept as the oracle and as the fallback). When
// RE2's DFA runs out of memory on a match (a huge policy, a hostile subject) the set falls back to the
// per-pattern matcher for that call: slower, never a different answer.
//
// Internal to policy/. Immutable once compiled; matching is const and thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "policy/glob.h"

namespace re2 {
class RE2;
}

namespace imagegate::policy {

// Which matcher answers: the snapshot's automaton (production) or one RE2 per glob (today's matcher before
// the automaton: the differential tests' oracle and bench/plan's baseline).
enum class Matcher { automaton, per_pattern };

class GlobSet {
 public:
  GlobSet() = default;  // matches nothing
  // Compiles the globs (already compiled one by one) into one automaton. Never fails: a set RE2 refuses
  // (over its memory budget) leaves the set matching pattern by pattern.
  explicit GlobSet(std::vector<Glob> globs);

  // Indices into globs() of every glob matching `subject`, ascending, into `out` (cleared first).
  void match(std::string_view subject, std::vector<int>& out, Matcher matcher = Matcher::automaton) const;
  // The first glob (in declaration order) matching `subject`, or nullptr.
  const Glob* first_match(std::string_view subject, Matcher matcher = Matcher::automaton) const;

  const std::vector<Glob>& globs() const noexcept { return globs_; }
  bool empty() const noexcept { return globs_.empty(); }
  // False when the automaton could not be built and every match goes pattern by pattern.
  bool has_automaton() const noexcept { return set_ != nullptr; }

 private:
  class Automaton;  // wraps RE2::Set (kept out of this header)

  std::vector<Glob> globs_;
  std::shared_ptr<const Automaton> set_;
};

}  // namespace imagegate::policy
