// libFuzzer target: the snapshot's automaton (policy/glob_set.h) against today's per-pattern matcher on
// arbitrary patterns and subjects. The input's first byte picks what is fuzzed, the rest is lines: patterns
// up to the first empty line, then subjects.
//   0 image, 1 namespace, 2 registry globs: GlobSet::match and first_match against Glob::matches one by one;
//   3 a policy: each pattern line "IMAGE [NAMESPACE]" is a rule; select_rule with both matchers, for every
//     subject line "NAME [NAMESPACE]".
// Any difference aborts. Bounded: at most 64 patterns and 64 subjects.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "policy/compiled_policy.h"
#include "policy/glob_set.h"
#include "policy/policy.h"

namespace {

using namespace imagegate::policy;

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty() && out.size() < 129) {
    const std::size_t end = text.find('\n');
    out.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

// "a b" -> {"a", "b"}; "a" -> {"a", ""}.
std::pair<std::string_view, std::string_view> two_words(std::string_view line) {
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return {line, {}};
  return {line.substr(0, space), line.substr(space + 1)};
}

void check_globs(GlobKind kind, const std::vector<std::string_view>& patterns,
                 const std::vector<std::string_view>& subjects) {
  std::vector<Glob> globs;
  for (std::string_view p : patterns) {
    if (auto glob = Glob::compile(p, kind); glob.ok()) globs.push_back(std::move(glob).value());
  }
  const GlobSet set(globs);
  std::vector<int> fast;
  for (std::string_view subject : subjects) {
    set.match(subject, fast);
    std::vector<int> oracle;
    for (std::size_t i = 0; i < globs.size(); ++i) {
      if (globs[i].matches(subject)) oracle.push_back(static_cast<int>(i));
    }
    if (fast != oracle) std::abort();
    const Glob* first = set.first_match(subject);
    if (first != (oracle.empty() ? nullptr : &set.globs()[static_cast<std::size_t>(oracle[0])])) std::abort();
  }
}

void check_rules(const std::vector<std::string_view>& patterns, const std::vector<std::string_view>& subjects) {
  PolicySpec spec;
  for (std::string_view line : patterns) {
    const auto [image, ns] = two_words(line);
    Rule rule;
    rule.name = "r" + std::to_string(spec.rules.size());
    rule.images = {std::string(image)};
    if (!ns.empty()) rule.namespaces = {std::string(ns)};
    // A bad glob fails the whole compile: keep only the rules that compile alone.
    PolicySpec alone;
    alone.rules = {rule};
    if (compile_policy(std::move(alone), "fuzz").ok()) spec.rules.push_back(std::move(rule));
  }
  auto policy = compile_policy(std::move(spec), "fuzz");
  if (!policy.ok()) std::abort();  // each rule compiled alone
  for (std::string_view line : subjects) {
    const auto [name, ns] = two_words(line);
    if ((*policy)->select_rule(name, ns, Matcher::automaton) != (*policy)->select_rule(name, ns, Matcher::per_pattern)) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string_view> patterns;
  std::vector<std::string_view> subjects;
  bool in_subjects = false;
  for (std::string_view line : lines_of(text)) {
    if (!in_subjects && line.empty()) {
      in_subjects = true;
    } else if (in_subjects) {
      if (subjects.size() < 64) subjects.push_back(line);
    } else if (patterns.size() < 64) {
      patterns.push_back(line);
    }
  }
  switch (data[0] % 4) {
    case 0: check_globs(GlobKind::image, patterns, subjects); break;
    case 1: check_globs(GlobKind::namespace_name, patterns, subjects); break;
    case 2: check_globs(GlobKind::registry, patterns, subjects); break;
    case 3: check_rules(patterns, subjects); break;
  }
  return 0;
}
