// The policy loader's typed field readers (policy/loader_internal.h): a mapping's known keys (with a
// "did you mean" for unknown ones), strings, booleans, integers, enums, lists, globs, names and RE2 regexps,
// each reporting a problem at its key path.
#include <algorithm>
#include <charconv>
#include <set>
#include <string>

#include <re2/re2.h>

#include "common/text.h"
#include "policy/loader_internal.h"

namespace imagegate::policy {

using namespace loader_internal;  // NOLINT: this file is part of the loader

namespace {

constexpr std::size_t kMaxNameLength = 253;

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

}  // namespace

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
        // The distance is at least the difference in length: a long key (up to kMaxScalarBytes) skips
        // the O(|key| x |candidate|) table instead of paying it for every known key.
        const std::size_t gap =
            key.size() > candidate.size() ? key.size() - candidate.size() : candidate.size() - key.size();
        if (gap >= best_distance) continue;
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

}  // namespace imagegate::policy
