// `imagegate serve`: the admission webhook. Wires configuration, policy, TLS and the HTTPS server, and
// handles SIGTERM/SIGINT (graceful stop within the grace period, exit 0). run_serve reads as its steps:
// prepare (config file, flags, the embedded demo), Admission::build (registry, evidence, verdicts, the
// service), the policy watcher and TLS, open_listeners (webhook and verdict API), ShutdownOnSignal, run.
//
// Logs: the decision log (one JSON line per review) goes to stdout; operational lines (start-up, reloads,
// errors, stop) go to stderr through one Logger (webhook/observe/logger.h): JSON lines, or text lines with
// --log-format text. Both open with time, level, msg.

#include "common/asio_warnings.h"  // before any Asio header

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <CLI/CLI.hpp>

#include "webhook/cli/cli.h"
#include "webhook/cli/serve_setup.h"
#include "webhook/console/console_routes.h"
#include "webhook/observe/decision_log.h"
#include "webhook/observe/decision_ring.h"
#include "webhook/observe/logger.h"
#include "webhook/server/https_server.h"
#include "webhook/server/metrics_listener.h"
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
#include "webhook/evidence/attestation_verification.h"
#include "webhook/evidence/signature_evidence_source.h"
#include "webhook/evidence/signature_verification.h"
#include "webhook/server/server_config.h"
#include "webhook/server/tls_context.h"

namespace imagegate::webhook {

namespace {

int fail(Logger& log, const std::string& message) {
  log.error(message);
  return 2;
}


SignatureVerificationOptions signature_options(const ServerConfig& config,
                                               std::shared_ptr<verifier::SharedLookup> shared) {
  SignatureVerificationOptions options;  // the config's `signatures:` section
  options.fetch.max_signatures = config.signatures.max_signatures;
  options.fetch.max_payload_bytes = config.signatures.max_payload_bytes;
  options.cache_ttl = config.signatures.cache_ttl;
  options.shared = std::move(shared);  // Redis: answers shared with the other replicas
  return options;
}

// Attestations are fetched with the signatures' bounds and cached as long as signature results.
AttestationVerificationOptions attestation_options(const ServerConfig& config) {
  AttestationVerificationOptions options;
  options.fetch.max_signatures = config.signatures.max_signatures;
  options.fetch.max_payload_bytes = config.signatures.max_payload_bytes;
  options.cache_ttl = config.signatures.cache_ttl;
  return options;
}

AdmissionOptions admission_options(const ServerConfig& config) {
  AdmissionOptions options;
  options.max_budget = config.max_budget;
  options.max_concurrent_images = config.registry.max_concurrent_per_review;
  if (options.default_budget > config.max_budget) options.default_budget = config.max_budget;
  return options;
}

// What answers reviews: the registry clients, the evidence sources (registry, signatures, verdicts), the
// admission service, the inventory recorder and digest pinning. The members refer to each other: built in
// place, never moved.
struct Admission {
  // Opens what can fail (registry clients, verdict store, API tokens), then builds the rest.
  static Result<std::unique_ptr<Admission>> build(const ServerConfig& config, Metrics& metrics,
                                                  DecisionLog& decisions) {
    // With a Redis store, registry answers are shared with the other replicas through it (registry->shared).
    auto registry = make_registry_clients(config.registry, config.store);
    if (!registry) return registry.error();
    auto verdicts = open_verdicts(config);
    if (!verdicts) return verdicts.error();
    return std::make_unique<Admission>(config, std::move(registry).value(), std::move(verdicts).value(), metrics,
                                       decisions);
  }

  Admission(const ServerConfig& config, RegistryClients clients, Verdicts opened, Metrics& metrics,
            DecisionLog& decisions)
      : registry(std::move(clients)),
        verdicts(std::move(opened)),
        registry_evidence(*registry.cached),
        signature_verification(*registry.cached, signature_options(config, registry.shared)),
        anchor_keeper(config.registry, config.signatures.trust_reload_interval),
        signature_evidence(registry_evidence, signature_verification,
                           *registry.cached,  // the registry: index signatures
                           &metrics),
        attestation_verification(*registry.cached, attestation_options(config)),
        attestation_evidence(signature_evidence, attestation_verification),
        verdict_evidence(verdicts.lookup ? std::make_unique<VerdictEvidenceSource>(attestation_evidence, *verdicts.lookup)
                                         : nullptr),
        options(admission_options(config)),
        service(options, verdict_evidence ? static_cast<EvidenceSource&>(*verdict_evidence) : attestation_evidence,
                metrics, decisions),
        pinning(service, *registry.cached, options) {
    if (registry.shared) {
      metrics.add_shared_cache_source([shared = registry.shared.get()] {
        const auto s = shared->stats();
        return Metrics::SharedCacheCounts{s.hits, s.misses, s.waited, s.errors};
      });
    }
    // Registry metrics: every exchange counted and timed; the cache's counters read at each scrape.
    registry.network->set_request_timing_observer(
        [&metrics](std::string_view result, double seconds) { metrics.registry_request(result, seconds); });
    metrics.set_registry_cache_source([cache = registry.cached.get()] {
      const auto s = cache->stats();
      return Metrics::RegistryCacheCounts{s.hits, s.misses, s.shared, s.stale};
    });
    // Redirects and token realms may lead where the policy in force allows (issue 13: not off the allowlist).
    follow_policy_allowlist(*registry.network, [this] { return policy(); });
    // Each policy's anchor material (keys, roots) is built with it, off the io threads.
    service.set_anchor_loader([keeper = &anchor_keeper](std::shared_ptr<const policy::CompiledPolicy> policy) {
      return keeper->load(std::move(policy));
    });
    // With a store, admitted digests go into its inventory, written off the io threads.
    if (verdicts.lookup) {
      inventory = std::make_unique<InventoryRecorder>(verdicts.lookup->store(), &metrics);
      service.set_observer(inventory.get());
    }
    // The console's recent decisions (on the API listener): each decision-log line is kept there too.
    if (config.console_enabled && verdicts.tokens) recent = std::make_unique<DecisionRing>(config.recent_decisions);
    service.set_recent(recent.get());
    service_ready = &service;
  }

  // The policy the service holds; none until the service exists (before any review).
  std::shared_ptr<const policy::CompiledPolicy> policy() const {
    return service_ready != nullptr ? service_ready->policy() : std::shared_ptr<const policy::CompiledPolicy>();
  }

  RegistryClients registry;
  Verdicts verdicts;
  RegistryEvidenceSource registry_evidence;
  // Signatures of the resolved digest (cosign, Sigstore bundles, Notary v1), verified against the anchor
  // material of the review's snapshot: built with each policy, rebuilt when its trust files change.
  SignatureVerification signature_verification;
  AnchorKeeper anchor_keeper;
  SignatureEvidenceSource signature_evidence;
  // Attestations (rules' `attestations:`): DSSE statements about the digest, their conditions decided.
  AttestationVerification attestation_verification;
  AttestationEvidenceSource attestation_evidence;
  // With a store, the verdict of the resolved digest joins the registry's evidence.
  std::unique_ptr<VerdictEvidenceSource> verdict_evidence;
  AdmissionOptions options;
  PolicyAdmissionService service;
  std::unique_ptr<InventoryRecorder> inventory;
  std::unique_ptr<DecisionRing> recent;  // with the console
  // POST /mutate: pins images of pinDigest rules to their digest, through the same registry cache.
  DigestPinning pinning;
  PolicyAdmissionService* service_ready = nullptr;  // set once the service exists, before any review
};

// The webhook listener and, when the verdict API is configured, its listener; both bound, not started.
struct Listeners {
  std::unique_ptr<HttpsServer> webhook;
  boost::asio::ip::tcp::endpoint bound;
  std::unique_ptr<HttpsServer> api;
  std::unique_ptr<MetricsListener> metrics;  // --metrics-listen: plain-HTTP /metrics
};

// The plain-HTTP /metrics listener, when configured (bound, not started).
Status open_metrics_listener(boost::asio::io_context& io, const ServerConfig& config, Listeners& out, Metrics& metrics,
                             Logger& log) {
  if (config.metrics_listen.empty()) return Ok{};
  auto address = parse_listen_address(config.metrics_listen);
  if (!address) return Error{address.error().code, "metricsListen: " + address.error().message};
  out.metrics = std::make_unique<MetricsListener>(io, metrics, log);
  auto bound = out.metrics->listen(*address);
  if (!bound) return bound.error();
  log.info("metrics listening (plain HTTP, /metrics only)", {{"port", bound->port()}});
  return Ok{};
}

Result<Listeners> open_listeners(boost::asio::io_context& io, const ServeSetup& setup, Admission& admission,
                                 TlsContextProvider& tls, Metrics& metrics, Logger& log) {
  const ServerConfig& config = setup.config;
  HttpsServerOptions server_options;
  server_options.host = setup.listen.host;
  server_options.port = setup.listen.port;
  server_options.max_connections = config.max_connections;
  server_options.handshake_timeout = config.handshake_timeout;
  server_options.idle_timeout = config.idle_timeout;
  server_options.read_timeout = config.read_timeout;
  server_options.write_timeout = config.write_timeout;
  DigestPinning* pinning = &admission.pinning;
  server_options.mutate = [pinning](HttpRequest r) { return pinning->mutate(std::move(r.body), std::move(r.target)); };
  Listeners out;
  out.webhook = std::make_unique<HttpsServer>(io, server_options, tls, admission.service, &metrics, log);
  auto bound = out.webhook->listen();
  if (!bound) return bound.error();
  out.bound = *bound;
  if (auto opened = open_metrics_listener(io, config, out, metrics, log); !opened) return opened.error();
  const Verdicts& verdicts = admission.verdicts;
  if (!verdicts.tokens) return out;
  auto api_listen = parse_listen_address(config.api_listen);
  if (!api_listen) return api_listen.error();
  HttpsServerOptions api_options = server_options;
  api_options.host = api_listen->host;
  api_options.port = api_listen->port;
  api_options.body_limit = VerdictApiOptions{}.limits.max_bytes;
  VerdictApiOptions verdict_api_options;
  verdict_api_options.metrics = &metrics;
  PolicyAdmissionService* service = &admission.service;
  verdict_api_options.policy = [service] { return service->policy(); };
  if (admission.recent) {  // the console (webhook/console/console_routes.h)
    auto sources = std::make_shared<ConsoleSources>();
    sources->recent = admission.recent.get();
    sources->lookup = verdicts.lookup.get();
    sources->policy = verdict_api_options.policy;
    sources->policy_loaded_at = [service] { return service->policy_loaded_at(); };
    sources->replica = replica_name();
    add_console(verdict_api_options, std::move(sources));
  }
  api_options.answer_headers = console_answer_headers();  // nosniff, no-store, CSP: on every API answer
  // Tokens are checked on the header: an unauthenticated body is never read (issue 13).
  api_options.head_check = make_verdict_api_head_check(verdicts.tokens, verdict_api_options);
  api_options.handler = make_verdict_api(*verdicts.lookup, verdicts.tokens, std::move(verdict_api_options));
  out.api = std::make_unique<HttpsServer>(io, api_options, tls, admission.service, nullptr, log);
  auto api_bound = out.api->listen();
  if (!api_bound) return Error{api_bound.error().code, "apiListen: " + api_bound.error().message};
  log.info("verdict API listening", {{"port", api_bound->port()}, {"store", verdicts.store_spec}});
  return out;
}

// SIGTERM / SIGINT: the first stops the listeners gracefully within the grace period, then everything; a
// second stops everything at once. Constructed before the listeners start, so no signal is lost.
class ShutdownOnSignal {
 public:
  ShutdownOnSignal(boost::asio::io_context& io, std::chrono::milliseconds grace_period, Listeners& listeners,
                   PolicyWatcher& watcher, AnchorKeeper& anchors, TlsContextProvider& tls, Logger& log)
      : io_(io), grace_period_(grace_period), listeners_(listeners), watcher_(watcher), anchors_(anchors), tls_(tls),
        log_(log), signals_(io, SIGINT, SIGTERM) {
    wait();
  }

 private:
  void wait() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) { on_signal(ec, signal_number); });
  }

  void stop_everything() {
    watcher_.stop();
    anchors_.stop();
    tls_.stop();
    io_.stop();
  }

  void on_signal(const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    if (stopping_) {  // a second signal: stop now
      log_.warn("second signal; stopping without waiting", {{"signal", signal_number}});
      stop_everything();
      return;
    }
    stopping_ = true;
    log_.info("stopping: no new connections; finishing requests in flight",
              {{"signal", signal_number}, {"gracePeriodSeconds", static_cast<double>(grace_period_.count()) / 1000.0}});
    if (listeners_.api) listeners_.api->stop(grace_period_, [] {});
    if (listeners_.metrics) listeners_.metrics->stop();
    listeners_.webhook->stop(grace_period_, [this] { stop_everything(); });
    wait();
  }

  boost::asio::io_context& io_;
  std::chrono::milliseconds grace_period_;
  Listeners& listeners_;
  PolicyWatcher& watcher_;
  AnchorKeeper& anchors_;
  TlsContextProvider& tls_;
  Logger& log_;
  boost::asio::signal_set signals_;
  bool stopping_ = false;
};

// imagegate_trust_material_expiry_seconds: each anchor's earliest expiries, from the material in force and
// (Notary v1) the TUF metadata its verifier fetched and keeps.
std::vector<Metrics::TrustExpiry> trust_expiries(const AnchorKeeper& keeper) {
  std::vector<Metrics::TrustExpiry> out;
  const std::shared_ptr<const verifier::AnchorMaterial> material = keeper.material();
  if (!material) return out;
  for (const verifier::LoadedAnchor& anchor : material->anchors()) {
    for (const verifier::MaterialExpiry& e : anchor.expiries) out.push_back({anchor.name, e.kind, e.not_after});
    if (!anchor.verifier) continue;
    if (const auto fetched = anchor.verifier->fetched_trust_expiry()) {
      out.push_back({anchor.name, "tuf_metadata", *fetched});
    }
  }
  return out;
}

// The start-up line, and in demo mode how to try it (a line of its own, the command in `try`).
void log_started(Logger& log, const ServeSetup& setup, const boost::asio::ip::tcp::endpoint& bound) {
  const ServerConfig& config = setup.config;
  const std::string address = bound.address().is_v6()
                                  ? "[" + bound.address().to_string() + "]:" + std::to_string(bound.port())
                                  : bound.address().to_string() + ":" + std::to_string(bound.port());
  std::vector<LogField> started{{"address", address},
                                {"port", bound.port()},
                                {"policy", config.policy_file},
                                {"tlsCert", config.tls_cert_file},
                                {"mtls", !config.client_ca_file.empty()},
                                {"threads", setup.threads},
                                {"version", IMAGEGATE_VERSION}};
  const std::string demo_dir = setup.demo_dir.string();
  if (setup.demo) started.emplace_back("demoDir", demo_dir);
  log.log(LogLevel::info, "listening", started);
  if (!setup.demo) return;
  const std::string host =
      bound.address().is_loopback() || bound.address().is_unspecified() ? "127.0.0.1" : bound.address().to_string();
  const std::string command = "curl --cacert " + config.tls_cert_file +
                              " -H 'Content-Type: application/json' --data-binary @" +
                              (setup.demo_dir / "admission-review.json").string() + " https://" + host + ":" +
                              std::to_string(bound.port()) + "/validate";
  log.info("demo: the example policy and a self-signed certificate for localhost are in demoDir; try it (one of "
           "the three containers is denied)",
           {{"demoDir", demo_dir}, {"try", command}});
}

int run_serve(const ServeFlags& flags) {
  // Every line on stderr goes through `log`; the format is the flag's (or json) until the config is read.
  Logger log(std::cerr, parse_log_format(flags.log_format).value_or(LogFormat::json));
  auto prepared = prepare_serve(flags);
  if (!prepared) return fail(log, prepared.error().message);
  const ServeSetup& setup = *prepared;
  const ServerConfig& config = setup.config;
  log.set_format(parse_log_format(config.log_format).value_or(LogFormat::json));
  // Declared before everything that holds sockets or timers of it (the registry clients' pooled
  // connections, the Notary verifiers' clients in the anchor sets), so they are destroyed while it lives.
  boost::asio::io_context io(static_cast<int>(setup.threads));
  // Trust files (keys, roots) are reread for rotation here, never on the io threads (the policy watcher
  // reads and compiles on a thread of its own).
  boost::asio::thread_pool policy_pool(1);

  Metrics metrics;
  // stdout, written by a thread of its own (decision_log.h): a review never waits on the log shipper.
  DecisionLogOptions log_options;
  log_options.report = &log;
  DecisionLog decisions(STDOUT_FILENO, log_options);
  metrics.set_decision_log_source([&decisions] { return decisions.counts(); });
  auto built = Admission::build(config, metrics, decisions);
  if (!built) return fail(log, built.error().message);
  Admission& admission = **built;
  metrics.set_trust_expiry_source([keeper = &admission.anchor_keeper] { return trust_expiries(*keeper); });

  PolicyWatcher watcher(io.get_executor(), config.policy_file, admission.service, metrics, log,
                        config.policy_reload_interval);
  if (!watcher.load_now()) {
    return fail(log, "policy " + config.policy_file + " is not valid (errors above); not starting");
  }
  auto tls = TlsContextProvider::create(
      TlsFiles{config.tls_cert_file, config.tls_key_file, config.client_ca_file}, &metrics, log);
  if (!tls) return fail(log, tls.error().message);
  std::shared_ptr<TlsContextProvider> tls_provider = std::move(tls.value());
  auto listeners = open_listeners(io, setup, admission, *tls_provider, metrics, log);
  if (!listeners) return fail(log, listeners.error().message);

  ShutdownOnSignal shutdown(io, config.grace_period, *listeners, watcher, admission.anchor_keeper, *tls_provider,
                            log);
  log_started(log, setup, listeners->bound);

  std::signal(SIGPIPE, SIG_IGN);
  // A file size limit (ulimit -f) reached by the SQLite store or the decision log: the write fails with
  // EFBIG and is answered as an error (a verdict push gets 503), instead of SIGXFSZ killing the server.
  std::signal(SIGXFSZ, SIG_IGN);
  watcher.start();
  PolicyAdmissionService* service = &admission.service;
  admission.anchor_keeper.start(policy_pool.get_executor(),
                                [service](std::shared_ptr<const verifier::AnchorMaterial> rotated) {
                                  service->set_anchor_material(std::move(rotated));
                                });
  tls_provider->start(io.get_executor(), config.tls_reload_interval);
  listeners->webhook->start();
  if (listeners->api) listeners->api->start();
  if (listeners->metrics) listeners->metrics->start();

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < setup.threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& worker : workers) worker.join();
  // The keeper's timer is cancelled: nothing more reaches the pool.
  policy_pool.join();
  // Every review has answered: its line is queued. Write them all out before saying "stopped" (a stalled
  // stdout is given up on after the drain timeout; what it kept is counted as not written).
  const bool drained = decisions.drain(log_options.drain_timeout);
  const DecisionLogCounts logged = decisions.counts();
  std::vector<LogField> stopped{{"decisionLogLines", logged.written}};
  if (logged.dropped != 0 || logged.failed != 0 || !drained) {
    stopped.insert(stopped.end(), {{"decisionLogDropped", logged.dropped},
                                   {"decisionLogFailed", logged.failed},
                                   {"decisionLogDrained", drained}});
  }
  log.log(LogLevel::info, "stopped", stopped);
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, CliContext& context) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run the validating admission webhook over HTTPS. With no --policy and no --config it serves the "
      "built-in example policy with a generated self-signed certificate on 127.0.0.1:8443.");
  serve->footer(
      "Endpoints on --listen (HTTPS): POST /validate (ValidatingWebhookConfiguration), POST /mutate (digest "
      "pinning, MutatingWebhookConfiguration), GET /healthz (liveness: always 200), GET /readyz (200 once a "
      "policy is loaded, else 503), GET /metrics (Prometheus text). On --api-listen (HTTPS, bearer tokens from "
      "--api-token-file): PUT/GET /api/v1/verdicts, GET/DELETE /api/v1/inventory, GET /healthz, and the "
      "console at /console/ with its views (docs/api.md).\n"
      "Flags override the config file's keys; a default shown is used when neither sets the value.");
  serve->add_option("--config", flags->config, "YAML config file (docs/install.md); flags override it");
  serve->add_option("--policy", flags->policy,
                    "ImagePolicy file; reloaded when it changes (default: the built-in example policy)");
  serve->add_option("--tls-cert", flags->tls_cert,
                    "PEM certificate chain; reloaded when it changes (default: a generated self-signed one)");
  serve->add_option("--tls-key", flags->tls_key, "PEM private key; reloaded when it changes");
  serve->add_option("--client-ca", flags->client_ca,
                    "require client certificates signed by this CA (mTLS) (default: none required)");
  serve->add_option("--listen", flags->listen,
                    "ADDRESS:PORT, :PORT or [IPv6]:PORT; port 0 picks a free one (default 0.0.0.0:8443; "
                    "127.0.0.1:8443 for the built-in example)");
  serve->add_option("--api-listen", flags->api_listen,
                    "ADDRESS:PORT of the verdict API listener (docs/api.md) (default: none)");
  serve->add_option("--api-token-file", flags->api_token_file, "verdict API tokens: one rw:TOKEN or ro:TOKEN a line");
  serve->add_option("--store", flags->store,
                    "verdict store: sqlite:PATH or redis://HOST:PORT/DB (default with --api-listen: "
                    "sqlite:$IMAGEGATE_DATA_DIR/verdicts.db; without: none)");
  serve->add_option("--log-format", flags->log_format, "stderr lines: json (default) or text")
      ->check(CLI::IsMember({"json", "text"}));
  serve->add_option("--metrics-listen", flags->metrics_listen,
                    "ADDRESS:PORT of a plain-HTTP listener serving only /metrics (default: none)");
  serve->add_flag("--no-console", flags->no_console,
                  "do not serve the console on --api-listen (default: served; config console.enabled)");
  flags->recent_decisions_option =
      serve->add_option("--recent-decisions", flags->recent_decisions,
                        "reviews the console keeps in memory (default 1000; config console.recentDecisions)")
          ->check(CLI::Range(std::size_t{1}, kMaxRecentDecisionsLimit));
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
