// The command line: `imagegate <command>` and, as a kubectl plugin, `kubectl imagegate <command>` (the
// same program under the name kubectl-imagegate). Each command family registers its subcommands; the
// callbacks store the process exit code in CliContext.
//
// Exit codes, for every command: 0 success (all allowed / verified), 1 a negative answer (something
// denied, a suite case failed, a policy has errors), 2 an error (bad input, bad flags, I/O).
#pragma once

namespace CLI {
class App;
}

namespace imagegate::webhook {

struct CliContext {
  int exit_code = 0;
};

// `test` (manifests and suites) and `policy lint`: webhook/cli/test_command.cc.
void add_test_commands(CLI::App& app, CliContext& context);
// `serve`: webhook/cli/serve_command.cc.
void add_serve_command(CLI::App& app, CliContext& context);
// `resolve`: webhook/cli/resolve_command.cc.
void add_resolve_command(CLI::App& app, CliContext& context);
void add_verdict_commands(CLI::App& app, CliContext& context);  // verdict push | get
// `inventory list | rescan | violations`: webhook/cli/verdict_command.cc.
void add_inventory_commands(CLI::App& app, CliContext& context);
// `verify`: webhook/cli/verify_command.cc.
void add_verify_command(CLI::App& app, CliContext& context);

int run_cli(int argc, char** argv);

}  // namespace imagegate::webhook
