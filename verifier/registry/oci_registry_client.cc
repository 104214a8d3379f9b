#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/registry/oci_registry_client.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/keyed_semaphore.h"
#include "common/text.h"
#include "verifier/registry/redirect_guard.h"
#include "verifier/registry/tls_policy.h"
#include "verifier/registry/www_authenticate.h"

namespace imagegate::verifier {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kMaxTokenResponseBytes = 1024 * 1024;
constexpr std::size_t kMaxErrorBodyBytes = 64 * 1024;
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxIdlePerHost = 8;

Error unavailable(std::string message) { return {ErrorCode::unavailable, std::move(message)}; }
// Every transport failure (DNS, connect, TLS handshake, send, read, timeout) says only "registry
// unreachable": the message reaches whoever created the Pod, and "refused" vs "reset" vs "not TLS" vs
// "timed out" for an address they chose would make imagegate a port scanner. The socket error is the
// detail, for the decision log and the CLI (common/result.h). HTTP answers keep their status.
Error unreachable(std::string detail) { return {ErrorCode::unavailable, "registry unreachable", std::move(detail)}; }
Error permission_denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

std::string sha256_digest(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data());
  std::string out = "sha256:";
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : md) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string url_encode(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", u);
      out += buf;
    }
  }
  return out;
}

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

// Splits "host[:port]" / "[v6]:port" into host and port.
bool split_authority(std::string_view authority, std::string& host, std::string& port, std::string_view default_port) {
  if (authority.empty()) return false;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(authority.substr(1, close - 1));
    const std::string_view rest = authority.substr(close + 1);
    if (rest.empty()) {
      port = std::string(default_port);
    } else if (rest.front() == ':' && rest.size() > 1) {
      port = std::string(rest.substr(1));
    } else {
      return false;
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos) {
      host = std::string(authority);
      port = std::string(default_port);
    } else {
      host = std::string(authority.substr(0, colon));
      port = std::string(authority.substr(colon + 1));
    }
  }
  if (host.empty() || port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return false;
  }
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) == 0 && c != '.' && c != '-' && c != ':' && c != '_') return false;
  }
  host = ascii_lower(host);
  return true;
}

Result<Url> parse_url(std::string_view text) {
  Url url;
  if (text.rfind("https://", 0) == 0) {
    text.remove_prefix(8);
  } else if (text.rfind("http://", 0) == 0) {
    url.https = false;
    text.remove_prefix(7);
  } else {
    return invalid_argument("not an http(s) URL");
  }
  const auto slash = text.find_first_of("/?#");
  const std::string_view authority = text.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) return invalid_argument("URL with user info refused");
  if (!split_authority(authority, url.host, url.port, url.https ? "443" : "80")) {
    return invalid_argument("bad URL host");
  }
  if (slash != std::string_view::npos) {
    std::string_view target = text.substr(slash);
    target = target.substr(0, target.find('#'));
    url.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  }
  for (char c : url.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return invalid_argument("bad URL path");
  }
  return url;
}

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

std::string status_result(unsigned status) {
  if (status >= 200 && status < 400) return "ok";
  if (status == 404) return "not_found";
  if (status == 401 || status == 403) return "unauthorized";
  if (status == 429) return "rate_limited";
  if (status >= 500) return "server_error";
  return "error";
}

// Seconds in a Retry-After header (delta-seconds only; an HTTP date counts as 1 s).
milliseconds retry_after(const Response& r) {
  const std::string v = r.header(http::field::retry_after);
  if (v.empty()) return milliseconds(1'000);
  long long seconds = 0;
  for (char c : v) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return milliseconds(1'000);
    seconds = seconds * 10 + (c - '0');
    if (seconds > 86'400) break;
  }
  return milliseconds(seconds * 1'000);
}

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

}  // namespace

std::string registry_api_host(std::string_view domain) {
  if (domain == "docker.io" || domain == "index.docker.io") return "registry-1.docker.io";
  return std::string(domain);
}

bool is_blocked_address(std::string_view ip_text) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(std::string(ip_text), ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  if (address.is_v4()) {
    const auto v = address.to_v4().to_uint();
    if ((v & 0xFFFF0000U) == 0xA9FE0000U) return true;  // 169.254.0.0/16
    if (v == 0x646464C8U) return true;                  // 100.100.100.200
    return false;
  }
  const auto b = address.to_v6().to_bytes();
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return true;  // fe80::/10
  static constexpr std::array<unsigned char, 16> kEc2{0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  return b == kEc2;  // fd00:ec2::254
}

struct OciRegistryClient::State {
  RegistryClientOptions options;
  DockerCredentials credentials;
  RedirectGuard guard;  // where redirects and token realms may lead
  std::function<void(std::string_view)> observer;
  std::function<void(std::string_view, double)> timing_observer;

  std::mutex mutex;  // guards everything below
  std::map<std::string, std::shared_ptr<ssl::context>> tls_contexts;  // by host:port
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
  std::map<std::string, CachedToken> tokens;      // registry|scope|credentials key
  std::map<std::string, std::string> basic_hosts;  // registries that asked for Basic
  std::map<std::string, Clock::time_point> backoff_until;  // registry -> 429 back-off
  // At most options.max_concurrent_per_registry exchanges per scheme://host:port at once (own lock).
  std::unique_ptr<KeyedSemaphore> gates;

  void observe(std::string_view result, Clock::time_point started) {
    if (observer) observer(result);
    if (timing_observer) timing_observer(result, std::chrono::duration<double>(Clock::now() - started).count());
  }

  Result<std::shared_ptr<ssl::context>> tls_context(const std::string& registry) {
    std::lock_guard lock(mutex);
    if (auto it = tls_contexts.find(registry); it != tls_contexts.end()) return it->second;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_options(ssl::context::default_workarounds);
    // The server's TLS policy (TLS 1.2+, ECDHE + AEAD); OpenSSL's default ciphers only for a registry the
    // configuration names as legacy. A registry offering nothing else fails the handshake ("no shared cipher").
    // Per-registry settings are keyed by the canonical host: registry-1.docker.io -> docker.io's.
    const auto canonical = canonical_registry_host(registry);
    const std::string& key = canonical ? *canonical : registry;
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
    tls_contexts.emplace(registry, ctx);
    return ctx;
  }

  std::unique_ptr<Connection> take_idle(const std::string& key) {
    std::lock_guard lock(mutex);
    auto it = idle.find(key);
    if (it == idle.end() || it->second.empty()) return nullptr;
    auto c = std::move(it->second.back());
    it->second.pop_back();
    c->reused = true;
    return c;
  }

  void give_back(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mutex);
    auto& list = idle[c->key];
    if (list.size() < kMaxIdlePerHost) list.push_back(std::move(c));
  }

  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const Url& url) {
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
  asio::awaitable<Result<Response>> exchange_on(Stream& stream, Connection& c, const Request& req) {
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
  asio::awaitable<Result<Response>> exchange(const Request& req) {
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

  // exchange() plus redirects and the observer. A redirect is followed a few times, https only unless the
  // target is an insecure registry, and only where the guard lets requests for `registry` (whose origin is
  // `home`) go. Credentials never leave the origin they were meant for: the Authorization header is
  // dropped when the origin changes, and a request carrying a body (an OAuth2 refresh token) is not
  // re-sent to another origin. Every hop connects through connect(), so the SSRF guard applies to each.
  asio::awaitable<Result<Response>> send(Request req, const std::string& registry, const Origin& home) {
    const std::string origin = req.url.authority();
    for (unsigned hops = 0;; ++hops) {
      const auto started = Clock::now();
      Result<Response> r = co_await exchange(req);
      if (!r) {
        observe("error", started);
        co_return r;
      }
      observe(status_result(r->status), started);
      const unsigned s = r->status;
      if (s != 301 && s != 302 && s != 303 && s != 307 && s != 308) co_return r;
      if (hops >= options.max_redirects) {
        co_return unavailable("too many redirects from " + origin);
      }
      const std::string location = r->header(http::field::location);
      if (location.empty()) co_return unavailable("redirect without Location from " + req.url.authority());
      Url next;
      if (location.front() == '/') {
        next = req.url;
        next.target = location;
      } else {
        auto parsed = parse_url(location);
        if (!parsed) co_return unavailable("redirect to a bad URL: " + parsed.error().message);
        next = *parsed;
      }
      if (!next.https && options.insecure_registries.count(next.authority()) == 0) {
        co_return unavailable("redirect from " + req.url.authority() + " to plain HTTP refused");
      }
      if (auto allowed = guard.check(Hop::redirect, registry, home, next.origin()); !allowed) {
        co_return allowed.error();
      }
      if (s == 301 || s == 302 || s == 303) {  // as browsers and Go's client do: the next request is a GET
        if (req.method != http::verb::head) req.method = http::verb::get;
        req.body.clear();
        req.content_type.clear();
      }
      if (next.origin() != req.url.origin()) {
        req.authorization.clear();
        if (!req.body.empty()) {
          co_return permission_denied("redirect of a request with credentials from " + req.url.authority() +
                                      " to another origin (" + next.authority() + ") refused");
        }
      }
      req.url = std::move(next);
    }
  }

  std::string credentials_key(const ImageReference& ref) const {
    const auto match = credentials.find(ref.domain(), ref.path());
    return match ? match->key + "#" + sha256_digest(match->credentials.username + ":" + match->credentials.password +
                                                    ":" + match->credentials.identity_token)
                                         .substr(7, 12)
                 : std::string();
  }

  asio::awaitable<Result<std::string>> fetch_token(const AuthChallenge& challenge, const std::string& scope,
                                                   const std::optional<DockerCredentials::Match>& creds,
                                                   const std::string& registry, const Origin& home) {
    const std::string realm = challenge.param("realm");
    if (realm.empty()) co_return permission_denied("Bearer challenge from " + registry + " without a realm");
    auto realm_url = parse_url(realm);
    if (!realm_url) co_return permission_denied("Bearer realm of " + registry + ": " + realm_url.error().message);
    if (!realm_url->https && options.insecure_registries.count(realm_url->authority()) == 0) {
      co_return permission_denied("Bearer realm of " + registry + " is plain HTTP; refused");
    }
    // The realm is the one this registry named (the 401 came from its origin: authorized_request), and the
    // guard must let requests for the registry go there; then, and only then, its credentials go along.
    if (auto allowed = guard.check(Hop::token_realm, registry, home, realm_url->origin()); !allowed) {
      co_return allowed.error();
    }
    const std::string service = challenge.param("service");
    Request req;
    req.url = *realm_url;
    req.body_limit = kMaxTokenResponseBytes;
    std::string query;
    if (!service.empty()) query += "service=" + url_encode(service);
    if (!scope.empty()) query += (query.empty() ? "" : "&") + std::string("scope=") + url_encode(scope);
    // The GET form: query parameters, Basic credentials when configured.
    Request get_req = req;
    if (!query.empty()) get_req.url.target += (get_req.url.target.find('?') == std::string::npos ? "?" : "&") + query;
    const bool identity = creds && !creds->credentials.identity_token.empty();
    if (identity) {
      // An identity token is an OAuth2 refresh token: POSTed to the realm as distribution's token server
      // (docs/spec/auth/oauth.md) and docker's client do it. Realms without the OAuth2 endpoint answer
      // 400/401/404/405; then, as containerd does, the token is tried as the Basic password over GET.
      get_req.authorization = "Basic " + base64_encode(creds->credentials.username + ":" + creds->credentials.identity_token);
    } else if (creds && !creds->credentials.username.empty()) {
      get_req.authorization = "Basic " + base64_encode(creds->credentials.username + ":" + creds->credentials.password);
    }
    Result<Response> r = unavailable("no token request made");
    if (identity) {
      req.method = http::verb::post;
      req.content_type = "application/x-www-form-urlencoded";
      req.body = "grant_type=refresh_token&client_id=imagegate&refresh_token=" +
                 url_encode(creds->credentials.identity_token) + (query.empty() ? "" : "&" + query);
      r = co_await send(std::move(req), registry, home);
      if (r && (r->status == 400 || r->status == 401 || r->status == 404 || r->status == 405)) {
        r = co_await send(std::move(get_req), registry, home);
      }
    } else {
      r = co_await send(std::move(get_req), registry, home);
    }
    if (!r) co_return r.error();
    if (r->status == 401 || r->status == 403) {
      co_return permission_denied("token request to " + realm_url->authority() + " refused (HTTP " +
                                  std::to_string(r->status) + "): credentials not accepted");
    }
    if (r->status != 200) {
      co_return unavailable("token request to " + realm_url->authority() + ": HTTP " + std::to_string(r->status));
    }
    // A token response is a handful of members; 1,000 values bound its DOM to 200 KB + 2 MiB.
    auto parsed = parse_json_bounded(r->body, JsonLimits{.max_depth = 8, .max_values = 1'000});
    if (!parsed) co_return unavailable("token response from " + realm_url->authority() + ": " + parsed.error().message);
    const nlohmann::json& doc = *parsed;
    std::string token;
    long long expires_in = 60;
    if (doc.is_object()) {
      for (const char* key : {"token", "access_token"}) {
        if (auto it = doc.find(key); it != doc.end() && it->is_string() && !it->get<std::string>().empty()) {
          token = it->get<std::string>();
          break;
        }
      }
      if (auto it = doc.find("expires_in"); it != doc.end() && it->is_number_integer()) {
        expires_in = std::clamp<long long>(it->get<long long>(), 10, 3600);
      }
    }
    if (token.empty()) co_return unavailable("token response from " + realm_url->authority() + " has no token");
    {
      std::lock_guard lock(mutex);
      // Renew a little early so a token never expires mid-request.
      tokens[registry + "|" + scope + "|" + (creds ? creds->key : "")] =
          CachedToken{token, Clock::now() + std::chrono::seconds(expires_in) - std::chrono::seconds(5)};
    }
    co_return token;
  }

  // A registry API request with auth (cached token, Basic, or the 401 challenge flow) and 429 back-off.
  asio::awaitable<Result<Response>> registry_request(const ImageReference& ref, http::verb method,
                                                     std::string target, std::size_t body_limit,
                                                     std::string accept = kManifestAcceptHeader) {
    const std::string registry = registry_api_host(ref.domain());
    Url url;
    url.https = options.insecure_registries.count(registry) == 0 &&
                options.insecure_registries.count(ref.domain()) == 0;
    if (!split_authority(registry, url.host, url.port, url.https ? "443" : "80")) {
      co_return invalid_argument("bad registry host " + registry);
    }
    url.target = std::move(target);
    co_return co_await authorized_request(registry, std::move(url), credentials.find(ref.domain(), ref.path()),
                                          "repository:" + ref.path() + ":pull", method, body_limit,
                                          std::move(accept));
  }

  // One request to `url` with the auth flow, keyed for tokens and back-off by `registry` (host[:port]).
  // Shared by the registry API and the Notary v1 trust-data API (same token flow).
  asio::awaitable<Result<Response>> authorized_request(std::string registry, Url url,
                                                       std::optional<DockerCredentials::Match> creds,
                                                       std::string scope, http::verb method,
                                                       std::size_t body_limit, std::string accept) {
    const std::string token_key = registry + "|" + scope + "|" + (creds ? creds->key : "");
    const Origin home = url.origin();

    bool retried_auth = false;
    bool retried_429 = false;
    for (;;) {
      // A registry that answered 429 is left alone until its Retry-After passes (within our patience).
      Clock::time_point wait_until{};
      {
        std::lock_guard lock(mutex);
        if (auto it = backoff_until.find(registry); it != backoff_until.end()) wait_until = it->second;
      }
      if (wait_until > Clock::now()) {
        if (wait_until - Clock::now() > options.max_retry_after) {
          co_return unavailable(registry + " is rate limiting (HTTP 429); backing off");
        }
        // The wait is bounded by the caller: a review whose budget runs out cancels its gathering, and the
        // cancellation ends this wait at once (no request is sent after the answer has been given).
        asio::steady_timer pause(co_await asio::this_coro::executor, wait_until);
        boost::system::error_code ec;
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return Error{ErrorCode::deadline_exceeded, "cancelled while backing off after HTTP 429"};
        if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
          co_return Error{ErrorCode::deadline_exceeded, "cancelled while backing off after HTTP 429"};
        }
      }
      Request req;
      req.method = method;
      req.url = url;
      req.accept = accept;
      req.body_limit = body_limit;
      {
        std::lock_guard lock(mutex);
        if (auto it = tokens.find(token_key); it != tokens.end() && it->second.expires > Clock::now()) {
          req.authorization = "Bearer " + it->second.token;
        } else if (basic_hosts.count(registry) != 0 && creds) {
          req.authorization = "Basic " + base64_encode(creds->credentials.username + ":" + creds->credentials.password);
        }
      }
      auto r = co_await send(req, registry, home);
      if (!r) co_return r;
      if (r->status == 429) {
        const milliseconds delay = retry_after(*r);
        {
          std::lock_guard lock(mutex);
          backoff_until[registry] = Clock::now() + delay;
        }
        if (retried_429 || delay > options.max_retry_after) {
          co_return unavailable(registry + " answered HTTP 429 (rate limited)");
        }
        retried_429 = true;
        continue;
      }
      if (r->status == 401 && r->url.origin() != home) {
        // A challenge from where a redirect led is not the registry's: its credentials do not go there, nor
        // to a realm that host names.
        co_return permission_denied(r->url.origin().string() + " (a redirect from " + registry +
                                    ") answered 401; credentials for " + registry + " are not sent on its behalf");
      }
      if (r->status != 401 || retried_auth) co_return r;
      retried_auth = true;
      auto challenges = parse_www_authenticate(r->header(http::field::www_authenticate));
      if (!challenges) co_return permission_denied(registry + " answered 401: " + challenges.error().message);
      const AuthChallenge* bearer = nullptr;
      const AuthChallenge* basic = nullptr;
      for (const auto& ch : *challenges) {
        if (ch.scheme == "bearer" && !bearer) bearer = &ch;
        if (ch.scheme == "basic" && !basic) basic = &ch;
      }
      if (bearer) {
        // The challenge's scope is the registry's to choose; we ask only for pull on this repository.
        auto token = co_await fetch_token(*bearer, scope, creds, registry, home);
        if (!token) co_return token.error();
        continue;
      }
      if (basic) {
        if (!creds || creds->credentials.username.empty()) {
          co_return permission_denied(registry + " requires credentials (Basic) and none are configured");
        }
        std::lock_guard lock(mutex);
        basic_hosts[registry] = "basic";
        continue;
      }
      co_return permission_denied(registry + " answered 401 with no supported challenge");
    }
  }

  static Error status_error(const Response& r, const ImageReference& ref, std::string_view what) {
    const std::string where = std::string(what) + " " + ref.string();
    if (r.status == 404) return not_found("manifest unknown: " + where);
    if (r.status == 401 || r.status == 403) {
      return permission_denied("registry refused access to " + where + " (HTTP " + std::to_string(r.status) + ")");
    }
    if (r.status == 429) return unavailable("registry rate limited " + where + " (HTTP 429)");
    return unavailable("registry answered HTTP " + std::to_string(r.status) + " for " + where);
  }
};

namespace {

std::string manifest_target(const ImageReference& ref, std::string_view reference) {
  return "/v2/" + ref.path() + "/manifests/" + std::string(reference);
}

// A manifest's bytes in hand: its digest is the one computed from them, never a header's. A
// Docker-Content-Digest that says anything else (another digest, another algorithm, garbage) is a registry
// lying or broken and refused, as is a body that is not the digest the caller asked for. Only a HEAD answer
// (no bytes) is taken at its header's word: see resolve().
Result<FetchedManifest> checked_manifest(Response&& r, const ImageReference& ref, std::string_view wanted) {
  FetchedManifest out;
  out.digest = sha256_digest(r.body);
  const auto it = r.headers.find("Docker-Content-Digest");
  if (it != r.headers.end() && it->value() != out.digest) {
    return permission_denied("registry sent manifest " + ref.string() + " with Docker-Content-Digest " +
                             std::string(it->value()) + " but the body hashes to " + out.digest);
  }
  if (!wanted.empty() && wanted != out.digest) {
    return permission_denied("manifest " + ref.string() + " hashes to " + out.digest);
  }
  out.media_type = r.header(http::field::content_type);
  out.body = std::move(r.body);
  return out;
}

// An error when the body is not an image manifest or index (JSON object with schemaVersion 2) within
// kManifestJsonLimits.
Status read_manifest_details(const std::string& body, ResolvedImage& out) {
  auto parsed = parse_json_bounded(body, kManifestJsonLimits);
  if (!parsed && parsed.error().code == ErrorCode::resource_exhausted) return parsed.error();
  if (!parsed) return unavailable("not an image manifest or index (" + parsed.error().message + ")");
  const nlohmann::json& doc = *parsed;
  const Error not_manifest = unavailable("not an image manifest or index");
  if (!doc.is_object()) return not_manifest;
  if (auto v = doc.find("schemaVersion"); v == doc.end() || !v->is_number_integer() || v->get<int>() != 2) {
    return not_manifest;
  }
  if (auto it = doc.find("mediaType"); it != doc.end() && it->is_string() && out.media_type.empty()) {
    out.media_type = it->get<std::string>();
  }
  const auto manifests = doc.find("manifests");
  if (manifests == doc.end() || !manifests->is_array()) return Ok{};
  for (const auto& m : *manifests) {
    if (!m.is_object()) continue;
    const auto p = m.find("platform");
    if (p == m.end() || !p->is_object()) continue;
    const auto os = p->find("os");
    const auto arch = p->find("architecture");
    if (os == p->end() || arch == p->end() || !os->is_string() || !arch->is_string()) continue;
    std::string platform = os->get<std::string>() + "/" + arch->get<std::string>();
    if (auto v = p->find("variant"); v != p->end() && v->is_string()) platform += "/" + v->get<std::string>();
    out.platforms.push_back(std::move(platform));
  }
  return Ok{};
}

}  // namespace

OciRegistryClient::OciRegistryClient(std::unique_ptr<State> state) : state_(std::move(state)) {}
OciRegistryClient::~OciRegistryClient() = default;

Result<RegistryClientOptions> canonical_registry_keys(RegistryClientOptions options) {
  std::set<std::string> insecure;
  for (const std::string& host : options.insecure_registries) {
    auto canonical = canonical_registry_host(host);
    if (!canonical) return invalid_argument("insecure registry: " + canonical.error().message);
    // `host:443` is `host` (HTTPS's default port), which plain HTTP reaches on port 80: refuse the ambiguity.
    const auto has_port = [](std::string_view h) {
      const std::size_t bracket = h.rfind(']');
      return h.substr(bracket == std::string_view::npos ? 0 : bracket).find(':') != std::string_view::npos;
    };
    if (has_port(host) && !has_port(*canonical)) {
      return invalid_argument("insecure registry \"" + host + "\": port 443 is HTTPS's; plain HTTP there is not supported");
    }
    insecure.insert(std::move(canonical).value());
  }
  options.insecure_registries = std::move(insecure);
  std::set<std::string> legacy;
  for (const std::string& host : options.legacy_tls_registries) {
    auto canonical = canonical_registry_host(host);
    if (!canonical) return invalid_argument("legacy TLS registry: " + canonical.error().message);
    legacy.insert(std::move(canonical).value());
  }
  options.legacy_tls_registries = std::move(legacy);
  std::map<std::string, std::vector<std::string>> ca_files;
  for (auto& [host, files] : options.registry_ca_files) {
    auto canonical = canonical_registry_host(host);
    if (!canonical) return invalid_argument("registry CA files: " + canonical.error().message);
    auto& merged = ca_files[std::move(canonical).value()];
    merged.insert(merged.end(), files.begin(), files.end());
  }
  options.registry_ca_files = std::move(ca_files);
  return options;
}

Result<std::unique_ptr<OciRegistryClient>> OciRegistryClient::create(RegistryClientOptions options) {
  auto state = std::make_unique<State>();
  for (const std::string& file : options.docker_config_files) {
    auto loaded = DockerCredentials::load(file);
    if (!loaded) return loaded.error();
    state->credentials.merge(*loaded);
  }
  // Check every CA file now, so a bad path fails at start-up rather than on the first review.
  std::vector<std::string> all = options.ca_files;
  for (const auto& [host, files] : options.registry_ca_files) all.insert(all.end(), files.begin(), files.end());
  for (const std::string& file : all) {
    ssl::context probe(ssl::context::tls_client);
    boost::system::error_code ec;
    probe.load_verify_file(file, ec);
    if (ec) return invalid_argument("CA file " + file + ": " + ec.message());
  }
  state->gates = std::make_unique<KeyedSemaphore>(options.max_concurrent_per_registry);
  auto canonical = canonical_registry_keys(std::move(options));
  if (!canonical) return canonical.error();
  state->options = std::move(canonical).value();
  auto guard = RedirectGuard::create(state->options.auth_hosts, state->options.blob_hosts);
  if (!guard) return guard.error();
  state->guard = std::move(guard.value());
  return std::unique_ptr<OciRegistryClient>(new OciRegistryClient(std::move(state)));
}

void OciRegistryClient::set_allowed_hosts(std::function<bool(std::string_view authority)> allowed) {
  state_->guard.set_allowed(std::move(allowed));
}

void OciRegistryClient::set_request_observer(std::function<void(std::string_view)> observer) {
  state_->observer = std::move(observer);
}

void OciRegistryClient::set_request_timing_observer(std::function<void(std::string_view, double)> observer) {
  state_->timing_observer = std::move(observer);
}

std::string OciRegistryClient::credentials_key(const ImageReference& ref) const { return state_->credentials_key(ref); }

asio::awaitable<Result<ResolvedImage>> OciRegistryClient::resolve(const ImageReference& ref, ResolveOptions options) {
  if (ref.domain().empty() || ref.path().empty()) co_return invalid_argument("cannot resolve " + ref.string());
  ResolvedImage out;
  if (ref.has_digest() && !options.details) {
    out.digest = ref.digest();
    co_return out;
  }
  const std::string reference = ref.has_digest() ? ref.digest() : ref.effective_tag();
  const std::string target = manifest_target(ref, reference);
  if (!options.details) {
    // HEAD (free of Docker Hub's pull limit) gives the digest in Docker-Content-Digest and no bytes to check
    // it against: a registry that lies here can still serve other bytes to the runtime's GET of the tag.
    // Only pinning (pinDigest + /mutate) closes that; docs/policy.md says so.
    auto head = co_await state_->registry_request(ref, http::verb::head, target, 0);
    if (!head) co_return head.error();
    if (head->status == 200) {
      const auto it = head->headers.find("Docker-Content-Digest");
      if (it != head->headers.end() && !validate_digest(std::string(it->value()))) {
        out.digest = std::string(it->value());
        out.media_type = head->header(http::field::content_type);
        const std::string length = head->header(http::field::content_length);
        if (!length.empty() && length.size() < 19) out.size = std::stoull(length);
        co_return out;
      }
      // No (usable) digest header: read the manifest and hash it.
    } else if (head->status == 404 || head->status == 401 || head->status == 403 || head->status == 429 ||
               head->status >= 500) {
      co_return State::status_error(*head, ref, "manifest");
    }
    // Other statuses (405 and friends): fall back to GET.
  }
  auto get = co_await state_->registry_request(ref, http::verb::get, target, state_->options.max_manifest_bytes);
  if (!get) co_return get.error();
  if (get->status != 200) co_return State::status_error(*get, ref, "manifest");
  auto checked = checked_manifest(std::move(get.value()), ref, ref.has_digest() ? ref.digest() : "");
  if (!checked) co_return checked.error();
  out.digest = checked->digest;
  out.size = checked->body.size();
  out.media_type = checked->media_type;
  if (Status read = read_manifest_details(checked->body, out); !read) {
    co_return Error{read.error().code, "registry sent a body for " + ref.string() + " that is " +
                                           (read.error().code == ErrorCode::resource_exhausted ? "refused: " : "") +
                                           read.error().message};
  }
  co_return out;
}

asio::awaitable<Result<std::string>> OciRegistryClient::fetch_blob(const ImageReference& ref, std::string digest,
                                                                   std::size_t max_bytes) {
  if (auto bad = validate_digest(digest)) co_return invalid_argument("bad blob digest " + digest);
  max_bytes = std::min(max_bytes, state_->options.max_blob_bytes);
  auto r = co_await state_->registry_request(ref, http::verb::get, "/v2/" + ref.path() + "/blobs/" + digest, max_bytes);
  if (!r) co_return r.error();
  if (r->status == 404) co_return not_found("blob unknown: " + ref.name() + "@" + digest);
  if (r->status != 200) co_return State::status_error(*r, ref, "blob");
  if (sha256_digest(r->body) != digest) {
    co_return permission_denied("blob " + ref.name() + "@" + digest + " does not match its digest");
  }
  co_return std::move(r->body);
}

asio::awaitable<Result<FetchedManifest>> OciRegistryClient::fetch_manifest(const ImageReference& ref) {
  if (ref.domain().empty() || ref.path().empty()) co_return invalid_argument("cannot fetch " + ref.string());
  const std::string reference = ref.has_digest() ? ref.digest() : ref.effective_tag();
  auto r = co_await state_->registry_request(ref, http::verb::get, manifest_target(ref, reference),
                                             state_->options.max_manifest_bytes);
  if (!r) co_return r.error();
  if (r->status != 200) co_return State::status_error(*r, ref, "manifest");
  co_return checked_manifest(std::move(r.value()), ref, ref.has_digest() ? ref.digest() : "");
}

asio::awaitable<Result<FetchedManifest>> OciRegistryClient::fetch_referrers(const ImageReference& ref,
                                                                            std::string digest) {
  if (auto bad = validate_digest(digest)) co_return invalid_argument("bad digest " + digest);
  auto r = co_await state_->registry_request(ref, http::verb::get, "/v2/" + ref.path() + "/referrers/" + digest,
                                             state_->options.max_manifest_bytes,
                                             "application/vnd.oci.image.index.v1+json");
  if (!r) co_return r.error();
  // 404 (and 400/405 from registries that route the path elsewhere) means no referrers API.
  if (r->status == 404 || r->status == 400 || r->status == 405) {
    co_return not_found("registry has no referrers API for " + ref.name());
  }
  if (r->status != 200) co_return State::status_error(*r, ref, "referrers of");
  co_return checked_manifest(std::move(r.value()), ref, "");
}

asio::awaitable<Result<std::string>> OciRegistryClient::get(std::string base_url, std::string path, std::string scope,
                                                            std::size_t max_bytes) {
  auto url = parse_url(base_url);
  if (!url) co_return url.error();
  if (path.empty() || path.front() != '/') co_return invalid_argument("path must start with /: " + path);
  url->target = path;
  const std::string authority = url->authority();
  if (!url->https && state_->options.insecure_registries.count(authority) == 0) {
    co_return invalid_argument("plain HTTP to " + authority + " is not configured as insecure");
  }
  // Credentials for the server are looked up as for a registry of that host.
  auto r = co_await state_->authorized_request(authority, *url, state_->credentials.find(authority, ""),
                                               std::move(scope), http::verb::get, max_bytes, "application/json");
  if (!r) co_return r.error();
  if (r->status == 404) co_return not_found(authority + path + " not found (HTTP 404)");
  if (r->status == 401 || r->status == 403) {
    co_return permission_denied(authority + " refused access to " + path + " (HTTP " + std::to_string(r->status) + ")");
  }
  if (r->status == 429 || r->status >= 500 || r->status != 200) {
    co_return unavailable(authority + " answered HTTP " + std::to_string(r->status) + " for " + path);
  }
  co_return std::move(r->body);
}

}  // namespace imagegate::verifier
