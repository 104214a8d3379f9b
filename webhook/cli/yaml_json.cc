#include "webhook/cli/yaml_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include "common/yaml_hint.h"

namespace imagegate::webhook {
namespace {

using nlohmann::json;

// ---- YAML 1.2 core schema resolution of plain scalars (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
// Hand-written matchers: no std::regex on user input.

bool is_null_plain(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

std::optional<bool> bool_plain(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_octal(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Integer forms of the core schema: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+.
std::optional<json> int_plain(std::string_view s) {
  int base = 10;
  std::string_view digits = s;
  bool negative = false;
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && all_of(s.substr(2), is_octal)) {
    base = 8;
    digits = s.substr(2);
  } else if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && all_of(s.substr(2), is_hex)) {
    base = 16;
    digits = s.substr(2);
  } else {
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
      negative = s[0] == '-';
      digits = s.substr(1);
    }
    if (!all_of(digits, is_digit)) return std::nullopt;
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return json(std::string(s));  // out of range: keep the text rather than lose digits
  }
  if (!negative) {
    if (value <= static_cast<std::uint64_t>(INT64_MAX)) return json(static_cast<std::int64_t>(value));
    return json(value);
  }
  if (value <= static_cast<std::uint64_t>(INT64_MAX) + 1) {
    return json(value == static_cast<std::uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<std::int64_t>(value));
  }
  return json(std::string(s));
}

// Float forms: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? . Infinity and NaN have no JSON form,
// so `.inf` / `.nan` stay strings.
std::optional<json> float_plain(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const std::size_t int_start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  const bool int_digits = i > int_start;
  bool frac_digits = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t frac_start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    frac_digits = i > frac_start;
  }
  if (!int_digits && !frac_digits) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const std::size_t exp_start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == exp_start) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const std::string text(s);
  const double value = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(value)) return json(text);
  return json(value);
}

json resolve_plain(const std::string& s) {
  if (is_null_plain(s)) return nullptr;
  if (auto b = bool_plain(s)) return *b;
  if (auto i = int_plain(s)) return *i;
  if (auto f = float_plain(s)) return *f;
  return s;
}

// ---- The YAML -> JSON builder: consumes yaml-cpp parser events directly, so the bounds apply while
// parsing (a deep or alias-bombed document stops at the limit instead of being built first).

struct BuildError {
  Error error;
};

class JsonBuilder : public YAML::EventHandler {
 public:
  JsonBuilder(std::vector<Document>& out, const PositionOptions& positions) : out_(out), positions_(positions) {}

  int document_index() const { return index_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    // yaml-cpp 0.7 can report empty documents at one position forever (after a stray `,`, at the start or
    // after a document): a document that starts where the previous one did is malformed, not a new document.
    // Without this the stream only ended at kMaxManifestNodes, two million empty documents later.
    if (index_ > 0 && mark.pos <= last_start_) fail(mark, "malformed YAML: the parser made no progress");
    last_start_ = mark.pos;
    ++index_;
    line_ = mark.line + 1;
    stack_.clear();
    anchors_.clear();
    root_ = nullptr;
    recorded_.clear();
  }

  void OnDocumentEnd() override {
    if (!root_.is_null()) out_.push_back(Document{index_, line_, std::move(root_), std::move(recorded_)});
    root_ = nullptr;
    recorded_.clear();
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (awaiting_key()) fail(mark, "a mapping key must not be null");
    add(nullptr, anchor, 1, mark);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) fail(mark, "alias to an anchor that is not complete (recursive alias)");
    if (awaiting_key()) {
      if (!it->second.first.is_string()) fail(mark, "an alias used as a mapping key must name a string");
      set_key(it->second.first.get<std::string>(), false, mark);
      return;
    }
    add(json(it->second.first), YAML::NullAnchor, it->second.second, mark);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (awaiting_key()) {
      // Keys are strings in Kubernetes objects; a plain `<<` is a YAML 1.1 merge key (kubectl honours it).
      set_key(value, tag == "?" && value == "<<", mark);
      if (anchor != YAML::NullAnchor) anchors_[anchor] = {json(value), 1};
      return;
    }
    add(typed_scalar(tag, value, mark), anchor, 1, mark);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(json::array(), anchor, mark);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(json::object(), anchor, mark);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    json value;
    YAML::anchor_t anchor = YAML::NullAnchor;
    std::size_t nodes = 1;  // nodes in this subtree so far, aliases expanded
    std::optional<std::string> key;
    bool merge = false;
    YAML::Mark mark;
    std::set<std::string> explicit_keys;  // written in this mapping (merged keys may be overridden)
    std::string path;                     // dotted path; kept only when positions are recorded
  };

  bool recording() const { return positions_.all || !positions_.keys.empty(); }

  // The path of the node that starts now (a list item, or the value of the pending key), recorded when
  // every position is asked for.
  std::string next_path(const YAML::Mark& mark) {
    if (!recording() || stack_.empty()) return std::string();
    const Frame& top = stack_.back();
    if (!top.value.is_array()) return top.path.empty() ? *top.key : top.path + "." + *top.key;
    std::string path = top.path + "[" + std::to_string(top.value.size()) + "]";
    if (positions_.all) recorded_[path] = TextPosition{mark.line + 1, mark.column + 1};
    return path;
  }

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message, bool exhausted = false) {
    std::string text = "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) +
                       ": " + message;
    throw BuildError{exhausted ? resource_exhausted(std::move(text)) : invalid_argument(std::move(text))};
  }

  bool awaiting_key() const { return !stack_.empty() && stack_.back().value.is_object() && !stack_.back().key; }

  void set_key(std::string key, bool merge, const YAML::Mark& mark) {
    Frame& top = stack_.back();
    if (!merge && !top.explicit_keys.insert(key).second) fail(mark, "duplicate mapping key \"" + key + "\"");
    if (positions_.all ||
        std::find(positions_.keys.begin(), positions_.keys.end(), key) != positions_.keys.end()) {
      recorded_[top.path.empty() ? key : top.path + "." + key] = TextPosition{mark.line + 1, mark.column + 1};
    }
    top.key = std::move(key);
    top.merge = merge;
  }

  json typed_scalar(const std::string& tag, const std::string& value, const YAML::Mark& mark) {
    if (tag == "?") return resolve_plain(value);
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return value;
    if (tag == "tag:yaml.org,2002:null") {
      if (!is_null_plain(value)) fail(mark, "\"" + value + "\" is not a !!null");
      return nullptr;
    }
    if (tag == "tag:yaml.org,2002:bool") {
      auto b = bool_plain(value);
      if (!b) fail(mark, "\"" + value + "\" is not a !!bool");
      return *b;
    }
    if (tag == "tag:yaml.org,2002:int") {
      auto i = int_plain(value);
      if (!i || i->is_string()) fail(mark, "\"" + value + "\" is not a !!int");
      return *i;
    }
    if (tag == "tag:yaml.org,2002:float") {
      if (auto f = float_plain(value); f && f->is_number()) return *f;
      if (auto i = int_plain(value); i && !i->is_string()) return *i;
      fail(mark, "\"" + value + "\" is not a !!float");
    }
    return value;  // other tags (!!binary, local tags): the text as written
  }

  void count(std::size_t nodes, const YAML::Mark& mark) {
    total_nodes_ += nodes;
    if (total_nodes_ > kMaxManifestNodes) {
      fail(mark, "more than " + std::to_string(kMaxManifestNodes) + " YAML nodes (aliases expanded)", true);
    }
  }

  void open(json value, YAML::anchor_t anchor, const YAML::Mark& mark) {
    if (awaiting_key()) fail(mark, "complex (non-scalar) mapping keys are not supported");
    if (stack_.size() >= static_cast<std::size_t>(kMaxManifestDepth)) {
      fail(mark, "nesting deeper than " + std::to_string(kMaxManifestDepth) + " levels", true);
    }
    count(1, mark);
    std::string path = next_path(mark);
    stack_.push_back(Frame{std::move(value), anchor, 1, std::nullopt, false, mark, {}, std::move(path)});
  }

  void close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    if (frame.value.is_object() && frame.key) fail(frame.mark, "mapping key without a value");
    if (frame.anchor != YAML::NullAnchor) anchors_[frame.anchor] = {frame.value, frame.nodes};
    attach(std::move(frame.value), frame.nodes, frame.mark);
  }

  // A finished node: remember it under its anchor, then hang it into its parent.
  void add(json value, YAML::anchor_t anchor, std::size_t nodes, const YAML::Mark& mark) {
    count(nodes, mark);
    if (positions_.all) next_path(mark);
    if (anchor != YAML::NullAnchor) anchors_[anchor] = {value, nodes};
    attach(std::move(value), nodes, mark);
  }

  void attach(json value, std::size_t nodes, const YAML::Mark& mark) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return;
    }
    Frame& top = stack_.back();
    top.nodes += nodes;
    if (top.value.is_array()) {
      top.value.push_back(std::move(value));
      return;
    }
    std::string key = std::move(*top.key);
    top.key.reset();
    if (top.merge) {
      merge_into(top, value, mark);
      return;
    }
    top.value[key] = std::move(value);
  }

  // `<<: *base` or `<<: [*a, *b]` (https://yaml.org/type/merge.html): keys written in the mapping win
  // wherever they appear, earlier merge sources win over later ones.
  void merge_into(Frame& target, const json& source, const YAML::Mark& mark) {
    auto merge_one = [&](const json& m) {
      if (!m.is_object()) fail(mark, "a merge key (<<) needs a mapping or a list of mappings");
      for (auto it = m.begin(); it != m.end(); ++it) {
        if (!target.value.contains(it.key())) target.value[it.key()] = it.value();
      }
    };
    if (source.is_array()) {
      for (const json& m : source) merge_one(m);
    } else {
      merge_one(source);
    }
  }

  std::vector<Document>& out_;
  const PositionOptions& positions_;
  std::map<std::string, TextPosition, std::less<>> recorded_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, std::pair<json, std::size_t>> anchors_;
  json root_;
  int index_ = 0;
  int line_ = 0;
  int last_start_ = 0;  // where the previous document started (YAML::Mark::pos)
  std::size_t total_nodes_ = 0;
};

}  // namespace

bool plain_scalar_is_typed(std::string_view text) {
  return !resolve_plain(std::string(text)).is_string();
}

Result<std::vector<Document>> parse_yaml_documents(std::string_view text, std::string_view source,
                                                   const PositionOptions& positions) {
  std::vector<Document> out;
  JsonBuilder builder(out, positions);
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const BuildError& e) {
    return Error{e.error.code, std::string(source) + ": document " + std::to_string(builder.document_index()) +
                                   ": " + e.error.message};
  } catch (const YAML::Exception& e) {
    const std::string hint = yaml_syntax_hint(text, e.mark.line, e.msg);
    return invalid_argument(std::string(source) + ": document " +
                            std::to_string(std::max(1, builder.document_index())) + ": malformed YAML at line " +
                            std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1) +
                            ": " + e.msg + (hint.empty() ? "" : "; " + hint));
  }
  return out;
}

namespace {

void emit(YAML::Emitter& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (auto it = value.begin(); it != value.end(); ++it) {
        out << YAML::Key;
        if (plain_scalar_is_typed(it.key())) out << YAML::DoubleQuoted;
        out << it.key() << YAML::Value;
        emit(out, it.value());
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const json& item : value) emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (plain_scalar_is_typed(s)) out << YAML::DoubleQuoted;
      out << s;
      break;
    }
    case json::value_t::boolean: out << value.get<bool>(); break;
    case json::value_t::number_integer: out << value.get<std::int64_t>(); break;
    case json::value_t::number_unsigned: out << value.get<std::uint64_t>(); break;
    case json::value_t::number_float: out << value.get<double>(); break;
    default: out << YAML::Null; break;
  }
}

}  // namespace

std::string to_yaml(const nlohmann::json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace imagegate::webhook
