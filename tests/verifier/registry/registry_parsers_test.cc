// WWW-Authenticate challenge parser and Docker config credentials: positive cases from what registries
// and `docker login` really write, and negatives (malformed input must be an error, never a guess).
#include <gtest/gtest.h>

#include "verifier/registry/docker_config.h"
#include "verifier/registry/registry_client.h"
#include "verifier/registry/www_authenticate.h"

namespace imagegate::verifier {
namespace {

TEST(WwwAuthenticate, DockerHubBearer) {
  auto r = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull")");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1U);
  EXPECT_EQ((*r)[0].scheme, "bearer");
  EXPECT_EQ((*r)[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*r)[0].param("service"), "registry.docker.io");
  EXPECT_EQ((*r)[0].param("scope"), "repository:library/nginx:pull");
}

TEST(WwwAuthenticate, BasicAndSeveralChallenges) {
  auto r = parse_www_authenticate(R"(Basic realm="Registry Realm", Bearer realm="https://a/t" , service=x)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2U);
  EXPECT_EQ((*r)[0].scheme, "basic");
  EXPECT_EQ((*r)[0].param("realm"), "Registry Realm");
  EXPECT_EQ((*r)[1].scheme, "bearer");
  EXPECT_EQ((*r)[1].param("service"), "x");
}

TEST(WwwAuthenticate, QuotedPairsCommasAndCase) {
  auto r = parse_www_authenticate(R"(BEARER Realm="https://a/t?x=1,y=2", error="a \"quoted\" word")");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1U);
  EXPECT_EQ((*r)[0].scheme, "bearer");
  EXPECT_EQ((*r)[0].param("realm"), "https://a/t?x=1,y=2");
  EXPECT_EQ((*r)[0].param("error"), "a \"quoted\" word");
}

TEST(WwwAuthenticate, Token68) {
  auto r = parse_www_authenticate("Negotiate abc+/def==, Basic realm=x");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2U);
  EXPECT_EQ((*r)[0].token68, "abc+/def==");
  EXPECT_EQ((*r)[1].param("realm"), "x");
}

TEST(WwwAuthenticate, Negatives) {
  for (const char* bad : {"", "   ", "Bearer realm=\"unterminated", "Bearer realm=\"a\" x", "Bearer realm=a realm=b",
                          "Bearer realm=a, realm=b", "=x", "Bearer \"q\"", "Bear\x01er realm=x",
                          "Bearer realm=\"a\x01\"", "Bearer realm=a;b"}) {
    EXPECT_FALSE(parse_www_authenticate(bad).ok()) << "accepted: " << bad;
  }
  EXPECT_EQ(parse_www_authenticate(std::string(kMaxChallengeHeaderBytes + 1, 'a')).error().code,
            ErrorCode::resource_exhausted);
}

TEST(DockerConfig, AuthUsernamePasswordIdentityToken) {
  auto r = DockerCredentials::parse(R"({"auths":{
      "registry.example.com": {"auth": "YWxpY2U6czNjcjp0"},
      "https://index.docker.io/v1/": {"identitytoken": "refresh-me"},
      "Reg.Example.com:5000/team": {"username": "u", "password": "p"},
      "empty.example.com": {}
    }, "credsStore": "desktop"})",
                                    "config.json");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->size(), 3U);
  auto a = r->find("registry.example.com", "x/y");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->credentials.username, "alice");
  EXPECT_EQ(a->credentials.password, "s3cr:t");  // only the first ':' separates
  auto hub = r->find("docker.io", "library/nginx");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->credentials.identity_token, "refresh-me");
  EXPECT_TRUE(r->find("reg.example.com:5000", "team/app"));
  EXPECT_TRUE(r->find("reg.example.com:5000", "team/sub/app"));
  EXPECT_FALSE(r->find("reg.example.com:5000", "teams/app"));  // a prefix only on a '/' boundary
  EXPECT_FALSE(r->find("reg.example.com:5000", "other/app"));
  EXPECT_FALSE(r->find("reg.example.com", "x"));               // another port is another registry
  EXPECT_FALSE(r->find("empty.example.com", "x"));
}

TEST(DockerConfig, LongestPrefixWins) {
  auto r = DockerCredentials::parse(
      R"({"auths":{"r.io":{"username":"all","password":"1"},"r.io/team":{"username":"team","password":"2"}}})", "c");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->find("r.io", "team/app")->credentials.username, "team");
  EXPECT_EQ(r->find("r.io", "other/app")->credentials.username, "all");
}

// Keys and lookups both go through canonical_registry_host (issue 13): every spelling of one registry finds
// the entry, and a spelling of another registry does not.
TEST(DockerConfig, KeysAndLookupsUseTheCanonicalHost) {
  auto r = DockerCredentials::parse(R"({"auths":{
      "LOCALHOST:5000": {"username": "local", "password": "1"},
      "https://MyReg.Example.com:443/v2/": {"username": "myreg", "password": "2"},
      "registry-1.docker.io": {"username": "hub", "password": "3"}
    }})",
                                    "config.json");
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (const char* host : {"localhost:5000", "LOCALHOST:5000", "localhost:05000"}) {
    const auto m = r->find(host, "app");
    ASSERT_TRUE(m) << host;
    EXPECT_EQ(m->credentials.username, "local") << host;
  }
  for (const char* host : {"myreg.example.com", "myreg.example.com:443", "MYREG.EXAMPLE.COM:0443"}) {
    const auto m = r->find(host, "app");
    ASSERT_TRUE(m) << host;
    EXPECT_EQ(m->credentials.username, "myreg") << host;
  }
  for (const char* host : {"docker.io", "index.docker.io", "registry-1.docker.io"}) {
    const auto m = r->find(host, "library/nginx");
    ASSERT_TRUE(m) << host;
    EXPECT_EQ(m->credentials.username, "hub") << host;
  }
  EXPECT_FALSE(r->find("localhost:5001", "app"));
  EXPECT_FALSE(r->find("myreg.example.com:8443", "app"));
  EXPECT_EQ(normalize_docker_config_key("https://Reg.Example.com:0443/team/"), "reg.example.com/team");
}

TEST(RegistryClientOptions, InsecureAndCaKeysAreCanonical) {
  RegistryClientOptions options;
  options.insecure_registries = {"LOCALHOST:5000", "Reg.Example.com", "[0::1]:5000"};
  options.registry_ca_files = {{"MyReg.example.com:443", {"a.pem"}}, {"myreg.example.com", {"b.pem"}},
                               {"Registry-1.Docker.IO", {"hub.pem"}}};
  auto canonical = canonical_registry_keys(options);
  ASSERT_TRUE(canonical.ok()) << canonical.error().message;
  EXPECT_EQ(canonical->insecure_registries, (std::set<std::string>{"[::1]:5000", "localhost:5000", "reg.example.com"}));
  EXPECT_EQ(canonical->registry_ca_files.size(), 2u);
  EXPECT_EQ(canonical->registry_ca_files.at("myreg.example.com"), (std::vector<std::string>{"a.pem", "b.pem"}));
  EXPECT_EQ(canonical->registry_ca_files.at("docker.io"), std::vector<std::string>{"hub.pem"});
  options.insecure_registries = {"localhost:0"};
  EXPECT_FALSE(canonical_registry_keys(options).ok());
  // `host:443` is `host`, which plain HTTP reaches on port 80: an insecure registry there is ambiguous.
  for (const char* host : {"registry.local:443", "[::1]:0443"}) {
    options.insecure_registries = {host};
    const auto refused = canonical_registry_keys(options);
    ASSERT_FALSE(refused.ok()) << host;
    EXPECT_NE(refused.error().message.find("port 443"), std::string::npos) << refused.error().message;
  }
  options.insecure_registries.clear();
  options.registry_ca_files = {{"127.1:5000", {"a.pem"}}};
  const auto bad = canonical_registry_keys(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("127.1:5000"), std::string::npos) << bad.error().message;
}

TEST(DockerConfig, Negatives) {
  for (const char* bad : {"", "[]", "{\"auths\": []}", "{\"auths\": {\"r\": \"x\"}}",
                          "{\"auths\": {\"r\": {\"auth\": \"not base64!\"}}}",
                          "{\"auths\": {\"r\": {\"auth\": \"bm9jb2xvbg==\"}}}",  // "nocolon"
                          "{\"auths\": {\"r\": {\"username\": 5}}}", "{\"auths\": {\"\": {\"username\": \"u\"}}}",
                          "{\"auths\": {"}) {
    auto r = DockerCredentials::parse(bad, "bad.json");
    EXPECT_FALSE(r.ok()) << "accepted: " << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find("bad.json"), std::string::npos);
    }
  }
  EXPECT_EQ(DockerCredentials::parse(std::string(kMaxDockerConfigBytes + 1, ' '), "big").error().code,
            ErrorCode::resource_exhausted);
  EXPECT_FALSE(DockerCredentials::load("/nonexistent/config.json").ok());
}

TEST(RegistryAddresses, BlockedRanges) {
  for (const char* ip : {"169.254.169.254", "169.254.0.1", "100.100.100.200", "fe80::1", "febf::1",
                         "fd00:ec2::254", "::ffff:169.254.169.254"}) {
    EXPECT_TRUE(is_blocked_address(ip)) << ip;
  }
  for (const char* ip : {"127.0.0.1", "10.0.0.1", "100.100.100.201", "fec0::1", "fd00:ec2::253", "8.8.8.8", "::1"}) {
    EXPECT_FALSE(is_blocked_address(ip)) << ip;
  }
  EXPECT_EQ(registry_api_host("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(registry_api_host("ghcr.io"), "ghcr.io");
}

}  // namespace
}  // namespace imagegate::verifier
