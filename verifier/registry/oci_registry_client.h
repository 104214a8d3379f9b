// OciRegistryClient: the OCI distribution API over HTTP/1.1 on Beast/Asio + OpenSSL.
//
// - TLS: system CAs plus configured bundles (global and per registry), SNI, hostname verification.
//   Plain HTTP only for registries listed in insecure_registries.
// - Keep-alive: idle connections are pooled per scheme://host:port and reused. At most
//   max_concurrent_per_registry requests per scheme://host:port are in flight at once (common/keyed_semaphore.h);
//   the others queue, and a cancelled caller leaves the queue at once.
// - Auth: anonymous first (or a cached token); on 401 the WWW-Authenticate challenge decides: Bearer ->
//   a token from the realm (service, scope=repository:NAME:pull), cached per registry+scope+credentials
//   until it expires; Basic -> the configured credentials. Credentials come from Docker config files.
// - Referrers: a registry without the referrers API is remembered for referrers_absence_ttl, so each new
//   image costs one request fewer (its callers go straight to the tag-schema fallback).
// - Limits: a timeout on each step (DNS, connect, handshake, write, read), manifests capped at 4 MiB and
//   blobs at max_blob_bytes (both configurable),
//   at most `max_redirects` redirects, only to https (or http for an insecure registry).
// - Where a registry may send us (verifier/registry/redirect_guard.h): a redirect or token realm is followed only to
//   the registry's origin, a host the policy allows (set_allowed_hosts) or one listed for the registry
//   (auth_hosts, blob_hosts; Docker Hub's built in). Credentials never cross origins: the Authorization
//   header (Basic or Bearer) is dropped when a redirect changes the origin, a token POST is not re-sent
//   elsewhere, and a 401 from where a redirect led is refused rather than answered with credentials.
// - 429: the registry is left alone until its Retry-After passes (shared by every caller); a caller waits
//   for it when it is at most max_retry_after and gives up as soon as it is cancelled (a review's budget
//   bounds the wait that way, without the client knowing budgets).
// - SSRF: link-local and cloud-metadata addresses are refused unless allowed by configuration. Which
//   registries may be contacted at all is the policy's allowlist, checked (by plan()) before the client
//   is ever called.
//
// Thread-safe: the pool, TLS contexts, token cache and backoff table are guarded by one mutex.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "verifier/registry/docker_config.h"
#include "verifier/registry/registry_client.h"

namespace imagegate::verifier {

class OciRegistryClient final : public RegistryClient {
 public:
  // Loads CA bundles and Docker config files; invalid_argument naming the file when one is unusable.
  static Result<std::unique_ptr<OciRegistryClient>> create(RegistryClientOptions options);
  ~OciRegistryClient() override;

  boost::asio::awaitable<Result<ResolvedImage>> resolve(const ImageReference& ref,
                                                         ResolveOptions options = {}) override;
  boost::asio::awaitable<Result<std::string>> fetch_blob(const ImageReference& ref, std::string digest,
                                                         std::size_t max_bytes) override;

  boost::asio::awaitable<Result<FetchedManifest>> fetch_manifest(const ImageReference& ref) override;
  boost::asio::awaitable<Result<FetchedManifest>> fetch_referrers(const ImageReference& ref,
                                                                  std::string digest) override;

  // GET `path` on `base_url` ("https://notary.example.com:4443") with the registry auth flow (anonymous,
  // then the 401 challenge: a Bearer token for `scope`, e.g. "repository:docker.io/library/nginx:pull", or
  // Basic), TLS, SSRF guard, timeouts, at most `max_bytes`. For Notary v1 trust data, which shares the
  // registry's auth. not_found on 404; unavailable on network errors, 5xx, 429.
  boost::asio::awaitable<Result<std::string>> get(std::string base_url, std::string path, std::string scope,
                                                  std::size_t max_bytes);

  // Which credentials serve `ref` ("" for anonymous): part of cache keys, so two credential sets never
  // share an answer.
  std::string credentials_key(const ImageReference& ref) const;

  // The hosts (host[:port]) the policy allows, so a redirect or token realm may lead there too; unset: any
  // host (no allowlist). Called on io threads, so it must be thread-safe. Set before the first request.
  void set_allowed_hosts(std::function<bool(std::string_view authority)> allowed);

  // Called once per HTTP exchange with the registry (and token realm) with a result label: "ok",
  // "not_found", "unauthorized", "rate_limited", "server_error", "error". For metrics; may be empty.
  void set_request_observer(std::function<void(std::string_view result)> observer);
  // The same exchanges with their duration in seconds (connection set-up included), for a latency
  // histogram. Independent of set_request_observer; set either before the first request.
  void set_request_timing_observer(std::function<void(std::string_view result, double seconds)> observer);

  struct State;

 private:
  explicit OciRegistryClient(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace imagegate::verifier
