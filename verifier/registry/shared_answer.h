// The value CachingRegistryClient shares through Redis for a tag resolution (verifier/registry/shared_cache.h), and
// its defensive reading: another replica wrote it, but Redis is a network peer, so a value is bounded,
// typed, and its digest must look like one; anything else (or an expired answer) reads as nothing -- a miss.
//
//   {"digest":"sha256:<hex>","mediaType":"...","platforms":["linux/amd64",...],"size":N,"expiresAt":MS}
//   {"notFound":"manifest unknown ...","expiresAt":MS}        (MS: Unix time in milliseconds)
//
// Header-only (nlohmann/json) so the libFuzzer target drives the same code (tests/fuzz/shared_answer_fuzz.cc).
// Pure functions: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "common/result.h"
#include "verifier/registry/registry_client.h"

namespace imagegate::verifier {

// What another replica resolved: an answer or a not_found, with the absolute time it stops being true.
struct SharedAnswer {
  std::optional<ResolvedImage> good;
  std::optional<std::string> not_found;
  std::chrono::system_clock::time_point expires_at;
};

inline constexpr std::size_t kMaxSharedPlatforms = 256;
inline constexpr std::size_t kMaxSharedText = 1024;
inline constexpr std::size_t kMaxSharedValueBytes = 64 * 1024;
// expiresAt past 2100-01-01 is not an answer of ours (and would overflow the clock's nanoseconds).
inline constexpr std::int64_t kMaxSharedExpiresMs = 4'102'444'800'000;

namespace shared_answer_detail {

inline std::int64_t to_unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

inline bool is_shared_digest(const std::string& d) {
  constexpr std::string_view kSha256 = "sha256:";
  constexpr std::string_view kSha512 = "sha512:";
  std::size_t hex = 0;
  if (d.compare(0, kSha256.size(), kSha256) == 0) {
    hex = 64;
  } else if (d.compare(0, kSha512.size(), kSha512) == 0) {
    hex = 128;
  } else {
    return false;
  }
  if (d.size() != 7 + hex) return false;
  for (std::size_t i = 7; i < d.size(); ++i) {
    const char c = d[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace shared_answer_detail

// `r` is an answer or a not_found (other errors are not shared).
inline std::string encode_shared_answer(const Result<ResolvedImage>& r,
                                        std::chrono::system_clock::time_point expires_at) {
  nlohmann::json j;
  if (r.ok()) {
    j = {{"digest", r->digest}, {"mediaType", r->media_type}, {"platforms", r->platforms}, {"size", r->size}};
  } else {
    j = {{"notFound", r.error().message}};
  }
  j["expiresAt"] = shared_answer_detail::to_unix_ms(expires_at);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// nullopt: not one of ours, malformed, or expired at `now` -- a miss.
inline std::optional<SharedAnswer> decode_shared_answer(std::string_view text,
                                                        std::chrono::system_clock::time_point now) {
  // Six members and the platforms: 64 KiB and 2 * kMaxSharedPlatforms values bound the DOM to under 1 MB.
  const auto parsed = parse_json_bounded(text, JsonLimits{kMaxSharedValueBytes, 2, 2 * kMaxSharedPlatforms + 16});
  if (!parsed) return std::nullopt;
  const nlohmann::json& j = *parsed;
  if (!j.is_object()) return std::nullopt;
  const auto expires = j.find("expiresAt");
  if (expires == j.end() || !expires->is_number_integer()) return std::nullopt;
  const std::int64_t expires_ms = expires->get<std::int64_t>();
  if (expires_ms <= 0 || expires_ms > kMaxSharedExpiresMs) return std::nullopt;
  SharedAnswer out;
  out.expires_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(expires_ms));
  if (out.expires_at <= now) return std::nullopt;
  if (const auto nf = j.find("notFound"); nf != j.end()) {
    if (!nf->is_string() || nf->get_ref<const std::string&>().size() > kMaxSharedText) return std::nullopt;
    out.not_found = nf->get<std::string>();
    return out;
  }
  const auto digest = j.find("digest");
  const auto media_type = j.find("mediaType");
  const auto platforms = j.find("platforms");
  const auto size = j.find("size");
  if (digest == j.end() || !digest->is_string() ||
      !shared_answer_detail::is_shared_digest(digest->get_ref<const std::string&>())) {
    return std::nullopt;
  }
  if (media_type == j.end() || !media_type->is_string() ||
      media_type->get_ref<const std::string&>().size() > kMaxSharedText) {
    return std::nullopt;
  }
  if (size == j.end() || !size->is_number_unsigned()) return std::nullopt;
  if (platforms == j.end() || !platforms->is_array() || platforms->size() > kMaxSharedPlatforms) return std::nullopt;
  ResolvedImage image;
  image.digest = digest->get<std::string>();
  image.media_type = media_type->get<std::string>();
  image.size = size->get<std::uint64_t>();
  for (const auto& p : *platforms) {
    if (!p.is_string() || p.get_ref<const std::string&>().size() > kMaxSharedText) return std::nullopt;
    image.platforms.push_back(p.get<std::string>());
  }
  out.good = std::move(image);
  return out;
}

}  // namespace imagegate::verifier
