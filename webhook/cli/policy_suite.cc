#include "webhook/cli/policy_suite.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "common/text.h"

namespace imagegate::webhook {
namespace {

using nlohmann::json;

constexpr std::string_view kSuiteApiVersion = "imagegate.dev/v1alpha1";
constexpr std::string_view kSuiteKind = "PolicyTest";

// Unknown keys are errors: a misspelt `expect` would otherwise make a case that checks nothing.
Status only_keys(const json& object, const std::set<std::string>& allowed, const std::string& path) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (!allowed.contains(it.key())) {
      return invalid_argument((path.empty() ? std::string() : path + ".") + it.key() + ": unknown key");
    }
  }
  return Ok{};
}

Result<std::string> required_string(const json& object, const std::string& key, const std::string& path) {
  const std::string where = path.empty() ? key : path + "." + key;
  if (!object.contains(key) || object[key].is_null()) return invalid_argument(where + ": required");
  const json& value = object[key];
  if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
    return invalid_argument(where + ": must be a non-empty string");
  }
  return value.get<std::string>();
}

Result<std::optional<std::string>> optional_string(const json& object, const std::string& key,
                                                   const std::string& path) {
  if (!object.contains(key)) return std::optional<std::string>();
  const json& value = object[key];
  if (!value.is_string()) return invalid_argument((path.empty() ? key : path + "." + key) + ": must be a string");
  return std::optional<std::string>(value.get<std::string>());
}

std::string resolve(const std::filesystem::path& base, const std::string& path) {
  const std::filesystem::path p(path);
  return p.is_absolute() ? p.string() : (base / p).lexically_normal().string();
}

std::string describe(const policy::Decision& d) {
  std::string out(policy::to_string(d.action));
  out += " (rule " + (d.rule.empty() ? std::string("-") : d.rule);
  const std::string reasons = join(d.reasons, "; ");
  if (!reasons.empty()) out += ": " + reasons;
  return out + ")";
}

Result<Suite> parse_suite_json(const json& doc, const std::string& file) {
  if (!doc.is_object()) return invalid_argument("the suite must be a mapping");
  if (Status s = only_keys(doc, {"apiVersion", "kind", "metadata", "policy", "resources", "namespace", "cases"}, "");
      !s) {
    return s.error();
  }
  auto api_version = required_string(doc, "apiVersion", "");
  if (!api_version.ok()) return api_version.error();
  if (*api_version != kSuiteApiVersion) {
    return invalid_argument("apiVersion: must be " + std::string(kSuiteApiVersion));
  }
  auto kind = required_string(doc, "kind", "");
  if (!kind.ok()) return kind.error();
  if (*kind != kSuiteKind) return invalid_argument("kind: must be " + std::string(kSuiteKind));

  Suite suite;
  suite.file = file;
  const std::filesystem::path base = std::filesystem::path(file).parent_path();
  if (auto it = doc.find("metadata"); it != doc.end()) {
    if (!it->is_object()) return invalid_argument("metadata: must be a mapping");
    auto name = optional_string(*it, "name", "metadata");
    if (!name.ok()) return name.error();
    suite.name = name->value_or("");
  }
  auto policy_path = required_string(doc, "policy", "");
  if (!policy_path.ok()) return policy_path.error();
  suite.policy = resolve(base, *policy_path);
  if (auto ns = optional_string(doc, "namespace", ""); !ns.ok()) {
    return ns.error();
  } else if (ns->has_value()) {
    if ((*ns)->empty()) return invalid_argument("namespace: must not be empty");
    suite.namespace_name = **ns;
  }

  auto resources = doc.find("resources");
  if (resources == doc.end() || !resources->is_array() || resources->empty()) {
    return invalid_argument("resources: required, a non-empty list of files or directories");
  }
  for (std::size_t i = 0; i < resources->size(); ++i) {
    const json& r = (*resources)[i];
    if (!r.is_string() || r.get_ref<const std::string&>().empty()) {
      return invalid_argument("resources[" + std::to_string(i) + "]: must be a non-empty string");
    }
    suite.resources.push_back(resolve(base, r.get<std::string>()));
  }

  auto cases = doc.find("cases");
  if (cases == doc.end() || !cases->is_array() || cases->empty()) {
    return invalid_argument("cases: required, a non-empty list");
  }
  for (std::size_t i = 0; i < cases->size(); ++i) {
    const std::string path = "cases[" + std::to_string(i) + "]";
    const json& c = (*cases)[i];
    if (!c.is_object()) return invalid_argument(path + ": must be a mapping");
    if (Status s = only_keys(c, {"name", "workload", "container", "volume", "expect", "rule", "reason"}, path); !s) {
      return s.error();
    }
    SuiteCase test;
    auto workload = required_string(c, "workload", path);
    if (!workload.ok()) return workload.error();
    test.workload = *workload;
    if (std::count(test.workload.begin(), test.workload.end(), '/') != 2) {
      return invalid_argument(path + ".workload: must be Kind/namespace/name");
    }
    auto expect = required_string(c, "expect", path);
    if (!expect.ok()) return expect.error();
    if (*expect == "allow") {
      test.expect = policy::Action::allow;
    } else if (*expect == "warn") {
      test.expect = policy::Action::warn;
    } else if (*expect == "deny") {
      test.expect = policy::Action::deny;
    } else {
      return invalid_argument(path + ".expect: must be allow, warn or deny (got \"" + *expect + "\")");
    }
    for (auto [key, target] : {std::pair{"name", &test.name}, std::pair{"container", &test.container},
                               std::pair{"volume", &test.volume}, std::pair{"reason", &test.reason}}) {
      auto value = optional_string(c, key, path);
      if (!value.ok()) return value.error();
      *target = value->value_or("");
    }
    if (!test.container.empty() && !test.volume.empty()) {
      return invalid_argument(path + ": name a container or a volume, not both");
    }
    auto rule = optional_string(c, "rule", path);
    if (!rule.ok()) return rule.error();
    test.rule = *rule;
    suite.cases.push_back(std::move(test));
  }
  return suite;
}

}  // namespace

Result<Suite> parse_suite(std::string_view text, const std::string& file) {
  auto documents = parse_documents(text, file);
  if (!documents.ok()) return documents.error();
  if (documents->size() != 1) {
    return invalid_argument(file + ": a suite is one YAML document (found " + std::to_string(documents->size()) + ")");
  }
  auto suite = parse_suite_json(documents->front().value, file);
  if (!suite.ok()) return Error{suite.error().code, file + ": " + suite.error().message};
  return suite;
}

std::vector<CaseResult> check_suite(const Suite& suite, const std::vector<WorkloadResult>& workloads) {
  std::vector<CaseResult> out;
  for (const SuiteCase& test : suite.cases) {
    CaseResult result;
    result.test = test;
    auto w = std::find_if(workloads.begin(), workloads.end(),
                          [&](const WorkloadResult& candidate) { return candidate.id == test.workload; });
    if (w == workloads.end()) {
      result.actual = "no such workload in the resources";
      out.push_back(std::move(result));
      continue;
    }
    if (test.container.empty() && test.volume.empty()) {
      // The workload's overall answer; `rule` does not apply, `reason` searches the messages.
      std::string text = w->decision.denial_message() + "\n" + join(w->decision.warnings(), "\n");
      for (const policy::ContainerDecision& c : w->decision.containers) text += "\n" + join(c.decision.reasons, "\n");
      result.actual = std::string(policy::to_string(w->decision.action));
      result.passed = w->decision.action == test.expect && !test.rule.has_value() &&
                      (test.reason.empty() || text.find(test.reason) != std::string::npos);
      if (test.rule.has_value()) result.actual += " (rule: applies to one container or image volume; name one)";
      out.push_back(std::move(result));
      continue;
    }
    // A container and an image volume may share a name: each key looks only at its own kind.
    const bool volume = !test.volume.empty();
    auto c = std::find_if(w->decision.containers.begin(), w->decision.containers.end(),
                          [&](const policy::ContainerDecision& candidate) {
                            return candidate.container.is_volume() == volume &&
                                   candidate.container.name == (volume ? test.volume : test.container);
                          });
    if (c == w->decision.containers.end()) {
      result.actual = volume ? "no image volume named \"" + test.volume + "\" in " + test.workload
                             : "no container named \"" + test.container + "\" in " + test.workload;
      out.push_back(std::move(result));
      continue;
    }
    const policy::Decision& d = c->decision;
    result.actual = describe(d);
    const std::string reasons = join(d.reasons, "; ");
    result.passed = d.action == test.expect && (!test.rule.has_value() || *test.rule == d.rule) &&
                    (test.reason.empty() || reasons.find(test.reason) != std::string::npos);
    out.push_back(std::move(result));
  }
  return out;
}

}  // namespace imagegate::webhook
