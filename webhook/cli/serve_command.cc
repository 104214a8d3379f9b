// `imagegate serve`: the admission webhook. Wires configuration, policy, TLS and the HTTPS server, and
// handles SIGTERM/SIGINT (graceful stop within the grace period, exit 0).
//
// Logs: the decision log (one JSON line per review) goes to stdout; operational lines (start-up, reloads,
// errors) go to stderr, also as JSON lines.

#include "common/asio_warnings.h"  // before any Asio header

#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "webhook/cli/cli.h"
#include "webhook/observe/decision_log.h"
#include "webhook/cli/embedded_examples.h"
#include "webhook/server/https_server.h"
#include "webhook/api/inventory_recorder.h"
#include "webhook/observe/metrics.h"
#include "webhook/admission/policy_admission_service.h"
#include "webhook/admission/policy_watcher.h"
#include "webhook/evidence/anchor_keeper.h"
#include "webhook/evidence/registry_evidence_source.h"
#include "webhook/admission/digest_pinning.h"
#include "webhook/evidence/registry_setup.h"
#include "webhook/api/verdict_api.h"
#include "webhook/evidence/verdict_lookup.h"
#include "webhook/server/self_signed.h"
#include "webhook/evidence/signature_evidence_source.h"
#include "webhook/evidence/signature_verification.h"
#include "webhook/server/server_config.h"
#include "webhook/server/tls_context.h"

namespace imagegate::webhook {

namespace {

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
  CLI::Option* threads_option = nullptr;
  CLI::Option* max_connections_option = nullptr;
};

void log_line(const nlohmann::json& line) { std::cerr << line.dump() + "\n" << std::flush; }

int fail(const std::string& message) {
  log_line({{"level", "error"}, {"msg", message}});
  return 2;
}

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
    auto d = parse_duration(*text);
    if (!d) return invalid_argument(std::string(name) + ": " + d.error().message);
    *target = *d;
  }
  if (auto ok = validate_server_config(config); !ok) return ok.error();
  return config;
}

int run_serve(const ServeFlags& flags) {
  auto built = build_config(flags);
  if (!built) return fail(built.error().message);
  ServerConfig config = std::move(built.value());

  // The embedded demo: no policy configured. Write the compiled-in example policy (and, without a
  // certificate, a self-signed one) into a private temporary directory and serve those.
  const bool demo = config.policy_file.empty();
  std::filesystem::path demo_dir;
  if (demo) {
    auto dir = make_private_temp_directory("imagegate-demo-");
    if (!dir) return fail(dir.error().message);
    demo_dir = *dir;
    config.policy_file = (demo_dir / "policy.yaml").string();
    if (!write_text(config.policy_file, example_policy_yaml()) ||
        !write_text(demo_dir / "admission-review.json", example_admission_review_json())) {
      return fail("cannot write the demo files to " + demo_dir.string());
    }
    if (config.tls_cert_file.empty()) {
      auto files = write_self_signed_certificate(demo_dir);
      if (!files) return fail(files.error().message);
      config.tls_cert_file = files->cert_file.string();
      config.tls_key_file = files->key_file.string();
    }
  }
  if (config.listen.empty()) config.listen = demo ? "127.0.0.1:8443" : "0.0.0.0:8443";
  auto listen = parse_listen_address(config.listen);
  if (!listen) return fail(listen.error().message);
  const unsigned threads = config.threads != 0 ? config.threads : std::max(1U, std::thread::hardware_concurrency());
  // Declared before everything that holds sockets or timers of it (the registry clients' pooled
  // connections, the Notary verifiers' clients in the anchor sets), so they are destroyed while it lives.
  boost::asio::io_context io(static_cast<int>(threads));
  // Policy files and trust files (keys, roots) are read, compiled and loaded here, never on the io threads:
  // the policy watcher and the trust-file rotation run on this pool.
  boost::asio::thread_pool policy_pool(1);

  Metrics metrics;
  DecisionLog decisions(std::cout);
  // With a Redis store, registry answers are shared with the other replicas through it (registry->shared).
  auto registry = make_registry_clients(config.registry, config.store);
  if (!registry) return fail(registry.error().message);
  if (registry->shared) {
    metrics.add_shared_cache_source([shared = registry->shared.get()] {
      const auto s = shared->stats();
      return Metrics::SharedCacheCounts{s.hits, s.misses, s.waited, s.errors};
    });
  }
  // Registry metrics: every exchange counted and timed; the cache's counters read at each scrape.
  registry->network->set_request_timing_observer(
      [&metrics](std::string_view result, double seconds) { metrics.registry_request(result, seconds); });
  metrics.set_registry_cache_source([cache = registry->cached.get()] {
    const auto s = cache->stats();
    return Metrics::RegistryCacheCounts{s.hits, s.misses, s.shared, s.stale};
  });
  RegistryEvidenceSource registry_evidence(*registry->cached);
  // Signatures of the resolved digest (cosign, Sigstore bundles, Notary v1), verified against the anchor
  // material of the review's snapshot: built with each policy, rebuilt when its trust files change.
  SignatureVerificationOptions signature_options;  // the config's `signatures:` section
  signature_options.fetch.max_signatures = config.signatures.max_signatures;
  signature_options.fetch.max_payload_bytes = config.signatures.max_payload_bytes;
  signature_options.cache_ttl = config.signatures.cache_ttl;
  signature_options.shared = registry->shared;  // Redis: answers shared with the other replicas
  SignatureVerification signature_verification(*registry->cached, signature_options);
  AnchorKeeper anchor_keeper(config.registry, config.signatures.trust_reload_interval);
  PolicyAdmissionService* service_for_policy = nullptr;  // set once the service exists, before any review
  // Redirects and token realms may lead where the policy in force allows (issue 13: not off the allowlist).
  follow_policy_allowlist(*registry->network, [&service_for_policy] {
    return service_for_policy != nullptr ? service_for_policy->policy() : std::shared_ptr<const policy::CompiledPolicy>();
  });
  SignatureEvidenceSource signature_evidence(registry_evidence, signature_verification,
                                             *registry->cached,  // the registry: index signatures
                                             &metrics);
  auto verdicts = open_verdicts(config);
  if (!verdicts) return fail(verdicts.error().message);
  // With a store, the verdict of the resolved digest joins the registry's evidence.
  std::optional<VerdictEvidenceSource> verdict_evidence;
  if (verdicts->lookup) verdict_evidence.emplace(signature_evidence, *verdicts->lookup);
  EvidenceSource& evidence = verdict_evidence ? static_cast<EvidenceSource&>(*verdict_evidence) : signature_evidence;
  AdmissionOptions admission_options;
  admission_options.max_budget = config.max_budget;
  admission_options.max_concurrent_images = config.registry.max_concurrent_per_review;
  if (admission_options.default_budget > config.max_budget) admission_options.default_budget = config.max_budget;
  PolicyAdmissionService service(admission_options, evidence, metrics, decisions);
  service.set_anchor_loader([&anchor_keeper](std::shared_ptr<const policy::CompiledPolicy> policy) {
    return anchor_keeper.load(std::move(policy));
  });
  // With a store, admitted digests go into its inventory, written off the io threads.
  std::unique_ptr<InventoryRecorder> inventory;
  if (verdicts->lookup) {
    inventory = std::make_unique<InventoryRecorder>(verdicts->lookup->store(), &metrics);
    service.set_observer(inventory.get());
  }
  service_for_policy = &service;

  PolicyWatcher watcher(policy_pool.get_executor(), config.policy_file, service, metrics, std::cerr,
                        config.policy_reload_interval);
  if (!watcher.load_now()) {
    return fail("policy " + config.policy_file + " is not valid (diagnostics above); not starting");
  }

  auto tls = TlsContextProvider::create(
      TlsFiles{config.tls_cert_file, config.tls_key_file, config.client_ca_file}, &metrics, std::cerr);
  if (!tls) return fail(tls.error().message);
  std::shared_ptr<TlsContextProvider> tls_provider = std::move(tls.value());

  HttpsServerOptions server_options;
  server_options.host = listen->host;
  server_options.port = listen->port;
  server_options.max_connections = config.max_connections;
  server_options.handshake_timeout = config.handshake_timeout;
  server_options.idle_timeout = config.idle_timeout;
  server_options.read_timeout = config.read_timeout;
  server_options.write_timeout = config.write_timeout;
  // POST /mutate: pins images of pinDigest rules to their digest, through the same registry cache.
  DigestPinning pinning(service, *registry->cached, admission_options);
  server_options.mutate = [&pinning](HttpRequest r) { return pinning.mutate(std::move(r.body), std::move(r.target)); };
  HttpsServer server(io, server_options, *tls_provider, service, &metrics, std::cerr);
  auto bound = server.listen();
  if (!bound) return fail(bound.error().message);
  std::unique_ptr<HttpsServer> api_server;
  if (verdicts->tokens) {
    auto api_listen = parse_listen_address(config.api_listen);
    if (!api_listen) return fail(api_listen.error().message);
    HttpsServerOptions api_options = server_options;
    api_options.host = api_listen->host;
    api_options.port = api_listen->port;
    api_options.body_limit = VerdictApiOptions{}.limits.max_bytes;
    VerdictApiOptions verdict_api_options;
    verdict_api_options.metrics = &metrics;
    verdict_api_options.policy = [&service] { return service.policy(); };
    // Tokens are checked on the header: an unauthenticated body is never read (issue 13).
    api_options.head_check = make_verdict_api_head_check(verdicts->tokens, verdict_api_options);
    api_options.handler = make_verdict_api(*verdicts->lookup, verdicts->tokens, std::move(verdict_api_options));
    api_server = std::make_unique<HttpsServer>(io, api_options, *tls_provider, service, nullptr, std::cerr);
    auto api_bound = api_server->listen();
    if (!api_bound) return fail("apiListen: " + api_bound.error().message);
    log_line({{"level", "info"}, {"msg", "verdict API listening"}, {"port", api_bound->port()},
              {"store", verdicts->store_spec}});
  }

  // Signals first, so a SIGTERM during start-up is not lost once we are listening.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  const auto stop_everything = [&] {
    watcher.stop();
    anchor_keeper.stop();
    tls_provider->stop();
    io.stop();
  };
  std::function<void(const boost::system::error_code&, int)> on_signal;
  bool stopping = false;
  on_signal = [&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    if (stopping) {  // a second signal: stop now
      log_line({{"level", "warn"}, {"msg", "second signal; stopping without waiting"}, {"signal", signal_number}});
      stop_everything();
      return;
    }
    stopping = true;
    log_line({{"level", "info"},
              {"msg", "stopping: no new connections; finishing requests in flight"},
              {"signal", signal_number},
              {"gracePeriodSeconds", static_cast<double>(config.grace_period.count()) / 1000.0}});
    if (api_server) api_server->stop(config.grace_period, [] {});
    server.stop(config.grace_period, stop_everything);
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  const std::string address = bound->address().is_v6() ? "[" + bound->address().to_string() + "]:" +
                                                              std::to_string(bound->port())
                                                        : bound->address().to_string() + ":" +
                                                              std::to_string(bound->port());
  nlohmann::json started{{"level", "info"},
                         {"msg", "listening"},
                         {"address", address},
                         {"port", bound->port()},
                         {"policy", config.policy_file},
                         {"tlsCert", config.tls_cert_file},
                         {"mtls", !config.client_ca_file.empty()},
                         {"threads", threads},
                         {"version", IMAGEGATE_VERSION}};
  if (demo) started["demoDir"] = demo_dir.string();
  log_line(started);
  if (demo) {
    const std::string host = bound->address().is_loopback() || bound->address().is_unspecified()
                                 ? "127.0.0.1"
                                 : bound->address().to_string();
    std::cerr << "\nimagegate demo: the example policy and a self-signed certificate for localhost are in "
              << demo_dir.string() << "\nTry it (one of the three containers is denied):\n\n  curl --cacert "
              << config.tls_cert_file << " -H 'Content-Type: application/json' --data-binary @"
              << (demo_dir / "admission-review.json").string() << " https://" << host << ":" << bound->port()
              << "/validate\n\n"
              << std::flush;
  }

  std::signal(SIGPIPE, SIG_IGN);
  watcher.start();
  anchor_keeper.start(policy_pool.get_executor(), [&service](std::shared_ptr<const verifier::AnchorMaterial> rotated) {
    service.set_anchor_material(std::move(rotated));
  });
  tls_provider->start(io.get_executor(), config.tls_reload_interval);
  server.start();
  if (api_server) api_server->start();

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& worker : workers) worker.join();
  // The watcher's and the keeper's timers are cancelled: the pool runs out of work.
  policy_pool.join();
  log_line({{"level", "info"}, {"msg", "stopped"}});
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, CliContext& context) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run the validating admission webhook over HTTPS. With no --policy and no --config it serves the "
      "built-in example policy with a generated self-signed certificate on 127.0.0.1:8443.");
  serve->add_option("--config", flags->config, "YAML config file (docs/install.md); flags override it");
  serve->add_option("--policy", flags->policy, "ImagePolicy file; reloaded when it changes");
  serve->add_option("--tls-cert", flags->tls_cert, "PEM certificate chain; reloaded when it changes");
  serve->add_option("--tls-key", flags->tls_key, "PEM private key; reloaded when it changes");
  serve->add_option("--client-ca", flags->client_ca, "require client certificates signed by this CA (mTLS)");
  serve->add_option("--listen", flags->listen, "ADDRESS:PORT, :PORT or [IPv6]:PORT; port 0 picks a free one");
  serve->add_option("--api-listen", flags->api_listen, "ADDRESS:PORT of the verdict API listener (docs/api.md)");
  serve->add_option("--api-token-file", flags->api_token_file, "verdict API tokens: one rw:TOKEN or ro:TOKEN a line");
  serve->add_option("--store", flags->store, "verdict store: sqlite:PATH or redis://HOST:PORT/DB");
  flags->threads_option =
      serve->add_option("--threads", flags->threads, "I/O threads (default: hardware concurrency)")
          ->check(CLI::Range(1U, 1024U));
  serve->add_option("--grace-period", flags->grace_period,
                    "on SIGTERM, how long requests in flight may take (default 10s)");
  flags->max_connections_option =
      serve->add_option("--max-connections", flags->max_connections,
                        "open connections beyond this are closed at once (default 1024)")
          ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  serve->add_option("--max-budget", flags->max_budget, "the longest a review may take (default 25s)");
  serve->add_option("--ca-file", flags->registry_ca_files,
                    "CA bundle trusted for registries, beside the system CAs (repeatable)");
  serve->add_option("--docker-config", flags->docker_configs,
                    "Docker config.json with registry credentials (repeatable; the first file wins)");
  serve->add_option("--insecure-registry", flags->insecure_registries,
                    "HOST[:PORT] reached over plain HTTP (repeatable)");
  serve->add_option("--legacy-tls-registry", flags->legacy_tls_registries,
                    "HOST[:PORT] whose TLS may use CBC / static-RSA ciphers (repeatable; a legacy registry only)");
  serve->callback([flags, &context] { context.exit_code = run_serve(*flags); });
}

}  // namespace imagegate::webhook
