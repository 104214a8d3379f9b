// The policy loader's driver (policy/loader.h): bounds on the event stream before any tree is built, the
// document's apiVersion/kind/metadata, the spec's sections in order (exemptions, registries, trust anchors,
// rules), and the scalar parsers (durations, dates, UTF-8). The sections' readers are in loader_fields.cc,
// loader_anchors.cc, loader_rules.cc and loader_vulnerabilities.cc (policy/loader_internal.h).
#include "policy/loader.h"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "common/duration.h"
#include "common/yaml_hint.h"
#include "policy/glob.h"
#include "policy/loader_internal.h"
#include "verifier/image/image_reference.h"

namespace imagegate::policy {

namespace loader_internal {

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

}  // namespace loader_internal

using namespace loader_internal;  // NOLINT: this file is the loader

namespace {

constexpr std::string_view kApiVersion = "imagegate.dev/v1alpha1";
constexpr std::string_view kKind = "ImagePolicy";
constexpr std::size_t kMaxScalarBytes = 256 * 1024;  // a PEM bundle fits; a whole file in one value does not

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

}  // namespace

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

PolicySpec Loader::load(std::string_view text) {
  PolicySpec spec;
  const std::optional<YAML::Node> root = parse_document(text);
  if (!root) return spec;
  try {
    if (!check_bounds(*root)) return spec;
    load_document(*root, spec);
  } catch (const YAML::Exception& e) {  // should not happen on a loaded tree; never let one escape
    error(e.mark, "", "YAML error: " + e.msg);
  }
  return spec;
}

std::optional<YAML::Node> Loader::parse_document(std::string_view text) {
  if (text.size() > kMaxPolicyBytes) {
    diagnostics_.push_back({file_, {}, "",
                            "the policy is " + std::to_string(text.size()) + " bytes; the limit is " +
                                std::to_string(kMaxPolicyBytes)});
    return std::nullopt;
  }
  std::size_t bad = 0;
  if (!is_valid_utf8(text, &bad)) {
    const std::string_view before = text.substr(0, bad);
    const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t line_start = before.rfind('\n');
    const int column = static_cast<int>(line_start == std::string_view::npos ? bad + 1 : bad - line_start);
    diagnostics_.push_back({file_, {line, column}, "", "the policy is not valid UTF-8 (byte offset " +
                                                            std::to_string(bad) + ")"});
    return std::nullopt;
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
      return std::nullopt;
    }
    documents = YAML::LoadAll(std::string(text));
  } catch (const BoundsCheck::Exceeded& e) {
    error(e.mark, "", e.message);
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    const std::string hint = yaml_syntax_hint(text, e.mark.line, e.msg);
    error(e.mark, "", "YAML syntax error: " + e.msg + (hint.empty() ? "" : "; " + hint));
    return std::nullopt;
  } catch (const std::exception& e) {  // yaml-cpp can also throw std::length_error and the like
    diagnostics_.push_back({file_, {}, "", std::string("cannot parse the YAML: ") + e.what()});
    return std::nullopt;
  }
  if (documents.empty() || documents[0].IsNull()) {
    diagnostics_.push_back({file_, {}, "", "the policy is empty"});
    return std::nullopt;
  }
  if (documents.size() > 1) {
    error(documents[1], "", "expected one YAML document, found " + std::to_string(documents.size()));
    return std::nullopt;
  }
  return documents[0];
}

void Loader::load_document(const YAML::Node& root, PolicySpec& spec) {
  const std::optional<Fields> top = fields(root, "", {"apiVersion", "kind", "metadata", "spec"});
  if (!top) return;
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
