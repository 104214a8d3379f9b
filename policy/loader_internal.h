// Internal to policy/: what the loader's files share. loader.cc drives (bounds, document, metadata, the
// spec's sections in order, scalar parsers); loader_fields.cc reads typed fields of a mapping;
// loader_anchors.cc reads trustAnchors; loader_rules.cc reads rules and their signature requirements;
// loader_vulnerabilities.cc reads a rule's vulnerabilities; loader_attestations.cc a rule's attestations and
// their conditions. Not for other rooms (see policy/loader.h).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/glob.h"
#include "policy/loader.h"
#include "policy/model.h"

namespace imagegate::policy::loader_internal {

// A value repeated in a message: quoted, escaped, at most 120 bytes of it.
std::string quote(std::string_view s);
// "a mapping", "a list", ... for "must be X, not Y" messages.
std::string type_name(const YAML::Node& node);
inline std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
inline std::string item(const std::string& path, std::size_t index) { return path + "[" + std::to_string(index) + "]"; }

// The fields of one YAML mapping, checked against the keys it may have.
using Fields = std::map<std::string, YAML::Node, std::less<>>;

// Reads one policy document into a PolicySpec, appending a Diagnostic per problem.
class Loader {
 public:
  Loader(std::string_view file, std::vector<Diagnostic>& diagnostics) : file_(file), diagnostics_(diagnostics) {}

  PolicySpec load(std::string_view text);
  // A YAML list of conditions alone (`imagegate verify --condition`), read as a rule's conditions are.
  std::vector<Condition> load_condition_list(std::string_view text);

 private:
  void error(const YAML::Mark& mark, const std::string& path, std::string message) {
    Location location;
    if (mark.line >= 0) location = {mark.line + 1, mark.column + 1};
    diagnostics_.push_back({file_, location, path, std::move(message)});
  }
  void error(const YAML::Node& node, const std::string& path, std::string message) {
    error(node.Mark(), path, std::move(message));
  }
  static Location location_of(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    return mark.line >= 0 ? Location{mark.line + 1, mark.column + 1} : Location{};
  }

  bool check_bounds(const YAML::Node& root);
  bool count_nodes(const YAML::Node& node, int depth, std::size_t& count);

  // Mapping fields; null counts as an empty mapping. Reports a wrong type, non-scalar, unknown and
  // duplicate keys. Returns nullopt when `node` is not a mapping.
  std::optional<Fields> fields(const YAML::Node& node, const std::string& path,
                               std::initializer_list<std::string_view> known);
  static const YAML::Node* find(const Fields& f, std::string_view key) {
    auto it = f.find(key);
    if (it == f.end() || it->second.IsNull()) return nullptr;  // `key:` with no value counts as absent
    return &it->second;
  }
  void missing(const YAML::Node& parent, const std::string& path, std::string_view key) {
    error(parent, child(path, key), "missing required field \"" + std::string(key) + "\"");
  }

  std::optional<std::string> string_value(const YAML::Node& node, const std::string& path);
  std::optional<std::string> string_field(const Fields& f, const YAML::Node& parent, const std::string& path,
                                          std::string_view key, bool required);
  std::optional<bool> bool_field(const Fields& f, const std::string& path, std::string_view key);
  std::optional<long long> int_value(const YAML::Node& node, const std::string& path);
  // A list of strings; each element's path and node are kept for later checks.
  std::vector<std::pair<std::string, YAML::Node>> string_list(const Fields& f, const std::string& path,
                                                              std::string_view key,
                                                              std::vector<std::string>& out);
  std::optional<std::size_t> enum_field(const Fields& f, const std::string& path, std::string_view key,
                                        const std::vector<std::string_view>& names);

  void glob_list(const Fields& f, const std::string& path, std::string_view key, GlobKind kind,
                 std::vector<std::string>& out);
  void check_name(const YAML::Node& node, const std::string& path, const std::string& name);
  void check_regexp(const Fields& f, const std::string& path, std::string_view key, std::string& out);

  // The one YAML document of `text` within the size, UTF-8 and event-stream bounds; nullopt after
  // reporting why not.
  std::optional<YAML::Node> parse_document(std::string_view text);
  // apiVersion, kind, metadata and spec of the parsed document.
  void load_document(const YAML::Node& root, PolicySpec& spec);
  void load_metadata(const YAML::Node& node, PolicySpec& spec);
  void load_spec(const YAML::Node& node, PolicySpec& spec);
  void load_anchor(const YAML::Node& node, const std::string& path, PolicySpec& spec);
  void load_anchor_body(const YAML::Node& body, const std::string& path, std::string_view kind,
                        TrustAnchor& anchor);
  void load_notation(const YAML::Node& body, const std::string& path, TrustAnchor& anchor);
  void load_rule(const YAML::Node& node, const std::string& path, const PolicySpec& spec, Rule& rule);
  void load_signatures(const YAML::Node& node, const std::string& path, const PolicySpec& spec,
                       SignatureRequirement& out);
  void load_vulnerabilities(const YAML::Node& node, const std::string& path, VerdictRequirement& out);
  // `anchors`, `threshold` and `required` of a signatures or attestations requirement.
  void load_anchor_choice(const Fields& f, const YAML::Node& node, const std::string& path, const PolicySpec& spec,
                          std::vector<std::string>& anchors, int& threshold, std::vector<std::string>& required);
  void load_attestations(const YAML::Node& node, const std::string& path, const PolicySpec& spec,
                         std::vector<AttestationRequirement>& out);
  void load_attestation(const YAML::Node& node, const std::string& path, const PolicySpec& spec,
                        AttestationRequirement& out);
  // One condition (policy/condition.h) at nesting `depth` (1 = top level); `count` counts every condition
  // of the requirement against kMaxConditions.
  bool load_condition(const YAML::Node& node, const std::string& path, int depth, std::size_t& count,
                      Condition& out);
  void load_conditions(const YAML::Node& node, const std::string& path, int depth, std::size_t& count,
                       std::vector<Condition>& out);

  std::string file_;
  std::vector<Diagnostic>& diagnostics_;
};

}  // namespace imagegate::policy::loader_internal
