// Go's path.Match and distribution/reference's FamiliarMatch (verifier/image/image_reference.h): the glob
// matching the policy's image patterns use, rune for rune as Go does.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "verifier/image/image_reference.h"

namespace imagegate::verifier {

namespace {

// ---- Go's path.Match, for FamiliarMatch ----
// https://pkg.go.dev/path#Match: '*' matches any run of non-'/' characters, '?' one non-'/' character,
// '[...]' a class (with '^' negation and lo-hi ranges), '\\' escapes. Classes and '?' work on UTF-8 runes.
// Go checks the whole pattern for syntax errors even when the match fails early, and so do we, so that a
// malformed pattern never matches anything.

constexpr char32_t kRuneError = 0xFFFD;

// Decodes one UTF-8 rune as Go's utf8.DecodeRuneInString does (invalid -> U+FFFD, width 1).
std::pair<char32_t, std::size_t> decode_rune(std::string_view s) {
  if (s.empty()) return {kRuneError, 0};
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return {b0, 1};
  std::size_t len = 0;
  char32_t r = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, r = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, r = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, r = b0 & 0x07, min = 0x10000;
  } else {
    return {kRuneError, 1};
  }
  if (s.size() < len) return {kRuneError, 1};
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return {kRuneError, 1};
    r = (r << 6) | (b & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return {kRuneError, 1};
  return {r, len};
}

// Splits off the leading stars and the literal chunk up to the next star outside a class.
struct Chunk {
  bool star = false;
  std::string_view chunk;
};
Chunk scan_chunk(std::string_view& pattern) {
  Chunk out;
  while (!pattern.empty() && pattern.front() == '*') {
    pattern.remove_prefix(1);
    out.star = true;
  }
  bool in_range = false;
  std::size_t i = 0;
  for (; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < pattern.size()) ++i;
    } else if (c == '[') {
      in_range = true;
    } else if (c == ']') {
      in_range = false;
    } else if (c == '*' && !in_range) {
      break;
    }
  }
  out.chunk = pattern.substr(0, i);
  pattern.remove_prefix(i);
  return out;
}

// One class bound: a rune, possibly escaped. nullopt = malformed.
std::optional<char32_t> class_char(std::string_view& chunk) {
  if (chunk.empty() || chunk.front() == '-' || chunk.front() == ']') return std::nullopt;
  if (chunk.front() == '\\') {
    chunk.remove_prefix(1);
    if (chunk.empty()) return std::nullopt;
  }
  const auto [r, n] = decode_rune(chunk);
  if (r == kRuneError && n == 1) return std::nullopt;
  chunk.remove_prefix(n);
  if (chunk.empty()) return std::nullopt;  // a class must be closed
  return r;
}

enum class ChunkMatch { matched, failed, bad_pattern };

// Matches `chunk` (no '*') against a prefix of `s`; on success `rest` is what is left of `s`.
ChunkMatch match_chunk(std::string_view chunk, std::string_view s, std::string_view& rest) {
  bool failed = false;  // keep scanning the chunk after a mismatch, to report malformed patterns
  while (!chunk.empty()) {
    if (!failed && s.empty()) failed = true;
    const char c = chunk.front();
    if (c == '[') {
      char32_t r = 0;
      if (!failed) {
        const auto [rune, n] = decode_rune(s);
        r = rune;
        s.remove_prefix(n);
      }
      chunk.remove_prefix(1);
      bool negated = false;
      if (!chunk.empty() && chunk.front() == '^') {
        negated = true;
        chunk.remove_prefix(1);
      }
      bool match = false;
      std::size_t ranges = 0;
      while (true) {
        if (!chunk.empty() && chunk.front() == ']' && ranges > 0) {
          chunk.remove_prefix(1);
          break;
        }
        const auto lo = class_char(chunk);
        if (!lo) return ChunkMatch::bad_pattern;
        char32_t hi = *lo;
        if (chunk.front() == '-') {
          chunk.remove_prefix(1);
          const auto h = class_char(chunk);
          if (!h) return ChunkMatch::bad_pattern;
          hi = *h;
        }
        if (*lo <= r && r <= hi) match = true;
        ++ranges;
      }
      if (match == negated) failed = true;
    } else if (c == '?') {
      if (!failed) {
        if (s.front() == '/') failed = true;
        s.remove_prefix(decode_rune(s).second);
      }
      chunk.remove_prefix(1);
    } else {
      if (c == '\\') {
        chunk.remove_prefix(1);
        if (chunk.empty()) return ChunkMatch::bad_pattern;
      }
      if (!failed) {
        if (chunk.front() != s.front()) failed = true;
        s.remove_prefix(1);
      }
      chunk.remove_prefix(1);
    }
  }
  if (failed) return ChunkMatch::failed;
  rest = s;
  return ChunkMatch::matched;
}

}  // namespace

std::optional<bool> path_match(std::string_view pattern, std::string_view name) {
  if (pattern.size() > kMaxReferenceLength || name.size() > kMaxReferenceLength) return std::nullopt;
  while (!pattern.empty()) {
    const Chunk chunk = scan_chunk(pattern);
    if (chunk.star && chunk.chunk.empty()) {
      return name.find('/') == std::string_view::npos;  // a trailing star takes the rest, minus '/'
    }
    std::string_view rest;
    ChunkMatch m = match_chunk(chunk.chunk, name, rest);
    // The last chunk must consume the whole name; an inner one may leave the rest for later chunks.
    if (m == ChunkMatch::matched && (rest.empty() || !pattern.empty())) {
      name = rest;
      continue;
    }
    if (m == ChunkMatch::bad_pattern) return std::nullopt;
    bool advanced = false;
    if (chunk.star) {
      // The star swallows 1..k more characters, never a '/'. O(|name| * |chunk|) at worst.
      for (std::size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        m = match_chunk(chunk.chunk, name.substr(i + 1), rest);
        if (m == ChunkMatch::matched) {
          if (pattern.empty() && !rest.empty()) continue;
          name = rest;
          advanced = true;
          break;
        }
        if (m == ChunkMatch::bad_pattern) return std::nullopt;
      }
    }
    if (advanced) continue;
    // No match: still report a malformed remainder of the pattern.
    while (!pattern.empty()) {
      const Chunk tail = scan_chunk(pattern);
      std::string_view ignored;
      if (match_chunk(tail.chunk, {}, ignored) == ChunkMatch::bad_pattern) return std::nullopt;
    }
    return false;
  }
  return name.empty();
}

bool familiar_match(std::string_view pattern, const ImageReference& ref) {
  const auto by_string = path_match(pattern, ref.familiar_string());
  if (!by_string) return false;
  if (*by_string) return true;
  if (ref.is_digest_only()) return false;
  return path_match(pattern, ref.familiar_name()).value_or(false);
}

}  // namespace imagegate::verifier
