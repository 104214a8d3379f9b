#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/server/metrics_listener.h"

#include <atomic>
#include <chrono>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "webhook/observe/logger.h"
#include "webhook/observe/metrics.h"
#include "webhook/server/https_server.h"
#include "webhook/server/router.h"

namespace imagegate::webhook {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxConnections = 64;
constexpr std::chrono::seconds kExchangeTimeout{10};
constexpr std::uint32_t kHeaderLimit = 8 * 1024;
constexpr std::uint64_t kBodyLimit = 64 * 1024;

http::response<http::string_body> text_answer(http::status status, std::string body,
                                              std::string_view content_type = "text/plain; charset=utf-8") {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

// GET /metrics, and nothing else.
http::response<http::string_body> answer(const http::request<http::string_body>& request, const Metrics& metrics) {
  const std::string_view target(request.target().data(), request.target().size());
  if (path_of(target) != "/metrics") return text_answer(http::status::not_found, "not found\n");
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    auto refused = text_answer(http::status::method_not_allowed, "method not allowed: use GET\n");
    refused.set(http::field::allow, "GET");
    return refused;
  }
  return text_answer(http::status::ok, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace

struct MetricsListener::State : std::enable_shared_from_this<MetricsListener::State> {
  State(asio::io_context& context, Metrics& m, Logger& l)
      : io(context), metrics(m), log(l), accept_strand(asio::make_strand(context)), acceptor(accept_strand) {}

  asio::io_context& io;
  Metrics& metrics;
  Logger& log;
  asio::strand<asio::io_context::executor_type> accept_strand;
  tcp::acceptor acceptor;  // used on accept_strand only
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connections{0};
};

namespace {

asio::awaitable<void> serve_connection(std::shared_ptr<MetricsListener::State> state, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(kExchangeTimeout);
  beast::flat_buffer buffer(kHeaderLimit);
  http::request_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(kBodyLimit);
  error_code ec;
  // A body (nothing here takes one) is read up to kBodyLimit and ignored, so closing never resets a client
  // that is still sending; beyond, the answer is 400.
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec != http::error::end_of_stream && ec != beast::error::timeout) {
    http::response<http::string_body> res =
        ec ? text_answer(http::status::bad_request, "bad request\n") : answer(parser.get(), state->metrics);
    const bool head = !ec && parser.get().method() == http::verb::head;
    res.keep_alive(false);
    res.prepare_payload();
    if (head) res.body().clear();  // Content-Length stays the GET's
    error_code write_ec;
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, write_ec));
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
  state->connections.fetch_sub(1);
}

asio::awaitable<void> accept_loop(std::shared_ptr<MetricsListener::State> state) {
  for (;;) {
    error_code ec;
    tcp::socket socket =
        co_await state->acceptor.async_accept(asio::make_strand(state->io), asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopping.load() || ec == asio::error::operation_aborted || !state->acceptor.is_open()) break;
    if (ec) {
      state->log.error("metrics listener: accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(state->accept_strand, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (state->connections.load() >= kMaxConnections) {
      socket.close(ec);
      continue;
    }
    state->connections.fetch_add(1);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, serve_connection(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

MetricsListener::MetricsListener(asio::io_context& io, Metrics& metrics, Logger& log)
    : state_(std::make_shared<State>(io, metrics, log)) {}

MetricsListener::~MetricsListener() { state_->stopping.store(true); }

Result<tcp::endpoint> MetricsListener::listen(const ListenAddress& address) {
  auto bound = open_listener(state_->acceptor, address.host, address.port);
  if (!bound) return Error{bound.error().code, "metricsListen: " + bound.error().message};
  return bound;
}

void MetricsListener::start() {
  auto state = state_;
  asio::co_spawn(state->accept_strand, accept_loop(state), asio::detached);
}

void MetricsListener::stop() {
  auto state = state_;
  if (state->stopping.exchange(true)) return;
  asio::post(state->accept_strand, [state] {
    error_code ignored;
    state->acceptor.close(ignored);
  });
}

}  // namespace imagegate::webhook
