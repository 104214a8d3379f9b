// HttpsServer: the webhook's HTTPS/1.1 endpoint.
//
//   POST /validate  -> AdmissionService::validate (the AdmissionReview answer, or 400/413 with JSON)
//   POST /mutate    -> HttpsServerOptions::mutate, when set (webhook/admission/digest_pinning.h)
//   GET  /healthz   -> 200 ok
//   GET  /readyz    -> 200 when AdmissionService::ready(), else 503
//   GET  /metrics   -> Metrics::render(), text/plain; version=0.0.4
//   other paths 404, wrong methods 405; 4xx bodies are {"error":"..."}.
// The table is admission_routes() (webhook/server/router.h); the verdict API listener brings its own handler.
//
// One io_context run by N threads; every connection runs as one C++20 coroutine on its own strand. Every
// TLS handshake, read, write and shutdown has a timeout; a request's header and body are bounded; the
// number of open connections is capped (connections beyond it are closed at once). TLS comes from a
// TlsContextProvider: each new connection takes the provider's newest context.
//
// stop() is graceful: the listener closes, idle keep-alive connections close, requests in flight are
// answered (with `Connection: close`) within the grace period, then whatever remains is closed.
//
// Thread-safety: listen(), start() and stop() may be called from any thread; the service, metrics, TLS
// provider and log must outlive the server and the io_context's handlers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <boost/asio/awaitable.hpp>

#include "common/result.h"
#include "webhook/admission/admission_review.h"
#include "webhook/admission/admission_service.h"
#include "webhook/server/router.h"

namespace imagegate::webhook {

class AdmissionService;
class Logger;  // webhook/observe/logger.h
class Metrics;
class TlsContextProvider;

// What a listener decides from a request's header alone, before a byte of its body is read.
struct HeadDecision {
  std::optional<HttpAnswer> refuse;  // set: answered with it (`Connection: close`); the body is never read
  std::size_t body_limit = 0;        // otherwise: the most body this request may carry (a Content-Length
                                     // over it is refused with 413 before the body is read)
};
// Sees a request that carries a body (Content-Length > 0 or chunked) with `body` empty. Must not throw.
using RequestHeadCheck = std::function<HeadDecision(const HttpRequest& head)>;

struct HttpsServerOptions {
  std::string host = "127.0.0.1";  // numeric address
  unsigned short port = 8443;      // 0: any free port (listen() returns it)
  std::size_t max_connections = 1024;
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = kMaxReviewBytes;
  // Spare capacity reserved after a request body with a Content-Length: the review decoder reads a body
  // in place when at least SIMDJSON_PADDING (64) bytes follow it (admission_review.h), else copies it.
  std::size_t body_padding = 64;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive, before a request's first byte
  std::chrono::milliseconds read_timeout{10'000};   // the rest of the request, once it has started
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds shutdown_timeout{2'000};  // TLS close_notify exchange
  // Set: answers every request instead of the admission routes (admission_routes below), so both
  // listeners share one connection loop (TLS, limits, timeouts, graceful stop). The verdict API's handler
  // routes with its own Router (webhook/api/verdict_api.cc).
  RequestHandler handler;
  // Consulted once a request's header is read, before `Expect: 100-continue` is answered and before its
  // body is read (the verdict API authenticates here, so an unauthenticated body is never buffered).
  // Its body_limit is capped by `body_limit` above. Empty: every route may carry `body_limit`.
  RequestHeadCheck head_check;
  RequestHandler mutate;   // set: POST /mutate is answered by it (webhook/admission/digest_pinning.h); else 404
  // Header fields sent with every answer of this listener (the verdict API's: nosniff, no-store and a strict
  // Content-Security-Policy, for its JSON and the console's page alike: webhook/console/console_routes.h).
  std::vector<std::pair<std::string, std::string>> answer_headers;
};

// The webhook listener's routes (the table above). `metrics` may be null (/metrics then answers empty);
// `service` and `metrics` must outlive the router.
Router admission_routes(AdmissionService& service, Metrics* metrics, RequestHandler mutate);

// Opens, binds (SO_REUSEADDR) and listens on host:port; the address bound (the real port for port 0).
// Errors name the address and the step. Every listener of serve opens its socket through it.
Result<boost::asio::ip::tcp::endpoint> open_listener(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host,
                                                     std::uint16_t port);

class HttpsServer {
 public:
  // `metrics` may be null (server-only tests).
  HttpsServer(boost::asio::io_context& io, HttpsServerOptions options, TlsContextProvider& tls,
              AdmissionService& service, Metrics* metrics, Logger& log);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Binds and listens; returns the address actually bound (the real port when options.port was 0).
  Result<boost::asio::ip::tcp::endpoint> listen();
  // Starts accepting on the io_context. Call after listen().
  void start();
  // Graceful stop, see above. `done` runs (on an io_context thread) once every connection has closed.
  void stop(std::chrono::milliseconds grace_period, std::function<void()> done);

  std::size_t connections() const;

  struct State;  // shared with the connection coroutines (https_server.cc)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace imagegate::webhook
