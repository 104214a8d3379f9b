// `imagegate test`: offline evaluation of manifests, and policy test suites (`--suite`).
// The same program runs as the kubectl plugin `kubectl imagegate ...`; nothing here depends on the name.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <CLI/CLI.hpp>

#include "common/bounded_file.h"
#include "policy/policy.h"
#include "webhook/cli/cli.h"
#include "webhook/cli/manifest_reader.h"
#include "webhook/cli/policy_file.h"
#include "webhook/cli/policy_suite.h"
#include "webhook/cli/suite_report.h"
#include "webhook/evidence/anchor_keeper.h"
#include "webhook/evidence/attestation_verification.h"
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
  std::vector<std::string> suites;  // suite files or directories searched for them
  bool recursive = false;           // -R: directories of -f (and of suite resources) with subdirectories
  bool online = false;  // resolve digests with the server's registry client
  RegistryConfig registry;
};

void print_error(const std::string& message) { std::cerr << "imagegate: error: " << message << "\n"; }

using LoadedPolicy = std::shared_ptr<const policy::CompiledPolicy>;

// Reads and compiles a policy; on failure prints its diagnostics to stderr and returns null.
LoadedPolicy load_policy_file(const std::string& path) {
  PolicyFile loaded = read_policy(path);
  if (loaded.unreadable) {
    print_error(loaded.diagnostics.front().message);
    return nullptr;
  }
  for (const policy::Diagnostic& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
  if (!loaded.policy) print_error(path + ": the policy has errors (above)");
  return loaded.policy;
}

Result<std::vector<WorkloadResult>> evaluate_paths(const policy::CompiledPolicy& compiled,
                                                   const std::vector<std::string>& paths,
                                                   const std::string& default_namespace, bool recursive,
                                                   const EvidenceFunction& evidence = {}) {
  std::vector<ManifestObject> objects;
  for (const std::string& path : paths) {
    auto read = read_manifest_path(path, recursive);
    if (!read.ok()) return read.error();
    for (ManifestObject& object : *read) objects.push_back(std::move(object));
  }
  // An empty input is a broken pipeline (a failed `kubectl kustomize`, a wrong path), not a pass.
  if (objects.empty()) return invalid_argument("no Kubernetes objects found in the input");
  return evaluate_offline(compiled, objects, default_namespace, std::chrono::system_clock::now(), evidence);
}

// One suite file: loaded, its policy compiled, its resources evaluated, its cases checked. What does not
// load ends up in the run's diagnostics (printed to stderr), so every suite of a directory is reported.
SuiteRun run_suite_file(const std::string& file, bool recursive) {
  SuiteRun run;
  run.file = file;
  auto text = read_bounded_file(file, kMaxManifestBytes);
  if (!text.ok()) {
    run.diagnostics.push_back({file, {}, "", text.error().message});
    return run;
  }
  auto loaded = load_suite(*text, file);
  if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
    run.diagnostics = std::move(*diagnostics);
    return run;
  }
  run.suite = std::get<Suite>(std::move(loaded));
  PolicyFile policy_file = read_policy(run.suite.policy);
  if (!policy_file.policy) {
    run.diagnostics = std::move(policy_file.diagnostics);
    run.diagnostics.push_back({file, {}, "policy", run.suite.policy + ": the policy does not load"});
    return run;
  }
  run.policy_name = policy::spec_of(*policy_file.policy).name;
  auto workloads = evaluate_paths(*policy_file.policy, run.suite.resources, run.suite.namespace_name, recursive);
  if (!workloads.ok()) {
    run.diagnostics.push_back({file, {}, "resources", workloads.error().message});
    return run;
  }
  run.results = check_suite(run.suite, *workloads);
  return run;
}

int run_suites(const TestOptions& options) {
  std::vector<std::string> files;
  for (const std::string& path : options.suites) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      files.push_back(path);
      continue;
    }
    auto found = find_suites(path);
    if (!found.ok()) {
      print_error(found.error().message);
      return kExitError;
    }
    if (found->empty()) {
      print_error(path + ": no suite files (.yaml/.yml with kind: PolicyTest) in this directory tree");
      return kExitError;
    }
    files.insert(files.end(), found->begin(), found->end());
  }
  std::vector<SuiteRun> runs;
  bool broken = false;
  bool failed = false;
  for (const std::string& file : files) {
    runs.push_back(run_suite_file(file, options.recursive));
    for (const policy::Diagnostic& d : runs.back().diagnostics) std::cerr << d.to_string() << "\n";
    broken = broken || !runs.back().diagnostics.empty();
    failed = failed || runs.back().failed() > 0;
  }
  if (options.output == "json") {
    std::cout << suites_to_json(runs).dump(2) << "\n";
  } else if (options.output == "yaml") {
    std::cout << to_yaml(suites_to_json(runs));
  } else if (options.output == "junit") {
    std::cout << render_junit(runs);
  } else if (options.output == "github") {
    std::cout << render_suite_github(runs);
  } else {
    std::cout << render_suite_table(runs);
  }
  return broken ? kExitError : failed ? kExitNegative : kExitOk;
}

int run_test(const TestOptions& options) {
  if (!options.suites.empty()) {
    if (!options.policy.empty() || !options.files.empty()) {
      print_error("--suite takes its policy and resources from the suite file; do not combine it with "
                  "--policy or -f");
      return kExitError;
    }
    return run_suites(options);
  }
  // An output this mode cannot produce is an error, never ignored.
  if (options.output == "junit") {
    print_error("-o junit reports test suites (--suite); for manifests use table, json, yaml or github");
    return kExitError;
  }
  if (options.policy.empty() || options.files.empty()) {
    print_error("need --policy and at least one -f FILE|DIR|- (or --suite SUITE.yaml); see --help");
    return kExitError;
  }
  if (options.namespace_name.empty()) {
    print_error("--namespace must not be empty");
    return kExitError;
  }
  LoadedPolicy compiled = load_policy_file(options.policy);
  if (!compiled) return kExitError;
  // --online: the digest and signature checks run against the registry, one blocking lookup per image
  // through the same cache and verification code the server uses (repeated images cost one request).
  // Verdict checks stay offline.
  // One io_context for the whole run, declared before the clients: their pooled connections are bound
  // to it, so it must outlive them and serve every lookup (a fresh one per image left pooled sockets on
  // a destroyed context, and the second lookup never completed).
  boost::asio::io_context io;
  std::optional<RegistryClients> clients;
  std::optional<SignatureVerification> signatures;
  std::optional<AttestationVerification> attestations;
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
    attestations.emplace(*clients->cached);
    anchors = build_anchor_material(*compiled, options.registry);
    evidence = [&clients, &signatures, &attestations, &anchors, &io](const policy::ImageUnderReview& image,
                                                                     const policy::Plan& plan) {
      policy::Evidence out = policy::unevaluated_evidence(plan.needs, kNotEvaluatedOffline);
      if (!plan.needs.resolve_digest && plan.needs.anchors.empty() && plan.needs.attestations.empty()) return out;
      auto run = [&]() -> boost::asio::awaitable<void> {
        if (plan.needs.resolve_digest) {
          out.digest_resolution = co_await resolve_digest_evidence(*clients->cached, image.image, out.digest);
        }
        SignatureReport report =
            co_await gather_signature_evidence(*signatures, *clients->cached, anchors, image, plan, out);
        (void)report;
        // Attestations: which statement satisfied each requirement's anchors, or why none did.
        boost::asio::awaitable<AttestationReport> attesting =
            gather_attestation_evidence(*attestations, anchors, image, plan, out);
        co_await std::move(attesting);
      };
      boost::asio::co_spawn(io, run(), [&out](std::exception_ptr e) {
        if (e) out.digest_resolution = {policy::EvidenceStatus::unavailable, "digest resolution or signature check failed"};
      });
      io.restart();
      io.run();
      return out;
    };
  }
  auto workloads = evaluate_paths(*compiled, options.files, options.namespace_name, options.recursive, evidence);
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
  } else if (options.output == "github") {
    std::cout << render_github(report);
  } else {
    std::cout << render_table(report);
  }
  return report.any_denied() ? kExitNegative : kExitOk;
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
      "  imagegate test --suite policy-test.yaml -o junit > imagegate-junit.xml\n"
      "  imagegate test --suite tests/ -o github");
  test->add_option("-p,--policy", options->policy, "ImagePolicy YAML file");
  test->add_option("-f,--filename", options->files,
                   "Manifest file, directory (every .yaml/.yml/.json in it, sorted) or - for stdin; repeatable");
  test->add_flag("-R,--recursive", options->recursive,
                 "Read the directories of -f (and of suite resources) with their subdirectories, as kubectl -R");
  test->add_option("-o,--output", options->output,
                   "Output format: table (default), json, yaml, github (workflow commands) or, with --suite, junit")
      ->check(CLI::IsMember({"table", "json", "yaml", "github", "junit"}));
  test->add_option("-n,--namespace", options->namespace_name,
                   "Namespace for objects that do not name one (default \"default\")");
  test->add_option("--suite", options->suites,
                   "Policy test suite (kind: PolicyTest), or a directory searched for them; repeatable; see docs/cli.md");
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

}

}  // namespace imagegate::webhook
