// OciRegistryClient's connections (verifier/registry/oci_registry_internal.h): TLS contexts (our TLS policy,
// CA bundles; one made at start shared by every registry without settings of its own), the keep-alive pool per scheme://host:port, connect with the SSRF guard and
// the per-registry concurrency gate, and one HTTP exchange with its size and time limits.
#include "common/asio_warnings.h"  // before any Asio header

#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/err.h>

#include "verifier/registry/oci_registry_internal.h"
#include "verifier/registry/tls_policy.h"

namespace imagegate::verifier {

using namespace oci;  // NOLINT: this file implements the client's internals
using tcp = asio::ip::tcp;

Result<std::shared_ptr<ssl::context>> OciRegistryClient::State::make_tls_context(const std::string& key) const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds);
  // The server's TLS policy (TLS 1.2+, ECDHE + AEAD); OpenSSL's default ciphers only for a registry the
  // configuration names as legacy. A registry offering nothing else fails the handshake ("no shared cipher").
  const bool legacy = options.legacy_tls_registries.count(key) > 0;
  if (auto s = legacy ? apply_legacy_tls_policy(ctx->native_handle()) : apply_tls_policy(ctx->native_handle()); !s) {
    return s.error();
  }
  ctx->set_default_verify_paths(ec);
  std::vector<std::string> files = options.ca_files;
  if (auto it = options.registry_ca_files.find(key); it != options.registry_ca_files.end()) {
    files.insert(files.end(), it->second.begin(), it->second.end());
  }
  for (const std::string& file : files) {
    ctx->load_verify_file(file, ec);
    if (ec) return invalid_argument("CA file " + file + ": " + ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

Result<std::shared_ptr<ssl::context>> OciRegistryClient::State::tls_context(const std::string& registry) {
  // Per-registry settings are keyed by the canonical host: registry-1.docker.io -> docker.io's.
  const auto canonical = canonical_registry_host(registry);
  const std::string& key = canonical ? *canonical : registry;
  // Most registries share the context made at start (system CAs + ca_files): the trust store is read once.
  if (options.legacy_tls_registries.count(key) == 0 && options.registry_ca_files.count(key) == 0 && default_tls) {
    return default_tls;
  }
  std::lock_guard lock(mutex);
  if (auto it = tls_contexts.find(registry); it != tls_contexts.end()) return it->second;
  auto ctx = make_tls_context(key);
  if (!ctx) return ctx.error();
  tls_contexts.emplace(registry, *ctx);
  return ctx;
}

std::unique_ptr<Connection> OciRegistryClient::State::take_idle(const std::string& key) {
  std::lock_guard lock(mutex);
  auto it = idle.find(key);
  if (it == idle.end() || it->second.empty()) return nullptr;
  auto c = std::move(it->second.back());
  it->second.pop_back();
  c->reused = true;
  return c;
}

void OciRegistryClient::State::give_back(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mutex);
  auto& list = idle[c->key];
  if (list.size() < kMaxIdlePerHost) list.push_back(std::move(c));
}

asio::awaitable<Result<std::unique_ptr<Connection>>> OciRegistryClient::State::connect(const Url& url) {
  auto ex = co_await asio::this_coro::executor;
  if (!url.https && options.insecure_registries.count(url.authority()) == 0) {
    co_return invalid_argument("plain HTTP to " + url.authority() + " refused: not an insecure registry");
  }
  tcp::resolver resolver(ex);
  asio::steady_timer timer(ex, options.connect_timeout);
  using namespace asio::experimental::awaitable_operators;
  auto raced = co_await (resolver.async_resolve(url.host, url.port, asio::as_tuple(asio::use_awaitable)) ||
                         timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (raced.index() == 1) co_return unreachable("resolving " + url.host + ": timed out");
  auto [rec, results] = std::get<0>(std::move(raced));
  if (rec) co_return unreachable("resolving " + url.host + ": " + rec.message());
  std::vector<tcp::endpoint> endpoints;
  std::string refused;
  for (const auto& entry : results) {
    const std::string ip = entry.endpoint().address().to_string();
    if (is_blocked_address(ip) && options.allowed_private_addresses.count(ip) == 0) {
      refused = ip;
      continue;
    }
    endpoints.push_back(entry.endpoint());
  }
  if (endpoints.empty()) {
    // The address stays out of the message (it would tell the requester what an internal name resolves to).
    Error e = invalid_argument(url.host +
                               " resolves to a link-local or metadata address; refused (not configured as allowed)");
    e.detail = "resolves to " + refused;
    co_return e;
  }
  auto c = std::make_unique<Connection>();
  c->key = url.pool_key();
  c->tcp = std::make_unique<beast::tcp_stream>(ex);
  c->tcp->expires_after(options.connect_timeout);
  boost::system::error_code ec;
  co_await c->tcp->async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return unreachable("connecting to " + url.authority() + ": " + ec.message());
  // Without it, the request written right after the handshake's last flight waits for the peer's delayed
  // ACK (Nagle): ~40 ms per new connection on Linux, token realm included.
  c->tcp->socket().set_option(tcp::no_delay(true), ec);
  if (!url.https) co_return c;

  auto ctx = tls_context(url.authority());
  if (!ctx) co_return ctx.error();
  c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*c->tcp), **ctx);
  c->tcp.reset();
  boost::system::error_code ip_ec;
  asio::ip::make_address(url.host, ip_ec);
  if (ip_ec && !SSL_set_tlsext_host_name(c->tls->native_handle(), url.host.c_str())) {
    co_return unreachable("TLS to " + url.authority() + ": cannot set SNI");
  }
  c->tls->set_verify_callback(ssl::host_name_verification(url.host));
  c->lowest().expires_after(options.step_timeout);
  co_await c->tls->async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    std::string why = ec.message();
    if (ec.category() == asio::error::get_ssl_category()) {
      const long verify = SSL_get_verify_result(c->tls->native_handle());
      if (verify != X509_V_OK) why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
      // The peer's handshake_failure alert: most often no cipher suite in common (verifier/registry/tls_policy.h).
      if (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE &&
          options.legacy_tls_registries.count(url.authority()) == 0) {
        why += " (imagegate offers TLS 1.2+ with ECDHE and AEAD ciphers only; a legacy registry that cannot "
               "be upgraded may be listed in registry.legacyTLSRegistries)";
      }
    }
    co_return unreachable("TLS handshake with " + url.authority() + ": " + why);
  }
  co_return c;
}

template <class Stream>
asio::awaitable<Result<Response>>
OciRegistryClient::State::exchange_on(Stream& stream, Connection& c, const Request& req) {
  http::request<http::string_body> msg{req.method, req.url.target, 11};
  msg.set(http::field::host, req.url.authority());
  msg.set(http::field::user_agent, "imagegate");
  if (!req.accept.empty()) msg.set(http::field::accept, req.accept);
  if (!req.authorization.empty()) msg.set(http::field::authorization, req.authorization);
  if (!req.content_type.empty()) msg.set(http::field::content_type, req.content_type);
  msg.keep_alive(true);
  if (!req.body.empty() || req.method == http::verb::post) {
    msg.body() = req.body;
    msg.prepare_payload();
  }
  boost::system::error_code ec;
  c.lowest().expires_after(options.step_timeout);
  co_await http::async_write(stream, msg, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return unreachable("sending to " + req.url.authority() + ": " + ec.message());

  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(req.body_limit);
  if (req.method == http::verb::head) parser.skip(true);
  c.lowest().expires_after(options.step_timeout);
  co_await http::async_read_header(stream, c.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == http::error::body_limit) {  // Content-Length above the cap: refused before reading the body
    co_return resource_exhausted("response from " + req.url.authority() + " is over the limit of " +
                                 std::to_string(req.body_limit) + " bytes");
  }
  if (ec) co_return unreachable("reading from " + req.url.authority() + ": " + ec.message());
  Response out;
  out.status = parser.get().result_int();
  // A body larger than the cap is refused before reading it when Content-Length says so.
  if (req.method != http::verb::head && parser.content_length() && *parser.content_length() > req.body_limit &&
      out.status == 200) {
    co_return resource_exhausted("response from " + req.url.authority() + " is " +
                                 std::to_string(*parser.content_length()) + " bytes, over the limit of " +
                                 std::to_string(req.body_limit));
  }
  if (!parser.is_done()) {
    c.lowest().expires_after(options.step_timeout);
    co_await http::async_read(stream, c.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::body_limit) {
      co_return resource_exhausted("response from " + req.url.authority() + " exceeds " +
                                   std::to_string(req.body_limit) + " bytes");
    }
    if (ec) co_return unreachable("reading from " + req.url.authority() + ": " + ec.message());
  }
  auto message = parser.release();
  out.url = req.url;
  out.headers = message.base();
  out.body = std::move(message.body());
  out.body_read = req.method != http::verb::head;
  out.keep_alive = message.keep_alive();
  co_return out;
}

// One request on a pooled or new connection; a reused connection that fails is retried once fresh
// (the server may have closed it while idle).
asio::awaitable<Result<Response>> OciRegistryClient::State::exchange(const Request& req) {
  // One connection in use per permit; the rest wait their turn, and leave the queue when cancelled.
  const std::string gate = req.url.pool_key();
  std::optional<KeyedSemaphore::Permit> permit = co_await gates->acquire(gate);
  if (!permit) co_return Error{ErrorCode::deadline_exceeded, "cancelled while queued for " + req.url.authority()};
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> c = attempt == 0 ? take_idle(req.url.pool_key()) : nullptr;
    if (!c) {
      auto made = co_await connect(req.url);
      if (!made) co_return made.error();
      c = std::move(made.value());
    }
    const bool was_reused = c->reused;
    // (Not a ?: with co_await in both arms: GCC 12 miscompiles that.)
    std::optional<Result<Response>> got;
    if (c->tls) {
      got.emplace(co_await exchange_on(*c->tls, *c, req));
    } else {
      got.emplace(co_await exchange_on(*c->tcp, *c, req));
    }
    Result<Response> r = std::move(*got);
    if (!r) {
      if (was_reused && r.error().code == ErrorCode::unavailable) continue;
      co_return r;
    }
    if (r->keep_alive) {
      c->reused = false;
      give_back(std::move(c));
    }
    co_return r;
  }
  co_return unreachable("connection to " + req.url.authority() + " failed");
}

}  // namespace imagegate::verifier
