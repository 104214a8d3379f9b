// The condition language of attestation requirements (policy/condition.h): path parsing, pattern
// compilation, and evaluation over a predicate parsed within bounds.
#include "policy/condition.h"

#include <re2/re2.h>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "common/text.h"
#include "policy/glob.h"
#include "policy/loader_internal.h"
#include "verifier/image/scan_verdict.h"

namespace imagegate::policy {

using loader_internal::quote;

namespace {

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '$' || c == '@';
}

Error bad_path(std::string_view why, std::size_t at) {
  return invalid_argument(std::string(why) + " at byte " + std::to_string(at + 1));
}

// `[...]` at `text[i]` (the `[`): an index, or a quoted key. Moves `i` past the `]`.
Result<PathStep> bracket_step(std::string_view text, std::size_t& i) {
  const std::size_t open = i++;
  PathStep step;
  if (i < text.size() && text[i] == '"') {
    ++i;
    while (i < text.size() && text[i] != '"') {
      if (text[i] == '\\' && i + 1 < text.size()) ++i;  // \" and \\ inside a quoted key
      step.key.push_back(text[i++]);
    }
    if (i >= text.size()) return bad_path("unterminated quoted key", open);
    ++i;  // the closing quote
    if (step.key.empty()) return bad_path("empty quoted key", open);
  } else {
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (++digits > 9) return bad_path("array index too large", open);
      step.index = step.index * 10 + static_cast<std::size_t>(text[i++] - '0');
    }
    if (digits == 0) return bad_path("expected an array index or a quoted key after '['", open);
    step.is_index = true;
  }
  if (i >= text.size() || text[i] != ']') return bad_path("expected ']'", i);
  ++i;
  return step;
}

Result<std::shared_ptr<const re2::RE2>> compile_re2(const std::string& pattern, std::string_view what) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(1 << 20);
  auto re = std::make_shared<const re2::RE2>(pattern, options);
  if (!re->ok()) return invalid_argument("invalid " + std::string(what) + ": " + re->error());
  return std::shared_ptr<const re2::RE2>(std::move(re));
}

// ---- Evaluation. -----------------------------------------------------------------------------------------

using json = nlohmann::json;

std::string type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::null: return "null";
    default: return "a number";
  }
}

// A scalar's text for equals / oneOf: a string as it is, a number or boolean as its JSON text.
std::optional<std::string> scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean() || v.is_number()) return v.dump();
  return std::nullopt;
}

std::string shown(const json& v) {
  if (v.is_string()) return quote(v.get_ref<const std::string&>());
  if (v.is_boolean() || v.is_number()) return v.dump();
  return type_of(v);
}

struct Evaluator {
  std::chrono::system_clock::time_point now;
  std::size_t steps = 0;
  bool exhausted = false;

  bool spend(std::size_t n = 1) {
    steps += n;
    if (steps > kMaxConditionSteps) exhausted = true;
    return !exhausted;
  }

  static const json* resolve(const json& root, const std::vector<PathStep>& path) {
    const json* at = &root;
    for (const PathStep& step : path) {
      if (step.is_index) {
        if (!at->is_array() || step.index >= at->size()) return nullptr;
        at = &(*at)[step.index];
      } else {
        if (!at->is_object()) return nullptr;
        auto it = at->find(step.key);
        if (it == at->end()) return nullptr;
        at = &*it;
      }
    }
    return at;
  }

  // "" when `c` holds for `value`; otherwise why not, after `where` (the path, as written, from the root).
  std::string check(const Condition& c, const json& value, const std::string& where);

  std::string check_all(const std::vector<Condition>& conditions, const json& value, const std::string& where) {
    for (const Condition& c : conditions) {
      if (!spend()) return "conditions need more than " + std::to_string(kMaxConditionSteps) + " steps";
      const std::string prefix = where.empty() ? c.path_text
                                 : c.path_text.empty() ? where
                                 : c.path_text.front() == '[' ? where + c.path_text
                                                              : where + "." + c.path_text;
      std::string why = check(c, value, prefix);
      if (!why.empty()) return why;
    }
    return {};
  }
};

std::string Evaluator::check(const Condition& c, const json& root, const std::string& where) {
  const std::string name = where.empty() ? std::string("the predicate") : where;
  const json* field = resolve(root, c.path);
  if (field != nullptr && field->is_null()) field = nullptr;
  if (c.op == ConditionOp::exists) {
    if ((field != nullptr) == c.exists) return {};
    return name + (c.exists ? " is missing" : " is present");
  }
  if (field == nullptr) return name + " is missing";
  switch (c.op) {
    case ConditionOp::equals:
    case ConditionOp::one_of: {
      const std::optional<std::string> text = scalar_text(*field);
      if (text) {
        if (c.op == ConditionOp::equals && *text == c.value) return {};
        if (c.op == ConditionOp::one_of) {
          for (const std::string& v : c.values) {
            if (v == *text) return {};
          }
        }
      }
      if (c.op == ConditionOp::equals) return name + " is " + shown(*field) + ", not " + quote(c.value);
      std::vector<std::string> quoted;
      for (std::size_t i = 0; i < c.values.size() && i < 5; ++i) quoted.push_back(quote(c.values[i]));
      if (c.values.size() > 5) quoted.push_back("...");
      return name + " is " + shown(*field) + ", not one of [" + join(quoted, ", ") + "]";
    }
    case ConditionOp::matches:
    case ConditionOp::regexp: {
      if (!field->is_string()) return name + " is " + type_of(*field) + ", not a string";
      if (c.compiled == nullptr) return name + ": pattern not compiled";
      if (RE2::FullMatch(field->get_ref<const std::string&>(), *c.compiled)) return {};
      return name + " is " + shown(*field) + ", which does not match " + quote(c.value);
    }
    case ConditionOp::newer_than: {
      if (!field->is_string()) return name + " is " + type_of(*field) + ", not an RFC 3339 time";
      const auto t = verifier::parse_rfc3339(field->get_ref<const std::string&>());
      if (!t) return name + " is " + shown(*field) + ", not an RFC 3339 time";
      if (*t > now - c.newer_than) return {};
      return name + " is " + shown(*field) + ", older than " + std::to_string(c.newer_than.count()) + "s";
    }
    case ConditionOp::all:
    case ConditionOp::any: {
      if (!field->is_array()) return name + " is " + type_of(*field) + ", not an array";
      std::string first_failure;
      for (std::size_t i = 0; i < field->size(); ++i) {
        const std::string element = name + "[" + std::to_string(i) + "]";
        std::string why = check_all(c.nested, (*field)[i], element);
        if (exhausted) return why;
        if (c.op == ConditionOp::all && !why.empty()) return why;
        if (c.op == ConditionOp::any && why.empty()) return {};
        if (first_failure.empty()) first_failure = std::move(why);
      }
      if (c.op == ConditionOp::all) return {};
      if (field->empty()) return name + " is an empty array";
      return "no element of " + name + " passes (" + name + "[0]: " + first_failure + ")";
    }
    case ConditionOp::exists: break;
  }
  return name + ": unknown operator";
}

}  // namespace

Result<std::vector<PathStep>> parse_condition_path(std::string_view text) {
  if (text.size() > kMaxConditionPathBytes) {
    return invalid_argument("longer than " + std::to_string(kMaxConditionPathBytes) + " bytes");
  }
  std::vector<PathStep> steps;
  std::size_t i = 0;
  while (i < text.size()) {
    if (steps.size() >= kMaxConditionPathSteps) {
      return invalid_argument("more than " + std::to_string(kMaxConditionPathSteps) + " steps");
    }
    if (text[i] == '[') {
      auto step = bracket_step(text, i);
      if (!step.ok()) return step.error();
      steps.push_back(std::move(*step));
      continue;
    }
    if (!steps.empty()) {
      if (text[i] != '.') return bad_path("expected '.' or '['", i);
      ++i;
    }
    PathStep step;
    while (i < text.size() && is_key_char(text[i])) step.key.push_back(text[i++]);
    if (step.key.empty()) {
      return bad_path(i < text.size() ? "unexpected character (quote such keys: [\"a.b\"])" : "empty key", i);
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

Result<std::shared_ptr<const re2::RE2>> compile_condition_glob(std::string_view glob) {
  if (glob.size() > kMaxConditionValueBytes) return invalid_argument("glob too long");
  // `*` within a `/`-separated segment, `**` across segments, everything else literal.
  return compile_re2(wildcard_regex(glob, "[^/]*", ".*"), "glob");
}

Result<std::shared_ptr<const re2::RE2>> compile_condition_regexp(std::string_view regexp) {
  if (regexp.size() > kMaxConditionValueBytes) return invalid_argument("regular expression too long");
  return compile_re2(std::string(regexp), "regular expression");
}

std::string_view to_string(ConditionOp op) noexcept {
  switch (op) {
    case ConditionOp::equals: return "equals";
    case ConditionOp::matches: return "matches";
    case ConditionOp::regexp: return "regexp";
    case ConditionOp::one_of: return "oneOf";
    case ConditionOp::exists: return "exists";
    case ConditionOp::newer_than: return "newerThan";
    case ConditionOp::all: return "all";
    case ConditionOp::any: return "any";
  }
  return "exists";
}

ConditionOutcome evaluate_conditions(const std::vector<Condition>& conditions, std::string_view predicate_json,
                                     std::chrono::system_clock::time_point now) {
  static constexpr JsonLimits kLimits{kMaxPredicateBytes, kMaxPredicateDepth, kMaxPredicateValues};
  Result<nlohmann::json> predicate = parse_json_bounded(predicate_json, kLimits);
  if (!predicate.ok()) return {false, "predicate: " + predicate.error().message};
  Evaluator evaluator{now};
  std::string why = evaluator.check_all(conditions, *predicate, "");
  if (why.empty()) return {true, {}};
  return {false, std::move(why)};
}

}  // namespace imagegate::policy
