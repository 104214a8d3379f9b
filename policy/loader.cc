#include "policy/loader.h"

#include <re2/re2.h>
#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "common/text.h"
#include "policy/glob.h"
#include "verifier/image/image_reference.h"

namespace imagegate::policy {
namespace {

constexpr std::string_view kApiVersion = "imagegate.dev/v1alpha1";
constexpr std::string_view kKind = "ImagePolicy";
constexpr std::size_t kMaxNameLength = 253;
constexpr std::size_t kMaxScalarBytes = 256 * 1024;  // a PEM bundle fits; a whole file in one value does not

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 120)) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  if (s.size() > 120) out += "...";
  out += '"';
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "unknown";
}

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string item(const std::string& path, std::size_t index) { return path + "[" + std::to_string(index) + "]"; }

bool is_tag_char(char c, bool first) {
  const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  return first ? word : (word || c == '.' || c == '-');
}

// The fields of one YAML mapping, checked against the keys it may have.
using Fields = std::map<std::string, YAML::Node, std::less<>>;

// Bounds checked on the parser's event stream, before any node tree exists. yaml-cpp's tree costs a few
// hundred bytes per node, so a 4 MiB file of tiny scalars would take about a gigabyte to load; and an
// alias shares its target rather than copying it, so a "billion laughs" document is small as a tree but
// enormous to walk. Counting events (each alias as the size of the subtree it names) stops both early.
class BoundsCheck final : public YAML::EventHandler {
 public:
  struct Exceeded {
    YAML::Mark mark;
    std::string message;
  };

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_document_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    // An anchor still open (a self-reference) has no size yet; the tree walk catches the cycle by depth.
    const auto it = sizes_.find(anchor);
    add(mark, it == sizes_.end() ? 1 : it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    if (value.size() > kMaxScalarBytes) {
      throw Exceeded{mark, "a value is longer than " + std::to_string(kMaxScalarBytes) + " bytes"};
    }
    leaf(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

  int documents() const noexcept { return documents_; }
  const YAML::Mark& second_document() const noexcept { return second_document_; }

 private:
  void add(const YAML::Mark& mark, std::size_t n) {
    count_ += n;
    if (count_ > kMaxPolicyNodes) {
      throw Exceeded{mark, "the document has more than " + std::to_string(kMaxPolicyNodes) +
                               " nodes once aliases are expanded (an alias bomb?)"};
    }
  }
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add(mark, 1);
    if (anchor != YAML::NullAnchor) sizes_[anchor] = 1;
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add(mark, 1);
    if (open_.size() >= static_cast<std::size_t>(kMaxPolicyDepth)) {
      throw Exceeded{mark, "the document nests deeper than " + std::to_string(kMaxPolicyDepth) + " levels"};
    }
    open_.push_back({count_ - 1, anchor});
  }
  void close() {
    if (open_.empty()) return;
    const auto [start, anchor] = open_.back();
    open_.pop_back();
    if (anchor != YAML::NullAnchor) sizes_[anchor] = count_ - start;
  }

  std::size_t count_ = 0;
  int documents_ = 0;
  YAML::Mark second_document_ = YAML::Mark::null_mark();
  std::vector<std::pair<std::size_t, YAML::anchor_t>> open_;
  std::map<YAML::anchor_t, std::size_t> sizes_;
};

class Loader {
 public:
  Loader(std::string_view file, std::vector<Diagnostic>& diagnostics) : file_(file), diagnostics_(diagnostics) {}

  PolicySpec load(std::string_view text);

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

  void load_metadata(const YAML::Node& node, PolicySpec& spec);
  void load_spec(const YAML::Node& node, PolicySpec& spec);
  void load_anchor(const YAML::Node& node, const std::string& path, PolicySpec& spec);
  void load_anchor_body(const YAML::Node& body, const std::string& path, std::string_view kind,
                        TrustAnchor& anchor);
  void load_rule(const YAML::Node& node, const std::string& path, const PolicySpec& spec, Rule& rule);
  void load_signatures(const YAML::Node& node, const std::string& path, const PolicySpec& spec,
                       SignatureRequirement& out);
  void load_vulnerabilities(const YAML::Node& node, const std::string& path, VerdictRequirement& out);

  std::string file_;
  std::vector<Diagnostic>& diagnostics_;
};

bool Loader::count_nodes(const YAML::Node& node, int depth, std::size_t& count) {
  // Walks the document as a consumer would see it, aliases expanded: yaml-cpp shares an aliased node
  // rather than copying it, so a billion-laughs document is small in memory but huge to walk. Counting
  // here, before anything else walks it, bounds every later pass.
  if (++count > kMaxPolicyNodes) {
    error(node, "", "the document has more than " + std::to_string(kMaxPolicyNodes) +
                        " nodes once aliases are expanded (an alias bomb?)");
    return false;
  }
  if (depth > kMaxPolicyDepth) {
    error(node, "", "the document nests deeper than " + std::to_string(kMaxPolicyDepth) + " levels");
    return false;
  }
  if (node.IsSequence()) {
    for (const YAML::Node& element : node) {
      if (!count_nodes(element, depth + 1, count)) return false;
    }
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      if (!count_nodes(kv.first, depth + 1, count) || !count_nodes(kv.second, depth + 1, count)) return false;
    }
  } else if (node.IsScalar() && node.Scalar().size() > kMaxScalarBytes) {
    error(node, "", "a value is longer than " + std::to_string(kMaxScalarBytes) + " bytes");
    return false;
  }
  return true;
}

bool Loader::check_bounds(const YAML::Node& root) {
  std::size_t count = 0;
  return count_nodes(root, 0, count);
}

std::optional<Fields> Loader::fields(const YAML::Node& node, const std::string& path,
                                     std::initializer_list<std::string_view> known) {
  if (node.IsNull()) return Fields{};
  if (!node.IsMap()) {
    error(node, path, "must be a mapping, not " + type_name(node));
    return std::nullopt;
  }
  Fields out;
  std::map<std::string, YAML::Mark, std::less<>> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      error(kv.first, path, "keys must be strings, not " + type_name(kv.first));
      continue;
    }
    const std::string& key = kv.first.Scalar();
    const std::string key_path = child(path, key);
    if (auto it = seen.find(key); it != seen.end()) {
      error(kv.first, key_path,
            "duplicate key " + quote(key) + " (first at line " + std::to_string(it->second.line + 1) + ")");
      continue;
    }
    seen.emplace(key, kv.first.Mark());
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string message = "unknown key " + quote(key);
      std::string_view best;
      std::size_t best_distance = std::max<std::size_t>(2, key.size() / 3) + 1;
      for (std::string_view candidate : known) {
        const std::size_t d = edit_distance(key, candidate);
        if (d < best_distance) {
          best_distance = d;
          best = candidate;
        }
      }
      if (!best.empty()) {
        message += " (did you mean \"" + std::string(best) + "\"?)";
      } else {
        message += " (known keys: " + join(known, ", ") + ")";
      }
      error(kv.first, key_path, message);
      continue;
    }
    out.emplace(key, kv.second);
  }
  return out;
}

std::optional<std::string> Loader::string_value(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) {
    error(node, path, "must be a string, not " + type_name(node));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::string> Loader::string_field(const Fields& f, const YAML::Node& parent, const std::string& path,
                                                std::string_view key, bool required) {
  const YAML::Node* node = find(f, key);
  if (node == nullptr) {
    if (required) missing(parent, path, key);
    return std::nullopt;
  }
  std::optional<std::string> value = string_value(*node, child(path, key));
  if (value && value->empty() && required) {
    error(*node, child(path, key), "must not be empty");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> Loader::bool_field(const Fields& f, const std::string& path, std::string_view key) {
  const YAML::Node* node = find(f, key);
  if (node == nullptr) return std::nullopt;
  // YAML 1.2 core schema booleans only, and only unquoted: "yes"/"on" and "true" in quotes are strings,
  // and a policy that says `requireDigest: "false"` should not be read either way by accident.
  if (node->IsScalar() && node->Tag() != "!") {
    const std::string& s = node->Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  error(*node, child(path, key),
        "must be a boolean (true or false), not " + (node->IsScalar() ? quote(node->Scalar()) : type_name(*node)));
  return std::nullopt;
}

std::optional<long long> Loader::int_value(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar() && node.Tag() != "!") {
    const std::string& s = node.Scalar();
    long long value = 0;
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, value);
    if (ec == std::errc() && ptr == end && !s.empty()) return value;
  }
  error(node, path, "must be an integer, not " + (node.IsScalar() ? quote(node.Scalar()) : type_name(node)));
  return std::nullopt;
}

std::vector<std::pair<std::string, YAML::Node>> Loader::string_list(const Fields& f, const std::string& path,
                                                                    std::string_view key,
                                                                    std::vector<std::string>& out) {
  std::vector<std::pair<std::string, YAML::Node>> nodes;
  const YAML::Node* node = find(f, key);
  if (node == nullptr) return nodes;
  const std::string list_path = child(path, key);
  if (!node->IsSequence()) {
    error(*node, list_path, "must be a list of strings, not " + type_name(*node));
    return nodes;
  }
  std::size_t index = 0;
  for (const YAML::Node& element : *node) {
    const std::string element_path = item(list_path, index++);
    if (std::optional<std::string> value = string_value(element, element_path)) {
      out.push_back(*value);
      nodes.emplace_back(element_path, element);
    }
  }
  return nodes;
}

std::optional<std::size_t> Loader::enum_field(const Fields& f, const std::string& path, std::string_view key,
                                              const std::vector<std::string_view>& names) {
  const YAML::Node* node = find(f, key);
  if (node == nullptr) return std::nullopt;
  const std::optional<std::string> value = string_value(*node, child(path, key));
  if (!value) return std::nullopt;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (*value == names[i]) return i;
  }
  error(*node, child(path, key), "must be one of " + join(names, ", ") + "; got " + quote(*value));
  return std::nullopt;
}

void Loader::glob_list(const Fields& f, const std::string& path, std::string_view key, GlobKind kind,
                       std::vector<std::string>& out) {
  for (const auto& [element_path, node] : string_list(f, path, key, out)) {
    Result<Glob> glob = Glob::compile(node.Scalar(), kind);
    if (!glob.ok()) error(node, element_path, glob.error().message);
  }
}

void Loader::check_name(const YAML::Node& node, const std::string& path, const std::string& name) {
  if (name.size() > kMaxNameLength) {
    error(node, path, "longer than " + std::to_string(kMaxNameLength) + " characters");
    return;
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      error(node, path, "must not contain control characters");
      return;
    }
  }
}

void Loader::check_regexp(const Fields& f, const std::string& path, std::string_view key, std::string& out) {
  const YAML::Node* node = find(f, key);
  if (node == nullptr) return;
  std::optional<std::string> value = string_value(*node, child(path, key));
  if (!value) return;
  RE2::Options options;
  options.set_log_errors(false);
  const RE2 re(*value, options);
  if (!re.ok()) {
    error(*node, child(path, key), "invalid regular expression " + quote(*value) + ": " + re.error());
    return;
  }
  out = *value;
}

PolicySpec Loader::load(std::string_view text) {
  PolicySpec spec;
  if (text.size() > kMaxPolicyBytes) {
    diagnostics_.push_back({file_, {}, "",
                            "the policy is " + std::to_string(text.size()) + " bytes; the limit is " +
                                std::to_string(kMaxPolicyBytes)});
    return spec;
  }
  std::size_t bad = 0;
  if (!is_valid_utf8(text, &bad)) {
    const std::string_view before = text.substr(0, bad);
    const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t line_start = before.rfind('\n');
    const int column = static_cast<int>(line_start == std::string_view::npos ? bad + 1 : bad - line_start);
    diagnostics_.push_back({file_, {line, column}, "", "the policy is not valid UTF-8 (byte offset " +
                                                            std::to_string(bad) + ")"});
    return spec;
  }
  std::vector<YAML::Node> documents;
  try {
    std::istringstream stream{std::string(text)};
    YAML::Parser parser(stream);
    BoundsCheck bounds;
    while (parser.HandleNextDocument(bounds) && bounds.documents() <= 1) {
    }
    if (bounds.documents() > 1) {
      error(bounds.second_document(), "", "expected one YAML document; a second one starts here");
      return spec;
    }
    documents = YAML::LoadAll(std::string(text));
  } catch (const BoundsCheck::Exceeded& e) {
    error(e.mark, "", e.message);
    return spec;
  } catch (const YAML::Exception& e) {
    error(e.mark, "", "YAML syntax error: " + e.msg);
    return spec;
  } catch (const std::exception& e) {  // yaml-cpp can also throw std::length_error and the like
    diagnostics_.push_back({file_, {}, "", std::string("cannot parse the YAML: ") + e.what()});
    return spec;
  }
  if (documents.empty() || documents[0].IsNull()) {
    diagnostics_.push_back({file_, {}, "", "the policy is empty"});
    return spec;
  }
  if (documents.size() > 1) {
    error(documents[1], "", "expected one YAML document, found " + std::to_string(documents.size()));
    return spec;
  }
  const YAML::Node& root = documents[0];
  try {
    if (!check_bounds(root)) return spec;
    const std::optional<Fields> top = fields(root, "", {"apiVersion", "kind", "metadata", "spec"});
    if (!top) return spec;
    if (std::optional<std::string> v = string_field(*top, root, "", "apiVersion", true); v && *v != kApiVersion) {
      error(*find(*top, "apiVersion"), "apiVersion",
            "unsupported apiVersion " + quote(*v) + " (expected \"" + std::string(kApiVersion) + "\")");
    }
    if (std::optional<std::string> k = string_field(*top, root, "", "kind", true); k && *k != kKind) {
      error(*find(*top, "kind"), "kind", "unsupported kind " + quote(*k) + " (expected \"ImagePolicy\")");
    }
    if (const YAML::Node* metadata = find(*top, "metadata")) {
      load_metadata(*metadata, spec);
    } else {
      missing(root, "", "metadata");
    }
    if (const YAML::Node* spec_node = find(*top, "spec")) {
      load_spec(*spec_node, spec);
    } else {
      missing(root, "", "spec");
    }
  } catch (const YAML::Exception& e) {  // should not happen on a loaded tree; never let one escape
    error(e.mark, "", "YAML error: " + e.msg);
  }
  return spec;
}

void Loader::load_metadata(const YAML::Node& node, PolicySpec& spec) {
  const std::optional<Fields> f = fields(node, "metadata", {"name"});
  if (!f) return;
  if (std::optional<std::string> name = string_field(*f, node, "metadata", "name", true)) {
    check_name(*find(*f, "name"), "metadata.name", *name);
    spec.name = *name;
  }
}

void Loader::load_spec(const YAML::Node& node, PolicySpec& spec) {
  const std::string path = "spec";
  const std::optional<Fields> f =
      fields(node, path, {"mode", "failurePolicy", "noMatch", "exemptions", "registries", "trustAnchors", "rules"});
  if (!f) return;
  if (auto m = enum_field(*f, path, "mode", {"enforce", "warn", "audit"})) spec.mode = static_cast<Mode>(*m);
  if (auto fp = enum_field(*f, path, "failurePolicy", {"closed", "open"})) {
    spec.failure_policy = static_cast<FailurePolicy>(*fp);
  }
  if (auto nm = enum_field(*f, path, "noMatch", {"allow", "warn", "deny"})) spec.no_match = static_cast<Action>(*nm);

  if (const YAML::Node* exemptions = find(*f, "exemptions")) {
    const std::string ep = child(path, "exemptions");
    if (const std::optional<Fields> ef = fields(*exemptions, ep, {"namespaces", "images"})) {
      glob_list(*ef, ep, "namespaces", GlobKind::namespace_name, spec.exemptions.namespaces);
      glob_list(*ef, ep, "images", GlobKind::image, spec.exemptions.images);
    }
  }
  if (const YAML::Node* registries = find(*f, "registries")) {
    const std::string rp = child(path, "registries");
    if (const std::optional<Fields> rf = fields(*registries, rp, {"allow"})) {
      glob_list(*rf, rp, "allow", GlobKind::registry, spec.allowed_registries);
    }
  }
  // Anchors first, whatever the order in the file: rules refer to them by name.
  if (const YAML::Node* anchors = find(*f, "trustAnchors")) {
    const std::string ap = child(path, "trustAnchors");
    if (!anchors->IsSequence()) {
      error(*anchors, ap, "must be a list of trust anchors, not " + type_name(*anchors));
    } else {
      std::size_t index = 0;
      for (const YAML::Node& anchor : *anchors) load_anchor(anchor, item(ap, index++), spec);
    }
  }
  if (const YAML::Node* rules = find(*f, "rules")) {
    const std::string rp = child(path, "rules");
    if (!rules->IsSequence()) {
      error(*rules, rp, "must be a list of rules, not " + type_name(*rules));
      return;
    }
    std::map<std::string, Location, std::less<>> names;
    std::size_t index = 0;
    for (const YAML::Node& rule_node : *rules) {
      const std::string rule_path = item(rp, index++);
      Rule rule;
      rule.location = location_of(rule_node);
      load_rule(rule_node, rule_path, spec, rule);
      if (!rule.name.empty()) {
        auto [it, inserted] = names.emplace(rule.name, rule.location);
        if (!inserted) {
          error(rule_node, child(rule_path, "name"),
                "duplicate rule name " + quote(rule.name) + " (first at line " + std::to_string(it->second.line) +
                    ")");
        }
      }
      spec.rules.push_back(std::move(rule));
    }
  }
}

void Loader::load_anchor(const YAML::Node& node, const std::string& path, PolicySpec& spec) {
  const std::optional<Fields> f = fields(node, path, {"name", "cosign", "keyless", "notaryV1", "notation"});
  if (!f) return;
  TrustAnchor anchor;
  anchor.location = location_of(node);
  if (std::optional<std::string> name = string_field(*f, node, path, "name", true)) {
    check_name(*find(*f, "name"), child(path, "name"), *name);
    for (const TrustAnchor& other : spec.trust_anchors) {
      if (other.name == *name) {
        error(*find(*f, "name"), child(path, "name"),
              "duplicate trust anchor name " + quote(*name) + " (first at line " +
                  std::to_string(other.location.line) + ")");
      }
    }
    anchor.name = *name;
  }
  std::vector<std::string_view> kinds;
  for (std::string_view kind : {"cosign", "keyless", "notaryV1", "notation"}) {
    if (find(*f, kind) != nullptr) kinds.push_back(kind);
  }
  if (kinds.size() != 1) {
    if (!anchor.name.empty()) spec.trust_anchors.push_back(std::move(anchor));  // rules may still name it
    error(node, path,
          kinds.empty() ? "a trust anchor needs one of cosign, keyless, notaryV1, notation"
                        : "a trust anchor has exactly one of cosign, keyless, notaryV1, notation; found " + join(kinds, ", "));
    return;
  }
  load_anchor_body(*find(*f, kinds[0]), child(path, kinds[0]), kinds[0], anchor);
  // Kept even when its body had errors, so rules naming it do not report a second, misleading error.
  if (!anchor.name.empty()) spec.trust_anchors.push_back(std::move(anchor));
}

void Loader::load_anchor_body(const YAML::Node& body, const std::string& bp, std::string_view kind,
                              TrustAnchor& anchor) {
  auto exactly_one = [&](const Fields& bf, std::string_view a, std::string_view b) {
    const bool has_a = find(bf, a) != nullptr;
    const bool has_b = find(bf, b) != nullptr;
    if (has_a == has_b) {
      error(body, bp, "needs exactly one of \"" + std::string(a) + "\" and \"" + std::string(b) + "\"");
    }
  };
  if (kind == "cosign") {
    const std::optional<Fields> bf = fields(body, bp, {"key", "keyFile"});
    if (!bf) return;
    CosignKeyAnchor cosign;
    exactly_one(*bf, "key", "keyFile");
    if (auto key = string_field(*bf, body, bp, "key", false)) {
      if (key->find("-----BEGIN ") == std::string::npos) {
        error(*find(*bf, "key"), child(bp, "key"), "must be a PEM public key (-----BEGIN PUBLIC KEY-----)");
      }
      cosign.key_pem = *key;
    }
    if (auto file = string_field(*bf, body, bp, "keyFile", false)) cosign.key_file = *file;
    anchor.spec = cosign;
  } else if (kind == "keyless") {
    const std::optional<Fields> bf = fields(
        body, bp, {"issuer", "issuerRegExp", "subject", "subjectRegExp", "trustedRoot", "fulcioRoots", "rekorKey"});
    if (!bf) return;
    KeylessAnchor keyless;
    exactly_one(*bf, "issuer", "issuerRegExp");
    exactly_one(*bf, "subject", "subjectRegExp");
    if (auto v = string_field(*bf, body, bp, "issuer", false)) keyless.issuer = *v;
    if (auto v = string_field(*bf, body, bp, "subject", false)) keyless.subject = *v;
    check_regexp(*bf, bp, "issuerRegExp", keyless.issuer_regexp);
    check_regexp(*bf, bp, "subjectRegExp", keyless.subject_regexp);
    if (auto v = string_field(*bf, body, bp, "trustedRoot", false)) keyless.trusted_root_file = *v;
    if (auto v = string_field(*bf, body, bp, "fulcioRoots", false)) keyless.fulcio_roots_file = *v;
    if (auto v = string_field(*bf, body, bp, "rekorKey", false)) keyless.rekor_key_file = *v;
    const bool has_root = find(*bf, "trustedRoot") != nullptr;
    const bool has_fulcio = find(*bf, "fulcioRoots") != nullptr;
    const bool has_rekor = find(*bf, "rekorKey") != nullptr;
    if (has_root == (has_fulcio || has_rekor) || has_fulcio != has_rekor) {
      error(body, bp, "needs either \"trustedRoot\", or both \"fulcioRoots\" and \"rekorKey\"");
    }
    anchor.spec = keyless;
  } else if (kind == "notaryV1") {
    const std::optional<Fields> bf = fields(
        body, bp, {"server", "rootKeys", "rootKeyFiles", "rootKeyIds", "delegations", "allDelegations", "caFile"});
    if (!bf) return;
    NotaryV1Anchor notary;
    if (auto server = string_field(*bf, body, bp, "server", true)) {
      if (server->rfind("https://", 0) != 0 && server->rfind("http://", 0) != 0) {
        error(*find(*bf, "server"), child(bp, "server"), "must be an https:// URL");
      }
      notary.server = *server;
    }
    string_list(*bf, bp, "rootKeys", notary.root_keys);
    string_list(*bf, bp, "rootKeyFiles", notary.root_key_files);
    string_list(*bf, bp, "rootKeyIds", notary.root_key_ids);
    if (notary.root_keys.empty() && notary.root_key_files.empty() && notary.root_key_ids.empty()) {
      error(body, bp, "needs the pinned root: \"rootKeys\", \"rootKeyFiles\" or \"rootKeyIds\"");
    }
    for (const auto& [element_path, element] : string_list(*bf, bp, "delegations", notary.delegations)) {
      if (element.Scalar().rfind("targets/", 0) != 0 || element.Scalar().size() <= 8) {
        error(element, element_path, "a delegation role is named targets/<name>; got " + quote(element.Scalar()));
      }
    }
    if (auto all = bool_field(*bf, bp, "allDelegations")) notary.all_delegations = *all;
    if (notary.all_delegations && notary.delegations.empty()) {
      error(*find(*bf, "allDelegations"), child(bp, "allDelegations"), "needs \"delegations\"");
    }
    if (auto ca = string_field(*bf, body, bp, "caFile", false)) notary.ca_file = *ca;
    anchor.spec = notary;
  } else {
    const std::optional<Fields> bf =
        fields(body, bp, {"trustStores", "tsaStores", "trustedIdentities", "verificationLevel"});
    if (!bf) return;
    NotationAnchor notation;
    string_list(*bf, bp, "trustStores", notation.trust_store_files);
    if (notation.trust_store_files.empty()) missing(body, bp, "trustStores");
    string_list(*bf, bp, "tsaStores", notation.tsa_store_files);
    const auto identities = string_list(*bf, bp, "trustedIdentities", notation.trusted_identities);
    if (notation.trusted_identities.empty()) missing(body, bp, "trustedIdentities");
    for (const auto& [element_path, element] : identities) {
      const std::string& id = element.Scalar();
      if (id != "*" && id.rfind("x509.subject:", 0) != 0) {
        error(element, element_path, "a trusted identity is \"*\" or \"x509.subject: <DN>\"; got " + quote(id));
      }
    }
    static const std::vector<std::string_view> kLevels = {"strict", "permissive", "audit"};
    if (auto level = enum_field(*bf, bp, "verificationLevel", kLevels)) {
      notation.verification_level = std::string(kLevels[*level]);
    }
    anchor.spec = notation;
  }
}

void Loader::load_rule(const YAML::Node& node, const std::string& path, const PolicySpec& spec, Rule& rule) {
  const std::optional<Fields> f = fields(node, path,
                                         {"name", "match", "mode", "failurePolicy", "requireDigest", "deniedTags",
                                          "pinDigest", "signatures", "vulnerabilities"});
  if (!f) return;
  if (std::optional<std::string> name = string_field(*f, node, path, "name", true)) {
    check_name(*find(*f, "name"), child(path, "name"), *name);
    rule.name = *name;
  }
  if (const YAML::Node* match = find(*f, "match")) {
    const std::string mp = child(path, "match");
    if (const std::optional<Fields> mf = fields(*match, mp, {"images", "namespaces"})) {
      glob_list(*mf, mp, "images", GlobKind::image, rule.images);
      if (find(*mf, "images") == nullptr || (find(*mf, "images")->IsSequence() && find(*mf, "images")->size() == 0)) {
        error(*match, child(mp, "images"), "a rule matches at least one image pattern (\"**\" for every image)");
      }
      glob_list(*mf, mp, "namespaces", GlobKind::namespace_name, rule.namespaces);
    }
  } else {
    missing(node, path, "match");
  }
  if (auto m = enum_field(*f, path, "mode", {"enforce", "warn", "audit"})) rule.mode = static_cast<Mode>(*m);
  if (auto fp = enum_field(*f, path, "failurePolicy", {"closed", "open"})) {
    rule.failure_policy = static_cast<FailurePolicy>(*fp);
  }
  if (auto v = bool_field(*f, path, "requireDigest")) rule.require_digest = *v;
  if (auto v = bool_field(*f, path, "pinDigest")) rule.pin_digest = *v;
  for (const auto& [element_path, element] : string_list(*f, path, "deniedTags", rule.denied_tags)) {
    const std::string& tag = element.Scalar();
    bool valid = !tag.empty() && tag.size() <= 128;
    for (std::size_t i = 0; valid && i < tag.size(); ++i) valid = is_tag_char(tag[i], i == 0);
    if (!valid) error(element, element_path, "not a valid tag: " + quote(tag));
  }
  if (const YAML::Node* signatures = find(*f, "signatures")) {
    SignatureRequirement requirement;
    load_signatures(*signatures, child(path, "signatures"), spec, requirement);
    rule.signatures = std::move(requirement);
  }
  if (const YAML::Node* vulnerabilities = find(*f, "vulnerabilities")) {
    VerdictRequirement requirement;
    load_vulnerabilities(*vulnerabilities, child(path, "vulnerabilities"), requirement);
    rule.vulnerabilities = std::move(requirement);
  }
}

void Loader::load_signatures(const YAML::Node& node, const std::string& path, const PolicySpec& spec,
                             SignatureRequirement& out) {
  const std::optional<Fields> f =
      fields(node, path, {"anchors", "threshold", "required", "acceptIndexSignatures", "repository"});
  if (!f) return;
  auto check_references = [&](const std::vector<std::pair<std::string, YAML::Node>>& refs) {
    std::set<std::string, std::less<>> seen;
    for (const auto& [element_path, element] : refs) {
      const std::string& name = element.Scalar();
      if (!seen.insert(name).second) error(element, element_path, "anchor " + quote(name) + " is listed twice");
      const bool known = std::any_of(spec.trust_anchors.begin(), spec.trust_anchors.end(),
                                     [&](const TrustAnchor& a) { return a.name == name; });
      if (!known) {
        std::vector<std::string_view> names;
        for (const TrustAnchor& a : spec.trust_anchors) names.push_back(a.name);
        error(element, element_path,
              "unknown trust anchor " + quote(name) +
                  (names.empty() ? std::string(" (spec.trustAnchors defines none)")
                                 : " (defined: " + join(names, ", ") + ")"));
      }
    }
  };
  check_references(string_list(*f, path, "anchors", out.anchors));
  if (out.anchors.empty() && find(*f, "anchors") == nullptr) missing(node, path, "anchors");
  else if (out.anchors.empty()) error(*find(*f, "anchors"), child(path, "anchors"), "must name at least one anchor");
  const auto required = string_list(*f, path, "required", out.required);
  check_references(required);
  for (const auto& [element_path, element] : required) {
    if (std::find(out.anchors.begin(), out.anchors.end(), element.Scalar()) == out.anchors.end()) {
      error(element, element_path, "required anchor " + quote(element.Scalar()) + " is not in \"anchors\"");
    }
  }
  if (const YAML::Node* threshold = find(*f, "threshold")) {
    if (std::optional<long long> t = int_value(*threshold, child(path, "threshold"))) {
      const auto n = static_cast<long long>(out.anchors.size());
      if (*t < 1 || (n > 0 && *t > n)) {
        error(*threshold, child(path, "threshold"),
              "threshold " + std::to_string(*t) + " is out of range 1.." + std::to_string(std::max(1LL, n)));
      } else {
        out.threshold = static_cast<int>(*t);
      }
    }
  }
  if (auto v = bool_field(*f, path, "acceptIndexSignatures")) out.accept_index_signatures = *v;
  if (auto repository = string_field(*f, node, path, "repository", false)) {
    const YAML::Node& repository_node = *find(*f, "repository");
    const std::string repository_path = child(path, "repository");
    // The same grammar and normalisation as an image name (cosign's COSIGN_REPOSITORY), so the fetcher
    // reaches exactly the repository the policy names; a tag or digest would name one manifest instead.
    auto parsed = verifier::ImageReference::parse_normalized(*repository);
    if (repository->empty()) {
      error(repository_node, repository_path, "must not be empty (omit it to use the image's own repository)");
    } else if (const auto* bad = std::get_if<verifier::ReferenceParseError>(&parsed)) {
      error(repository_node, repository_path, "not a repository: " + bad->error.message);
    } else if (const auto& ref = std::get<verifier::ImageReference>(parsed); ref.has_tag() || ref.has_digest()) {
      error(repository_node, repository_path,
            "a repository without tag or digest (like registry.example.com/signatures); got " + quote(*repository));
    } else {
      out.repository = *repository;
    }
  }
}

void Loader::load_vulnerabilities(const YAML::Node& node, const std::string& path, VerdictRequirement& out) {
  const std::optional<Fields> f = fields(
      node, path, {"maxSeverity", "fixableOnly", "maxAge", "onMissing", "secrets", "compliance", "exceptions"});
  if (!f) return;
  if (const YAML::Node* severity = find(*f, "maxSeverity")) {
    if (std::optional<std::string> s = string_value(*severity, child(path, "maxSeverity"))) {
      if (std::optional<Severity> parsed = parse_severity(*s)) {
        out.max_severity = parsed;
      } else {
        error(*severity, child(path, "maxSeverity"),
              "bad severity " + quote(*s) + " (1-5, or NONE, UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)");
      }
    }
  }
  if (auto v = bool_field(*f, path, "fixableOnly")) out.fixable_only = *v;
  if (const YAML::Node* age = find(*f, "maxAge")) {
    if (std::optional<std::string> s = string_value(*age, child(path, "maxAge"))) {
      if (std::optional<std::chrono::seconds> d = parse_duration(*s)) {
        out.max_age = d;
      } else {
        error(*age, child(path, "maxAge"), "bad duration " + quote(*s) + " (like 30s, 15m, 24h, 7d, 1h30m)");
      }
    }
  }
  if (auto a = enum_field(*f, path, "onMissing", {"allow", "warn", "deny"})) out.on_missing = static_cast<Action>(*a);
  if (auto a = enum_field(*f, path, "secrets", {"allow", "warn", "deny"})) out.secrets = static_cast<Action>(*a);
  if (auto c = enum_field(*f, path, "compliance", {"ignore", "required"})) out.compliance_required = *c == 1;
  if (const YAML::Node* exceptions = find(*f, "exceptions")) {
    const std::string ep = child(path, "exceptions");
    if (!exceptions->IsSequence()) {
      error(*exceptions, ep, "must be a list, not " + type_name(*exceptions));
      return;
    }
    std::size_t index = 0;
    for (const YAML::Node& element : *exceptions) {
      const std::string xp = item(ep, index++);
      const std::optional<Fields> xf = fields(element, xp, {"id", "expires", "reason"});
      if (!xf) continue;
      CveException exception;
      if (auto id = string_field(*xf, element, xp, "id", true)) exception.id = *id;
      if (auto reason = string_field(*xf, element, xp, "reason", true)) exception.reason = *reason;
      if (auto expires = string_field(*xf, element, xp, "expires", false)) {
        exception.expires = parse_date(*expires);
        if (!exception.expires) {
          error(*find(*xf, "expires"), child(xp, "expires"), "bad date " + quote(*expires) + " (YYYY-MM-DD)");
        }
      }
      out.exceptions.push_back(std::move(exception));
    }
  }
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) noexcept {
  constexpr long long kMaxSeconds = 10LL * 366 * 24 * 3600;
  if (text.empty() || text.size() > 32) return std::nullopt;
  long long total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    long long value = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      ++i;
      if (++digits > 10) return std::nullopt;
    }
    if (digits == 0 || i == text.size()) return std::nullopt;
    long long unit = 0;
    switch (text[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return std::nullopt;
    }
    ++i;
    total += value * unit;
    if (total > kMaxSeconds) return std::nullopt;
  }
  if (total <= 0) return std::nullopt;
  return std::chrono::seconds(total);
}

std::optional<std::chrono::sys_days> parse_date(std::string_view text) noexcept {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len) -> int {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const int y = number(0, 4);
  const int m = number(5, 2);
  const int d = number(8, 2);
  if (y < 0 || m < 0 || d < 0) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(m)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd);
}

bool is_valid_utf8(std::string_view text, std::size_t* bad_offset) noexcept {
  // https://www.rfc-editor.org/rfc/rfc3629#section-4 (the UTF8-octets grammar)
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  auto fail = [&] {
    if (bad_offset != nullptr) *bad_offset = i;
    return false;
  };
  auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i + k < n && s[i + k] >= lo && s[i + k] <= hi;
  };
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(1)) return fail();
      i += 2;
    } else if (c == 0xE0) {
      if (!cont(1, 0xA0) || !cont(2)) return fail();
      i += 3;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      if (!cont(1) || !cont(2)) return fail();
      i += 3;
    } else if (c == 0xED) {
      if (!cont(1, 0x80, 0x9F) || !cont(2)) return fail();  // no surrogates
      i += 3;
    } else if (c == 0xF0) {
      if (!cont(1, 0x90) || !cont(2) || !cont(3)) return fail();
      i += 4;
    } else if (c >= 0xF1 && c <= 0xF3) {
      if (!cont(1) || !cont(2) || !cont(3)) return fail();
      i += 4;
    } else if (c == 0xF4) {
      if (!cont(1, 0x80, 0x8F) || !cont(2) || !cont(3)) return fail();
      i += 4;
    } else {
      return fail();
    }
  }
  return true;
}

PolicySpec parse_policy_spec(std::string_view yaml_text, std::string_view file_name,
                             std::vector<Diagnostic>& diagnostics) {
  Loader loader(file_name, diagnostics);
  return loader.load(yaml_text);
}

}  // namespace imagegate::policy
