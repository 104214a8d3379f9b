#include "verifier/registry/oci_index.h"

#include <nlohmann/json.hpp>

#include <set>
#include <vector>

#include "common/json_bounded.h"
#include "verifier/image/image_reference.h"
#include "verifier/registry/registry_client.h"

namespace imagegate::verifier {
namespace {

using json = nlohmann::json;

std::string_view strip_parameters(std::string_view media_type) {
  // "application/vnd.oci.image.index.v1+json; charset=utf-8" -> the type itself.
  media_type = media_type.substr(0, media_type.find(';'));
  while (!media_type.empty() && (media_type.back() == ' ' || media_type.back() == '\t')) media_type.remove_suffix(1);
  while (!media_type.empty() && (media_type.front() == ' ' || media_type.front() == '\t')) media_type.remove_prefix(1);
  return media_type;
}

std::string shown(std::string_view s) {
  // Text from the registry in a message: short, printable.
  std::string out;
  for (char c : s.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  if (s.size() > 80) out += "...";
  return "\"" + out + "\"";
}

// RFC 6838 restricted-name "/" restricted-name, as the image-spec schema's mediaType pattern (the
// parameters of a Content-Type are stripped before).
bool is_media_type(std::string_view t) {
  auto restricted_name = [](std::string_view n) {
    if (n.empty() || n.size() > 127) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (!alnum(n[0])) return false;
    for (char c : n.substr(1)) {
      if (!alnum(c) && std::string_view("!#$&-^_.+").find(c) == std::string_view::npos) return false;
    }
    return true;
  };
  const std::size_t slash = t.find('/');
  return slash != std::string_view::npos && restricted_name(t.substr(0, slash)) && restricted_name(t.substr(slash + 1));
}

// Duplicate keys refused (a document whose `manifests` appears twice could read differently to the
// runtime than to us); bytes, depth and values are bounded before, by parse_json_bounded.
struct DuplicateKeys {
  bool duplicate = false;
  std::string duplicate_key;
  std::vector<std::set<std::string>> keys;  // per open object

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: keys.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() && !keys.back().insert(parsed.get<std::string>()).second) {
          if (!duplicate) duplicate_key = parsed.get<std::string>();
          duplicate = true;
        }
        break;
      default: break;
    }
    return true;
  }
};

Result<IndexPlatform> parse_platform(const json& p, const std::string& where) {
  if (!p.is_object()) return invalid_argument(where + ".platform is not an object");
  IndexPlatform out;
  auto text = [&](const char* key, std::string& field, bool required) -> std::optional<Error> {
    auto it = p.find(key);
    if (it == p.end()) {
      if (required) return invalid_argument(where + ".platform has no \"" + key + "\"");
      return std::nullopt;
    }
    if (!it->is_string()) return invalid_argument(where + ".platform." + key + " is not a string");
    field = it->get<std::string>();
    if (required && field.empty()) return invalid_argument(where + ".platform." + key + " is empty");
    return std::nullopt;
  };
  if (auto e = text("os", out.os, true)) return *e;
  if (auto e = text("architecture", out.architecture, true)) return *e;
  if (auto e = text("variant", out.variant, false)) return *e;
  if (auto e = text("os.version", out.os_version, false)) return *e;
  return out;
}

Result<IndexManifest> parse_descriptor(const json& d, const std::string& where) {
  if (!d.is_object()) return invalid_argument(where + " is not an object");
  IndexManifest out;
  auto media_type = d.find("mediaType");
  if (media_type == d.end() || !media_type->is_string() || media_type->get_ref<const std::string&>().empty()) {
    return invalid_argument(where + " has no mediaType");
  }
  out.media_type = media_type->get<std::string>();
  if (!is_media_type(out.media_type)) return invalid_argument(where + ".mediaType " + shown(out.media_type) + " is not a media type");
  auto digest = d.find("digest");
  if (digest == d.end() || !digest->is_string()) return invalid_argument(where + " has no digest");
  out.digest = digest->get<std::string>();
  if (std::optional<ReferenceError> bad = validate_digest(out.digest)) {
    return invalid_argument(where + ".digest " + shown(out.digest) + ": " +
                            std::string(reference_error_message(*bad)));
  }
  auto size = d.find("size");
  if (size == d.end() || !size->is_number_unsigned()) {
    return invalid_argument(where + " has no size (a non-negative integer)");
  }
  out.size = size->get<std::uint64_t>();
  if (auto platform = d.find("platform"); platform != d.end()) {
    Result<IndexPlatform> parsed = parse_platform(*platform, where);
    if (!parsed) return parsed.error();
    out.platform = std::move(parsed.value());
  }
  return out;
}

}  // namespace

bool is_index_media_type(std::string_view media_type) noexcept {
  const std::string_view type = strip_parameters(media_type);
  return type == kOciIndexMediaType || type == kDockerManifestListMediaType;
}

std::string IndexPlatform::string() const {
  std::string out = os + "/" + architecture;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

const IndexManifest* ImageIndex::find(std::string_view digest) const {
  for (const IndexManifest& m : manifests) {
    if (m.digest == digest) return &m;
  }
  return nullptr;
}

Result<ImageIndex> parse_image_index(std::string_view body, std::string_view content_type) {
  if (body.size() > kMaxIndexBytes) {
    return resource_exhausted("the index is " + std::to_string(body.size()) + " bytes, over the limit of " +
                              std::to_string(kMaxIndexBytes));
  }
  DuplicateKeys bounds;
  auto document = parse_json_bounded(body, JsonLimits{kMaxIndexBytes, kMaxIndexJsonDepth, kMaxManifestJsonValues},
                                     std::ref(bounds));
  if (!document) return Error{document.error().code, "the index: " + document.error().message};
  const json& doc = *document;
  if (bounds.duplicate) return invalid_argument("the index repeats the key " + shown(bounds.duplicate_key));
  if (!doc.is_object()) return invalid_argument("the index is not a JSON object");

  auto schema = doc.find("schemaVersion");
  if (schema == doc.end() || !schema->is_number_unsigned() || schema->get<std::uint64_t>() != 2) {
    return invalid_argument("the index does not have schemaVersion 2");
  }
  ImageIndex out;
  const std::string_view declared = strip_parameters(content_type);
  if (auto media_type = doc.find("mediaType"); media_type != doc.end()) {
    if (!media_type->is_string()) return invalid_argument("the index's mediaType is not a string");
    out.media_type = media_type->get<std::string>();
    if (!is_index_media_type(out.media_type)) {
      return invalid_argument("not an image index: mediaType " + shown(out.media_type));
    }
    if (!declared.empty() && declared != out.media_type) {
      return invalid_argument("the registry serves it as " + shown(declared) + " but its mediaType is " +
                              shown(out.media_type));
    }
  } else if (is_index_media_type(declared)) {
    out.media_type = std::string(declared);  // OCI lets the document omit it; the Content-Type says
  } else {
    return invalid_argument("not an image index: " + (declared.empty() ? std::string("no media type")
                                                                       : "media type " + shown(declared)));
  }
  // An image manifest with an index media type bolted on is still not an index.
  if (doc.contains("layers") || doc.contains("config")) {
    return invalid_argument("not an image index: the document has layers or config (an image manifest)");
  }
  auto manifests = doc.find("manifests");
  if (manifests == doc.end() || !manifests->is_array()) {
    return invalid_argument("the index has no \"manifests\" list");
  }
  if (manifests->size() > kMaxIndexManifests) {
    return resource_exhausted("the index lists " + std::to_string(manifests->size()) + " manifests, over the limit of " +
                              std::to_string(kMaxIndexManifests));
  }
  // Not used here, but a malformed subject makes the whole document invalid (image-spec schema).
  if (auto subject = doc.find("subject"); subject != doc.end()) {
    Result<IndexManifest> parsed = parse_descriptor(*subject, "subject");
    if (!parsed) return parsed.error();
  }
  out.manifests.reserve(manifests->size());
  for (std::size_t i = 0; i < manifests->size(); ++i) {
    Result<IndexManifest> m = parse_descriptor((*manifests)[i], "manifests[" + std::to_string(i) + "]");
    if (!m) return m.error();
    out.manifests.push_back(std::move(m.value()));
  }
  return out;
}

}  // namespace imagegate::verifier
