// libFuzzer target for verifier/registry/oci_index.cc: arbitrary bytes as an image index (with and without a
// Content-Type) must parse or fail cleanly, and what parses must keep the parser's promises: bounded,
// every listed digest valid and found.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "verifier/image/image_reference.h"
#include "verifier/registry/oci_index.h"

namespace {

void check(const imagegate::Result<imagegate::verifier::ImageIndex>& r) {
  using namespace imagegate::verifier;
  if (!r.ok()) {
    if (r.error().message.empty()) std::abort();
    return;
  }
  if (!is_index_media_type(r->media_type)) std::abort();
  if (r->manifests.size() > kMaxIndexManifests) std::abort();
  for (const IndexManifest& m : r->manifests) {
    if (validate_digest(m.digest).has_value()) std::abort();
    if (r->find(m.digest) == nullptr) std::abort();
    if (m.media_type.empty()) std::abort();
    if (m.platform && (m.platform->os.empty() || m.platform->architecture.empty())) std::abort();
    if (m.platform) (void)m.platform->string();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check(imagegate::verifier::parse_image_index(input));
  check(imagegate::verifier::parse_image_index(input, imagegate::verifier::kOciIndexMediaType));
  check(imagegate::verifier::parse_image_index(input, "application/vnd.docker.distribution.manifest.list.v2+json; x=y"));
  return 0;
}
