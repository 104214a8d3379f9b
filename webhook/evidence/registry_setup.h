// Builds the registry clients the server and the CLI share from a RegistryConfig: an OciRegistryClient
// (network, auth, TLS) under a CachingRegistryClient (TTLs, single flight). One place, so `imagegate serve`,
// `imagegate test --online` and `imagegate resolve` resolve with the same code and the same settings.
//
// The returned clients are thread-safe; `cached` refers to `network`, so keep the struct alive while
// either is used.
#pragma once

#include <functional>
#include <memory>

#include "common/result.h"
#include "policy/policy.h"
#include "verifier/registry/caching_registry_client.h"
#include "verifier/registry/oci_registry_client.h"
#include "verifier/registry/shared_cache.h"
#include "webhook/server/server_config.h"

namespace imagegate::webhook {

struct RegistryClients {
  std::unique_ptr<verifier::OciRegistryClient> network;
  std::unique_ptr<verifier::CachingRegistryClient> cached;
  // Answers shared with the other replicas through Redis (verifier/registry/shared_cache.h): set when the verdict
  // store is Redis; `cached` and signature verification use it. nullptr: this process's caches only.
  std::shared_ptr<verifier::SharedLookup> shared;
};

// invalid_argument naming the file when a CA bundle or Docker config file is unusable. `store` is the
// verdict store spec (ServerConfig::store): "redis://..." makes `shared`; unavailable when Redis cannot be
// reached at start.
Result<RegistryClients> make_registry_clients(const RegistryConfig& config, const std::string& store = {});

// Redirects and token realms of `client` may lead to the hosts the current policy allows (its
// registries.allow; any host when it has none), besides each registry's origin and listed hosts. `policy`
// returns the snapshot in force (nullptr before one is loaded: nothing off-origin is followed); it is
// called on io threads. Call before the first request.
//
// The policy in force, not the review's snapshot: the predicate is consulted deep in the network client
// (a redirect or token realm in the middle of one exchange), under the caching client, whose answers and
// single flights are shared by every review whatever snapshot it holds; a per-review allowlist would have
// to travel with every registry call through RegistryClient's interface and make cached answers depend on
// the snapshot. During a reload the two differ only in which allowlist a redirect is checked against.
void follow_policy_allowlist(verifier::OciRegistryClient& client,
                             std::function<std::shared_ptr<const policy::CompiledPolicy>()> policy);

}  // namespace imagegate::webhook
