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

#include <arpa/inet.h>

#include <array>
#include <cstdint>

#include "common/text.h"

namespace imagegate::verifier {
namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
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

// RFC 5952 text of an IPv6 address: lowercase hex groups without leading zeros, the longest run (the first
// of equal runs) of two or more zero groups as "::". Never dotted (IPv4-mapped stays hex), so the result is
// still in the reference grammar. nullopt when inet_pton rejects the text.
std::optional<std::string> canonical_ipv6(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string input(text);
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(AF_INET6, input.c_str(), bytes.data()) != 1) return std::nullopt;
  std::array<unsigned, 8> groups{};
  for (std::size_t i = 0; i < groups.size(); ++i) groups[i] = (unsigned{bytes[2 * i]} << 8) | bytes[2 * i + 1];
  std::size_t best_start = groups.size();
  std::size_t best_len = 1;  // a single zero group is not compressed
  for (std::size_t i = 0; i < groups.size();) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < groups.size() && groups[j] == 0) ++j;
    if (j - i > best_len) best_start = i, best_len = j - i;
    i = j;
  }
  std::string out;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned nibble = (groups[i] >> shift) & 0xF;
      if (nibble != 0 || started || shift == 0) {
        out += kHex[nibble];
        started = true;
      }
    }
  }
  return out;
}

Error bad_registry_host(std::string_view domain, std::string_view why) {
  return invalid_argument("invalid registry host " + quote(domain) + ": " + std::string(why));
}

}  // namespace

Result<std::string> canonical_registry_host(std::string_view domain) {
  if (domain.size() > kMaxReferenceLength || !match_domain_and_port(domain)) {
    return bad_registry_host(domain, "not a host[:port]");
  }
  const std::string lower = ascii_lower(domain);
  std::string_view host = lower;
  std::string_view port;
  // The grammar matched: an IPv6 host is bracketed, and any other ':' starts the port.
  const std::size_t port_colon = lower.front() == '[' ? lower.find(':', lower.find(']')) : lower.find(':');
  if (port_colon != std::string::npos) {
    host = std::string_view(lower).substr(0, port_colon);
    port = std::string_view(lower).substr(port_colon + 1);
  }
  std::string out;
  if (host.front() == '[') {
    const auto v6 = canonical_ipv6(host.substr(1, host.size() - 2));
    if (!v6) return bad_registry_host(domain, "not an IPv6 address");
    out = "[" + *v6 + "]";
  } else {
    out = std::string(host);
    const std::string host_text(host);
    in_addr v4{};
    if (inet_aton(host_text.c_str(), &v4) != 0) {
      std::array<char, INET_ADDRSTRLEN> dotted{};
      inet_ntop(AF_INET, &v4, dotted.data(), dotted.size());
      if (host_text != dotted.data()) {
        return bad_registry_host(domain, "an IPv4 address must be written as " + std::string(dotted.data()));
      }
    }
  }
  // Ports as numbers: Go's dialer (and so the runtime) reads "0443" as 443.
  while (port.size() > 1 && port.front() == '0') port.remove_prefix(1);
  if (!port.empty()) {
    if (port.size() > 5 || port == "0" || std::stoul(std::string(port)) > 65535) {
      return bad_registry_host(domain, "port out of range");
    }
    if (port != "443") out += ":" + std::string(port);
  }
  if (out == kLegacyDefaultDomain || out == "registry-1.docker.io" || out == "registry.hub.docker.com") {
    out = kDefaultDomain;
  }
  return out;
}

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
