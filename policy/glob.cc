#include "policy/glob.h"

#include <re2/re2.h>

#include <algorithm>
#include <vector>

#include "verifier/image/image_reference.h"

namespace imagegate::policy {
namespace {

std::vector<std::string_view> split_segments(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = text.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, slash - start));
    start = slash + 1;
  }
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// A first segment is a registry when it looks like one to the Docker normaliser (a `.` or `:`, `localhost`,
// or an uppercase letter, which a namespace cannot have). A segment that is only a wildcard (`*`, `**`) may
// match any registry, so it is left alone; any other wildcard segment follows the Docker rule (`nginx*` ->
// docker.io/library/nginx*).
bool first_segment_is_domain(std::string_view segment) {
  const bool upper = std::any_of(segment.begin(), segment.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return segment.find_first_of(".:") != std::string_view::npos || segment == "localhost" || upper ||
         segment == "*" || segment == "**";
}

Error bad(std::string_view pattern, std::string_view why) {
  return invalid_argument("bad glob \"" + std::string(pattern) + "\": " + std::string(why));
}

// `*` -> [^/]* (or the given class), everything else literal.
std::string segment_regex(std::string_view segment, std::string_view star) {
  std::string out;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) out += RE2::QuoteMeta(literal);
    literal.clear();
  };
  for (char c : segment) {
    if (c == '*') {
      flush();
      out += star;
    } else {
      literal.push_back(c);
    }
  }
  flush();
  return out;
}

Result<std::string> image_regex(std::string_view pattern, const std::string& normalized) {
  for (char c : normalized) {
    if (c == '@') return bad(pattern, "patterns match image names; remove the digest");
    if (!(is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c == ':' || c == '*' || c == '[' ||
          c == ']')) {
      return bad(pattern, "character '" + std::string(1, c) + "' cannot appear in an image name");
    }
  }
  const std::vector<std::string_view> segments = split_segments(normalized);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string_view seg = segments[i];
    if (seg.empty()) return bad(pattern, "empty path segment (leading, trailing or double '/')");
    if (seg.find("**") != std::string_view::npos && seg != "**") {
      return bad(pattern, "\"**\" must be a whole path segment");
    }
    if (i > 0) {
      if (seg.find(':') != std::string_view::npos) {
        return bad(pattern, "patterns match image names; remove the tag");
      }
      for (char c : seg) {
        if (c >= 'A' && c <= 'Z') return bad(pattern, "repository paths are lowercase");
        if (c == '[' || c == ']') return bad(pattern, "'[' and ']' only appear in an IPv6 registry");
      }
    }
  }
  std::string re;
  bool need_separator = false;
  const std::size_t n = segments.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (segments[i] == "**") {
      if (n == 1) {
        re += ".+";
      } else if (i == 0) {
        re += "(?:.*/)?";  // any leading segments, then the next one
        need_separator = false;
        continue;
      } else if (i + 1 == n) {
        re += "/.+";  // at least one segment below
      } else {
        re += "/(?:.*/)?";  // zero or more segments in between
        need_separator = false;
        continue;
      }
      need_separator = true;
      continue;
    }
    if (need_separator) re += "/";
    re += segment_regex(segments[i], "[^/]*");
    need_separator = true;
  }
  return re;
}

Result<std::string> namespace_regex(std::string_view pattern) {
  if (pattern.size() > 253) return bad(pattern, "longer than a namespace name can be");
  if (pattern.find("**") != std::string_view::npos) return bad(pattern, "namespace patterns use '*' only");
  for (char c : pattern) {
    if (!(is_lower_alnum(c) || c == '-' || c == '*')) {
      return bad(pattern, "namespace names have only lowercase letters, digits and '-'");
    }
  }
  return segment_regex(pattern, "[^/]*");
}

Result<std::string> registry_regex(std::string_view pattern) {
  if (pattern.find("***") != std::string_view::npos) return bad(pattern, "\"***\" is not a wildcard");
  for (char c : pattern) {
    if (c == '/') return bad(pattern, "registry patterns match the registry host[:port] only, without a path");
    if (!(is_alnum(c) || c == '.' || c == '-' || c == ':' || c == '*' || c == '[' || c == ']')) {
      return bad(pattern, "character '" + std::string(1, c) + "' cannot appear in a registry host");
    }
  }
  // `**` anything within the host; `*` one DNS label: `*.example.com` must not match `a.b.example.com`.
  return wildcard_regex(pattern, "[^./:]*", "[^/]*");
}

}  // namespace

std::string wildcard_regex(std::string_view pattern, std::string_view star, std::string_view double_star) {
  std::string re;
  std::string literal;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '*') {
      literal.push_back(pattern[i]);
      continue;
    }
    if (!literal.empty()) re += RE2::QuoteMeta(literal);
    literal.clear();
    if (i + 1 < pattern.size() && pattern[i + 1] == '*') {
      re += double_star;
      ++i;
    } else {
      re += star;
    }
  }
  if (!literal.empty()) re += RE2::QuoteMeta(literal);
  return re;
}

// A literal host goes through verifier::canonical_registry_host, the one place that decides; a host with
// wildcards is lowercased and its literal port (if any) canonicalised by the same function, so `*.EXAMPLE.com:0443`
// matches exactly what `*.example.com` matches.
Result<std::string> canonical_registry_pattern(std::string_view pattern) {
  if (pattern.find('*') == std::string_view::npos) return verifier::canonical_registry_host(pattern);
  std::string out(pattern);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  const std::size_t colon = out.rfind(':');
  if (out.front() == '[' || colon == std::string::npos) return out;
  const std::string port = out.substr(colon + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) return out;
  // "h:<port>" comes back as "h" (the default port) or "h:<port without leading zeros>".
  auto canonical_port = verifier::canonical_registry_host("h:" + port);
  if (!canonical_port) return canonical_port.error();
  out.resize(colon);
  return out + canonical_port->substr(1);
}

Result<std::string> normalize_image_pattern(std::string_view pattern) {
  std::string_view domain;
  std::string_view rest;
  const std::size_t slash = pattern.find('/');
  if (slash != std::string_view::npos && first_segment_is_domain(pattern.substr(0, slash))) {
    domain = pattern.substr(0, slash);
    rest = pattern.substr(slash + 1);
  } else if (slash == std::string_view::npos && (pattern == "*" || pattern == "**")) {
    return std::string(pattern);
  } else {
    domain = "docker.io";
    rest = pattern;
  }
  std::string host(domain);
  if (domain != "*" && domain != "**") {
    auto canonical = canonical_registry_pattern(domain);
    if (!canonical) return canonical.error();
    host = std::move(canonical).value();
    // As for references: a first segment that is a registry only for its capitals ("MyOrg/app") means no
    // host once lowercased (references naming one are refused), and no lowercase repository either.
    if (host.find_first_of(".:[") == std::string::npos && host != "localhost") {
      return invalid_argument("registry \"" + std::string(domain) +
                              "\" needs a '.' or a port, and repository paths are lowercase");
    }
  }
  std::string out = host + '/';
  // Docker Hub official images live under library/: a single path segment gets it, as in references.
  if (host == "docker.io" && rest.find('/') == std::string_view::npos && rest != "**") out += "library/";
  out += rest;
  return out;
}

Result<Glob> Glob::compile(std::string_view pattern, GlobKind kind) {
  if (pattern.empty()) return invalid_argument("bad glob \"\": empty pattern");
  if (pattern.size() > kMaxGlobLength) {
    return bad(pattern.substr(0, 32), "longer than " + std::to_string(kMaxGlobLength) + " characters");
  }
  Glob glob;
  glob.pattern_ = std::string(pattern);
  glob.kind_ = kind;
  Result<std::string> re = invalid_argument("");
  switch (kind) {
    case GlobKind::image: {
      auto normalized = normalize_image_pattern(pattern);
      if (!normalized) return bad(pattern, normalized.error().message);
      glob.normalized_ = std::move(normalized).value();
      re = image_regex(pattern, glob.normalized_);
      break;
    }
    case GlobKind::namespace_name:
      glob.normalized_ = glob.pattern_;
      re = namespace_regex(pattern);
      break;
    case GlobKind::registry: {
      re = registry_regex(pattern);  // the pattern's own errors first, then its canonical form
      if (!re.ok()) break;
      auto canonical = canonical_registry_pattern(pattern);
      if (!canonical) return bad(pattern, canonical.error().message);
      glob.normalized_ = std::move(canonical).value();
      re = registry_regex(glob.normalized_);
      break;
    }
  }
  if (!re.ok()) return re.error();
  const std::string& n = glob.normalized_;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (n[i] != '*') {
      ++glob.literal_chars_;
    } else if (i + 1 < n.size() && n[i + 1] == '*') {
      ++glob.double_stars_;
      ++i;
    } else {
      ++glob.single_stars_;
    }
  }
  RE2::Options options;
  options.set_log_errors(false);
  // Case-sensitive for every kind: registry hosts on both sides are canonical (lowercase), so a pattern and a
  // reference compare in one form, the same way in the allowlist, rules and exemptions.
  options.set_case_sensitive(true);
  auto compiled = std::make_shared<const RE2>(*re, options);
  if (!compiled->ok()) return bad(pattern, compiled->error());
  glob.re_ = std::move(compiled);
  return glob;
}

bool Glob::matches(std::string_view subject) const {
  return re_ != nullptr && RE2::FullMatch(subject, *re_);
}

}  // namespace imagegate::policy
