// Glob patterns of a policy, compiled once to RE2 (linear-time matching, no backtracking).
//
//   image      patterns match a normalised image name (domain/path, no tag or digest). `*` matches within
//              one path segment (never `/`), `**` is a whole segment matching any number of segments.
//              Patterns are normalised like references: `nginx` -> `docker.io/library/nginx`,
//              `myorg/app` -> `docker.io/myorg/app`, `index.docker.io/x` -> `docker.io/x`; the registry
//              segment is put in canonical form (canonical_registry_pattern below), like references.
//   namespace  patterns match a Kubernetes namespace name; `*` only.
//   registry   patterns match an image's domain (host[:port]), both in canonical form (lowercase, no :443,
//              Docker Hub as docker.io). `*` matches within one DNS label (no `.` or `:`), `**` anything
//              within the domain.
//
// Internal to policy/. A Glob is an immutable value (its RE2 is shared); thread-safe to match from any
// number of threads. Glob::matches (one RE2 per pattern) is the reference semantics: policy/glob_set.h
// matches many globs in one automaton and is tested against it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace re2 {
class RE2;
}

namespace imagegate::policy {

enum class GlobKind { image, namespace_name, registry };

inline constexpr std::size_t kMaxGlobLength = 512;

class Glob {
 public:
  // Validates, normalises and compiles. Errors (invalid_argument) say what is wrong with the pattern,
  // e.g. `"**" must be a whole path segment`.
  static Result<Glob> compile(std::string_view pattern, GlobKind kind);

  bool matches(std::string_view subject) const;
  // The compiled expression matches() runs anchored at both ends (FullMatch): GlobSet adds its pattern()
  // to a set compiled with the same options().
  const re2::RE2& regex() const noexcept { return *re_; }

  const std::string& pattern() const noexcept { return pattern_; }        // as written
  const std::string& normalized() const noexcept { return normalized_; }  // what is matched
  GlobKind kind() const noexcept { return kind_; }
  // For specificity: literal (non-wildcard) characters of the normalised pattern, and wildcard counts.
  int literal_chars() const noexcept { return literal_chars_; }
  int double_stars() const noexcept { return double_stars_; }
  int single_stars() const noexcept { return single_stars_; }

 private:
  std::string pattern_;
  std::string normalized_;
  GlobKind kind_ = GlobKind::image;
  std::shared_ptr<const re2::RE2> re_;
  int literal_chars_ = 0;
  int double_stars_ = 0;
  int single_stars_ = 0;
};

// `pattern` as an RE2 expression: `**` becomes `double_star`, `*` becomes `star`, everything else literal
// (quoted). Registry patterns and attestation conditions' value globs (policy/condition.h) are built with it.
std::string wildcard_regex(std::string_view pattern, std::string_view star, std::string_view double_star);

// The normalisation image patterns get (see above); the pattern is not validated beyond its registry host,
// which is put in canonical form (an error when a literal host has none, e.g. `localhost:99999`).
Result<std::string> normalize_image_pattern(std::string_view pattern);

// A registry host pattern in the canonical form verifier::canonical_registry_host gives references:
// `LOCALHOST:5000` -> `localhost:5000`, `host:443` -> `host`, `registry-1.docker.io` -> `docker.io`,
// `*.EXAMPLE.com:0443` -> `*.example.com`. Literal hosts that have no canonical form are errors.
Result<std::string> canonical_registry_pattern(std::string_view pattern);

}  // namespace imagegate::policy
