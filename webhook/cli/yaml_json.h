// YAML <-> JSON for the offline CLI: the one bounded converter of YAML streams into JSON documents (what
// the manifest reader and the policy suites read), and the YAML writer of `-o yaml`.
//
// Reading consumes yaml-cpp's parser events directly, so the bounds apply while parsing (a deep or
// alias-bombed document stops at the limit instead of being built first): nesting depth, node count after
// alias expansion, duplicate keys refused. Plain scalars follow the YAML 1.2 core schema (null, bool, int,
// float); everything else, quoted or tagged !!str, stays a string. YAML 1.1 merge keys (`<<`) are honoured
// as kubectl does.
//
// Plain functions, no shared state: safe from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace imagegate::webhook {

inline constexpr int kMaxManifestDepth = 128;                // nesting of mappings/sequences
inline constexpr std::size_t kMaxManifestNodes = 2'000'000;  // per file, after alias expansion

// Where something is written: 1-based line and column.
struct TextPosition {
  int line = 0;
  int column = 0;
};

// A document of a YAML or JSON stream, as JSON.
struct Document {
  int index = 0;  // 1-based
  int line = 0;   // 1-based line of its first token
  nlohmann::json value;
  // Where keys and list items are written, by dotted path as the decoders name them
  // ("cases[2].expect", "spec.template.spec.containers[0].image"): filled as PositionOptions asks (YAML only;
  // a JSON document has none).
  std::map<std::string, TextPosition, std::less<>> positions;
};

// Which positions parse_yaml_documents records: every key and list item (`all`, for small files such as
// suites), or only keys with one of `keys`' names (the manifest reader: `image`, `reference`).
struct PositionOptions {
  bool all = false;
  std::vector<std::string> keys;
};

// Parses a YAML stream into documents, within kMaxManifestDepth and kMaxManifestNodes. Empty documents
// (a lone `---`, comments only) are dropped. Errors name `source`, the document, the line and column; a
// syntax error adds a hint about tabs or indentation (common/yaml_hint.h).
Result<std::vector<Document>> parse_yaml_documents(std::string_view text, std::string_view source,
                                                   const PositionOptions& positions = {});

// Whether a YAML plain scalar resolves to a non-string under the YAML 1.2 core schema; the YAML writer
// quotes such strings so they read back as strings.
bool plain_scalar_is_typed(std::string_view text);

// JSON -> YAML text (block style), for `-o yaml`.
std::string to_yaml(const nlohmann::json& value);

}  // namespace imagegate::webhook
