// `imagegate test` (offline evaluation of manifests, and policy test suites) and `imagegate policy lint`.
// The same program runs as the kubectl plugin `kubectl imagegate ...`; nothing here depends on the name.
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <CLI/CLI.hpp>

#include "policy/policy.h"
#include "webhook/cli/cli.h"
#include "webhook/cli/manifest_reader.h"
#include "webhook/cli/policy_suite.h"
#include "webhook/evidence/anchor_keeper.h"
#include "webhook/evidence/registry_evidence_source.h"
#include "webhook/evidence/registry_setup.h"
#include "webhook/cli/report.h"
#include "webhook/evidence/signature_evidence_source.h"
#include "webhook/evidence/signature_verification.h"

namespace imagegate::webhook {
namespace {

struct TestOptions {
  std::string policy;
  std::vector<std::string> files;
  std::string output = "table";
  std::string namespace_name = kDefaultNamespace;
  std::string suite;
  bool online = false;  // resolve digests with the server's registry client
  RegistryConfig registry;
};

void print_error(const std::string& message) { std::cerr << "imagegate: error: " << message << "\n"; }

using LoadedPolicy = std::shared_ptr<const policy::CompiledPolicy>;

// Reads and compiles a policy. On diagnostics prints them all (to `diagnostics_out`) and returns null.
LoadedPolicy load_policy_file(const std::string& path, std::ostream& diagnostics_out, bool& unreadable) {
  unreadable = false;
  auto text = read_bounded_file(path, policy::kMaxPolicyBytes);
  if (!text.ok()) {
    unreadable = true;
    print_error("cannot load policy: " + text.error().message);
    return nullptr;
  }
  policy::PolicyResult loaded = policy::load_policy(*text, path);
  if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
    for (const policy::Diagnostic& d : *diagnostics) diagnostics_out << d.to_string() << "\n";
    return nullptr;
  }
  return std::get<LoadedPolicy>(std::move(loaded));
}

Result<std::vector<WorkloadResult>> evaluate_paths(const policy::CompiledPolicy& compiled,
                                                   const std::vector<std::string>& paths,
                                                   const std::string& default_namespace,
                                                   const EvidenceFunction& evidence = {}) {
  std::vector<ManifestObject> objects;
  for (const std::string& path : paths) {
    auto read = read_manifest_path(path);
    if (!read.ok()) return read.error();
    for (ManifestObject& object : *read) objects.push_back(std::move(object));
  }
  // An empty input is a broken pipeline (a failed `kubectl kustomize`, a wrong path), not a pass.
  if (objects.empty()) return invalid_argument("no Kubernetes objects found in the input");
  return evaluate_offline(compiled, objects, default_namespace, std::chrono::system_clock::now(), evidence);
}

int run_suite(const TestOptions& options) {
  auto text = read_bounded_file(options.suite, kMaxManifestBytes);
  if (!text.ok()) {
    print_error(text.error().message);
    return kExitError;
  }
  auto suite = parse_suite(*text, options.suite);
  if (!suite.ok()) {
    print_error(suite.error().message);
    return kExitError;
  }
  bool unreadable = false;
  LoadedPolicy compiled = load_policy_file(suite->policy, std::cerr, unreadable);
  if (!compiled) {
    if (!unreadable) print_error(suite->policy + ": the policy has errors (above)");
    return kExitError;
  }
  auto workloads = evaluate_paths(*compiled, suite->resources, suite->namespace_name);
  if (!workloads.ok()) {
    print_error(workloads.error().message);
    return kExitError;
  }
  const std::vector<CaseResult> results = check_suite(*suite, *workloads);
  std::size_t failed = 0;
  for (const CaseResult& r : results) {
    const SuiteCase& t = r.test;
    std::string subject = t.workload + (!t.volume.empty()      ? " volume " + t.volume
                                        : !t.container.empty() ? " " + t.container
                                                               : std::string());
    if (!t.name.empty()) subject += " [" + t.name + "]";
    std::string expected(policy::to_string(t.expect));
    if (t.rule) expected += ", rule " + (t.rule->empty() ? std::string("-") : *t.rule);
    if (!t.reason.empty()) expected += ", reason contains \"" + t.reason + "\"";
    if (r.passed) {
      std::cout << "PASS  " << subject << ": " << r.actual << "\n";
    } else {
      ++failed;
      std::cout << "FAIL  " << subject << ": expected " << expected << "; got " << r.actual << "\n";
    }
  }
  std::cout << "\n"
            << (suite->name.empty() ? options.suite : suite->name) << ": " << results.size() - failed << " passed, "
            << failed << " failed\n";
  return failed == 0 ? kExitOk : kExitNegative;
}

int run_test(const TestOptions& options) {
  if (!options.suite.empty()) {
    if (!options.policy.empty() || !options.files.empty()) {
      print_error("--suite takes its policy and resources from the suite file; do not combine it with "
                  "--policy or -f");
      return kExitError;
    }
    return run_suite(options);
  }
  if (options.policy.empty() || options.files.empty()) {
    print_error("need --policy and at least one -f FILE|DIR|- (or --suite SUITE.yaml); see --help");
    return kExitError;
  }
  if (options.namespace_name.empty()) {
    print_error("--namespace must not be empty");
    return kExitError;
  }
  bool unreadable = false;
  LoadedPolicy compiled = load_policy_file(options.policy, std::cerr, unreadable);
  if (!compiled) {
    if (!unreadable) print_error(options.policy + ": the policy has errors (above)");
    return kExitError;
  }
  // --online: the digest and signature checks run against the registry, one blocking lookup per image
  // through the same cache and verification code the server uses (repeated images cost one request).
  // Verdict checks stay offline.
  // One io_context for the whole run, declared before the clients: their pooled connections are bound
  // to it, so it must outlive them and serve every lookup (a fresh one per image left pooled sockets on
  // a destroyed context, and the second lookup never completed).
  boost::asio::io_context io;
  std::optional<RegistryClients> clients;
  std::optional<SignatureVerification> signatures;
  std::shared_ptr<const verifier::AnchorMaterial> anchors;
  EvidenceFunction evidence;
  if (options.online) {
    auto made = make_registry_clients(options.registry);
    if (!made) {
      print_error(made.error().message);
      return kExitError;
    }
    clients.emplace(std::move(made.value()));
    follow_policy_allowlist(*clients->network, [compiled] { return compiled; });
    // Signatures too, with the server's verification code (anchors loaded once for this policy).
    signatures.emplace(*clients->cached);
    anchors = build_anchor_material(*compiled, options.registry);
    evidence = [&clients, &signatures, &anchors, &io](const policy::ImageUnderReview& image,
                                                      const policy::Plan& plan) {
      policy::Evidence out = policy::unevaluated_evidence(plan.needs, kNotEvaluatedOffline);
      if (!plan.needs.resolve_digest && plan.needs.anchors.empty()) return out;
      auto run = [&]() -> boost::asio::awaitable<void> {
        if (plan.needs.resolve_digest) {
          out.digest_resolution = co_await resolve_digest_evidence(*clients->cached, image.image, out.digest);
        }
        SignatureReport report =
            co_await gather_signature_evidence(*signatures, *clients->cached, anchors, image, plan, out);
        (void)report;
      };
      boost::asio::co_spawn(io, run(), [&out](std::exception_ptr e) {
        if (e) out.digest_resolution = {policy::EvidenceStatus::unavailable, "digest resolution or signature check failed"};
      });
      io.restart();
      io.run();
      return out;
    };
  }
  auto workloads = evaluate_paths(*compiled, options.files, options.namespace_name, evidence);
  if (!workloads.ok()) {
    print_error(workloads.error().message);
    return kExitError;
  }
  TestReport report;
  report.policy_file = options.policy;
  report.policy_name = policy::spec_of(*compiled).name;
  report.policy_version = policy::version_of(*compiled);
  report.online = options.online;
  report.workloads = std::move(*workloads);
  if (options.output == "json") {
    std::cout << report_to_json(report).dump(2) << "\n";
  } else if (options.output == "yaml") {
    std::cout << to_yaml(report_to_json(report));
  } else {
    std::cout << render_table(report);
  }
  return report.any_denied() ? kExitNegative : kExitOk;
}

int run_lint(const std::string& path) {
  bool unreadable = false;
  LoadedPolicy compiled = load_policy_file(path, std::cout, unreadable);
  if (unreadable) return kExitError;
  if (!compiled) {
    std::cout << path << ": invalid\n";
    return kExitNegative;
  }
  const policy::PolicySpec& spec = policy::spec_of(*compiled);
  std::cout << path << ": valid: " << spec.rules.size() << " rules, " << spec.trust_anchors.size()
            << " trust anchors\n";
  return kExitOk;
}

}  // namespace

void add_test_commands(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<TestOptions>();
  CLI::App* test = app.add_subcommand(
      "test",
      "Evaluate Kubernetes manifests against a policy offline (the CI gate), or run a policy test suite.\n"
      "Reads multi-document YAML, JSON, `kind: List` and AdmissionReview bodies. Network checks (signatures,\n"
      "digest resolution, scan verdicts) are reported as \"not evaluated offline\" and count as the rule's\n"
      "failurePolicy says. Objects without metadata.namespace are evaluated in --namespace (default \"default\").\n"
      "Exit codes: 0 all allowed (warn counts as allowed), 1 something denied / a suite case failed, 2 error.\n"
      "Examples:\n"
      "  imagegate test --policy policy.yaml -f deploy.yaml -f manifests/\n"
      "  kubectl create deployment web --image=nginx --dry-run=client -o yaml | kubectl imagegate test -p policy.yaml -f -\n"
      "  imagegate test --suite policy-test.yaml");
  test->add_option("-p,--policy", options->policy, "ImagePolicy YAML file");
  test->add_option("-f,--filename", options->files,
                   "Manifest file, directory (every .yaml/.yml/.json in it, sorted) or - for stdin; repeatable");
  test->add_option("-o,--output", options->output, "Output format: table (default), json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}));
  test->add_option("-n,--namespace", options->namespace_name,
                   "Namespace for objects that do not name one (default \"default\")");
  test->add_option("--suite", options->suite, "Policy test suite (kind: PolicyTest); see docs/cli.md");
  test->add_flag("--online", options->online,
                 "Resolve digests and verify signatures against the registries (as the server does)");
  test->add_option("--ca-file", options->registry.ca_files, "With --online: CA bundle for registries (repeatable)");
  test->add_option("--docker-config", options->registry.docker_config_files,
                   "With --online: Docker config.json with registry credentials (repeatable)");
  test->add_option("--insecure-registry", options->registry.insecure_registries,
                   "With --online: HOST[:PORT] reached over plain HTTP (repeatable)");
  test->add_option("--legacy-tls-registry", options->registry.legacy_tls_registries,
                   "With --online: HOST[:PORT] whose TLS may use CBC / static-RSA ciphers (repeatable)");
  test->callback([options, &context] { context.exit_code = run_test(*options); });

  CLI::App* policy_command = app.add_subcommand("policy", "Policy file tools");
  policy_command->require_subcommand(1);
  auto lint_path = std::make_shared<std::string>();
  CLI::App* lint = policy_command->add_subcommand(
      "lint",
      "Check a policy file: print every problem as file:line:col: path: message.\n"
      "Exit codes: 0 valid, 1 the policy has errors, 2 the file cannot be read.");
  lint->add_option("file", *lint_path, "ImagePolicy YAML file")->required();
  lint->callback([lint_path, &context] { context.exit_code = run_lint(*lint_path); });
}

}  // namespace imagegate::webhook
