#include "webhook/cli/cli.h"

#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

namespace imagegate::webhook {

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
  add_resolve_command(app, context);
  add_verdict_commands(app, context);
  add_inventory_commands(app, context);
  add_verify_command(app, context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help or the error
    return rc == 0 ? 0 : 2;
  }
  return context.exit_code;
}

}  // namespace imagegate::webhook
