#include "webhook/evidence/registry_setup.h"

#include <algorithm>

namespace imagegate::webhook {

namespace {

// How long a replica waits for another's answer (and holds its own lease): the registry step timeout, within
// bounds. Longer than a round trip usually takes, shorter than a review's budget.
constexpr std::chrono::milliseconds kMinSharedWait{500};
constexpr std::chrono::milliseconds kMaxSharedWait{10'000};

}  // namespace

Result<RegistryClients> make_registry_clients(const RegistryConfig& config, const std::string& store) {
  verifier::RegistryClientOptions options;
  options.ca_files = config.ca_files;
  options.registry_ca_files = config.registry_ca_files;
  options.docker_config_files = config.docker_config_files;
  options.insecure_registries.insert(config.insecure_registries.begin(), config.insecure_registries.end());
  options.legacy_tls_registries.insert(config.legacy_tls_registries.begin(), config.legacy_tls_registries.end());
  options.allowed_private_addresses.insert(config.allowed_private_addresses.begin(),
                                           config.allowed_private_addresses.end());
  options.auth_hosts = config.auth_hosts;
  options.blob_hosts = config.blob_hosts;
  options.step_timeout = config.timeout;
  options.connect_timeout = std::min(config.timeout, options.connect_timeout);
  options.max_blob_bytes = config.max_blob_bytes;
  options.max_manifest_bytes = config.max_manifest_bytes;
  options.max_concurrent_per_registry = config.max_concurrent_per_registry;
  auto network = verifier::OciRegistryClient::create(std::move(options));
  if (!network) return network.error();
  RegistryClients out;
  out.network = std::move(network.value());
  verifier::CacheOptions cache;
  cache.tag_ttl = config.tag_cache_ttl;
  cache.digest_ttl = config.digest_cache_ttl;
  cache.negative_ttl = config.negative_cache_ttl;
  cache.stale_if_error = config.stale_if_error;
  cache.shared_wait = std::clamp(config.timeout, kMinSharedWait, kMaxSharedWait);
  // The Redis verdict store means several replicas: their registry answers are shared through it too. An
  // unreachable Redis at start fails here (as the verdict store does), so a misconfigured URL is seen at
  // once; later outages only make each replica ask the registry itself.
  if (store.rfind("redis://", 0) == 0) {
    auto shared = verifier::open_redis_shared_cache(store);
    if (!shared) return Error{shared.error().code, "store " + store + ": " + shared.error().message};
    out.shared = std::make_shared<verifier::SharedLookup>(std::shared_ptr<verifier::SharedCache>(std::move(shared).value()));
  }
  verifier::OciRegistryClient* raw = out.network.get();
  out.cached = std::make_unique<verifier::CachingRegistryClient>(
      *raw, cache, [raw](const verifier::ImageReference& ref) { return raw->credentials_key(ref); }, out.shared);
  return out;
}

void follow_policy_allowlist(verifier::OciRegistryClient& client,
                             std::function<std::shared_ptr<const policy::CompiledPolicy>()> policy) {
  client.set_allowed_hosts([policy = std::move(policy)](std::string_view authority) {
    const auto compiled = policy();
    // No policy yet: nothing is reviewed, and nothing is followed off a registry's origin either.
    return compiled != nullptr && policy::registry_allowed(*compiled, authority);
  });
}

}  // namespace imagegate::webhook
