// ImageIndex: the platform manifests a multi-arch image lists -- an OCI image index
// (application/vnd.oci.image.index.v1+json) or a Docker manifest list
// (application/vnd.docker.distribution.manifest.list.v2+json), as fetched from a registry.
//
// Used to decide whether a signature on the index a tag resolves to may vouch for a platform manifest
// digest (a rule's `signatures.acceptIndexSignatures`): only a document that really is an index, and only
// the digests it lists, count. Anything else is refused rather than guessed at: an image manifest, a
// document without an index media type, descriptors without a valid digest, media type or size.
//
// Bounded: at most kMaxIndexBytes of JSON, kMaxIndexJsonDepth levels, kMaxIndexManifests descriptors.
// Plain value types and a pure parser; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace imagegate::verifier {

inline constexpr std::string_view kOciIndexMediaType = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifestListMediaType =
    "application/vnd.docker.distribution.manifest.list.v2+json";

inline constexpr std::size_t kMaxIndexBytes = 4 * 1024 * 1024;  // as a manifest (kMaxManifestBytes)
inline constexpr std::size_t kMaxIndexManifests = 1024;
inline constexpr int kMaxIndexJsonDepth = 16;

// True for the two index media types (parameters such as "; charset=utf-8" ignored).
bool is_index_media_type(std::string_view media_type) noexcept;

struct IndexPlatform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64"
  std::string variant;       // "v8", "" when absent
  std::string os_version;    // `os.version`, "" when absent

  std::string string() const;  // "linux/arm64/v8"
};

// One descriptor of `manifests`.
struct IndexManifest {
  std::string media_type;
  std::string digest;  // "sha256:<64 hex>", validated
  std::uint64_t size = 0;
  std::optional<IndexPlatform> platform;
};

struct ImageIndex {
  std::string media_type;  // one of the two index media types
  std::vector<IndexManifest> manifests;

  // The descriptor listing `digest`, or nullptr.
  const IndexManifest* find(std::string_view digest) const;
};

// Parses `body`. `content_type` is the registry's Content-Type (or FetchedManifest::media_type); the
// document's own `mediaType` wins when present, and the two must not disagree. Errors: invalid_argument
// naming what is wrong (not JSON, not an index, a bad descriptor), resource_exhausted past the bounds.
Result<ImageIndex> parse_image_index(std::string_view body, std::string_view content_type = {});

}  // namespace imagegate::verifier
