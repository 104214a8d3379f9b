// The command line: `imagegate <command>` and, as a kubectl plugin, `kubectl imagegate <command>` (the
// same program under the name kubectl-imagegate). Each command family registers its subcommands; the
// callbacks store the process exit code in CliContext.
//
// Exit codes, for every command: 0 success (all allowed / verified), 1 a negative answer (something
// denied, a suite case failed, a policy has errors), 2 an error (bad input, bad flags, I/O). Commands
// report errors as exit codes; an exception that escapes one anyway is a bug, and run_cli answers it, for
// every command, in one place (exit_on_exception): `imagegate: error: internal error: WHAT`, exit 2.
// (`verdict` documents 1 for a request that got no answer: webhook/cli/verdict_command.cc returns it.)
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace imagegate::webhook {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNegative = 1;
inline constexpr int kExitError = 2;

// Runs `command` and returns its exit code; an exception escaping it is printed to stderr as above and
// gives kExitError.
int exit_on_exception(const std::function<int()>& command);

struct CliContext {
  int exit_code = 0;
};

// `test` (manifests and suites): webhook/cli/test_command.cc.
void add_test_commands(CLI::App& app, CliContext& context);
// `policy lint`: webhook/cli/lint_command.cc.
void add_policy_commands(CLI::App& app, CliContext& context);
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
