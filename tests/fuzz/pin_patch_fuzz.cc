// libFuzzer target for what /mutate writes (webhook/admission/pin_patch.h), as a round trip: decode a
// review from the input with the server's codec, pin every image that has no digest yet to
// name@sha256:..., build the JSONPatch, apply it to request.object with nlohmann's RFC 6902 applier,
// then diff the result against the original. The patch must apply (every path exists and names a
// string), and the only changes are "replace"s at the images' pointers, each to the digest-pinned form
// of the image that was there (same repository, a digest, no tag).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/workload.h"
#include "verifier/image/image_reference.h"
#include "webhook/admission/admission_review.h"
#include "webhook/admission/pin_patch.h"

namespace {

using nlohmann::json;
using imagegate::verifier::ImageReference;

constexpr std::string_view kDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// `pinned` is `original` with its tag dropped and the digest added.
bool is_pinned_form_of(const std::string& pinned, const std::string& original) {
  const auto before = ImageReference::from_container_image(original);
  const auto after = ImageReference::from_container_image(pinned);
  return before && after && after->has_digest() && after->digest() == kDigest && after->tag().empty() &&
         after->name() == before->name();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto request = imagegate::webhook::decode_admission_review(text);
  if (!request.ok() || !request->has_object || !request->workload.ok()) return 0;
  const json review = json::parse(text, nullptr, false);
  if (review.is_discarded() || !review.contains("request") || !review["request"].contains("object")) std::abort();
  const json& object = review["request"]["object"];

  std::vector<imagegate::webhook::PinnedImage> pins;
  std::map<std::string, std::string> expected;  // JSON pointer -> the image as written
  for (const imagegate::policy::ContainerImage& container : request->workload->images) {
    const auto ref = ImageReference::from_container_image(container.image);
    if (!ref || ref->has_digest()) continue;  // as /mutate: invalid (validate denies) or already pinned
    const auto pinned = imagegate::webhook::pinned_reference(container.image, kDigest);
    if (!pinned) std::abort();
    pins.push_back({container.json_path, *pinned});
    expected[imagegate::policy::to_json_pointer(container.json_path)] = container.image;
  }
  const json patch = imagegate::webhook::pin_patch(pins);
  if (patch.size() != pins.size()) std::abort();
  json patched;
  try {
    for (const json& op : patch) {
      // Each pointer names a string that is the image as decoded.
      const json& at = object.at(json::json_pointer(op["path"].get<std::string>()));
      if (!at.is_string() || at.get<std::string>() != expected.at(op["path"].get<std::string>())) std::abort();
    }
    patched = object.patch(patch);
  } catch (const json::exception&) {
    std::abort();  // a path that does not exist: the API server would refuse the whole patch
  }
  for (const json& change : json::diff(object, patched)) {
    const std::string path = change["path"].get<std::string>();
    const auto it = expected.find(path);
    if (change["op"] != "replace" || it == expected.end() || !change["value"].is_string() ||
        !is_pinned_form_of(change["value"].get<std::string>(), it->second)) {
      std::abort();
    }
  }
  return 0;
}
