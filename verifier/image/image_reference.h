// ImageReference: a container image reference as the distribution reference grammar defines it
// (https://github.com/distribution/reference/blob/main/reference.go), with Docker's normalisation
// (https://github.com/distribution/reference/blob/main/normalize.go).
//
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [domain '/'] remote-name
//   domain    := host [':' port-number]     (host: DNS labels, IPv4, or [IPv6])
//   tag       := [\w][\w.-]{0,127}
//   digest    := algorithm ":" encoded      (sha256: 64 lowercase hex; sha384/sha512 and others are
//                                            reported unsupported, as in the upstream conformance table)
//
// Plain value type; thread-compatible. Parsing never throws and never uses std::regex: the grammar is
// matched by hand in linear time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.h"

namespace imagegate::verifier {

// The error classes of distribution/reference, so callers and tests can tell them apart.
enum class ReferenceError {
  invalid_format,       // ErrReferenceInvalidFormat: "invalid reference format"
  tag_invalid,          // ErrTagInvalidFormat: "invalid tag format"
  digest_invalid,       // ErrDigestInvalidFormat: "invalid digest format"
  digest_invalid_length,// ErrDigestInvalidLength: "invalid checksum digest length"
  digest_unsupported,   // ErrDigestUnsupported: "unsupported digest algorithm"
  name_contains_uppercase,  // ErrNameContainsUppercase: "repository name must be lowercase"
  name_empty,           // ErrNameEmpty: "repository name must have at least one component"
  name_too_long,        // ErrNameTooLong: "repository name must not be more than 255 characters"
  name_not_canonical,   // ErrNameNotCanonical: "repository name must be canonical"
};

// The upstream identifier ("ErrReferenceInvalidFormat") and message ("invalid reference format").
std::string_view reference_error_name(ReferenceError e) noexcept;
std::string_view reference_error_message(ReferenceError e) noexcept;

// Error raised by the parsers: the class plus an imagegate::Error (code invalid_argument) whose message
// names the input, e.g. `invalid image reference "Foo:bar": repository name must be lowercase`.
struct ReferenceParseError {
  ReferenceError kind;
  Error error;
};

template <class T>
using ReferenceResult = std::variant<T, ReferenceParseError>;

// Upstream (reference.go) bounds the remote-name path, not domain + path: `example.com/` + 255 chars is valid.
inline constexpr std::size_t kMaxNameLength = 255;      // path (remote name)
inline constexpr std::size_t kMaxReferenceLength = 4096; // bound on any input we look at

class ImageReference {
 public:
  // reference.Parse: no normalisation. `test_com` parses with domain "" and path "test_com".
  static ReferenceResult<ImageReference> parse(std::string_view input);
  // reference.ParseNormalizedNamed: `nginx` -> docker.io/library/nginx, `index.docker.io/x` -> docker.io/x.
  // Rejects 64-hex inputs that look like image IDs (as upstream does) and uppercase remote names.
  static ReferenceResult<ImageReference> parse_normalized(std::string_view input);
  // reference.ParseNamed: only accepts names that are already canonical (else name_not_canonical).
  static ReferenceResult<ImageReference> parse_named(std::string_view input);
  // reference.ParseAnyReference: a 64-hex identifier or a valid "sha256:<hex>" becomes a digest-only
  // reference (empty domain and path, string() is the digest); anything else goes to parse_normalized.
  static ReferenceResult<ImageReference> parse_any(std::string_view input);
  // reference.ParseDockerRef: parse_normalized, then `:latest` when no tag/digest, tag dropped with a digest.
  static ReferenceResult<ImageReference> parse_docker_ref(std::string_view input);
  // What Kubernetes does with a container's `image`: parse_normalized, and the convenience wrapper the
  // rest of imagegate uses. Error carries the upstream message. Stricter than parse_normalized in one case:
  // a reference left without a domain ("a_b.c/d": the first element is neither a host nor a namespace) is
  // rejected, since the runtime would pull it from a host policy never saw. The domain is the canonical
  // registry host (canonical_registry_host): `LOCALHOST:5000/app` -> `localhost:5000/app`,
  // `registry-1.docker.io/library/nginx` -> `docker.io/library/nginx`; a host that has no canonical form is
  // an error, and so is a host that is one only for its capitals (`Foo/app`: lowercased it would be Docker
  // Hub's `foo/app`), so that string() always names the registry the runtime pulls from. Every caller that evaluates, caches, credentials or logs an image uses this.
  static Result<ImageReference> from_container_image(std::string_view input);

  const std::string& domain() const noexcept { return domain_; }  // "" when parse() found none
  const std::string& path() const noexcept { return path_; }      // "library/nginx"
  const std::string& tag() const noexcept { return tag_; }        // "" when absent
  const std::string& digest() const noexcept { return digest_; }  // "sha256:<hex>" or ""
  bool has_tag() const noexcept { return !tag_.empty(); }
  bool has_digest() const noexcept { return !digest_.empty(); }
  bool is_digest_only() const noexcept { return path_.empty() && !digest_.empty(); }  // from parse_any

  std::string name() const;            // domain "/" path (or just path without a domain)
  std::string string() const;          // name [":" tag] ["@" digest]
  std::string familiar_name() const;   // docker.io/library/nginx -> nginx; docker.io/x/y -> x/y
  std::string familiar_string() const;
  // The tag the runtime pulls: the tag, or "latest" when neither tag nor digest is given.
  std::string effective_tag() const;
  // reference.ParseDockerRef semantics: `:latest` added when no tag/digest, tag dropped with a digest.
  std::string docker_ref() const;

  // Mutators for WithTag / WithDigest; they validate the component.
  ReferenceResult<ImageReference> with_tag(std::string_view tag) const;
  ReferenceResult<ImageReference> with_digest(std::string_view digest) const;
  // WithName: a name (no tag or digest) without normalisation.
  static ReferenceResult<ImageReference> with_name(std::string_view name);

  friend bool operator==(const ImageReference&, const ImageReference&) = default;

 private:
  std::string domain_;
  std::string path_;
  std::string tag_;
  std::string digest_;
};

// The one canonical spelling of a registry host ("domain" of a reference), so that every spelling the
// runtime treats as the same registry is compared, cached, credentialed and logged as one:
//   - ASCII lowercase (DNS names and IPv6 hex are case-insensitive): `LOCALHOST:5000` -> `localhost:5000`;
//   - the port as a number without leading zeros, and none for HTTPS's default: `host:443`, `host:0443`
//     -> `host`; `host:05000` -> `host:5000`; port 0 or above 65535 is an error;
//   - Docker Hub's other names, `index.docker.io`, `registry-1.docker.io` and `registry.hub.docker.com`
//     (without a port, or :443) -> `docker.io` (registry_api_host maps it back for the connection);
//   - an IPv6 literal in RFC 5952 form: `[0:0::01]:5000` -> `[::1]:5000`; one that does not parse is an error;
//   - a host the resolver reads as an IPv4 number (inet_aton: `127.1`, `2130706433`, `0177.0.0.1`,
//     `0x7f.0.0.1` are all 127.0.0.1) must be written in dotted-quad form (`127.0.0.1`), else it is an error.
// A trailing dot (`localhost.:5000`) is not in the reference grammar, so it never gets here; an input that is
// not a host[:port] of the grammar is an error (invalid_argument naming it).
Result<std::string> canonical_registry_host(std::string_view domain);

// Validates a digest string ("sha256:<64 hex>"). Errors: digest_invalid, digest_invalid_length,
// digest_unsupported.
std::optional<ReferenceError> validate_digest(std::string_view digest);

// Go's path.Match: `*` (any run without '/'), `?` (one non-'/' rune), `[...]`/`[^...]` classes with ranges,
// `\\` escapes; the whole name must match. nullopt when the pattern is malformed (or longer than
// kMaxReferenceLength). Worst case O(|pattern| * |name|), no regex.
std::optional<bool> path_match(std::string_view pattern, std::string_view name);

// reference.FamiliarMatch: path_match against familiar_string(), then against familiar_name(). A malformed
// pattern matches nothing.
bool familiar_match(std::string_view pattern, const ImageReference& ref);

}  // namespace imagegate::verifier
