#include "policy/glob_set.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>

namespace imagegate::policy {

class GlobSet::Automaton {
 public:
  explicit Automaton(const RE2::Options& options) : set_(options, RE2::ANCHOR_BOTH) {}

  // False when RE2 refuses a pattern (it cannot: each one already compiled alone) or the set's program.
  bool build(const std::vector<Glob>& globs) {
    for (std::size_t i = 0; i < globs.size(); ++i) {
      if (set_.Add(globs[i].regex().pattern(), nullptr) != static_cast<int>(i)) return false;
    }
    return set_.Compile();
  }

  // False when the DFA ran out of memory: the caller matches pattern by pattern instead.
  bool match(std::string_view subject, std::vector<int>& out) const {
    RE2::Set::ErrorInfo error{RE2::Set::kNoError};
    if (set_.Match(re2::StringPiece(subject.data(), subject.size()), &out, &error)) return true;
    out.clear();
    return error.kind == RE2::Set::kNoError;
  }

 private:
  RE2::Set set_;
};

GlobSet::GlobSet(std::vector<Glob> globs) : globs_(std::move(globs)) {
  if (globs_.empty()) return;
  // Glob::compile gives every glob the same options; the set reads the first one's.
  RE2::Options options = globs_.front().regex().options();
  // The set's program holds every pattern: a budget that grows with them (RE2 only spends what a match
  // needs), so a large policy still gets its automaton rather than the per-pattern fallback.
  options.set_max_mem(std::max<int64_t>(options.max_mem(), static_cast<int64_t>(globs_.size()) * (16 << 10)));
  auto automaton = std::make_shared<Automaton>(options);
  if (automaton->build(globs_)) set_ = std::move(automaton);
}

void GlobSet::match(std::string_view subject, std::vector<int>& out, Matcher matcher) const {
  out.clear();
  if (globs_.empty()) return;
  if (matcher == Matcher::automaton && set_ != nullptr && set_->match(subject, out)) {
    std::sort(out.begin(), out.end());  // RE2::Set reports them in no particular order
    return;
  }
  for (std::size_t i = 0; i < globs_.size(); ++i) {
    if (globs_[i].matches(subject)) out.push_back(static_cast<int>(i));
  }
}

const Glob* GlobSet::first_match(std::string_view subject, Matcher matcher) const {
  if (globs_.empty()) return nullptr;
  if (matcher == Matcher::per_pattern || set_ == nullptr) {
    auto it = std::find_if(globs_.begin(), globs_.end(), [&](const Glob& g) { return g.matches(subject); });
    return it == globs_.end() ? nullptr : &*it;
  }
  std::vector<int> matched;
  match(subject, matched, matcher);
  return matched.empty() ? nullptr : &globs_[static_cast<std::size_t>(matched.front())];
}

}  // namespace imagegate::policy
