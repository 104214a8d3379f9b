#include "webhook/cli/policy_suite.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "common/bounded_file.h"
#include "common/suggest.h"
#include "common/text.h"
#include "webhook/cli/manifest_reader.h"

namespace imagegate::webhook {
namespace {

using nlohmann::json;

constexpr std::string_view kSuiteApiVersion = "imagegate.dev/v1alpha1";
constexpr std::string_view kSuiteKind = "PolicyTest";

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// Collects every problem of one suite, each at the position of its key path (or of the closest ancestor
// that has one: a missing key is reported where its mapping starts).
class SuiteChecker {
 public:
  SuiteChecker(const std::string& file, const std::map<std::string, TextPosition, std::less<>>& positions,
               int document_line)
      : file_(file), positions_(positions), document_line_(document_line) {}

  void error(const std::string& path, std::string message) {
    policy::Location location{document_line_, 1};
    for (std::string p = path; !p.empty(); p = parent(p)) {
      if (auto it = positions_.find(p); it != positions_.end()) {
        location = {it->second.line, it->second.column};
        break;
      }
    }
    diagnostics.push_back({file_, location, path, std::move(message)});
  }

  int line_of(const std::string& path) const {
    auto it = positions_.find(path);
    return it == positions_.end() ? document_line_ : it->second.line;
  }

  // Unknown keys are errors: a misspelt `expect` would otherwise make a case that checks nothing.
  void only_keys(const json& object, const std::vector<std::string_view>& allowed, const std::string& path) {
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
      std::string message = "unknown key \"" + it.key() + "\"";
      if (auto best = closest_match(it.key(), allowed)) {
        message += " (did you mean \"" + *best + "\"?)";
      } else {
        message += " (known keys: " + join(allowed, ", ") + ")";
      }
      error(child(path, it.key()), std::move(message));
    }
  }

  std::optional<std::string> required_string(const json& object, std::string_view key, const std::string& path) {
    const std::string where = child(path, key);
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
      error(where, "required");
      return std::nullopt;
    }
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      error(where, "must be a non-empty string");
      return std::nullopt;
    }
    return it->get<std::string>();
  }

  // Absent: nullopt and no error; present and not a string: nullopt and an error.
  std::optional<std::string> optional_string(const json& object, std::string_view key, const std::string& path) {
    auto it = object.find(key);
    if (it == object.end()) return std::nullopt;
    if (!it->is_string()) {
      error(child(path, key), "must be a string");
      return std::nullopt;
    }
    return it->get<std::string>();
  }

  std::vector<policy::Diagnostic> diagnostics;

 private:
  static std::string parent(const std::string& path) {
    const std::size_t cut = path.find_last_of(".[");
    return cut == std::string::npos ? std::string() : path.substr(0, cut);
  }

  const std::string& file_;
  const std::map<std::string, TextPosition, std::less<>>& positions_;
  int document_line_;
};

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

void load_case(const json& c, const std::string& path, SuiteChecker& check, Suite& suite) {
  if (!c.is_object()) {
    check.error(path, "must be a mapping");
    return;
  }
  check.only_keys(c, {"name", "workload", "container", "volume", "expect", "rule", "reason"}, path);
  SuiteCase test;
  test.line = check.line_of(path);
  bool ok = true;
  if (auto workload = check.required_string(c, "workload", path)) {
    test.workload = *workload;
    if (std::count(test.workload.begin(), test.workload.end(), '/') != 2) {
      check.error(child(path, "workload"), "must be Kind/namespace/name (got \"" + test.workload + "\")");
      ok = false;
    }
  } else {
    ok = false;
  }
  if (auto expect = check.required_string(c, "expect", path)) {
    if (*expect == "allow") {
      test.expect = policy::Action::allow;
    } else if (*expect == "warn") {
      test.expect = policy::Action::warn;
    } else if (*expect == "deny") {
      test.expect = policy::Action::deny;
    } else {
      check.error(child(path, "expect"), "must be allow, warn or deny (got \"" + *expect + "\")");
      ok = false;
    }
  } else {
    ok = false;
  }
  for (auto [key, target] : {std::pair{"name", &test.name}, std::pair{"container", &test.container},
                             std::pair{"volume", &test.volume}, std::pair{"reason", &test.reason}}) {
    if (c.contains(key) && !c[key].is_string()) ok = false;
    *target = check.optional_string(c, key, path).value_or("");
  }
  if (!test.container.empty() && !test.volume.empty()) {
    check.error(path, "name a container or a volume, not both");
    ok = false;
  }
  if (c.contains("rule") && !c["rule"].is_string()) ok = false;
  test.rule = check.optional_string(c, "rule", path);
  if (ok) suite.cases.push_back(std::move(test));
}

void load_suite_json(const json& doc, SuiteChecker& check, Suite& suite) {
  if (!doc.is_object()) {
    check.error("", "the suite must be a mapping");
    return;
  }
  check.only_keys(doc, {"apiVersion", "kind", "metadata", "policy", "resources", "namespace", "cases"}, "");
  if (auto api_version = check.required_string(doc, "apiVersion", "");
      api_version && *api_version != kSuiteApiVersion) {
    check.error("apiVersion", "must be " + std::string(kSuiteApiVersion));
  }
  if (auto kind = check.required_string(doc, "kind", ""); kind && *kind != kSuiteKind) {
    check.error("kind", "must be " + std::string(kSuiteKind));
  }
  const std::filesystem::path base = std::filesystem::path(suite.file).parent_path();
  if (auto it = doc.find("metadata"); it != doc.end()) {
    if (!it->is_object()) {
      check.error("metadata", "must be a mapping");
    } else {
      check.only_keys(*it, {"name"}, "metadata");
      suite.name = check.optional_string(*it, "name", "metadata").value_or("");
    }
  }
  if (auto policy_path = check.required_string(doc, "policy", "")) suite.policy = resolve(base, *policy_path);
  if (auto ns = check.optional_string(doc, "namespace", "")) {
    if (ns->empty()) {
      check.error("namespace", "must not be empty");
    } else {
      suite.namespace_name = *ns;
    }
  }
  auto resources = doc.find("resources");
  if (resources == doc.end() || !resources->is_array() || resources->empty()) {
    check.error("resources", "required, a non-empty list of files or directories");
  } else {
    for (std::size_t i = 0; i < resources->size(); ++i) {
      const json& r = (*resources)[i];
      if (!r.is_string() || r.get_ref<const std::string&>().empty()) {
        check.error("resources[" + std::to_string(i) + "]", "must be a non-empty string");
        continue;
      }
      suite.resources.push_back(resolve(base, r.get<std::string>()));
    }
  }
  auto cases = doc.find("cases");
  if (cases == doc.end() || !cases->is_array() || cases->empty()) {
    check.error("cases", "required, a non-empty list");
    return;
  }
  for (std::size_t i = 0; i < cases->size(); ++i) load_case((*cases)[i], "cases[" + std::to_string(i) + "]", check, suite);
}

// The diagnostic of a reader error ("file: document 1: malformed YAML at line 3, column 5: ..."), with
// the line and column it names when there is one.
policy::Diagnostic reader_diagnostic(const std::string& file, const std::string& message) {
  policy::Diagnostic d{file, {}, "", message};
  const std::string prefix = file + ": ";
  if (d.message.starts_with(prefix)) d.message.erase(0, prefix.size());
  if (const std::size_t at = message.find(" line "); at != std::string::npos) {
    d.location.line = std::atoi(message.c_str() + at + 6);
    if (const std::size_t col = message.find("column ", at); col != std::string::npos) {
      d.location.column = std::atoi(message.c_str() + col + 7);
    }
  }
  return d;
}

}  // namespace

std::variant<Suite, std::vector<policy::Diagnostic>> load_suite(std::string_view text, const std::string& file) {
  auto documents = parse_documents(text, file, PositionOptions{true, {}});
  if (!documents.ok()) return std::vector<policy::Diagnostic>{reader_diagnostic(file, documents.error().message)};
  if (documents->size() != 1) {
    const int line = documents->size() > 1 ? (*documents)[1].line : 1;
    return std::vector<policy::Diagnostic>{
        {file, {line, 1}, "", "a suite is one YAML document (found " + std::to_string(documents->size()) + ")"}};
  }
  const Document& doc = documents->front();
  SuiteChecker check(file, doc.positions, doc.line);
  Suite suite;
  suite.file = file;
  load_suite_json(doc.value, check, suite);
  if (!check.diagnostics.empty()) {
    std::stable_sort(check.diagnostics.begin(), check.diagnostics.end(), [](const auto& a, const auto& b) {
      return std::pair(a.location.line, a.location.column) < std::pair(b.location.line, b.location.column);
    });
    return std::move(check.diagnostics);
  }
  return suite;
}

Result<Suite> parse_suite(std::string_view text, const std::string& file) {
  auto loaded = load_suite(text, file);
  if (auto* suite = std::get_if<Suite>(&loaded)) return std::move(*suite);
  std::vector<std::string> lines;
  for (const policy::Diagnostic& d : std::get<std::vector<policy::Diagnostic>>(loaded)) lines.push_back(d.to_string());
  return invalid_argument(join(lines, "\n"));
}

Result<std::vector<std::string>> find_suites(const std::string& dir) {
  auto files = list_files(dir, true, {".yaml", ".yml"});
  if (!files.ok()) return files.error();
  std::vector<std::string> out;
  for (const std::string& file : *files) {
    auto text = read_bounded_file(file, kMaxManifestBytes);
    if (!text.ok()) return text.error();
    if (declares_kind(*text, kSuiteKind)) out.push_back(file);
  }
  return out;
}

namespace {

// Why a case that found its container did not pass, or "" when it passed.
std::string mismatch(const SuiteCase& test, policy::Action action, const std::string& rule, const std::string& text,
                     const std::string& actual) {
  std::string why;
  if (action != test.expect) {
    why = "expected " + std::string(policy::to_string(test.expect)) + ", got " + actual;
  } else if (test.rule.has_value() && *test.rule != rule) {
    why = "expected rule \"" + *test.rule + "\", got " + (rule.empty() ? std::string("no rule") : "rule \"" + rule + "\"") +
          ": " + actual;
  } else if (!test.reason.empty() && text.find(test.reason) == std::string::npos) {
    why = "expected a reason containing \"" + test.reason + "\", got " + actual;
  }
  return why;
}

}  // namespace

std::vector<CaseResult> check_suite(const Suite& suite, const std::vector<WorkloadResult>& workloads) {
  std::vector<CaseResult> out;
  for (const SuiteCase& test : suite.cases) {
    CaseResult result;
    result.test = test;
    auto w = std::find_if(workloads.begin(), workloads.end(),
                          [&](const WorkloadResult& candidate) { return candidate.id == test.workload; });
    if (w == workloads.end()) {
      result.actual = "no such workload in the resources";
      result.reason = "expected " + std::string(policy::to_string(test.expect)) + ", got no workload " + test.workload +
                      " in the resources";
      out.push_back(std::move(result));
      continue;
    }
    if (test.container.empty() && test.volume.empty()) {
      // The workload's overall answer; `rule` does not apply, `reason` searches the messages.
      std::string text = w->decision.denial_message() + "\n" + join(w->decision.warnings(), "\n");
      for (const policy::ContainerDecision& c : w->decision.containers) text += "\n" + join(c.decision.reasons, "\n");
      result.actual = std::string(policy::to_string(w->decision.action));
      if (test.rule.has_value()) {
        result.actual += " (rule: applies to one container or image volume; name one)";
        result.reason = "`rule` applies to one container or image volume; name one";
      } else {
        std::string summary = result.actual;
        if (const std::string message = w->decision.denial_message(); !message.empty()) summary += " (" + message + ")";
        result.reason = mismatch(test, w->decision.action, "", text, summary);
      }
      result.passed = result.reason.empty();
      if (result.passed) result.reason = result.actual;
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
      result.reason = "expected " + std::string(policy::to_string(test.expect)) + ", got " + result.actual;
      out.push_back(std::move(result));
      continue;
    }
    const policy::Decision& d = c->decision;
    result.actual = describe(d);
    result.rule = d.rule;
    result.reason = mismatch(test, d.action, d.rule, join(d.reasons, "; "), result.actual);
    result.passed = result.reason.empty();
    if (result.passed) result.reason = result.actual;
    out.push_back(std::move(result));
  }
  return out;
}

}  // namespace imagegate::webhook
