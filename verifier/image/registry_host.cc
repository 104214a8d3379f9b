// canonical_registry_host (verifier/image/image_reference.h): one spelling per registry host, so that
// configuration keys, allowlists and cache keys agree (lower case, RFC 5952 IPv6, dotted IPv4, no default
// port, Docker Hub's aliases as docker.io).
#include <arpa/inet.h>

#include <array>
#include <optional>
#include <string>

#include "common/text.h"
#include "verifier/image/image_reference.h"
#include "verifier/image/reference_grammar.h"

namespace imagegate::verifier {
namespace {

using reference_grammar::kDefaultDomain;
using reference_grammar::kLegacyDefaultDomain;
using reference_grammar::match_domain_and_port;
using reference_grammar::quote;

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

}  // namespace imagegate::verifier
