// Internal to verifier/image/: the parts of the reference grammar (image_reference.cc) that
// registry_host.cc shares. Not for other rooms.
#pragma once

#include <string>
#include <string_view>

namespace imagegate::verifier::reference_grammar {

inline constexpr std::string_view kDefaultDomain = "docker.io";
inline constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";

// host[:port] as distribution/reference's domainAndPort: a domain name, an IPv4 address or a bracketed IPv6
// address, then an optional numeric port.
bool match_domain_and_port(std::string_view s);

// Repeats (part of) untrusted input in a message: printable ASCII verbatim, the rest as \xNN, bounded.
std::string quote(std::string_view input);

}  // namespace imagegate::verifier::reference_grammar
