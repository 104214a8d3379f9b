// `imagegate resolve REF`: what the server's digest resolution sees for one image -- the digest, the
// manifest's media type and, for an index, its platforms. Uses the same client and configuration keys
// as `imagegate serve` (--ca-file, --docker-config, --insecure-registry).

#include "common/asio_warnings.h"  // before any Asio header

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "webhook/cli/cli.h"
#include "webhook/evidence/registry_setup.h"
#include "webhook/server/server_config.h"

namespace imagegate::webhook {
namespace {

struct ResolveFlags {
  std::string reference;
  RegistryConfig registry;  // --ca-file, --docker-config, --insecure-registry, --legacy-tls-registry
  std::string timeout = "10s";
  std::string output = "text";
};

int run_resolve(const ResolveFlags& flags) {
  const auto error = [](const std::string& message) {
    std::cerr << "imagegate: error: " << message << "\n";
    return 2;
  };
  auto ref = verifier::ImageReference::from_container_image(flags.reference);
  if (!ref) return error(ref.error().message);
  auto timeout = parse_config_duration(flags.timeout);
  if (!timeout) return error("--timeout: " + timeout.error().message);
  RegistryConfig config = flags.registry;
  config.timeout = *timeout;
  // Declared before the clients: their pooled connections close on it when they are destroyed.
  boost::asio::io_context io;
  auto clients = make_registry_clients(config);
  if (!clients) return error(clients.error().message);

  std::optional<Result<verifier::ResolvedImage>> result;
  verifier::ResolveOptions options;
  options.details = true;
  auto run = [&]() -> boost::asio::awaitable<void> { result = co_await clients->network->resolve(*ref, options); };
  boost::asio::co_spawn(io, run(), [&](std::exception_ptr e) {
    if (e) result = Result<verifier::ResolvedImage>(internal_error("resolution threw"));
  });
  io.run();
  if (!result || !result->ok()) {
    const Error e = result ? result->error() : internal_error("resolution did not finish");
    std::cerr << "imagegate: " << to_string(e.code) << ": " << message_with_detail(e) << "\n";
    return e.code == ErrorCode::not_found || e.code == ErrorCode::permission_denied ? 1 : 2;
  }
  const verifier::ResolvedImage& image = result->value();
  if (flags.output == "json") {
    nlohmann::json out{{"reference", ref->string()},
                       {"digest", image.digest},
                       {"mediaType", image.media_type},
                       {"size", image.size},
                       {"platforms", image.platforms},
                       {"pinned", ref->name() + "@" + image.digest}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "reference:  " << ref->string() << "\n"
              << "digest:     " << image.digest << "\n"
              << "mediaType:  " << image.media_type << "\n"
              << "size:       " << image.size << "\n";
    if (!image.platforms.empty()) {
      std::cout << "platforms: ";
      for (const auto& p : image.platforms) std::cout << " " << p;
      std::cout << "\n";
    }
    std::cout << "pinned:     " << ref->name() << "@" << image.digest << "\n";
  }
  return 0;
}

}  // namespace

void add_resolve_command(CLI::App& app, CliContext& context) {
  auto flags = std::make_shared<ResolveFlags>();
  CLI::App* resolve = app.add_subcommand(
      "resolve", "Resolve an image reference to its digest (media type and platforms too), as the server does");
  resolve->add_option("reference", flags->reference, "image reference, e.g. registry.example.com/app:1.2")
      ->required();
  resolve->add_option("--ca-file", flags->registry.ca_files, "CA bundle trusted for registries (repeatable)")
      ->allow_extra_args(false);
  resolve->add_option("--docker-config", flags->registry.docker_config_files, "Docker config.json with credentials (repeatable)")
      ->allow_extra_args(false);
  resolve->add_option("--insecure-registry", flags->registry.insecure_registries, "HOST[:PORT] over plain HTTP (repeatable)")
      ->allow_extra_args(false);
  resolve->add_option("--legacy-tls-registry", flags->registry.legacy_tls_registries,
                      "HOST[:PORT] whose TLS may use CBC / static-RSA ciphers (repeatable; a legacy registry only)")
      ->allow_extra_args(false);
  resolve->add_option("--timeout", flags->timeout, "timeout for each network step (default 10s)");
  resolve->add_option("-o,--output", flags->output, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  resolve->callback([flags, &context] { context.exit_code = run_resolve(*flags); });
}

}  // namespace imagegate::webhook
