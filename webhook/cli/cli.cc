#include "webhook/cli/cli.h"

#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

namespace imagegate::webhook {

int exit_on_exception(const std::function<int()>& command) {
  try {
    return command();
  } catch (const std::exception& e) {
    std::cerr << "imagegate: error: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "imagegate: error: internal error\n";
  }
  return kExitError;
}

int run_cli(int argc, char** argv) {
  CliContext context;
  // Installed as kubectl-imagegate, the program is a kubectl plugin: same commands, and the usage line
  // says how it was called (`kubectl imagegate test ...`).
  const bool plugin = argc > 0 && std::filesystem::path(argv[0]).filename() == "kubectl-imagegate";
  CLI::App app{"imagegate: admission control for container images (validating webhook and CI gate)",
               plugin ? "kubectl imagegate" : "imagegate"};
  app.set_version_flag("--version", std::string("imagegate ") + IMAGEGATE_VERSION);
  app.require_subcommand(1);
  add_serve_command(app, context);
  add_test_commands(app, context);
  add_policy_commands(app, context);
  add_resolve_command(app, context);
  add_verdict_commands(app, context);
  add_inventory_commands(app, context);
  add_verify_command(app, context);
  // The commands run inside parse() (their callbacks): one guard for all of them.
  return exit_on_exception([&] {
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      const int rc = app.exit(e);  // prints help or the error
      return rc == 0 ? kExitOk : kExitError;
    }
    return context.exit_code;
  });
}

}  // namespace imagegate::webhook
