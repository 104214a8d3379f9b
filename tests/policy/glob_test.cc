// Tests for policy/glob.cc: normalisation, `*` vs `**` at segment boundaries, namespace and registry
// patterns, invalid patterns, and the counts specificity uses.
#include "policy/glob.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace imagegate::policy {
namespace {

using ::testing::HasSubstr;

TEST(NormalizeImagePattern, Table) {
  struct Case {
    std::string_view pattern;
    std::string_view normalized;
  };
  const Case cases[] = {
      {"nginx", "docker.io/library/nginx"},
      {"nginx*", "docker.io/library/nginx*"},
      {"library/*", "docker.io/library/*"},
      {"myorg/app", "docker.io/myorg/app"},
      {"myorg/**", "docker.io/myorg/**"},
      {"docker.io/nginx", "docker.io/library/nginx"},
      {"docker.io/*", "docker.io/library/*"},
      {"docker.io/**", "docker.io/**"},
      {"index.docker.io/myorg/app", "docker.io/myorg/app"},
      // The registry segment in canonical form (issue 13), like references.
      {"registry-1.docker.io/nginx", "docker.io/library/nginx"},
      {"Registry-1.Docker.IO:443/myorg/**", "docker.io/myorg/**"},
      {"LOCALHOST:5000/app", "localhost:5000/app"},
      {"LOCALHOST/app", "localhost/app"},
      {"MyReg.Example.com:0443/**", "myreg.example.com/**"},
      {"*.EXAMPLE.org:443/**", "*.example.org/**"},
      {"*.example.org:05000/**", "*.example.org:5000/**"},
      {"[0::1]:5000/**", "[::1]:5000/**"},
      {"registry.example.com/prod/**", "registry.example.com/prod/**"},
      {"localhost/app", "localhost/app"},
      {"localhost:5000/app", "localhost:5000/app"},
      {"*.example.org/**", "*.example.org/**"},
      {"*/app", "*/app"},
      {"**/app", "**/app"},
      {"**", "**"},
      {"*", "*"},
  };
  for (const Case& c : cases) EXPECT_EQ(normalize_image_pattern(c.pattern).value(), c.normalized) << c.pattern;
}

struct MatchCase {
  std::string_view name;
  GlobKind kind;
  std::string_view pattern;
  std::string_view subject;
  bool matches;
};

class GlobMatch : public ::testing::TestWithParam<MatchCase> {};

TEST_P(GlobMatch, Matches) {
  const MatchCase& c = GetParam();
  Result<Glob> glob = Glob::compile(c.pattern, c.kind);
  ASSERT_TRUE(glob.ok()) << glob.error().message;
  EXPECT_EQ(glob->matches(c.subject), c.matches) << c.pattern << " vs " << c.subject;
}

const MatchCase kMatchCases[] = {
    // Bare names mean Docker Hub official images.
    {"bare_name", GlobKind::image, "nginx", "docker.io/library/nginx", true},
    {"bare_name_not_other_org", GlobKind::image, "nginx", "docker.io/other/nginx", false},
    {"bare_name_not_prefix", GlobKind::image, "nginx", "docker.io/library/nginx-extra", false},
    {"star_within_segment", GlobKind::image, "nginx*", "docker.io/library/nginx-extra", true},
    // `*` never crosses `/`.
    {"star_one_segment", GlobKind::image, "registry.example.com/*", "registry.example.com/app", true},
    {"star_not_two_segments", GlobKind::image, "registry.example.com/*", "registry.example.com/team/app", false},
    {"star_not_empty_segment", GlobKind::image, "registry.example.com/*/app", "registry.example.com/app", false},
    {"star_partial", GlobKind::image, "registry.example.com/team-*/app", "registry.example.com/team-a/app", true},
    {"star_partial_no_slash", GlobKind::image, "registry.example.com/team-*/app", "registry.example.com/team-a/b/app",
     false},
    // `**` crosses segments.
    {"double_star_one", GlobKind::image, "registry.example.com/**", "registry.example.com/app", true},
    {"double_star_many", GlobKind::image, "registry.example.com/**", "registry.example.com/a/b/c", true},
    {"double_star_needs_a_segment", GlobKind::image, "registry.example.com/prod/**", "registry.example.com/prod",
     false},
    {"double_star_segment_boundary", GlobKind::image, "registry.example.com/prod/**", "registry.example.com/production/x",
     false},
    {"double_star_other_registry", GlobKind::image, "registry.example.com/**", "registry.example.com.evil.io/app",
     false},
    {"double_star_middle_zero", GlobKind::image, "ghcr.io/org/**/app", "ghcr.io/org/app", true},
    {"double_star_middle_many", GlobKind::image, "ghcr.io/org/**/app", "ghcr.io/org/a/b/app", true},
    {"double_star_middle_suffix", GlobKind::image, "ghcr.io/org/**/app", "ghcr.io/org/a/myapp", false},
    {"leading_double_star", GlobKind::image, "**/app", "ghcr.io/org/app", true},
    {"leading_double_star_whole_segment", GlobKind::image, "**/app", "ghcr.io/org/webapp", false},
    {"everything", GlobKind::image, "**", "docker.io/library/nginx", true},
    {"wildcard_registry", GlobKind::image, "*.example.org/**", "a.example.org/x/y", true},
    {"wildcard_registry_one_label", GlobKind::image, "*/app", "ghcr.io/app", true},
    {"port_registry", GlobKind::image, "localhost:5000/**", "localhost:5000/app", true},
    {"port_registry_other_port", GlobKind::image, "localhost:5000/**", "localhost:5001/app", false},
    {"dot_is_literal", GlobKind::image, "registry.example.com/app", "registryXexampleXcom/app", false},
    {"index_docker_io", GlobKind::image, "index.docker.io/myorg/app", "docker.io/myorg/app", true},
    // Namespaces.
    {"namespace_exact", GlobKind::namespace_name, "kube-system", "kube-system", true},
    {"namespace_star", GlobKind::namespace_name, "prod-*", "prod-eu", true},
    {"namespace_star_needs_prefix", GlobKind::namespace_name, "prod-*", "preprod-eu", false},
    {"namespace_star_empty", GlobKind::namespace_name, "prod-*", "prod-", true},
    {"namespace_not_substring", GlobKind::namespace_name, "prod", "prod-eu", false},
    // Registries: `*` is one DNS label, `**` any part of the host.
    {"registry_exact", GlobKind::registry, "registry.example.com", "registry.example.com", true},
    // Both sides are canonical: references carry lowercase hosts (ImageReference::from_container_image), and
    // patterns are lowercased when compiled, so a pattern in capitals means the same registry.
    {"registry_pattern_capitals", GlobKind::registry, "Registry.Example.COM", "registry.example.com", true},
    {"registry_default_port", GlobKind::registry, "registry.example.com:443", "registry.example.com", true},
    {"registry_docker_hub_api_host", GlobKind::registry, "registry-1.docker.io", "docker.io", true},
    {"registry_other_port", GlobKind::registry, "registry.example.com:443", "registry.example.com:8443", false},
    {"registry_wildcard_capitals", GlobKind::registry, "*.EXAMPLE.org:0443", "eu.example.org", true},
    {"image_host_capitals", GlobKind::image, "LOCALHOST:5000/**", "localhost:5000/app", true},
    {"image_host_default_port", GlobKind::image, "myreg.example.com:443/**", "myreg.example.com/app", true},
    {"registry_label", GlobKind::registry, "*.example.org", "eu.example.org", true},
    {"registry_label_not_two", GlobKind::registry, "*.example.org", "a.eu.example.org", false},
    {"registry_label_not_bare", GlobKind::registry, "*.example.org", "example.org", false},
    {"registry_label_not_port", GlobKind::registry, "*.example.org", "eu.example.org:5000", false},
    {"registry_double_star", GlobKind::registry, "**.gcr.io", "eu.a.gcr.io", true},
    {"registry_port", GlobKind::registry, "localhost:5000", "localhost:5000", true},
    {"registry_port_missing", GlobKind::registry, "localhost:5000", "localhost", false},
    {"registry_suffix_attack", GlobKind::registry, "example.com", "example.com.evil.io", false},
    {"registry_index_docker_io", GlobKind::registry, "index.docker.io", "docker.io", true},
};

std::string match_case_name(const ::testing::TestParamInfo<MatchCase>& param) {
  return std::string(param.param.name);
}

INSTANTIATE_TEST_SUITE_P(Table, GlobMatch, ::testing::ValuesIn(kMatchCases), match_case_name);

TEST(GlobCompile, RejectsBadPatterns) {
  struct Case {
    GlobKind kind;
    std::string_view pattern;
    std::string_view error;
  };
  const Case cases[] = {
      {GlobKind::image, "", "empty pattern"},
      {GlobKind::image, "a**b", "\"**\" must be a whole path segment"},
      {GlobKind::image, "ghcr.io/***", "\"**\" must be a whole path segment"},
      {GlobKind::image, "nginx:1.25", "remove the tag"},
      {GlobKind::image, "nginx@sha256:abcd", "remove the digest"},
      {GlobKind::image, "ghcr.io/org/", "empty path segment"},
      {GlobKind::image, "/org/app", "empty path segment"},
      {GlobKind::image, "ghcr.io/Org", "lowercase"},
      {GlobKind::image, "ghcr.io/a?b", "character '?'"},
      {GlobKind::image, "ghcr.io/(a|b)", "character '('"},
      {GlobKind::image, std::string_view("ghcr.io/a\0b", 11), "cannot appear"},
      {GlobKind::namespace_name, "prod/**", "'*' only"},
      {GlobKind::namespace_name, "Prod", "lowercase"},
      {GlobKind::namespace_name, "a.b", "lowercase"},
      {GlobKind::registry, "ghcr.io/org", "host[:port] only"},
      {GlobKind::registry, "***.io", "not a wildcard"},
      {GlobKind::registry, "a_b.io", "character '_'"},
      // A literal host with no canonical form (verifier::canonical_registry_host) never loads.
      {GlobKind::image, "localhost:99999/**", "port out of range"},
      {GlobKind::image, "127.1:5000/**", "must be written as 127.0.0.1"},
      {GlobKind::registry, "localhost:0", "port out of range"},
      {GlobKind::registry, "2130706433", "must be written as 127.0.0.1"},
      {GlobKind::registry, "*.example.org:99999", "port out of range"},
      {GlobKind::image, "MyOrg/app", "needs a '.' or a port"},  // not a host (references refuse it), not a path
      {GlobKind::image, "Foo*/**", "needs a '.' or a port"},
  };
  for (const Case& c : cases) {
    Result<Glob> glob = Glob::compile(c.pattern, c.kind);
    ASSERT_FALSE(glob.ok()) << c.pattern;
    EXPECT_THAT(glob.error().message, HasSubstr(c.error)) << c.pattern;
    EXPECT_EQ(glob.error().code, ErrorCode::invalid_argument);
  }
  EXPECT_FALSE(Glob::compile(std::string(kMaxGlobLength + 1, 'a'), GlobKind::image).ok());
}

TEST(GlobCompile, CountsLiteralsAndWildcards) {
  struct Case {
    std::string_view pattern;
    int literals;
    int double_stars;
    int single_stars;
  };
  const Case cases[] = {
      {"nginx", 23, 0, 0},                        // docker.io/library/nginx
      {"registry.example.com/prod/**", 26, 1, 0},
      {"registry.example.com/*/app", 25, 0, 1},
      {"*.example.org/**", 13, 1, 1},
      {"**", 0, 1, 0},
  };
  for (const Case& c : cases) {
    Result<Glob> glob = Glob::compile(c.pattern, GlobKind::image);
    ASSERT_TRUE(glob.ok()) << c.pattern;
    EXPECT_EQ(glob->literal_chars(), c.literals) << c.pattern;
    EXPECT_EQ(glob->double_stars(), c.double_stars) << c.pattern;
    EXPECT_EQ(glob->single_stars(), c.single_stars) << c.pattern;
    EXPECT_EQ(glob->pattern(), c.pattern);
  }
}

TEST(GlobMatch, LongSubjectsStayLinear) {
  // RE2 has no backtracking; a pathological subject for a backtracking engine must still be quick.
  Result<Glob> glob = Glob::compile("**/*a*a*a*a*a*a*a*a*b", GlobKind::image);
  ASSERT_TRUE(glob.ok());
  const std::string subject = "ghcr.io/" + std::string(4000, 'a');
  EXPECT_FALSE(glob->matches(subject));
}

}  // namespace
}  // namespace imagegate::policy
