// Internal to verifier/registry/: what the files of OciRegistryClient share. Not for other rooms.
//   oci_registry_client.cc    the public API: create, resolve, manifests, blobs, referrers, get
//   oci_url.cc                URLs and authorities, the SSRF address check, registry_api_host
//   oci_connection_pool.cc    TLS contexts, the keep-alive pool, connect (SSRF guard), one HTTP exchange
//   oci_request_flow.cc       redirects, the 401 challenge and token flow, 429 back-off
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/keyed_semaphore.h"
#include "common/result.h"
#include "verifier/crypto/crypto.h"
#include "verifier/registry/docker_config.h"
#include "verifier/registry/oci_registry_client.h"
#include "verifier/registry/redirect_guard.h"
#include "verifier/registry/www_authenticate.h"

namespace imagegate::verifier {
namespace oci {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxTokenResponseBytes = 1024 * 1024;
constexpr std::size_t kMaxErrorBodyBytes = 64 * 1024;
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxIdlePerHost = 8;

inline Error unavailable(std::string message) { return {ErrorCode::unavailable, std::move(message)}; }
// Every transport failure (DNS, connect, TLS handshake, send, read, timeout) says only "registry
// unreachable": the message reaches whoever created the Pod, and "refused" vs "reset" vs "not TLS" vs
// "timed out" for an address they chose would make imagegate a port scanner. The socket error is the
// detail, for the decision log and the CLI (common/result.h). HTTP answers keep their status.
inline Error unreachable(std::string detail) {
  return {ErrorCode::unavailable, "registry unreachable", std::move(detail)};
}
inline Error permission_denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

// "sha256:<hex>" of `data`: the digest a manifest or blob is checked against.
inline std::string sha256_digest(std::string_view data) { return "sha256:" + sha256_hex(data); }

struct Url {
  bool https = true;
  std::string host;  // without brackets
  std::string port;
  std::string target = "/";

  std::string authority() const {
    const bool v6 = host.find(':') != std::string::npos;
    const std::string h = v6 ? "[" + host + "]" : host;
    const bool default_port = (https && port == "443") || (!https && port == "80");
    return default_port ? h : h + ":" + port;
  }
  std::string pool_key() const { return std::string(https ? "https://" : "http://") + host + ":" + port; }
  Origin origin() const { return {https, authority()}; }
};

// Splits "host[:port]" / "[v6]:port" into host and port (lower-cased host; port digits only).
bool split_authority(std::string_view authority, std::string& host, std::string& port, std::string_view default_port);
// An http(s) URL without user info; the fragment is dropped; invalid_argument otherwise.
Result<Url> parse_url(std::string_view text);

struct Response {
  Url url;  // what answered, after redirects
  unsigned status = 0;
  http::fields headers;
  std::string body;
  bool body_read = false;
  bool keep_alive = false;

  std::string header(http::field f) const {
    const auto it = headers.find(f);
    return it == headers.end() ? std::string() : std::string(it->value());
  }
};

struct Request {
  http::verb method = http::verb::get;
  Url url;
  std::string accept;
  std::string authorization;
  std::string content_type;
  std::string body;
  std::size_t body_limit = kMaxErrorBodyBytes;
};

struct Connection {
  std::string key;
  std::unique_ptr<beast::tcp_stream> tcp;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool reused = false;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *tcp; }
};

struct CachedToken {
  std::string token;
  Clock::time_point expires;
};

}  // namespace oci

// The client's shared state and its steps, one file per concern (see the top of this header).
struct OciRegistryClient::State {
  RegistryClientOptions options;
  DockerCredentials credentials;
  RedirectGuard guard;  // where redirects and token realms may lead
  std::function<void(std::string_view)> observer;
  std::function<void(std::string_view, double)> timing_observer;

  // The TLS context of every registry without settings of its own (legacy TLS, its own CA files): made by
  // create(), so the system trust store and ca_files are read once, at start. Immutable afterwards.
  std::shared_ptr<oci::ssl::context> default_tls;

  std::mutex mutex;  // guards everything below
  std::map<std::string, std::shared_ptr<oci::ssl::context>> tls_contexts;  // by host:port, registries with settings
  std::map<std::string, std::vector<std::unique_ptr<oci::Connection>>> idle;
  std::map<std::string, oci::CachedToken> tokens;      // registry|scope|credentials key
  std::map<std::string, std::string> basic_hosts;  // registries that asked for Basic
  std::map<std::string, AuthChallenge> bearer_challenges;  // registry -> its last Bearer challenge (realm)
  std::map<std::string, oci::Clock::time_point> backoff_until;  // registry -> 429 back-off
  std::map<std::string, oci::Clock::time_point> no_referrers_until;  // registry -> no referrers API (memo)
  // At most options.max_concurrent_per_registry exchanges per scheme://host:port at once (own lock).
  std::unique_ptr<KeyedSemaphore> gates;

  // The referrers-API memo (RegistryClientOptions::referrers_absence_ttl), keyed by registry host[:port].
  bool referrers_known_absent(const std::string& registry) {
    std::lock_guard lock(mutex);
    const auto it = no_referrers_until.find(registry);
    return it != no_referrers_until.end() && it->second > oci::Clock::now();
  }
  void remember_referrers(const std::string& registry, bool present) {
    std::lock_guard lock(mutex);
    if (present || options.referrers_absence_ttl.count() <= 0) {
      no_referrers_until.erase(registry);
    } else {
      no_referrers_until[registry] = oci::Clock::now() + options.referrers_absence_ttl;
    }
  }

  void observe(std::string_view result, oci::Clock::time_point started) {
    if (observer) observer(result);
    if (timing_observer) timing_observer(result, std::chrono::duration<double>(oci::Clock::now() - started).count());
  }

  // oci_connection_pool.cc
  // A context with our TLS policy and CA bundles for the registry settings keyed `key` (canonical host).
  Result<std::shared_ptr<oci::ssl::context>> make_tls_context(const std::string& key) const;
  Result<std::shared_ptr<oci::ssl::context>> tls_context(const std::string& registry);
  std::unique_ptr<oci::Connection> take_idle(const std::string& key);
  void give_back(std::unique_ptr<oci::Connection> c);
  boost::asio::awaitable<Result<std::unique_ptr<oci::Connection>>> connect(const oci::Url& url);
  template <class Stream>
  boost::asio::awaitable<Result<oci::Response>> exchange_on(Stream& stream, oci::Connection& c,
                                                            const oci::Request& req);
  // One request on a pooled or new connection; a reused connection that fails is retried once fresh
  // (the server may have closed it while idle).
  boost::asio::awaitable<Result<oci::Response>> exchange(const oci::Request& req);

  // oci_request_flow.cc
  // exchange() plus redirects and the observer (see the definition for where redirects may lead).
  boost::asio::awaitable<Result<oci::Response>> send(oci::Request req, const std::string& registry,
                                                     const Origin& home);
  std::string credentials_key(const ImageReference& ref) const;
  boost::asio::awaitable<Result<std::string>> fetch_token(const AuthChallenge& challenge, const std::string& scope,
                                                          const std::optional<DockerCredentials::Match>& creds,
                                                          const std::string& registry, const Origin& home);
  // A registry API request with auth (cached token, Basic, or the 401 challenge flow) and 429 back-off.
  boost::asio::awaitable<Result<oci::Response>> registry_request(const ImageReference& ref, oci::http::verb method,
                                                                 std::string target, std::size_t body_limit,
                                                                 std::string accept = kManifestAcceptHeader);
  // One request to `url` with the auth flow, keyed for tokens and back-off by `registry` (host[:port]).
  boost::asio::awaitable<Result<oci::Response>> authorized_request(std::string registry, oci::Url url,
                                                                   std::optional<DockerCredentials::Match> creds,
                                                                   std::string scope, oci::http::verb method,
                                                                   std::size_t body_limit, std::string accept);
};

}  // namespace imagegate::verifier
