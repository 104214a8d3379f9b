// Image reference parsing: a hand-written, linear-time port of the grammar in
// https://github.com/distribution/reference (regexp.go, reference.go, normalize.go, helpers.go) and of the
// digest validation in https://github.com/opencontainers/go-digest (digest.go, algorithm.go).
//
// Why no regex: references come straight from admission requests, so the parser must be bounded and
// predictable. Every production of the upstream grammar is deterministic once the input is split at the
// right separators, which lets us match each part with a single left-to-right scan:
//   - '@' cannot occur in a name or a tag, so the first '@' starts the digest;
//   - a ':' inside the name (a port, or an IPv6 host) is always followed by a '/' later in the name, so the
//     last ':' before the digest starts the tag exactly when no '/' follows it;
//   - a domain cannot contain '/', so the domain (if any) is everything before the first '/'. Upstream's
//     regexp is leftmost-first and its domain group is optional-greedy: the split is taken whenever the
//     prefix is a valid host[:port] and the rest is a valid remote name, else the whole name is the path.
#include "verifier/image/image_reference.h"

#include <array>
#include <cstdint>

#include "common/text.h"
#include "verifier/image/reference_grammar.h"

namespace imagegate::verifier {

using reference_grammar::kDefaultDomain;
using reference_grammar::kLegacyDefaultDomain;

namespace {

constexpr std::string_view kOfficialRepoPrefix = "library/";
constexpr std::string_view kLocalhost = "localhost";
constexpr std::string_view kDefaultTag = "latest";
constexpr std::size_t kMaxTagLength = 128;
constexpr std::size_t kMinDigestHex = 32;       // digestPat: [[:xdigit:]]{32,}
constexpr std::size_t kIdentifierLength = 64;   // identifier: [a-f0-9]{64}
constexpr std::size_t kMaxQuotedInput = 256;    // how much of a bad input an error message repeats

// The algorithms we know the encoded length of. Only sha256 is "available": the conformance table
// (distribution/reference's test binary) registers no sha384/sha512 implementation, so go-digest reports
// those as unsupported, and we match the table. Flip `available` to accept them.
struct DigestAlgorithm {
  std::string_view name;
  std::size_t hex_length;
  bool available;
};
constexpr std::array<DigestAlgorithm, 3> kDigestAlgorithms{{
    {"sha256", 64, true},
    {"sha384", 96, false},
    {"sha512", 128, false},
}};

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }  // Go's \w (ASCII only)
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

bool has_upper(std::string_view s) {
  for (char c : s) {
    if (is_upper(c)) return true;
  }
  return false;
}


// path-component := [a-z0-9]+ ( separator [a-z0-9]+ )*,  separator := [._] | __ | -+
bool match_path_component(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  auto alnum_run = [&] {
    const std::size_t start = i;
    while (i < n && is_lower_alnum(s[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < n) {
    // A separator must be followed by an alphanumeric, so "__" is taken whole when present.
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < n && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < n && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnum_run()) return false;
  }
  return true;
}

// remote-name := path-component ( '/' path-component )*
bool match_remote_name(std::string_view s) {
  while (true) {
    const std::size_t slash = s.find('/');
    if (!match_path_component(s.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    s.remove_prefix(slash + 1);
  }
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool match_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

// domain-name := domain-component ( '.' domain-component )*   (IPv4 addresses match this too)
bool match_domain_name(std::string_view s) {
  while (true) {
    const std::size_t dot = s.find('.');
    if (!match_domain_component(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

bool match_port(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

}  // namespace

namespace reference_grammar {

// domain := host [ ':' port ];  host := domain-name | '[' [a-fA-F0-9:]+ ']'
// Upstream's IPv6 form is deliberately loose (no zone identifiers, no embedded IPv4); we match it as is.
bool match_domain_and_port(std::string_view s) {
  if (!s.empty() && s.front() == '[') {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : s.substr(1, close - 1)) {
      if (!is_hex(c) && c != ':') return false;
    }
    const std::string_view rest = s.substr(close + 1);
    return rest.empty() || (rest.front() == ':' && match_port(rest.substr(1)));
  }
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) return match_domain_name(s);
  return match_domain_name(s.substr(0, colon)) && match_port(s.substr(colon + 1));
}

}  // namespace reference_grammar

using reference_grammar::match_domain_and_port;

namespace {

// tag := [\w][\w.-]{0,127}
bool match_tag(std::string_view s) {
  if (s.empty() || s.size() > kMaxTagLength || !is_word(s.front())) return false;
  for (char c : s) {
    if (!is_word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

// digestPat := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )* ':' [[:xdigit:]]{32,}
bool match_digest_pattern(std::string_view s) {
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view algorithm = s.substr(0, colon);
  const std::string_view encoded = s.substr(colon + 1);
  bool component_start = true;
  for (char c : algorithm) {
    if (component_start) {
      if (!is_alpha(c)) return false;
      component_start = false;
    } else if (c == '-' || c == '_' || c == '+' || c == '.') {
      component_start = true;
    } else if (!is_alnum(c)) {
      return false;
    }
  }
  if (component_start) return false;  // empty algorithm or trailing separator
  if (encoded.size() < kMinDigestHex) return false;
  for (char c : encoded) {
    if (!is_hex(c)) return false;
  }
  return true;
}

// go-digest's DigestRegexp, anchored: [a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+
// Only used to tell "unsupported algorithm" from "malformed" for algorithms we do not accept.
bool match_go_digest_regexp(std::string_view s) {
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  bool component_start = true;
  for (char c : s.substr(0, colon)) {
    if (is_lower_alnum(c)) {
      component_start = false;
    } else if (!component_start && (c == '.' || c == '+' || c == '_' || c == '-')) {
      component_start = true;
    } else {
      return false;
    }
  }
  if (component_start) return false;
  const std::string_view encoded = s.substr(colon + 1);
  if (encoded.empty()) return false;
  for (char c : encoded) {
    if (!is_alnum(c) && c != '=' && c != '_' && c != '-') return false;
  }
  return true;
}

// identifier := [a-f0-9]{64}
bool is_identifier(std::string_view s) {
  if (s.size() != kIdentifierLength) return false;
  for (char c : s) {
    if (!is_lower_hex(c)) return false;
  }
  return true;
}

struct NameParts {
  std::string_view domain;
  std::string_view path;
};

// anchoredNameRegexp: ^(?:(domain)/)?(remote-name)$
std::optional<NameParts> split_name(std::string_view name) {
  const std::size_t slash = name.find('/');
  if (slash != std::string_view::npos && match_domain_and_port(name.substr(0, slash)) &&
      match_remote_name(name.substr(slash + 1))) {
    return NameParts{name.substr(0, slash), name.substr(slash + 1)};
  }
  if (match_remote_name(name)) return NameParts{{}, name};
  return std::nullopt;
}

struct ReferenceParts {
  NameParts name;
  std::string_view tag;
  std::string_view digest;
};

// referencePat: ^(name)(?::(tag))?(?:@(digestPat))?$
std::optional<ReferenceParts> match_reference(std::string_view s) {
  ReferenceParts parts;
  const std::size_t at = s.find('@');
  if (at != std::string_view::npos) {
    parts.digest = s.substr(at + 1);
    if (!match_digest_pattern(parts.digest)) return std::nullopt;
    s = s.substr(0, at);
  }
  const std::size_t colon = s.rfind(':');
  if (colon != std::string_view::npos && s.find('/', colon) == std::string_view::npos) {
    parts.tag = s.substr(colon + 1);
    if (!match_tag(parts.tag)) return std::nullopt;
    s = s.substr(0, colon);
  }
  const auto name = split_name(s);
  if (!name) return std::nullopt;
  parts.name = *name;
  return parts;
}

}  // namespace

namespace reference_grammar {

// Repeats (part of) untrusted input in a message: printable ASCII verbatim, the rest as \xNN, bounded.
std::string quote(std::string_view input) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  const std::size_t shown = std::min(input.size(), kMaxQuotedInput);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(input[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  out += '"';
  if (shown < input.size()) out += "...";
  return out;
}

}  // namespace reference_grammar

using reference_grammar::quote;

namespace {

ReferenceParseError make_error(ReferenceError kind, std::string_view input, std::string_view detail = {}) {
  std::string message = "invalid image reference " + quote(input) + ": ";
  message += reference_error_message(kind);
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  return ReferenceParseError{kind, invalid_argument(std::move(message))};
}

bool too_long(std::string_view input) { return input.size() > kMaxReferenceLength; }

// splitDockerDomain: decide whether the first element is a registry host, apply docker.io defaults.
std::pair<std::string, std::string> split_docker_domain(std::string_view name) {
  std::string domain;
  std::string remainder;
  const std::size_t slash = name.find('/');
  if (slash == std::string_view::npos) {
    // A single element ("ubuntu", "ubuntu:latest") is always an official Docker Hub image.
    return {std::string(kDefaultDomain), std::string(kOfficialRepoPrefix) + std::string(name)};
  }
  const std::string_view first = name.substr(0, slash);
  const std::string_view rest = name.substr(slash + 1);
  if (first == kLocalhost || first.find_first_of(".:") != std::string_view::npos || has_upper(first)) {
    // localhost, something with a dot or port, or an uppercase first element (namespaces are lowercase).
    domain = first == kLegacyDefaultDomain ? std::string(kDefaultDomain) : std::string(first);
    remainder = rest;
  } else {
    domain = kDefaultDomain;
    remainder = name;
  }
  if (domain == kDefaultDomain && remainder.find('/') == std::string::npos) {
    remainder = std::string(kOfficialRepoPrefix) + remainder;
  }
  return {std::move(domain), std::move(remainder)};
}

}  // namespace

std::string_view reference_error_name(ReferenceError e) noexcept {
  switch (e) {
    case ReferenceError::invalid_format: return "ErrReferenceInvalidFormat";
    case ReferenceError::tag_invalid: return "ErrTagInvalidFormat";
    case ReferenceError::digest_invalid: return "ErrDigestInvalidFormat";
    case ReferenceError::digest_invalid_length: return "ErrDigestInvalidLength";
    case ReferenceError::digest_unsupported: return "ErrDigestUnsupported";
    case ReferenceError::name_contains_uppercase: return "ErrNameContainsUppercase";
    case ReferenceError::name_empty: return "ErrNameEmpty";
    case ReferenceError::name_too_long: return "ErrNameTooLong";
    case ReferenceError::name_not_canonical: return "ErrNameNotCanonical";
  }
  return "ErrUnknown";
}

std::string_view reference_error_message(ReferenceError e) noexcept {
  switch (e) {
    case ReferenceError::invalid_format: return "invalid reference format";
    case ReferenceError::tag_invalid: return "invalid tag format";
    case ReferenceError::digest_invalid: return "invalid digest format";
    case ReferenceError::digest_invalid_length: return "invalid checksum digest length";
    case ReferenceError::digest_unsupported: return "unsupported digest algorithm";
    case ReferenceError::name_contains_uppercase: return "repository name must be lowercase";
    case ReferenceError::name_empty: return "repository name must have at least one component";
    case ReferenceError::name_too_long: return "repository name must not be more than 255 characters";
    case ReferenceError::name_not_canonical: return "repository name must be canonical";
  }
  return "unknown reference error";
}

// go-digest Digest.Validate: format first, then whether the algorithm is available, then its length,
// then the encoding (sha256 digests are lowercase hex only).
std::optional<ReferenceError> validate_digest(std::string_view digest) {
  const std::size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == digest.size()) {
    return ReferenceError::digest_invalid;
  }
  const std::string_view algorithm = digest.substr(0, colon);
  const std::string_view encoded = digest.substr(colon + 1);
  const DigestAlgorithm* known = nullptr;
  for (const auto& candidate : kDigestAlgorithms) {
    if (candidate.name == algorithm) known = &candidate;
  }
  if (known == nullptr || !known->available) {
    return match_go_digest_regexp(digest) ? ReferenceError::digest_unsupported : ReferenceError::digest_invalid;
  }
  if (encoded.size() != known->hex_length) return ReferenceError::digest_invalid_length;
  for (char c : encoded) {
    if (!is_lower_hex(c)) return ReferenceError::digest_invalid;
  }
  return std::nullopt;
}

ReferenceResult<ImageReference> ImageReference::parse(std::string_view input) {
  if (input.empty()) return make_error(ReferenceError::name_empty, input);
  if (too_long(input)) return make_error(ReferenceError::invalid_format, input, "reference is too long");
  const auto parts = match_reference(input);
  if (!parts) {
    // Upstream's hint: if lowercasing makes it parse, the only problem is an uppercase repository name.
    const std::string lower = ascii_lower(input);
    if (lower != input && match_reference(lower)) {
      return make_error(ReferenceError::name_contains_uppercase, input);
    }
    return make_error(ReferenceError::invalid_format, input);
  }
  // Upstream bounds the path only (reference.go: len(repo.path) > RepositoryNameTotalLengthMax).
  if (parts->name.path.size() > kMaxNameLength) return make_error(ReferenceError::name_too_long, input);
  if (!parts->digest.empty()) {
    if (const auto bad = validate_digest(parts->digest)) return make_error(*bad, input);
  }
  ImageReference ref;
  ref.domain_ = parts->name.domain;
  ref.path_ = parts->name.path;
  ref.tag_ = parts->tag;
  ref.digest_ = parts->digest;
  return ref;
}

ReferenceResult<ImageReference> ImageReference::parse_normalized(std::string_view input) {
  if (too_long(input)) return make_error(ReferenceError::invalid_format, input, "reference is too long");
  if (is_identifier(input)) {
    return make_error(ReferenceError::invalid_format, input, "cannot specify 64-byte hexadecimal strings");
  }
  auto [domain, remainder] = split_docker_domain(input);
  const std::string_view remote = std::string_view(remainder).substr(0, remainder.find(':'));
  if (has_upper(remote)) return make_error(ReferenceError::name_contains_uppercase, input);
  auto parsed = parse(domain + "/" + remainder);
  if (auto* err = std::get_if<ReferenceParseError>(&parsed)) {
    // Name the caller's input, not our normalised rewrite of it.
    return make_error(err->kind, input);
  }
  return parsed;
}

ReferenceResult<ImageReference> ImageReference::parse_named(std::string_view input) {
  auto parsed = parse_normalized(input);
  if (const auto* ref = std::get_if<ImageReference>(&parsed)) {
    if (ref->string() != input) return make_error(ReferenceError::name_not_canonical, input);
  }
  return parsed;
}

ReferenceResult<ImageReference> ImageReference::parse_any(std::string_view input) {
  if (is_identifier(input)) {
    ImageReference ref;
    ref.digest_ = "sha256:" + std::string(input);
    return ref;
  }
  if (!too_long(input) && !validate_digest(input)) {
    ImageReference ref;
    ref.digest_ = input;
    return ref;
  }
  return parse_normalized(input);
}

ReferenceResult<ImageReference> ImageReference::parse_docker_ref(std::string_view input) {
  auto parsed = parse_normalized(input);
  if (auto* ref = std::get_if<ImageReference>(&parsed)) {
    if (ref->has_digest()) {
      ref->tag_.clear();
    } else if (!ref->has_tag()) {
      ref->tag_ = kDefaultTag;
    }
  }
  return parsed;
}

// Upstream's ParseNormalizedNamed returns an empty domain when the first element looks like a host (it has
// a '.' or ':') but is not a valid one while still being a valid path ("a_b.c/d"). A runtime would dial
// that first element as the registry, while policy would see no registry at all: refuse rather than guess.
Result<ImageReference> ImageReference::from_container_image(std::string_view input) {
  auto parsed = parse_normalized(input);
  if (auto* err = std::get_if<ReferenceParseError>(&parsed)) return std::move(err->error);
  auto ref = std::get<ImageReference>(std::move(parsed));
  if (ref.domain_.empty()) {
    return make_error(ReferenceError::invalid_format, input, "first element is not a valid registry host").error;
  }
  auto domain = canonical_registry_host(ref.domain_);
  if (!domain) return make_error(ReferenceError::invalid_format, input, domain.error().message).error;
  ref.domain_ = std::move(domain).value();
  // "Foo/app": upstream takes "Foo" for a host only because of its capitals; lowercased, "foo/app" would name
  // Docker Hub's foo/app. No spelling of that host survives a round trip (a pinned reference, a log line),
  // so refuse it rather than print a name that means another registry.
  if (ref.domain_.find_first_of(".:[") == std::string::npos && ref.domain_ != kLocalhost) {
    return make_error(ReferenceError::invalid_format, input,
                      "registry host " + quote(ref.domain_) + " needs a '.' or a port (without capitals it would "
                      "name a Docker Hub repository)")
        .error;
  }
  // Docker Hub official images live under library/, whichever of its names the input used.
  if (ref.domain_ == kDefaultDomain && ref.path_.find('/') == std::string::npos) {
    ref.path_ = std::string(kOfficialRepoPrefix) + ref.path_;
    if (ref.path_.size() > kMaxNameLength) return make_error(ReferenceError::name_too_long, input).error;
  }
  return ref;
}

std::string ImageReference::name() const {
  if (domain_.empty()) return path_;
  return domain_ + "/" + path_;
}

std::string ImageReference::string() const {
  if (path_.empty()) return digest_;  // digest-only reference (parse_any)
  std::string out = name();
  if (!tag_.empty()) out += ":" + tag_;
  if (!digest_.empty()) out += "@" + digest_;
  return out;
}

// familiarizeName: drop docker.io, and library/ when nothing is nested below it.
std::string ImageReference::familiar_name() const {
  if (domain_ != kDefaultDomain) return name();
  std::string_view path = path_;
  if (path.starts_with(kOfficialRepoPrefix) &&
      path.substr(kOfficialRepoPrefix.size()).find('/') == std::string_view::npos) {
    path.remove_prefix(kOfficialRepoPrefix.size());
  }
  return std::string(path);
}

std::string ImageReference::familiar_string() const {
  if (path_.empty()) return digest_;
  std::string out = familiar_name();
  if (!tag_.empty()) out += ":" + tag_;
  if (!digest_.empty()) out += "@" + digest_;
  return out;
}

std::string ImageReference::effective_tag() const {
  if (!tag_.empty()) return tag_;
  return digest_.empty() ? std::string(kDefaultTag) : std::string();
}

std::string ImageReference::docker_ref() const {
  if (path_.empty()) return digest_;
  if (!digest_.empty()) return name() + "@" + digest_;
  return name() + ":" + effective_tag();
}

ReferenceResult<ImageReference> ImageReference::with_tag(std::string_view tag) const {
  if (!match_tag(tag)) return make_error(ReferenceError::tag_invalid, tag);
  if (path_.empty()) return make_error(ReferenceError::invalid_format, string(), "reference has no name");
  ImageReference ref = *this;
  ref.tag_ = tag;
  return ref;
}

// WithDigest checks the digest against the reference grammar only (not its length): upstream lets callers
// build references to digests of algorithms it cannot verify.
ReferenceResult<ImageReference> ImageReference::with_digest(std::string_view digest) const {
  if (digest.size() > kMaxReferenceLength || !match_digest_pattern(digest)) {
    return make_error(ReferenceError::digest_invalid, digest);
  }
  if (path_.empty()) return make_error(ReferenceError::invalid_format, string(), "reference has no name");
  ImageReference ref = *this;
  ref.digest_ = digest;
  return ref;
}

ReferenceResult<ImageReference> ImageReference::with_name(std::string_view name) {
  if (too_long(name)) return make_error(ReferenceError::invalid_format, name, "reference is too long");
  const auto parts = split_name(name);
  if (!parts) return make_error(ReferenceError::invalid_format, name);
  if (parts->path.size() > kMaxNameLength) return make_error(ReferenceError::name_too_long, name);
  ImageReference ref;
  ref.domain_ = parts->domain;
  ref.path_ = parts->path;
  return ref;
}

}  // namespace imagegate::verifier
