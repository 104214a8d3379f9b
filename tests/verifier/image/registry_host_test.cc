// Tests verifier/image/registry_host.cc: canonical_registry_host gives every registry one spelling and
// refuses what is no host[:port] or is ambiguous.
#include "verifier/image/image_reference.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace imagegate::verifier {
namespace {

TEST(CanonicalRegistryHost, OneSpellingPerRegistry) {
  const std::pair<const char*, const char*> cases[] = {
      {"localhost:5000", "localhost:5000"},
      {"LOCALHOST:5000", "localhost:5000"},
      {"Localhost:05000", "localhost:5000"},
      {"Registry.Example.COM", "registry.example.com"},
      {"registry.example.com:443", "registry.example.com"},
      {"registry.example.com:0443", "registry.example.com"},
      {"localhost:000000000443", "localhost"},  // Go's dialer reads any number of leading zeros
      {"registry.example.com:8443", "registry.example.com:8443"},
      {"registry.example.com:80", "registry.example.com:80"},
      {"docker.io", "docker.io"},
      {"index.docker.io", "docker.io"},
      {"registry-1.docker.io", "docker.io"},
      {"REGISTRY-1.DOCKER.IO:443", "docker.io"},
      {"registry.hub.docker.com", "docker.io"},
      {"registry-1.docker.io:5000", "registry-1.docker.io:5000"},  // another port is another server
      {"127.0.0.1:5000", "127.0.0.1:5000"},
      {"[::1]:5000", "[::1]:5000"},
      {"[0:0:0:0:0:0:0:1]:5000", "[::1]:5000"},
      {"[0000::0001]", "[::1]"},
      {"[FE80::A:0:0:0:B]:443", "[fe80:0:0:a::b]"},  // RFC 5952: the longest zero run, not the first
      {"[2001:DB8:0:0:1:0:0:1]", "[2001:db8::1:0:0:1]"},  // equal runs: the first
      {"[::ffff:7f00:1]", "[::ffff:7f00:1]"},  // mapped addresses stay hex (the grammar has no dots there)
  };
  for (const auto& [input, expected] : cases) {
    const auto got = canonical_registry_host(input);
    ASSERT_TRUE(got.ok()) << input << ": " << got.error().message;
    EXPECT_EQ(*got, expected) << input;
    // Canonical is a fixed point.
    EXPECT_EQ(canonical_registry_host(*got).value(), *got) << input;
  }
}

TEST(CanonicalRegistryHost, HostsWithoutOneAreErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"localhost:0", "port out of range"},
      {"localhost:65536", "port out of range"},
      {"127.1:5000", "must be written as 127.0.0.1"},
      {"2130706433", "must be written as 127.0.0.1"},
      {"0177.0.0.1", "must be written as 127.0.0.1"},
      {"0x7f.0.0.1", "must be written as 127.0.0.1"},
      {"127.000.000.001", "must be written as 127.0.0.1"},
      {"[1::2::3]", "not an IPv6 address"},
      {"localhost.:5000", "not a host[:port]"},  // a trailing dot is not in the reference grammar
      {"", "not a host[:port]"},
      {"a_b.c", "not a host[:port]"},
      {"host/path", "not a host[:port]"},
  };
  for (const auto& [input, why] : cases) {
    const auto got = canonical_registry_host(input);
    ASSERT_FALSE(got.ok()) << input << " -> " << got.value();
    EXPECT_EQ(got.error().code, ErrorCode::invalid_argument) << input;
    EXPECT_NE(got.error().message.find(why), std::string::npos) << input << ": " << got.error().message;
  }
}

}  // namespace
}  // namespace imagegate::verifier
