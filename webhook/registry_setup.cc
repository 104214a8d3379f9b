#include "webhook/registry_setup.h"

namespace imagegate::webhook {

Result<RegistryClients> make_registry_clients(const RegistryConfig& config, const std::string& /*store*/) {
  verifier::RegistryClientOptions options;
  options.ca_files = config.ca_files;
  options.registry_ca_files = config.registry_ca_files;
  options.docker_config_files = config.docker_config_files;
  options.insecure_registries.insert(config.insecure_registries.begin(), config.insecure_registries.end());
  options.allowed_private_addresses.insert(config.allowed_private_addresses.begin(),
                                           config.allowed_private_addresses.end());
  options.step_timeout = config.timeout;
  options.connect_timeout = std::min(config.timeout, options.connect_timeout);
  options.max_blob_bytes = config.max_blob_bytes;
  options.max_manifest_bytes = config.max_manifest_bytes;
  auto network = verifier::OciRegistryClient::create(std::move(options));
  if (!network) return network.error();
  RegistryClients out;
  out.network = std::move(network.value());
  verifier::CacheOptions cache;
  cache.tag_ttl = config.tag_cache_ttl;
  cache.digest_ttl = config.digest_cache_ttl;
  cache.negative_ttl = config.negative_cache_ttl;
  cache.stale_if_error = config.stale_if_error;
  verifier::OciRegistryClient* raw = out.network.get();
  out.cached = std::make_unique<verifier::CachingRegistryClient>(
      *raw, cache, [raw](const verifier::ImageReference& ref) { return raw->credentials_key(ref); });
  return out;
}

}  // namespace imagegate::webhook
