// Tests for policy/plan_cache.cc and the planning it caches: the automaton's plans equal the per-pattern
// matcher's (rule specificity and order, namespaces, exemptions, registries) on generated policies of many
// rules and on the example policy; a plan is cached per (namespace, image as written) and shared; the cache
// stays bounded in plans and bytes whatever the number of distinct images, drops oversized plans, dies
// with its snapshot, and answers many threads at once.
#include "policy/plan_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../test_support.h"
#include "policy/compiled_policy.h"
#include "policy/policy.h"
#include "tests/policy/policy_loading.h"

namespace imagegate::policy {
namespace {

void expect_same_plan(const ImagePlan& a, const ImagePlan& b) {
  const std::string where = "namespace \"" + a.image.namespace_name + "\", image \"" + a.image.image + "\"";
  EXPECT_EQ(a.image.namespace_name, b.image.namespace_name) << where;
  EXPECT_EQ(a.image.image, b.image.image) << where;
  EXPECT_EQ(a.plan.outcome, b.plan.outcome) << where;
  EXPECT_EQ(a.plan.rule, b.plan.rule) << where << ": " << (a.plan.rule ? a.plan.rule->name : "none") << " vs "
                                      << (b.plan.rule ? b.plan.rule->name : "none");
  EXPECT_EQ(a.plan.reason, b.plan.reason) << where;
  EXPECT_EQ(a.plan.needs.resolve_digest, b.plan.needs.resolve_digest) << where;
  EXPECT_EQ(a.plan.needs.anchors, b.plan.needs.anchors) << where;
  EXPECT_EQ(a.plan.needs.verdict, b.plan.needs.verdict) << where;
  EXPECT_EQ(a.normalized, b.normalized) << where;
  EXPECT_EQ(a.reference.has_value(), b.reference.has_value()) << where;
}

// Plans every (namespace, image) with both matchers and through the cache; all three agree. Returns how many
// were decided by a rule (so a test can check it exercised rule selection).
std::size_t expect_matchers_agree(const CompiledPolicy& policy, const std::vector<std::string>& namespaces,
                                  const std::vector<std::string>& images) {
  std::size_t by_rule = 0;
  for (const std::string& ns : namespaces) {
    for (const std::string& image : images) {
      const ImageUnderReview review{ns, image};
      const ImagePlan fast = make_plan(policy, review, Matcher::automaton);
      const ImagePlan slow = make_plan(policy, review, Matcher::per_pattern);
      expect_same_plan(fast, slow);
      expect_same_plan(*plan_image(policy, review), slow);
      if (slow.plan.rule != nullptr) ++by_rule;
    }
  }
  return by_rule;
}

// A policy of `rules` rules whose images overlap on purpose (so specificity and declaration order decide),
// some constrained to namespaces, with exemptions and an allowlist.
std::shared_ptr<const CompiledPolicy> generated_policy(std::mt19937& rng, std::size_t rules) {
  auto pick = [&](const std::vector<const char*>& from) { return std::string(from[rng() % from.size()]); };
  PolicySpec spec;
  spec.name = "generated";
  spec.exemptions.namespaces = {pick({"kube-system", "infra-*", "*-sys"})};
  spec.exemptions.images = {pick({"registry.k8s.io/**", "docker.io/library/pause*", "ghcr.io/*/exempt"})};
  if (rng() % 2) spec.allowed_registries = {"*.example.com", "docker.io", "ghcr.io", "localhost:5000"};
  for (std::size_t i = 0; i < rules; ++i) {
    Rule rule;
    rule.name = "rule-" + std::to_string(i);
    for (std::size_t n = 1 + rng() % 3; n > 0; --n) {
      std::string image = pick({"registry.example.com", "*.example.com", "ghcr.io", "docker.io", "**",
                                "localhost:5000", "nginx*", "myorg"});
      if (image != "**" && image != "nginx*") {
        for (std::size_t s = 1 + rng() % 3; s > 0; --s) image += "/" + pick({"team", "app", "*", "**", "a*", "prod"});
      }
      rule.images.push_back(image);
    }
    if (rng() % 3 == 0) {
      for (std::size_t n = 1 + rng() % 2; n > 0; --n) rule.namespaces.push_back(pick({"prod", "prod-*", "*", "team-*"}));
    }
    spec.rules.push_back(std::move(rule));
  }
  auto compiled = compile_policy(std::move(spec), "v1");
  EXPECT_TRUE(compiled.ok()) << (compiled.ok() ? "" : compiled.error().message);
  return compiled.ok() ? *compiled : nullptr;
}

std::vector<std::string> generated_images(std::mt19937& rng, std::size_t count) {
  auto pick = [&](const std::vector<const char*>& from) { return std::string(from[rng() % from.size()]); };
  std::vector<std::string> out = {"nginx", "nginx:1.25", "myorg/app:1", "registry.k8s.io/pause:3.9", "Not Valid",
                                  "docker.io/library/pause-amd64", "ghcr.io/x/exempt@sha256:" + std::string(64, 'a')};
  while (out.size() < count) {
    std::string image = pick({"registry.example.com", "a.example.com", "ghcr.io", "docker.io", "localhost:5000",
                              "quay.io", "nginx-extra", "myorg"});
    for (std::size_t s = 1 + rng() % 4; s > 0; --s) image += "/" + pick({"team", "app", "prod", "ab", "x", "a"});
    image += pick({"", ":1.0", ":latest"});
    out.push_back(image);
  }
  return out;
}

TEST(PlanDifferential, GeneratedPoliciesOfManyRules) {
  std::mt19937 rng(15);
  std::size_t by_rule = 0;
  for (std::size_t rules : {1, 5, 50, 120}) {
    for (int round = 0; round < 4; ++round) {
      const auto policy = generated_policy(rng, rules);
      ASSERT_NE(policy, nullptr);
      by_rule += expect_matchers_agree(*policy, {"", "default", "prod", "prod-eu", "team-a", "kube-system", "infra-1"},
                                       generated_images(rng, 60));
    }
  }
  EXPECT_GT(by_rule, 1000u);
}

TEST(PlanDifferential, ExamplePolicy) {
  const auto policy =
      testing::load_or_fail(testing::read_file(testing::source_dir() / "manifests/examples/policy.yaml"));
  ASSERT_NE(policy, nullptr);
  EXPECT_GT(expect_matchers_agree(*policy, {"", "default", "prod-eu", "staging", "staging-2", "kube-system", "ci"},
                                  {"registry.example.com/prod/api@sha256:" + std::string(64, 'b'),
                                   "registry.example.com/prod/api:1.0", "registry.example.com/team/app:latest",
                                   "a.example.org/x/y:2", "ghcr.io/example-org/tool:1", "nginx:1.25", "nginx",
                                   "registry.k8s.io/pause:3.9", "quay.io/other/app:1", "localhost:5000/app",
                                   "UPPER/case"}),
            20u);
}

// ---- The cache. -------------------------------------------------------------------------------------------

const char* const kSpec = R"(
  noMatch: allow
  rules:
    - name: prod
      match: {images: ["registry.example.com/**"], namespaces: ["prod"]}
    - name: any
      match: {images: ["**"]}
)";

TEST(PlanCache, SharesOnePlanPerNamespaceAndImage) {
  const auto policy = testing::load_spec(kSpec);
  ASSERT_NE(policy, nullptr);
  const auto first = plan_image(*policy, {"prod", "registry.example.com/app:1"});
  EXPECT_EQ(plan_image(*policy, {"prod", "registry.example.com/app:1"}), first);  // the same object
  ASSERT_NE(first->plan.rule, nullptr);
  EXPECT_EQ(first->plan.rule->name, "prod");
  // Another namespace, or the same image written otherwise, is another key (and here another rule).
  const auto other = plan_image(*policy, {"dev", "registry.example.com/app:1"});
  EXPECT_NE(other, first);
  EXPECT_EQ(other->plan.rule->name, "any");
  EXPECT_NE(plan_image(*policy, {"prod", "registry.example.com/app:1@sha256:" + std::string(64, 'c')}), first);
  EXPECT_EQ(policy->plan_cache().size(), 3u);
  // plan() and evaluate() by image go through the same cache.
  EXPECT_EQ(plan(*policy, {"prod", "registry.example.com/app:1"}).rule, first->plan.rule);
  EXPECT_EQ(evaluate(*policy, ImageUnderReview{"prod", "registry.example.com/app:1"}, {}, {}).rule, "prod");
  EXPECT_EQ(policy->plan_cache().size(), 3u);
}

TEST(PlanCache, StaysBoundedWhateverTheNumberOfImages) {
  const auto policy = testing::load_spec(kSpec);
  ASSERT_NE(policy, nullptr);
  const PlanCache& cache = policy->plan_cache();
  std::size_t most = 0;
  for (int i = 0; i < 3 * static_cast<int>(PlanCache::kMaxPlans); ++i) {
    // Long distinct names, so each plan weighs close to what an attacker can make it weigh.
    const std::string image = "registry.example.com/" + std::string(180, 'a') + "/" + std::to_string(i) + ":" +
                              std::string(100, 't');
    const auto planned = plan_image(*policy, {"prod", image});
    ASSERT_EQ(planned->plan.rule->name, "prod");  // still right when the cache is full and evicting
    most = std::max(most, cache.size());
  }
  EXPECT_EQ(most, PlanCache::kMaxPlans);  // filled, never beyond
  EXPECT_LE(cache.bytes(), PlanCache::kMaxPlans * PlanCache::kMaxPlanBytes);
  EXPECT_GT(cache.bytes(), PlanCache::kMaxPlans * 500);  // the footprint counts the strings
  // The earliest were evicted first (FIFO), and come back planned right.
  const std::string first = "registry.example.com/" + std::string(180, 'a') + "/0:" + std::string(100, 't');
  const auto again = plan_image(*policy, {"prod", first});
  EXPECT_EQ(again->plan.rule->name, "prod");
  EXPECT_LE(cache.size(), PlanCache::kMaxPlans);
}

TEST(PlanCache, OversizedPlansAreNotKept) {
  const auto policy = testing::load_spec(kSpec);
  ASSERT_NE(policy, nullptr);
  const std::string huge(3000, 'x');  // not a valid reference: its plan repeats part of it in the reason
  const auto planned = plan_image(*policy, {"prod", huge + ":" + huge});
  EXPECT_EQ(planned->plan.outcome, Outcome::invalid);
  EXPECT_GT(PlanCache::footprint(*planned), PlanCache::kMaxPlanBytes);
  EXPECT_EQ(policy->plan_cache().size(), 0u);
  EXPECT_NE(plan_image(*policy, {"prod", huge + ":" + huge}), planned);  // planned again, not cached
}

TEST(PlanCache, DiesWithItsSnapshot) {
  auto policy = testing::load_spec(kSpec);
  ASSERT_NE(policy, nullptr);
  std::weak_ptr<const ImagePlan> cached = plan_image(*policy, {"prod", "nginx"});
  EXPECT_FALSE(cached.expired());  // the cache holds it
  policy.reset();
  EXPECT_TRUE(cached.expired());
}

TEST(PlanCache, ManyThreadsAtOnce) {
  std::mt19937 rng(7);
  const auto policy = generated_policy(rng, 50);
  ASSERT_NE(policy, nullptr);
  // More distinct images than the cache holds, so threads find, insert, race and evict together.
  const std::vector<std::string> images = generated_images(rng, PlanCache::kMaxPlans + 500);
  std::vector<ImagePlan> expected;
  for (const std::string& image : images) expected.push_back(make_plan(*policy, {"prod", image}, Matcher::per_pattern));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (std::size_t i = static_cast<std::size_t>(t); i < images.size(); i += 2) {
          const auto planned = plan_image(*policy, {"prod", images[i]});
          if (planned->plan.rule != expected[i].plan.rule || planned->plan.reason != expected[i].plan.reason) ++wrong;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(policy->plan_cache().size(), PlanCache::kMaxPlans);
}

}  // namespace
}  // namespace imagegate::policy
