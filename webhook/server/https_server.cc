#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/server/https_server.h"

#include <algorithm>
#include <array>
#include <exception>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "webhook/admission/admission_service.h"
#include "webhook/observe/logger.h"
#include "webhook/observe/metrics.h"
#include "webhook/server/tls_context.h"

namespace imagegate::webhook {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

using Stream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::size_t kMaxLingerBytes = 16 * 1024 * 1024;
constexpr std::chrono::milliseconds kLingerTime{1'000};
constexpr std::size_t kFirstReadBytes = 16 * 1024;

// One accepted connection. The coroutine that serves it owns it; stop() reaches it through a weak_ptr and
// only ever touches it from the connection's strand (the stream's executor).
struct Connection {
  Connection(tcp::socket socket, std::shared_ptr<ssl::context> tls)
      : context(std::move(tls)), stream(std::move(socket), *context) {}
  std::shared_ptr<ssl::context> context;  // keeps this connection's TLS context alive across a reload
  Stream stream;
  bool idle = false;  // waiting for the first byte of the next request (strand only)
};

std::string error_body(std::string_view message) { return nlohmann::json{{"error", message}}.dump(); }

HttpAnswer error_answer(unsigned status, std::string_view message) {
  return HttpAnswer{status, "application/json", error_body(message)};
}

bool is_http_parse_error(const error_code& ec) { return ec.category() == http::make_error_code(http::error::end_of_stream).category(); }

}  // namespace

Router admission_routes(AdmissionService& service, Metrics* metrics, RequestHandler mutate) {
  Router router(error_answer);
  router.add("POST", "/validate", Router::Match::exact,
             [&service](HttpRequest r) { return service.validate(std::move(r.body), std::move(r.target)); });
  // Same body limits and budget as /validate; the handler answers the AdmissionReview with a JSONPatch.
  if (mutate) router.add("POST", "/mutate", Router::Match::exact, std::move(mutate));
  router.add("GET", "/healthz", Router::Match::exact,
             [](HttpRequest) { return answer_now(HttpAnswer{200, "text/plain; charset=utf-8", "ok\n"}); });
  router.add("GET", "/readyz", Router::Match::exact, [&service](HttpRequest) {
    if (service.ready()) return answer_now(HttpAnswer{200, "text/plain; charset=utf-8", "ok\n"});
    return answer_now(HttpAnswer{503, "text/plain; charset=utf-8", "no valid policy loaded\n"});
  });
  router.add("GET", "/metrics", Router::Match::exact, [metrics](HttpRequest) {
    return answer_now(HttpAnswer{200, "text/plain; version=0.0.4; charset=utf-8",
                                 metrics != nullptr ? metrics->render() : std::string()});
  });
  return router;
}

struct HttpsServer::State : std::enable_shared_from_this<HttpsServer::State> {
  State(asio::io_context& context, HttpsServerOptions opts, TlsContextProvider& provider, AdmissionService& svc,
        Metrics* m, Logger& out)
      : io(context),
        options(std::move(opts)),
        router(admission_routes(svc, m, options.mutate)),
        tls(provider),
        metrics(m),
        log(out),
        accept_strand(asio::make_strand(context)),
        acceptor(accept_strand),
        grace_timer(context) {}

  asio::io_context& io;
  HttpsServerOptions options;
  Router router;  // the admission routes, unless options.handler answers everything
  TlsContextProvider& tls;
  Metrics* metrics;
  Logger& log;
  asio::strand<asio::io_context::executor_type> accept_strand;
  tcp::acceptor acceptor;  // used on accept_strand only

  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connection_count{0};
  std::mutex mutex;  // guards live, done, grace_timer
  std::unordered_map<Connection*, std::weak_ptr<Connection>> live;
  std::function<void()> done;
  bool finished = false;
  asio::steady_timer grace_timer;

  void record(unsigned status) {
    if (metrics != nullptr) metrics->http_response(status);
  }

  // Runs `done` once: when the last connection closed after stop(), or when the grace period ran out.
  void finish() {
    std::function<void()> callback;
    {
      std::lock_guard lock(mutex);
      if (finished) return;
      finished = true;
      callback = std::move(done);
      grace_timer.cancel();
    }
    if (callback) asio::post(io, std::move(callback));
  }

  void connection_closed(Connection* connection) {
    {
      std::lock_guard lock(mutex);
      live.erase(connection);
    }
    if (connection_count.fetch_sub(1) == 1 && stopping.load()) finish();
  }

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Connection> connection);
  asio::awaitable<void> lingering_close(Connection& connection);
  asio::awaitable<error_code> write_answer(Connection& connection, HttpAnswer answer, unsigned version,
                                           bool keep_alive);
};

asio::awaitable<void> HttpsServer::State::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    error_code ec;
    // Each connection gets its own strand: its coroutine, its timers and stop()'s notifications all run there.
    tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(io), asio::redirect_error(asio::use_awaitable, ec));
    if (stopping.load() || ec == asio::error::operation_aborted || !acceptor.is_open()) break;
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning.
      log.error("accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(accept_strand, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // The cap counts connections from accept to close; one over it is closed before the handshake.
    if (connection_count.load() >= options.max_connections) {
      socket.close(ec);
      continue;
    }
    // An answer larger than one segment (the console's views) must not wait for the peer's delayed ACK
    // (Nagle: ~40 ms on each such answer); every answer is written whole, so nothing is gained by waiting.
    socket.set_option(tcp::no_delay(true), ec);
    connection_count.fetch_add(1);
    auto connection = std::make_shared<Connection>(std::move(socket), tls.current());
    {
      std::lock_guard lock(mutex);
      live.emplace(connection.get(), connection);
    }
    auto executor = connection->stream.get_executor();
    asio::co_spawn(executor, serve(std::move(connection)), asio::detached);
  }
}

asio::awaitable<void> HttpsServer::State::lingering_close(Connection& connection) {
  // After an error answer the client may still be sending (a body over the limit). Closing a socket with
  // unread data makes the kernel send RST, which can destroy the answer before the client reads it; so
  // half-close, then read and discard for a bounded time and size, as nginx's lingering_close does.
  auto& lowest = beast::get_lowest_layer(connection.stream);
  error_code ec;
  lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
  lowest.expires_after(kLingerTime);
  std::vector<char> scratch(16 * 1024);
  std::size_t drained = 0;
  while (drained < kMaxLingerBytes) {
    const std::size_t n =
        co_await lowest.async_read_some(asio::buffer(scratch), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    drained += n;
  }
  lowest.close();
}

asio::awaitable<error_code> HttpsServer::State::write_answer(Connection& connection, HttpAnswer answer,
                                                             unsigned version, bool keep_alive) {
  Response response{static_cast<http::status>(answer.status), version};
  response.set(http::field::server, "imagegate");
  response.set(http::field::content_type, answer.content_type);
  for (const auto& [name, value] : options.answer_headers) response.set(name, value);
  response.keep_alive(keep_alive);
  response.body() = std::move(answer.body);
  response.prepare_payload();
  beast::get_lowest_layer(connection.stream).expires_after(options.write_timeout);
  error_code ec;
  co_await http::async_write(connection.stream, response, asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

asio::awaitable<void> HttpsServer::State::serve(std::shared_ptr<Connection> connection) {
  auto self = shared_from_this();
  struct Closed {
    State* state;
    Connection* connection;
    ~Closed() { state->connection_closed(connection); }
  } closed{this, connection.get()};

  auto& stream = connection->stream;
  auto& lowest = beast::get_lowest_layer(stream);
  error_code ec;

  lowest.expires_after(options.handshake_timeout);
  co_await stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    lowest.close();
    co_return;
  }

  beast::flat_buffer buffer;
  bool graceful = true;  // end with a TLS close_notify exchange
  for (bool first = true;; first = false) {
    // A connection accepted just before stop() still gets its first request answered: its client is about
    // to send it. Only connections idle between requests are closed.
    if (!first && stopping.load()) break;
    ec = {};
    // A fresh parser per message (Beast's advanced_server_flex): limits and state never leak between requests.
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);

    // Idle keep-alive wait: until the next request's first bytes arrive (unless a pipelined request is
    // already buffered). stop() cancels this read, and only this one. http::async_read_some would not do:
    // it returns only once the parser makes progress, i.e. after the whole header.
    if (buffer.size() == 0) {
      connection->idle = !first;
      lowest.expires_after(options.idle_timeout);
      const std::size_t n = co_await stream.async_read_some(buffer.prepare(kFirstReadBytes),
                                                            asio::redirect_error(asio::use_awaitable, ec));
      buffer.commit(n);
      connection->idle = false;
    }
    // The rest of the request has read_timeout from here: a client trickling bytes (slowloris) is cut off.
    // The stream's expiry is a point in time, not a per-operation budget: every read and write after this
    // (header, 100-continue, body) ends at it, and the stream closes when it passes.
    if (!ec) {
      lowest.expires_after(options.read_timeout);
      co_await http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    // The header decides whether the body is wanted at all: a refused request never has its body read
    // (nor a 100 Continue sent), so unauthenticated clients cannot make the server buffer bodies.
    std::size_t body_limit = options.body_limit;
    std::optional<HttpAnswer> refused;
    if (!ec && !parser.is_done() && options.head_check) {
      const auto& head = parser.get();
      HeadDecision decision = options.head_check(
          HttpRequest{std::string(head.method_string()), std::string(head.target()),
                      std::string(head[http::field::content_type]), std::string(head[http::field::authorization]), {}});
      body_limit = std::min(body_limit, decision.body_limit);
      refused = std::move(decision.refuse);
      if (!refused && parser.content_length() && *parser.content_length() > body_limit) {
        refused = error_answer(413, "request body larger than " + std::to_string(body_limit) + " bytes");
      }
      if (!refused) parser.body_limit(body_limit);  // no body octet has been parsed yet
    }
    if (!ec && !parser.is_done() && !refused) {
      // curl sends `Expect: 100-continue` for large bodies and waits for our go-ahead (RFC 9110 10.1.1).
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_ahead{http::status::continue_, 11};
        co_await http::async_write(stream, go_ahead, asio::redirect_error(asio::use_awaitable, ec));
      }
      if (const auto length = parser.content_length(); !ec && length && *length <= body_limit) {
        parser.get().body().reserve(static_cast<std::size_t>(*length) + options.body_padding);
      }
      if (!ec) co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    // The deadline passed (the stream closed itself), or stop() closed the socket: nothing more to say.
    if (ec == beast::error::timeout || (ec && !lowest.socket().is_open())) break;

    if (ec || refused) {
      std::optional<HttpAnswer> answer = std::move(refused);  // refused on its header, or a read error:
      if (!answer && ec == http::error::body_limit) {
        answer = error_answer(413, "request body larger than " + std::to_string(body_limit) + " bytes");
      } else if (!answer && ec == http::error::header_limit) {
        answer = error_answer(431, "request header larger than " + std::to_string(options.header_limit) + " bytes");
      } else if (!answer && ec != http::error::end_of_stream && ec != http::error::partial_message &&
                 is_http_parse_error(ec)) {
        answer = error_answer(400, "malformed HTTP request: " + ec.message());
      }
      if (!answer) {
        // end of stream, TLS truncation, timeout, reset, or stop() cancelling an idle wait.
        graceful = ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted;
        break;
      }
      record(answer->status);
      HttpAnswer last = std::move(*answer);
      ec = co_await write_answer(*connection, std::move(last), 11, false);
      if (!ec) co_await lingering_close(*connection);
      co_return;
    }

    Request request = parser.release();
    const bool keep_alive = request.keep_alive();
    HttpAnswer answer;
    const bool is_review = path_of(request.target()) == "/validate" && request.method() == http::verb::post;
    HttpRequest routed{std::string(request.method_string()), std::string(request.target()),
                       std::string(request[http::field::content_type]),
                       std::string(request[http::field::authorization]), std::move(request.body())};
    try {
      if (options.handler) {
        answer = co_await options.handler(std::move(routed));
      } else {
        answer = co_await router.handle(std::move(routed));
      }
    } catch (const std::exception& e) {
      // AdmissionService::validate promises not to throw; if it does anyway, answer rather than drop.
      answer = HttpAnswer{500, "application/json", error_body(std::string("internal error: ") + e.what())};
    }
    if (!is_review) record(answer.status);

    // After stop() a request in flight is still answered, but the connection closes behind it.
    const bool keep_open = keep_alive && !stopping.load();
    ec = co_await write_answer(*connection, std::move(answer), request.version(), keep_open);
    if (ec) {
      graceful = false;
      break;
    }
    if (!keep_open) break;
  }

  if (graceful && lowest.socket().is_open()) {
    lowest.expires_after(options.shutdown_timeout);
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    // A peer that closes without its own close_notify (stream_truncated) is normal; nothing to do either way.
  }
  lowest.close();
}

HttpsServer::HttpsServer(asio::io_context& io, HttpsServerOptions options, TlsContextProvider& tls,
                         AdmissionService& service, Metrics* metrics, Logger& log)
    : state_(std::make_shared<State>(io, std::move(options), tls, service, metrics, log)) {}

HttpsServer::~HttpsServer() {
  // Connections still running hold the state; the acceptor closes with the io_context.
  state_->stopping.store(true);
}

Result<tcp::endpoint> open_listener(tcp::acceptor& acceptor, const std::string& host, std::uint16_t port) {
  error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return invalid_argument("listen: bad address \"" + host + "\": " + ec.message());
  const tcp::endpoint endpoint{address, port};
  const auto fail = [&](std::string_view what) {
    error_code ignored;
    acceptor.close(ignored);
    return Error{ErrorCode::unavailable, "listen on " + endpoint.address().to_string() + ":" +
                                             std::to_string(endpoint.port()) + ": " + std::string(what) + ": " +
                                             ec.message()};
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("SO_REUSEADDR");
  acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  auto bound = acceptor.local_endpoint(ec);
  if (ec) return fail("local address");
  return bound;
}

Result<tcp::endpoint> HttpsServer::listen() {
  return open_listener(state_->acceptor, state_->options.host, state_->options.port);
}

void HttpsServer::start() {
  auto state = state_;
  asio::co_spawn(state->accept_strand, state->accept_loop(), asio::detached);
}

void HttpsServer::stop(std::chrono::milliseconds grace_period, std::function<void()> done) {
  auto state = state_;
  {
    std::lock_guard lock(state->mutex);
    state->done = std::move(done);
  }
  if (state->stopping.exchange(true)) return;

  asio::post(state->accept_strand, [state] {
    error_code ignored;
    state->acceptor.close(ignored);
  });

  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(state->mutex);
    for (auto& [raw, weak] : state->live) {
      if (auto connection = weak.lock()) open.push_back(std::move(connection));
    }
    state->grace_timer.expires_after(grace_period);
    state->grace_timer.async_wait([state](const error_code& ec) {
      if (ec) return;
      // Grace period over: close whatever is still open, in flight or not.
      std::lock_guard guard(state->mutex);
      for (auto& [raw, weak] : state->live) {
        if (auto connection = weak.lock()) {
          asio::post(connection->stream.get_executor(), [connection] {
            error_code ignored;
            beast::get_lowest_layer(connection->stream).socket().close(ignored);
          });
        }
      }
      asio::post(state->io, [state] { state->finish(); });
    });
  }
  // Idle keep-alive connections close now; busy ones see `stopping` after their answer.
  for (auto& connection : open) {
    asio::post(connection->stream.get_executor(), [connection] {
      if (connection->idle) beast::get_lowest_layer(connection->stream).cancel();
    });
  }
  if (state->connection_count.load() == 0) state->finish();
}

std::size_t HttpsServer::connections() const { return state_->connection_count.load(); }

}  // namespace imagegate::webhook
