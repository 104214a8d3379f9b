// libFuzzer target for verifier/registry/shared_answer.h: the values replicas read back from Redis. Any input either
// reads as nothing or as an answer that satisfies the bounds (a well-formed digest, bounded texts and
// platforms, an expiry after `now`), and such an answer survives encode -> decode unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "verifier/registry/shared_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::verifier;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A fixed "now" (2026-01-01): runs are reproducible.
  const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'767'225'600'000));
  const auto answer = decode_shared_answer(text, now);
  if (!answer) return 0;
  if (answer->expires_at <= now) std::abort();
  if (answer->not_found) {
    if (answer->good || answer->not_found->size() > kMaxSharedText) std::abort();
    return 0;
  }
  if (!answer->good) std::abort();
  const ResolvedImage& image = *answer->good;
  if (image.digest.size() != 71 && image.digest.size() != 135) std::abort();
  if (image.platforms.size() > kMaxSharedPlatforms || image.media_type.size() > kMaxSharedText) std::abort();
  const auto again = decode_shared_answer(encode_shared_answer(image, answer->expires_at), now);
  if (!again || !again->good || again->good->digest != image.digest || again->good->platforms != image.platforms ||
      again->good->media_type != image.media_type || again->good->size != image.size ||
      again->expires_at != answer->expires_at) {
    std::abort();
  }
  return 0;
}
