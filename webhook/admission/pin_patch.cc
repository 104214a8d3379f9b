#include "webhook/admission/pin_patch.h"

#include "policy/workload.h"
#include "verifier/image/image_reference.h"

namespace imagegate::webhook {

std::optional<std::string> pinned_reference(std::string_view image, std::string_view digest) {
  auto ref = verifier::ImageReference::from_container_image(image);
  if (!ref) return std::nullopt;
  return ref->name() + "@" + std::string(digest);
}

nlohmann::json pin_patch(const std::vector<PinnedImage>& pins) {
  nlohmann::json patch = nlohmann::json::array();
  for (const PinnedImage& pin : pins) {
    patch.push_back({{"op", "replace"}, {"path", policy::to_json_pointer(pin.json_path)}, {"value", pin.reference}});
  }
  return patch;
}

}  // namespace imagegate::webhook
