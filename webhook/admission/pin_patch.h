// What /mutate writes (webhook/admission/digest_pinning.h): the digest-pinned form of an image and the
// RFC 6902 JSONPatch that puts it in place. Pure functions; the round trip (apply the patch to the
// object: only image fields change, and only to name@digest) is fuzzed by tests/fuzz/pin_patch_fuzz.cc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace imagegate::webhook {

// One image to rewrite: where it is (policy::ContainerImage::json_path) and what it becomes.
struct PinnedImage {
  std::string json_path;  // spec.template.spec.containers[0].image
  std::string reference;  // registry/name@sha256:...
};

// `name@digest` for an image as written (its tag dropped, its name normalised); nullopt when the image is
// not a valid reference.
std::optional<std::string> pinned_reference(std::string_view image, std::string_view digest);

// One "replace" per image at its JSON pointer; an empty array when there is none.
nlohmann::json pin_patch(const std::vector<PinnedImage>& pins);

}  // namespace imagegate::webhook
