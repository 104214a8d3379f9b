// plan_bench: how long planning an image takes against a policy of many rules, today's per-pattern matcher
// (one RE2 per glob, rule after rule) against the snapshot's automaton (policy/glob_set.h) and its plan
// cache (policy/plan_cache.h). A driver for docs/BENCHMARKS.md, not a test: it checks that the three agree
// on every plan and exits 1 if not, but asserts no speed.
//
//   build/bench/plan/plan_bench [--rules 50] [--images 1000] [--rounds 5] [--threads 1]
//
// The policy: `--rules` rules over team repositories of a company registry, some constrained to namespaces,
// behind namespace and image exemptions and a registry allowlist (the shape of manifests/examples/policy.yaml,
// widened). The images: `--images` distinct references (tags, digests, teams, other registries), each planned
// once per pass in namespace "prod-eu". Each round times a pass of each way, alternating, and the medians are
// printed with the ratios; "cached" passes run on a warm cache (the steady state of a cluster's reviews).
// Uses policy/'s internal headers (make_plan with a Matcher): a bench driver, never installed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "policy/compiled_policy.h"
#include "policy/evaluate.h"
#include "policy/plan_cache.h"
#include "policy/policy.h"

namespace {

using namespace imagegate::policy;
using Clock = std::chrono::steady_clock;

PolicySpec make_spec(std::size_t rules) {
  PolicySpec spec;
  spec.name = "bench";
  spec.exemptions.namespaces = {"kube-system", "kube-public", "infra-*"};
  spec.exemptions.images = {"registry.k8s.io/**", "docker.io/library/pause*"};
  spec.allowed_registries = {"registry.example.com", "*.example.org", "ghcr.io", "docker.io", "localhost:5000"};
  for (std::size_t i = 0; i < rules; ++i) {
    Rule rule;
    rule.name = "rule-" + std::to_string(i);
    const std::string team = "team-" + std::to_string(i % 25);
    switch (i % 5) {
      case 0: rule.images = {"registry.example.com/" + team + "/**"}; break;
      case 1: rule.images = {"registry.example.com/" + team + "/api-*", "*.example.org/" + team + "/**"}; break;
      case 2: rule.images = {"ghcr.io/" + team + "/*"}; rule.namespaces = {"prod-*"}; break;
      case 3: rule.images = {"registry.example.com/**/" + team + "-*"}; break;
      case 4: rule.images = {"docker.io/" + team + "/**", "localhost:5000/" + team + "/**"}; break;
    }
    spec.rules.push_back(std::move(rule));
  }
  Rule fallback;
  fallback.name = "everything-else";
  fallback.images = {"**"};
  spec.rules.push_back(std::move(fallback));
  return spec;
}

std::vector<std::string> make_images(std::size_t count) {
  const std::string digest = "@sha256:" + std::string(64, 'e');
  std::vector<std::string> out;
  for (std::size_t i = 0; out.size() < count; ++i) {
    const std::string team = "team-" + std::to_string(i % 31);
    const std::string n = std::to_string(i);
    switch (i % 6) {
      case 0: out.push_back("registry.example.com/" + team + "/service-" + n + ":1." + n); break;
      case 1: out.push_back("registry.example.com/" + team + "/api-" + n + digest); break;
      case 2: out.push_back("ghcr.io/" + team + "/tool" + n + ":v" + n); break;
      case 3: out.push_back("a.example.org/" + team + "/x/y" + n + ":2"); break;
      case 4: out.push_back("registry.example.com/platform/" + team + "-" + n + ":latest"); break;
      case 5: out.push_back("quay.io/other/app" + n + ":1"); break;
    }
  }
  return out;
}

// ns per plan of one pass over `images` with `plan_one`, on `threads` threads (each takes every threads-th).
template <typename PlanOne>
double pass_ns(const std::vector<std::string>& images, std::size_t threads, PlanOne plan_one) {
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&images, threads, t, &plan_one] {
      for (std::size_t i = t; i < images.size(); i += threads) plan_one(images[i]);
    });
  }
  for (std::thread& w : workers) w.join();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  return static_cast<double>(ns) / static_cast<double>(images.size());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::size_t flag(int argc, char** argv, std::string_view name, std::size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return static_cast<std::size_t>(std::strtoul(argv[i + 1], nullptr, 10));
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t rules = flag(argc, argv, "--rules", 50);
  const std::size_t image_count = flag(argc, argv, "--images", 1000);
  const std::size_t rounds = std::max<std::size_t>(1, flag(argc, argv, "--rounds", 5));
  const std::size_t threads = std::max<std::size_t>(1, flag(argc, argv, "--threads", 1));
  auto compiled = compile_policy(make_spec(rules), "bench");
  if (!compiled.ok()) {
    std::fprintf(stderr, "plan_bench: %s\n", compiled.error().message.c_str());
    return 1;
  }
  const CompiledPolicy& policy = **compiled;
  const std::vector<std::string> images = make_images(image_count);
  const std::string ns = "prod-eu";

  // The three agree on every image before anything is timed.
  std::size_t by_rule = 0;
  for (const std::string& image : images) {
    const ImagePlan slow = make_plan(policy, {ns, image}, Matcher::per_pattern);
    const ImagePlan fast = make_plan(policy, {ns, image}, Matcher::automaton);
    const auto cached = plan_image(policy, {ns, image});
    for (const ImagePlan* p : {&fast, cached.get()}) {
      if (p->plan.rule != slow.plan.rule || p->plan.outcome != slow.plan.outcome || p->plan.reason != slow.plan.reason) {
        std::fprintf(stderr, "plan_bench: the matchers disagree on %s\n", image.c_str());
        return 1;
      }
    }
    if (slow.plan.rule != nullptr) ++by_rule;
  }

  std::vector<double> select_old, select_new, plan_old, plan_new, plan_cached;
  std::vector<std::string> names;
  for (const std::string& image : images) {
    const ImagePlan p = make_plan(policy, {ns, image}, Matcher::per_pattern);
    names.push_back(p.reference ? p.reference->name() : image);
  }
  for (std::size_t r = 0; r < rounds; ++r) {
    select_old.push_back(pass_ns(names, threads, [&](const std::string& name) {
      (void)policy.select_rule(name, ns, Matcher::per_pattern);
    }));
    select_new.push_back(pass_ns(names, threads, [&](const std::string& name) {
      (void)policy.select_rule(name, ns, Matcher::automaton);
    }));
    plan_old.push_back(pass_ns(images, threads, [&](const std::string& image) {
      (void)make_plan(policy, {ns, image}, Matcher::per_pattern);
    }));
    plan_new.push_back(pass_ns(images, threads, [&](const std::string& image) {
      (void)make_plan(policy, {ns, image}, Matcher::automaton);
    }));
    plan_cached.push_back(pass_ns(images, threads, [&](const std::string& image) {
      (void)plan_image(policy, {ns, image});
    }));
  }
  const double so = median(select_old), sn = median(select_new);
  const double po = median(plan_old), pn = median(plan_new), pc = median(plan_cached);
  std::printf("policy: %zu rules (+1 catch-all), %zu distinct images (%zu decided by a rule), %zu thread(s), "
              "medians of %zu rounds\n\n",
              rules, images.size(), by_rule, threads, rounds);
  std::printf("| step | per-pattern (ns/image) | automaton (ns/image) | old / new |\n|---|---|---|---|\n");
  std::printf("| select_rule | %.0f | %.0f | %.1fx |\n", so, sn, so / sn);
  std::printf("| whole plan (parse, exemptions, allowlist, rule) | %.0f | %.0f | %.1fx |\n", po, pn, po / pn);
  std::printf("| plan_image, warm cache | %.0f | %.0f | %.1fx |\n", po, pc, po / pc);
  std::printf("\nplan cache: %zu plans, %zu bytes (bound %zu plans, %zu bytes)\n", policy.plan_cache().size(),
              policy.plan_cache().bytes(), PlanCache::kMaxPlans, PlanCache::kMaxPlans * PlanCache::kMaxPlanBytes);
  return 0;
}
