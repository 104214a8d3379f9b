#include "webhook/cli/manifest_reader.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/bounded_file.h"
#include "webhook/admission/admission_review.h"
#include "webhook/admission/workload_decoder.h"

namespace imagegate::webhook {
namespace {

using nlohmann::json;

// 1-based line and column of a byte offset.
std::pair<int, int> line_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, static_cast<int>(offset - line_start) + 1};
}

Result<std::vector<Document>> parse_json_document(std::string_view text, std::string_view source) {
  // The bounds of common/json_bounded.h, checked here rather than through parse_json_bounded so both its
  // refusals and nlohmann's parse errors can name the line and column.
  if (auto v = json_limit_violation(text, kManifestFileJsonLimits)) {
    auto [line, column] = line_column(text, v->offset);
    const std::string where = std::string(source) + ":" + std::to_string(line) + ":" + std::to_string(column);
    if (v->limit == JsonLimit::values) {
      return resource_exhausted(where + ": JSON holds more than " + std::to_string(kMaxManifestNodes) + " values");
    }
    return resource_exhausted(where + ": JSON nesting deeper than " + std::to_string(kMaxManifestDepth) + " levels");
  }
  try {
    std::vector<Document> out;
    out.push_back(Document{1, 1, json::parse(text), {}});
    return out;
  } catch (const json::parse_error& e) {
    auto [line, column] = line_column(text, e.byte == 0 ? 0 : e.byte - 1);
    return invalid_argument(std::string(source) + ":" + std::to_string(line) + ":" + std::to_string(column) +
                            ": malformed JSON: " + e.what());
  }
}

std::string_view strip_bom(std::string_view text) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    text.remove_prefix(3);
  }
  return text;
}

// The positions of `positions` under `prefix` ("items[3].", "request.object."), relative to it.
std::map<std::string, TextPosition, std::less<>> positions_under(
    const std::map<std::string, TextPosition, std::less<>>& positions, std::string_view prefix) {
  std::map<std::string, TextPosition, std::less<>> out;
  for (auto it = positions.lower_bound(prefix); it != positions.end() && it->first.starts_with(prefix); ++it) {
    out.emplace(it->first.substr(prefix.size()), it->second);
  }
  return out;
}

std::string document_name(std::string_view source, int index) { return std::string(source) + "#" + std::to_string(index); }

// An AdmissionReview (or a bare AdmissionRequest, wrapped first) -> the workload under review, through the
// server's codec.
Result<ManifestObject> object_of_review(const json& value, const std::string& where, int line) {
  json review = value;
  if (!value.contains("request")) {
    review = {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", value}};
  }
  auto request = decode_admission_review(review.dump());
  if (!request.ok()) return invalid_argument(where + ": not a valid AdmissionReview: " + request.error().message);
  if (!request->has_object) {
    return invalid_argument(where + ": the AdmissionReview (operation " + request->operation +
                            ") carries no object to evaluate");
  }
  ManifestObject out;
  out.source = where;
  out.line = line;
  out.workload = std::move(request->workload);  // decoded by the codec, as the server's are
  out.request_kind = request->kind;
  out.request_namespace = request->namespace_name;
  out.operation = request->operation;
  return out;
}

bool is_bare_admission_request(const json& value) {
  return value.contains("uid") && value.contains("operation") && value.contains("object") &&
         (!value.contains("kind") || value["kind"].is_object());
}

std::string string_at(const json& value, const char* key) {
  auto it = value.find(key);
  return it != value.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c == 0) return i;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += len;
  }
  return std::string_view::npos;
}


Result<std::vector<Document>> parse_documents(std::string_view text, std::string_view source,
                                              const PositionOptions& positions) {
  if (text.size() > kMaxManifestBytes) {
    return resource_exhausted(std::string(source) + ": larger than " + std::to_string(kMaxManifestBytes) + " bytes");
  }
  if (const std::size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    auto [line, column] = line_column(text, bad);
    return invalid_argument(std::string(source) + ":" + std::to_string(line) + ":" + std::to_string(column) +
                            ": not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  text = strip_bom(text);
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    auto parsed = parse_json_document(text, source);
    if (parsed.ok() || parsed.error().code == ErrorCode::resource_exhausted) return parsed;
    // Not JSON; a YAML flow collection (`{a: b}`) still is YAML. Report the JSON error if YAML fails too.
    auto as_yaml = parse_yaml_documents(text, source, positions);
    if (as_yaml.ok() || as_yaml.error().code == ErrorCode::resource_exhausted) return as_yaml;
    return parsed;
  }
  return parse_yaml_documents(text, source, positions);
}

Result<std::vector<ManifestObject>> read_manifests(std::string_view text, std::string_view source) {
  const PositionOptions image_keys{false, {"image", "reference"}};
  auto documents = parse_documents(text, source, image_keys);
  if (!documents.ok()) return documents.error();
  std::vector<ManifestObject> out;
  for (Document& doc : *documents) {
    const std::string where = document_name(source, doc.index);
    const json& value = doc.value;
    if (!value.is_object()) {
      return invalid_argument(where + " (line " + std::to_string(doc.line) + "): expected a Kubernetes object, got " +
                              value.type_name());
    }
    const std::string kind = string_at(value, "kind");
    if (kind == "AdmissionReview" || is_bare_admission_request(value)) {
      auto object = object_of_review(value, where, doc.line);
      if (!object.ok()) return object.error();
      object->image_positions = positions_under(doc.positions, value.contains("request") ? "request.object." : "object.");
      out.push_back(std::move(*object));
      continue;
    }
    // `kind: List` (kubectl) and typed lists (DeploymentList from the API, whose items carry no kind).
    if (kind == "List" || (kind.size() > 4 && kind.ends_with("List") && value.contains("items"))) {
      auto items = value.find("items");
      if (items == value.end() || items->is_null()) continue;
      if (!items->is_array()) return invalid_argument(where + ": items: must be a list");
      if (items->size() > kMaxListItems) {
        return resource_exhausted(where + ": more than " + std::to_string(kMaxListItems) + " items");
      }
      const std::string item_kind = kind == "List" ? std::string() : kind.substr(0, kind.size() - 4);
      for (std::size_t i = 0; i < items->size(); ++i) {
        const std::string item_where = where + ".items[" + std::to_string(i) + "]";
        const json& item = (*items)[i];
        if (!item.is_object()) return invalid_argument(item_where + ": expected a Kubernetes object");
        ManifestObject object;
        object.source = item_where;
        object.line = doc.line;
        object.workload = decode_workload(item, item_kind);
        object.image_positions = positions_under(doc.positions, "items[" + std::to_string(i) + "].");
        object.request_kind = item_kind;
        out.push_back(std::move(object));
      }
      continue;
    }
    ManifestObject object;
    object.source = where;
    object.line = doc.line;
    object.workload = decode_workload(doc.value);
    object.image_positions = std::move(doc.positions);
    out.push_back(std::move(object));
  }
  return out;
}

bool declares_kind(std::string_view text, std::string_view kind) {
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.starts_with("kind:")) {
      line.remove_prefix(5);
      const std::size_t first = line.find_first_not_of(" \t");
      const std::size_t last = line.find_last_not_of(" \t\r");
      if (first != std::string_view::npos) {
        std::string_view value = line.substr(first, last - first + 1);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
          value = value.substr(1, value.size() - 2);
        }
        if (value == kind) return true;
      }
    }
    start = end + 1;
  }
  return false;
}

Result<std::vector<std::string>> list_files(const std::string& dir, bool recursive,
                                            const std::vector<std::string_view>& extensions) {
  std::vector<std::string> files;
  std::error_code ec;
  auto wanted = [&](const std::filesystem::directory_entry& entry) {
    const std::string ext = entry.path().extension().string();
    std::error_code file_ec;
    return std::find(extensions.begin(), extensions.end(), ext) != extensions.end() && entry.is_regular_file(file_ec);
  };
  if (recursive) {
    std::filesystem::recursive_directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      if (wanted(*it)) files.push_back(it->path().string());
    }
  } else {
    std::filesystem::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      if (wanted(*it)) files.push_back(it->path().string());
    }
  }
  if (ec) return not_found(dir + ": cannot list directory: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::vector<ManifestObject>> read_manifest_path(const std::string& path, bool recursive) {
  if (path == "-") {
    std::string data;
    char buffer[65536];
    while (std::cin) {
      std::cin.read(buffer, sizeof buffer);
      data.append(buffer, static_cast<std::size_t>(std::cin.gcount()));
      if (data.size() > kMaxManifestBytes) {
        return resource_exhausted("-: stdin larger than " + std::to_string(kMaxManifestBytes) + " bytes");
      }
    }
    return read_manifests(data, "-");
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    auto files = list_files(path, recursive, {".yaml", ".yml", ".json"});
    if (!files.ok()) return files.error();
    if (files->empty()) {
      return invalid_argument(path + ": no .yaml, .yml or .json files in this directory" +
                              (recursive ? std::string(" tree") : std::string(" (-R reads subdirectories too)")));
    }
    std::vector<ManifestObject> out;
    for (const std::string& file : *files) {
      auto objects = read_manifest_path(file);
      if (!objects.ok()) return objects.error();
      for (ManifestObject& object : *objects) out.push_back(std::move(object));
    }
    return out;
  }
  auto text = read_bounded_file(path, kMaxManifestBytes);
  if (!text.ok()) return text.error();
  return read_manifests(*text, path);
}


}  // namespace imagegate::webhook
