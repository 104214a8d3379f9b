// Tests verifier/registry/redirect_guard.cc: where a registry may send imagegate (issue 13, weak spot 6). The
// requests themselves are tested against real and fake registries in oci_registry_client_test.cc and
// tests/e2e/registry_faults_test.sh.
#include "verifier/registry/redirect_guard.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace imagegate::verifier {
namespace {

Origin https(std::string authority) { return {true, std::move(authority)}; }

RedirectGuard guard(const RedirectGuard::HostLists& auth, const RedirectGuard::HostLists& blob) {
  auto made = RedirectGuard::create(auth, blob);
  EXPECT_TRUE(made.ok()) << made.error().message;
  return made.ok() ? std::move(made.value()) : RedirectGuard{};
}

struct Case {
  const char* name;
  Hop hop;
  const char* registry;
  const char* target;
  bool allowed;
};

TEST(RedirectGuard, OnlyTheOriginAllowedOrListedHosts) {
  RedirectGuard g = guard({{"Registry.Example.com:5000", {"auth.example.com", "*.login.example.com:8443"}}},
                          {{"registry.example.com:5000", {"*.blobs.example.net", "cdn.example.net:443"}}});
  // The policy's allowlist: registry.example.com:5000 and mirror.example.com.
  g.set_allowed([](std::string_view a) { return a == "registry.example.com:5000" || a == "mirror.example.com"; });
  const std::vector<Case> cases = {
      {"same origin", Hop::redirect, "registry.example.com:5000", "registry.example.com:5000", true},
      {"allowed by the policy", Hop::redirect, "registry.example.com:5000", "mirror.example.com", true},
      {"realm on an allowed host", Hop::token_realm, "registry.example.com:5000", "mirror.example.com", true},
      {"another host", Hop::redirect, "registry.example.com:5000", "evil.example.com", false},
      {"another port of the same host", Hop::redirect, "registry.example.com:5000", "registry.example.com:5001", false},
      {"listed auth host as realm", Hop::token_realm, "registry.example.com:5000", "auth.example.com", true},
      {"listed auth host as redirect", Hop::redirect, "registry.example.com:5000", "auth.example.com", true},
      {"auth host of another registry", Hop::token_realm, "other.example.com", "auth.example.com", false},
      {"auth host on another port", Hop::token_realm, "registry.example.com:5000", "auth.example.com:444", false},
      {"wildcard auth host with its port", Hop::token_realm, "registry.example.com:5000", "eu.login.example.com:8443", true},
      {"wildcard without the port", Hop::token_realm, "registry.example.com:5000", "eu.login.example.com", false},
      {"wildcard is not the bare suffix", Hop::token_realm, "registry.example.com:5000", "login.example.com:8443", false},
      {"blob host as redirect", Hop::redirect, "registry.example.com:5000", "x.blobs.example.net", true},
      {"blob host (:443 written) as redirect", Hop::redirect, "registry.example.com:5000", "cdn.example.net", true},
      {"blob host is no realm", Hop::token_realm, "registry.example.com:5000", "x.blobs.example.net", false},
      {"suffix trick", Hop::redirect, "registry.example.com:5000", "x.blobs.example.net.evil.com", false},
      {"Docker Hub's realm built in", Hop::token_realm, "registry-1.docker.io", "auth.docker.io", true},
      {"Docker Hub's CDN built in", Hop::redirect, "registry-1.docker.io", "production.cloudflare.docker.com", true},
      {"Docker Hub's CDN is no realm", Hop::token_realm, "registry-1.docker.io", "production.cloudflare.docker.com",
       false},
      {"Docker Hub's hosts are Docker Hub's only", Hop::token_realm, "registry.example.com:5000", "auth.docker.io", false},
  };
  for (const Case& c : cases) {
    const Status s = g.check(c.hop, c.registry, https(c.registry), https(c.target));
    EXPECT_EQ(s.ok(), c.allowed) << c.name << (s.ok() ? "" : ": " + s.error().message);
    if (!s.ok()) {
      EXPECT_EQ(s.error().code, ErrorCode::invalid_argument) << c.name;
    }
  }
}

TEST(RedirectGuard, NoAllowlistFollowsAnyHost) {
  RedirectGuard unset = guard({}, {});
  EXPECT_TRUE(unset.check(Hop::token_realm, "r.example.com", https("r.example.com"), https("elsewhere.example")).ok());
  RedirectGuard nothing = guard({}, {});
  nothing.set_allowed([](std::string_view) { return false; });  // a policy not loaded yet
  EXPECT_TRUE(nothing.check(Hop::redirect, "r.example.com", https("r.example.com"), https("r.example.com")).ok());
  EXPECT_FALSE(nothing.check(Hop::redirect, "r.example.com", https("r.example.com"), https("elsewhere.example")).ok());
  // The scheme is part of the origin: plain HTTP to the same host is another origin (and needs
  // insecureRegistries besides, which the client checks).
  EXPECT_FALSE(nothing.check(Hop::redirect, "r.example.com", https("r.example.com"), Origin{false, "r.example.com"}).ok());
}

TEST(RedirectGuard, MessagesSayWhatToConfigure) {
  RedirectGuard g = guard({}, {});
  g.set_allowed([](std::string_view) { return false; });
  const Status realm = g.check(Hop::token_realm, "r.example.com", https("r.example.com"), https("auth.example.com"));
  ASSERT_FALSE(realm.ok());
  EXPECT_EQ(realm.error().message,
            "token realm https://auth.example.com of r.example.com refused: not r.example.com's origin, not allowed "
            "by the policy's registries.allow, and not listed in registry.authHosts for r.example.com");
  const Status redirect = g.check(Hop::redirect, "r.example.com", https("r.example.com"), https("cdn.example.com"));
  ASSERT_FALSE(redirect.ok());
  EXPECT_NE(redirect.error().message.find("registry.blobHosts or registry.authHosts for r.example.com"),
            std::string::npos)
      << redirect.error().message;
}

TEST(RedirectGuard, BadEntriesAreRefused) {
  for (const char* bad : {"https://auth.example.com", "auth.example.com/token", "*.", "host:port", "a b", ""}) {
    auto made = RedirectGuard::create({{"r.example.com", {bad}}}, {});
    ASSERT_FALSE(made.ok()) << bad;
    EXPECT_EQ(made.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(made.error().message.find("authHosts of r.example.com"), std::string::npos) << made.error().message;
  }
  EXPECT_FALSE(RedirectGuard::create({}, {{"r", {"x y"}}}).ok());
}

}  // namespace
}  // namespace imagegate::verifier
