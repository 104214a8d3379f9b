// The policy loader's attestations section of a rule (policy/loader_internal.h): each required statement's
// name, exact predicate type, anchors m-of-n (the shape signatures use), and its conditions in the language
// of policy/condition.h, every pattern compiled and every bound checked here, at load.
#include <algorithm>
#include <set>
#include <string>

#include "common/duration.h"
#include "common/text.h"
#include "policy/loader_internal.h"

namespace imagegate::policy {

using namespace loader_internal;  // NOLINT: this file is part of the loader

namespace {

constexpr std::size_t kMaxAttestations = 16;  // per rule
constexpr std::size_t kMaxPredicateTypeBytes = 512;

// A URI as in-toto writes predicate types: a scheme, no spaces or control characters.
bool looks_like_uri(std::string_view s) {
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && ((c >= '0' && c <= '9') ||
                                                                                  c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

constexpr std::string_view kOperators[] = {"equals", "matches", "regexp", "oneOf", "exists", "newerThan", "all",
                                           "any"};

}  // namespace

std::vector<Condition> Loader::load_condition_list(std::string_view text) {
  std::vector<Condition> out;
  const std::optional<YAML::Node> root = parse_document(text);
  if (!root) return out;
  try {
    if (!check_bounds(*root)) return out;
    std::size_t count = 0;
    load_conditions(*root, "conditions", 1, count, out);
  } catch (const YAML::Exception& e) {  // should not happen on a loaded tree; never let one escape
    error(e.mark, "", "YAML error: " + e.msg);
  }
  return out;
}

void Loader::load_attestations(const YAML::Node& node, const std::string& path, const PolicySpec& spec,
                               std::vector<AttestationRequirement>& out) {
  if (!node.IsSequence()) {
    error(node, path, "must be a list of required statements, not " + type_name(node));
    return;
  }
  if (node.size() > kMaxAttestations) {
    error(node, path, "at most " + std::to_string(kMaxAttestations) + " attestations per rule");
    return;
  }
  std::set<std::string, std::less<>> names;
  std::size_t index = 0;
  for (const YAML::Node& element : node) {
    const std::string element_path = item(path, index++);
    AttestationRequirement requirement;
    requirement.location = location_of(element);
    load_attestation(element, element_path, spec, requirement);
    if (!requirement.name.empty() && !names.insert(requirement.name).second) {
      error(element, element_path,
            "attestation " + quote(requirement.name) + " is required twice in this rule (give each a distinct name)");
    }
    out.push_back(std::move(requirement));
  }
}

void Loader::load_attestation(const YAML::Node& node, const std::string& path, const PolicySpec& spec,
                              AttestationRequirement& out) {
  const std::optional<Fields> f =
      fields(node, path, {"name", "predicateType", "anchors", "threshold", "required", "conditions"});
  if (!f) return;
  if (auto type = string_field(*f, node, path, "predicateType", true)) {
    const YAML::Node& type_node = *find(*f, "predicateType");
    if (type->size() > kMaxPredicateTypeBytes || !looks_like_uri(*type)) {
      error(type_node, child(path, "predicateType"),
            "not a predicate type URI: " + quote(*type) + " (like https://slsa.dev/provenance/v1)");
    } else {
      out.predicate_type = *type;
    }
  }
  if (auto name = string_field(*f, node, path, "name", false)) {
    check_name(*find(*f, "name"), child(path, "name"), *name);
    out.name = *name;
  }
  if (out.name.empty()) out.name = out.predicate_type;
  load_anchor_choice(*f, node, path, spec, out.anchors, out.threshold, out.required);
  for (std::size_t i = 0; i < out.anchors.size(); ++i) {
    auto it = std::find_if(spec.trust_anchors.begin(), spec.trust_anchors.end(),
                           [&](const TrustAnchor& a) { return a.name == out.anchors[i]; });
    if (it == spec.trust_anchors.end()) continue;  // reported by load_anchor_choice
    if (std::holds_alternative<verifier::NotaryV1Anchor>(it->spec) ||
        std::holds_alternative<verifier::NotationAnchor>(it->spec)) {
      error(*find(*f, "anchors"), item(child(path, "anchors"), i),
            "anchor " + quote(it->name) + " cannot sign attestations (DSSE envelopes): use a cosign or keyless anchor");
    }
  }
  if (const YAML::Node* conditions = find(*f, "conditions")) {
    std::size_t count = 0;
    load_conditions(*conditions, child(path, "conditions"), 1, count, out.conditions);
  }
}

void Loader::load_conditions(const YAML::Node& node, const std::string& path, int depth, std::size_t& count,
                             std::vector<Condition>& out) {
  if (!node.IsSequence()) {
    error(node, path, "must be a list of conditions, not " + type_name(node));
    return;
  }
  if (depth > kMaxConditionDepth + 1) {  // the top-level list is depth 1
    error(node, path, "conditions nest deeper than " + std::to_string(kMaxConditionDepth) + " levels");
    return;
  }
  std::size_t index = 0;
  for (const YAML::Node& element : node) {
    const std::string element_path = item(path, index++);
    if (++count > kMaxConditions) {
      error(element, element_path, "more than " + std::to_string(kMaxConditions) + " conditions in one attestation");
      return;
    }
    Condition condition;
    if (load_condition(element, element_path, depth, count, condition)) out.push_back(std::move(condition));
  }
}

bool Loader::load_condition(const YAML::Node& node, const std::string& path, int depth, std::size_t& count,
                            Condition& out) {
  const std::optional<Fields> f = fields(node, path, {"path", "equals", "matches", "regexp", "oneOf", "exists",
                                                     "newerThan", "all", "any"});
  if (!f) return false;
  if (auto p = string_field(*f, node, path, "path", false)) {
    Result<std::vector<PathStep>> steps = parse_condition_path(*p);
    if (!steps.ok()) {
      error(*find(*f, "path"), child(path, "path"), "bad path " + quote(*p) + ": " + steps.error().message);
      return false;
    }
    out.path_text = *p;
    out.path = std::move(*steps);
  }
  std::vector<std::string_view> present;
  for (std::string_view op : kOperators) {
    if (find(*f, op) != nullptr) present.push_back(op);
  }
  if (present.size() != 1) {
    error(node, path,
          present.empty() ? "a condition needs one operator: " + join(kOperators, ", ")
                          : "a condition has one operator, not " + join(present, " and ") + " (list them as separate conditions)");
    return false;
  }
  const std::string_view op = present.front();
  const YAML::Node& value = *find(*f, op);
  const std::string value_path = child(path, op);
  auto bounded = [&](const std::string& s) {
    if (s.size() <= kMaxConditionValueBytes) return true;
    error(value, value_path, "longer than " + std::to_string(kMaxConditionValueBytes) + " bytes");
    return false;
  };
  if (op == "equals" || op == "matches" || op == "regexp") {
    std::optional<std::string> text = string_value(value, value_path);
    if (!text || !bounded(*text)) return false;
    out.op = op == "equals" ? ConditionOp::equals : op == "matches" ? ConditionOp::matches : ConditionOp::regexp;
    out.value = *text;
    if (out.op == ConditionOp::equals) return true;
    auto compiled = out.op == ConditionOp::matches ? compile_condition_glob(*text) : compile_condition_regexp(*text);
    if (!compiled.ok()) {
      error(value, value_path, compiled.error().message + " in " + quote(*text));
      return false;
    }
    out.compiled = std::move(*compiled);
    return true;
  }
  if (op == "oneOf") {
    out.op = ConditionOp::one_of;
    const auto nodes = string_list(*f, path, "oneOf", out.values);
    if (!value.IsSequence()) return false;
    if (out.values.empty() || out.values.size() > kMaxConditionOneOf) {
      error(value, value_path, "lists 1 to " + std::to_string(kMaxConditionOneOf) + " values");
      return false;
    }
    return std::all_of(out.values.begin(), out.values.end(), bounded);
  }
  if (op == "exists") {
    out.op = ConditionOp::exists;
    std::optional<bool> b = bool_field(*f, path, "exists");
    if (!b) return false;
    out.exists = *b;
    return true;
  }
  if (op == "newerThan") {
    out.op = ConditionOp::newer_than;
    std::optional<std::string> text = string_value(value, value_path);
    if (!text) return false;
    std::optional<std::chrono::seconds> d = parse_positive_seconds(*text);
    if (!d) {
      error(value, value_path, "bad duration " + quote(*text) + " (like 30d, 24h, 1h30m; at least 1s)");
      return false;
    }
    out.newer_than = *d;
    return true;
  }
  out.op = op == "all" ? ConditionOp::all : ConditionOp::any;
  load_conditions(value, value_path, depth + 1, count, out.nested);
  if (value.IsSequence() && value.size() == 0) {
    error(value, value_path, "lists at least one condition for each element");
    return false;
  }
  return true;
}

}  // namespace imagegate::policy
