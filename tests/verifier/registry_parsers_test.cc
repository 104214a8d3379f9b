// WWW-Authenticate challenge parser and Docker config credentials: positive cases from what registries
// and `docker login` really write, and negatives (malformed input must be an error, never a guess).
#include <gtest/gtest.h>

#include "verifier/docker_config.h"
#include "verifier/registry_client.h"
#include "verifier/www_authenticate.h"

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
