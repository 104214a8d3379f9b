// `imagegate policy lint PATH...`: every problem of every policy file in one run, as text
// (file:line:col: path: message) or JSON, with the trust material check of policy_file.h.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/bounded_file.h"
#include "webhook/cli/cli.h"
#include "webhook/cli/manifest_reader.h"
#include "webhook/cli/policy_file.h"

namespace imagegate::webhook {
namespace {

struct LintOptions {
  std::vector<std::string> paths;
  std::string output = "text";
  bool check_files = false;
};

// The files to lint: each named file, and in each directory (recursively) every .yaml/.yml file that
// declares `kind: ImagePolicy` at its top level. A directory without any is an error.
Result<std::vector<std::string>> lint_files(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      out.push_back(path);
      continue;
    }
    auto files = list_files(path, true, {".yaml", ".yml"});
    if (!files.ok()) return files.error();
    std::size_t found = 0;
    for (const std::string& file : *files) {
      auto text = read_bounded_file(file, policy::kMaxPolicyBytes);
      if (!text.ok() || declares_kind(*text, "ImagePolicy")) {  // an unreadable file is reported by lint
        out.push_back(file);
        ++found;
      }
    }
    if (found == 0) return invalid_argument(path + ": no policy files (kind: ImagePolicy) in this directory tree");
  }
  return out;
}

int run_lint(const LintOptions& options) {
  auto files = lint_files(options.paths);
  if (!files.ok()) {
    std::cerr << "imagegate: error: " << files.error().message << "\n";
    return kExitError;
  }
  bool unreadable = false;
  bool invalid = false;
  nlohmann::json problems = nlohmann::json::array();
  for (const std::string& file : *files) {
    PolicyFile loaded = read_policy(file);
    unreadable = unreadable || loaded.unreadable;
    if (loaded.policy) loaded.diagnostics = check_trust_material(*loaded.policy, file, options.check_files);
    if (!loaded.diagnostics.empty() && !loaded.unreadable) invalid = true;
    for (const policy::Diagnostic& d : loaded.diagnostics) {
      if (options.output == "json") {
        problems.push_back({{"file", d.file},
                            {"line", d.location.line},
                            {"column", d.location.column},
                            {"path", d.path},
                            {"message", d.message},
                            {"suggestion", suggestion_of(d)}});
      } else {
        (loaded.unreadable ? std::cerr : std::cout) << (loaded.unreadable ? "imagegate: error: " : "")
                                                    << (loaded.unreadable ? d.message : d.to_string()) << "\n";
      }
    }
    if (options.output == "json" || loaded.unreadable) continue;
    if (!loaded.diagnostics.empty()) {
      std::cout << file << ": invalid\n";
      continue;
    }
    const policy::PolicySpec& spec = policy::spec_of(*loaded.policy);
    std::cout << file << ": valid: " << spec.rules.size() << " rules, " << spec.trust_anchors.size()
              << " trust anchors\n";
  }
  if (options.output == "json") std::cout << problems.dump(2) << "\n";
  return unreadable ? kExitError : invalid ? kExitNegative : kExitOk;
}

}  // namespace

void add_policy_commands(CLI::App& app, CliContext& context) {
  CLI::App* policy_command = app.add_subcommand("policy", "Policy file tools");
  policy_command->require_subcommand(1);
  auto options = std::make_shared<LintOptions>();
  CLI::App* lint = policy_command->add_subcommand(
      "lint",
      "Check policy files: print every problem of every file as file:line:col: path: message.\n"
      "A directory is searched recursively for .yaml/.yml files that declare kind: ImagePolicy.\n"
      "Inline trust anchor keys are parsed; --check-files also loads the key, certificate and root files named.\n"
      "Exit codes: 0 all valid, 1 a policy has errors, 2 a file cannot be read.\n"
      "Examples:\n"
      "  imagegate policy lint policy.yaml\n"
      "  imagegate policy lint deploy/policies/ extra.yaml --check-files -o json");
  lint->add_option("paths", options->paths, "ImagePolicy YAML files or directories")->required();
  lint->add_option("-o,--output", options->output, "Output format: text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  lint->add_flag("--check-files", options->check_files,
                 "Also load the key, certificate, trusted-root and Notation files the trust anchors name");
  lint->callback([options, &context] { context.exit_code = run_lint(*options); });
}

}  // namespace imagegate::webhook
