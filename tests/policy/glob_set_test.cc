// Differential tests for policy/glob_set.cc: one automaton per group of globs must answer exactly as the
// globs matched one by one (Glob::matches, today's matcher, the oracle), for every glob kind, over
// (1) the patterns of glob_test.cc's kinds written out by hand, (2) every pattern in the example policies,
// the test policies and the YAML of docs/, against the images of the examples, and (3) generated
// pattern/subject pairs. tests/fuzz/glob_set_fuzz.cc does the same on arbitrary bytes.
#include "policy/glob_set.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "../test_support.h"
#include "verifier/image/image_reference.h"

namespace imagegate::policy {
namespace {

std::vector<Glob> compile_all(const std::vector<std::string>& patterns, GlobKind kind) {
  std::vector<Glob> out;
  for (const std::string& p : patterns) {
    if (auto glob = Glob::compile(p, kind); glob.ok()) out.push_back(std::move(glob).value());
  }
  return out;
}

// Every subject against the set: the automaton's indices and first match equal the oracle's. Returns how
// many (glob, subject) pairs matched, so a test can check it exercised matches, not only misses.
std::size_t expect_same(const std::vector<Glob>& globs, const std::vector<std::string>& subjects) {
  const GlobSet set(globs);
  EXPECT_TRUE(set.empty() || set.has_automaton());
  std::size_t matched = 0;
  std::vector<int> fast;
  std::vector<int> slow;
  for (const std::string& subject : subjects) {
    set.match(subject, fast, Matcher::automaton);
    set.match(subject, slow, Matcher::per_pattern);
    std::vector<int> oracle;
    for (std::size_t i = 0; i < globs.size(); ++i) {
      if (globs[i].matches(subject)) oracle.push_back(static_cast<int>(i));
    }
    EXPECT_EQ(slow, oracle);
    if (fast != oracle) {
      std::string which;
      for (const Glob& g : globs) which += " " + g.pattern();
      ADD_FAILURE() << "subject \"" << subject << "\" against" << which;
    }
    EXPECT_EQ(set.first_match(subject), oracle.empty() ? nullptr : &set.globs()[static_cast<std::size_t>(oracle[0])]);
    matched += oracle.size();
  }
  return matched;
}

const std::vector<std::string> kImagePatterns = {
    "nginx", "nginx*", "library/*", "myorg/app", "myorg/**", "docker.io/nginx", "docker.io/*", "docker.io/**",
    "index.docker.io/myorg/app", "registry-1.docker.io/nginx", "Registry-1.Docker.IO:443/myorg/**",
    "LOCALHOST:5000/app", "localhost/app", "MyReg.Example.com:0443/**", "*.EXAMPLE.org:443/**",
    "*.example.org:05000/**", "[0::1]:5000/**", "registry.example.com/prod/**", "*/app", "**/app", "**", "*",
    "registry.example.com/*", "registry.example.com/*/app", "registry.example.com/team-*/app",
    "registry.example.com/**/app", "**/team/**", "ghcr.io/org/*-svc", "*.example.org/**/base*", "quay.io/**/x",
    "registry.example.com/a*b*c", "*:5000/**", "registry.k8s.io/**", "a.b/c.d_e-f/**"};
const std::vector<std::string> kImageSubjects = {
    "docker.io/library/nginx", "docker.io/library/nginx-extra", "docker.io/other/nginx", "docker.io/myorg/app",
    "docker.io/myorg/team/app", "registry.example.com/app", "registry.example.com/prod/app",
    "registry.example.com/prod/team/app", "registry.example.com/team-a/app", "registry.example.com/team-a/b/app",
    "registry.example.com/abc", "registry.example.com/aXbYc", "registry.example.com/ab", "localhost:5000/app",
    "localhost/app", "myreg.example.com/x", "a.example.org/x/base-1", "a.b.example.org/x", "a.example.org:5000/x",
    "[::1]:5000/foo", "ghcr.io/org/pay-svc", "ghcr.io/org/pay/svc", "quay.io/x", "quay.io/a/b/x", "quay.io/a/b/y",
    "registry.k8s.io/pause", "a.b/c.d_e-f/g", "x/team/y", "team/a", "", "/", "a//b", "docker.io/", "/app",
    "docker.io/library/nginx\n", "registry.example.com/prod/\xff"};

TEST(GlobSetDifferential, ImagePatternsByHand) {
  const auto globs = compile_all(kImagePatterns, GlobKind::image);
  ASSERT_EQ(globs.size(), kImagePatterns.size());
  EXPECT_GT(expect_same(globs, kImageSubjects), 40u);
}

TEST(GlobSetDifferential, NamespacePatternsByHand) {
  const auto globs = compile_all({"*", "prod", "prod-*", "*-eu", "team-*-prod", "kube-system", "a*b", "**x"},
                                 GlobKind::namespace_name);
  ASSERT_EQ(globs.size(), 7u);  // `**x` is refused
  EXPECT_GT(expect_same(globs, {"prod", "prod-eu", "prod-", "team-a-prod", "team--prod", "kube-system", "ab", "axb",
                                "default", "", "a/b", "prod\n", "PROD"}),
            15u);
}

TEST(GlobSetDifferential, RegistryPatternsByHand) {
  const auto globs = compile_all({"docker.io", "*.example.com", "**.example.com", "registry.example.com:5000", "*",
                                  "**", "localhost:5000", "[::1]:5000", "ghcr.io", "*.*.example.com",
                                  "reg*.example.com", "*:5000", "REGISTRY-1.docker.io:443"},
                                 GlobKind::registry);
  ASSERT_EQ(globs.size(), 13u);
  EXPECT_GT(expect_same(globs, {"docker.io", "a.example.com", "a.b.example.com", "example.com",
                                "registry.example.com:5000", "registry.example.com", "localhost:5000", "localhost",
                                "[::1]:5000", "ghcr.io", "regx.example.com", "host:5000", "a/b", ""}),
            20u);
}

TEST(GlobSetDifferential, EmptySetMatchesNothing) {
  const GlobSet set;
  std::vector<int> out{1};
  set.match("docker.io/library/nginx", out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(set.first_match("docker.io/library/nginx"), nullptr);
}

// ---- (2) Every pattern the project's policies and docs write, against the examples' images. ----------

void collect_patterns(const YAML::Node& node, std::map<std::string, std::set<std::string>>& out) {
  if (node.IsMap()) {
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      if ((key == "images" || key == "namespaces" || key == "allow") && item.second.IsSequence()) {
        for (const auto& p : item.second) {
          if (p.IsScalar()) out[key].insert(p.Scalar());
        }
      }
      collect_patterns(item.second, out);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) collect_patterns(item, out);
  }
}

std::vector<std::string> yaml_documents() {
  namespace fs = std::filesystem;
  const fs::path root = testing::source_dir();
  std::vector<std::string> texts;
  for (const fs::path& dir : {root / "manifests/examples", root / "manifests/examples/policies",
                             root / "tests/testdata/policies/valid", root / "tests/testdata/policies/admission"}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".yaml") texts.push_back(testing::read_file(entry.path()));
    }
  }
  // The YAML blocks of the docs (snippets as well as whole policies).
  const std::regex block("```yaml\n([\\s\\S]*?)```");
  for (const auto& entry : fs::directory_iterator(root / "docs")) {
    if (entry.path().extension() != ".md") continue;
    const std::string text = testing::read_file(entry.path());
    for (auto it = std::sregex_iterator(text.begin(), text.end(), block); it != std::sregex_iterator(); ++it) {
      texts.push_back((*it)[1].str());
    }
  }
  return texts;
}

TEST(GlobSetDifferential, ExamplesAndDocs) {
  std::map<std::string, std::set<std::string>> patterns;
  for (const std::string& text : yaml_documents()) {
    try {
      for (const YAML::Node& doc : YAML::LoadAll(text)) collect_patterns(doc, patterns);
    } catch (const YAML::Exception&) {
      // A docs snippet that is not YAML on its own: its neighbours still count.
    }
  }
  ASSERT_GT(patterns["images"].size(), 10u);
  // The examples' images, as the reviews write them, normalised like references.
  std::vector<std::string> names;
  std::vector<std::string> domains;
  const std::regex image_line(R"re("?image"?:\s*"?([^"\s,}]+))re");
  const std::filesystem::path root = testing::source_dir();
  std::vector<std::string> raw(kImageSubjects.begin(), kImageSubjects.end());
  for (const char* file : {"manifests/examples/admission-review.json", "manifests/examples/workloads/allowed.yaml",
                           "manifests/examples/workloads/denied.yaml", "manifests/examples/workloads/warned.yaml",
                           "docs/policy.md", "README.md"}) {
    const std::string text = testing::read_file(root / file);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), image_line); it != std::sregex_iterator(); ++it) {
      raw.push_back((*it)[1].str());
    }
  }
  for (const std::string& image : raw) {
    if (auto ref = verifier::ImageReference::from_container_image(image); ref.ok()) {
      names.push_back(ref->name());
      domains.push_back(ref->domain());
    }
  }
  // Every image pattern also becomes a subject, its wildcards filled in.
  for (const std::string& p : patterns["images"]) {
    auto n = normalize_image_pattern(p);
    if (!n.ok()) continue;
    std::string filled = std::regex_replace(*n, std::regex(R"(\*\*)"), "a/b");
    names.push_back(std::regex_replace(filled, std::regex(R"(\*)"), "x"));
  }
  std::vector<std::string> namespaces = {"", "default", "prod", "prod-eu", "staging", "staging-1", "kube-system",
                                         "team-a", "ci"};
  for (const std::string& p : patterns["namespaces"]) namespaces.push_back(std::regex_replace(p, std::regex(R"(\*)"), "x"));

  const std::vector<std::string> images(patterns["images"].begin(), patterns["images"].end());
  EXPECT_GT(expect_same(compile_all(images, GlobKind::image), names), 10u);
  const std::vector<std::string> ns(patterns["namespaces"].begin(), patterns["namespaces"].end());
  EXPECT_GT(expect_same(compile_all(ns, GlobKind::namespace_name), namespaces), 3u);
  const std::vector<std::string> registries(patterns["allow"].begin(), patterns["allow"].end());
  EXPECT_GT(expect_same(compile_all(registries, GlobKind::registry), domains), 3u);
}

// ---- (3) Generated patterns and subjects, from pieces that make matches likely. --------------------------

class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  const char* pick(const std::vector<const char*>& from) { return from[rng_() % from.size()]; }
  std::size_t upto(std::size_t n) { return rng_() % (n + 1); }

  std::string image_pattern() {
    std::string out = pick({"docker.io", "registry.example.com", "localhost:5000", "*.example.com", "**", "*",
                            "ghcr.io", "r*.io", "nginx", "myorg", "[::1]:5000"});
    for (std::size_t n = upto(4); n > 0; --n) {
      out += "/";
      out += pick({"app", "team", "a*", "*b", "*", "**", "x-*-y", "lib", "library", "*a*"});
    }
    return out;
  }
  std::string image_subject() {
    std::string out = pick({"docker.io", "registry.example.com", "localhost:5000", "a.example.com",
                            "a.b.example.com", "ghcr.io", "rx.io", "[::1]:5000"});
    for (std::size_t n = 1 + upto(4); n > 0; --n) {
      out += "/";
      out += pick({"app", "team", "ab", "b", "axb", "x-q-y", "lib", "library", "x-y", "a", "nginx", "myorg"});
    }
    return out;
  }
  std::string namespace_pattern() {
    std::string out;
    for (std::size_t n = 1 + upto(3); n > 0; --n) out += pick({"prod", "-", "*", "eu", "a", "team"});
    return out;
  }
  std::string namespace_subject() {
    std::string out;
    for (std::size_t n = upto(5); n > 0; --n) out += pick({"prod", "-", "eu", "a", "team", "x"});
    return out;
  }
  std::string registry_pattern() {
    std::string out = pick({"*", "**", "reg", "a*", "*x"});
    for (std::size_t n = upto(3); n > 0; --n) {
      out += ".";
      out += pick({"*", "**", "example", "com", "a*", "reg"});
    }
    return out + pick({"", "", ":5000", ":*", ":443"});
  }
  std::string registry_subject() {
    std::string out = pick({"a", "reg", "regx", "x", "example"});
    for (std::size_t n = upto(3); n > 0; --n) {
      out += ".";
      out += pick({"a", "b", "example", "com", "reg"});
    }
    return out + pick({"", "", ":5000", ":80"});
  }

 private:
  std::mt19937 rng_;
};

TEST(GlobSetDifferential, Generated) {
  Generator gen(20261207);
  std::size_t matched = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> images;
    std::vector<std::string> namespaces;
    std::vector<std::string> registries;
    for (std::size_t n = 1 + gen.upto(12); n > 0; --n) {
      images.push_back(gen.image_pattern());
      namespaces.push_back(gen.namespace_pattern());
      registries.push_back(gen.registry_pattern());
    }
    std::vector<std::string> image_subjects;
    std::vector<std::string> namespace_subjects;
    std::vector<std::string> registry_subjects;
    for (int n = 0; n < 20; ++n) {
      image_subjects.push_back(gen.image_subject());
      namespace_subjects.push_back(gen.namespace_subject());
      registry_subjects.push_back(gen.registry_subject());
    }
    matched += expect_same(compile_all(images, GlobKind::image), image_subjects);
    matched += expect_same(compile_all(namespaces, GlobKind::namespace_name), namespace_subjects);
    matched += expect_same(compile_all(registries, GlobKind::registry), registry_subjects);
  }
  EXPECT_GT(matched, 5000u);
}

}  // namespace
}  // namespace imagegate::policy
