// `imagegate serve`'s set-up, internal to webhook/cli/: its flags (ServeFlags, filled by CLI11 in
// serve_command.cc), and prepare_serve, which reads the config file, lays the flags over it, validates the
// result and, when no policy is configured, writes the embedded demo (example policy, self-signed
// certificate) into a private temporary directory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/result.h"
#include "webhook/server/server_config.h"

namespace imagegate::webhook {

struct ServeFlags {
  std::string config;
  std::string policy;
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  std::string listen;
  unsigned threads = 0;
  std::string grace_period;
  std::size_t max_connections = 0;
  std::string max_budget;
  std::vector<std::string> registry_ca_files;
  std::vector<std::string> docker_configs;
  std::vector<std::string> insecure_registries;
  std::vector<std::string> legacy_tls_registries;
  std::string api_listen;
  std::string api_token_file;
  std::string store;
  std::string log_format;
  std::string metrics_listen;
  bool no_console = false;
  std::size_t recent_decisions = 0;
  CLI::Option* recent_decisions_option = nullptr;
  CLI::Option* threads_option = nullptr;
  CLI::Option* max_connections_option = nullptr;
};

// What `serve` runs with: the file's settings and the flags over them, with the embedded demo's files when
// no policy is configured.
struct ServeSetup {
  ServerConfig config;
  bool demo = false;
  std::filesystem::path demo_dir;
  ListenAddress listen;
  unsigned threads = 1;
};

Result<ServeSetup> prepare_serve(const ServeFlags& flags);

}  // namespace imagegate::webhook
