// prepare_serve (serve_setup.h): the config file, the flags over it, the embedded demo.
#include "webhook/cli/serve_setup.h"

#include <algorithm>
#include <fstream>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>

#include "webhook/cli/embedded_examples.h"
#include "webhook/server/self_signed.h"

namespace imagegate::webhook {

namespace {

bool write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  return static_cast<bool>(out);
}

// The file's settings, then the flags over them.
Result<ServerConfig> build_config(const ServeFlags& flags) {
  ServerConfig config;
  if (!flags.config.empty()) {
    auto loaded = load_server_config(flags.config);
    if (!loaded) return loaded.error();
    config = std::move(loaded.value());
  }
  if (!flags.policy.empty()) config.policy_file = flags.policy;
  if (!flags.tls_cert.empty()) config.tls_cert_file = flags.tls_cert;
  if (!flags.tls_key.empty()) config.tls_key_file = flags.tls_key;
  if (!flags.client_ca.empty()) config.client_ca_file = flags.client_ca;
  if (!flags.listen.empty()) config.listen = flags.listen;
  if (!flags.api_listen.empty()) config.api_listen = flags.api_listen;
  if (!flags.api_token_file.empty()) config.api_token_file = flags.api_token_file;
  if (!flags.store.empty()) config.store = flags.store;
  if (!flags.log_format.empty()) config.log_format = flags.log_format;
  if (!flags.metrics_listen.empty()) config.metrics_listen = flags.metrics_listen;
  if (flags.no_console) config.console_enabled = false;
  if (flags.recent_decisions_option->count() > 0) config.recent_decisions = flags.recent_decisions;
  if (flags.threads_option->count() > 0) config.threads = flags.threads;
  if (flags.max_connections_option->count() > 0) config.max_connections = flags.max_connections;
  for (const auto& [from, to] : {std::pair{&flags.registry_ca_files, &config.registry.ca_files},
                                 std::pair{&flags.docker_configs, &config.registry.docker_config_files},
                                 std::pair{&flags.insecure_registries, &config.registry.insecure_registries},
                                 std::pair{&flags.legacy_tls_registries, &config.registry.legacy_tls_registries}}) {
    to->insert(to->end(), from->begin(), from->end());
  }
  for (const auto& [text, target, name] :
       {std::tuple{&flags.grace_period, &config.grace_period, "--grace-period"},
        std::tuple{&flags.max_budget, &config.max_budget, "--max-budget"}}) {
    if (text->empty()) continue;
    auto d = parse_config_duration(*text);
    if (!d) return invalid_argument(std::string(name) + ": " + d.error().message);
    *target = *d;
  }
  if (auto ok = validate_server_config(config); !ok) return ok.error();
  return config;
}


// The embedded demo: no policy configured. Writes the compiled-in example policy (and, without a
// certificate, a self-signed one) into a private temporary directory, and points `config` at them.
Result<std::filesystem::path> write_demo(ServerConfig& config) {
  auto dir = make_private_temp_directory("imagegate-demo-");
  if (!dir) return dir.error();
  const std::filesystem::path demo_dir = *dir;
  config.policy_file = (demo_dir / "policy.yaml").string();
  if (!write_text(config.policy_file, example_policy_yaml()) ||
      !write_text(demo_dir / "admission-review.json", example_admission_review_json())) {
    return invalid_argument("cannot write the demo files to " + demo_dir.string());
  }
  if (config.tls_cert_file.empty()) {
    auto files = write_self_signed_certificate(demo_dir);
    if (!files) return files.error();
    config.tls_cert_file = files->cert_file.string();
    config.tls_key_file = files->key_file.string();
  }
  return demo_dir;
}

}  // namespace

Result<ServeSetup> prepare_serve(const ServeFlags& flags) {
  auto built = build_config(flags);
  if (!built) return built.error();
  ServeSetup setup;
  setup.config = std::move(built.value());
  ServerConfig& config = setup.config;
  setup.demo = config.policy_file.empty();
  if (setup.demo) {
    auto dir = write_demo(config);
    if (!dir) return dir.error();
    setup.demo_dir = *dir;
  }
  if (config.listen.empty()) config.listen = setup.demo ? "127.0.0.1:8443" : "0.0.0.0:8443";
  auto listen = parse_listen_address(config.listen);
  if (!listen) return listen.error();
  setup.listen = *listen;
  setup.threads = config.threads != 0 ? config.threads : std::max(1U, std::thread::hardware_concurrency());
  return setup;
}

}  // namespace imagegate::webhook
