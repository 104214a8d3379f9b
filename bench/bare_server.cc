// The ceiling of imagegate's own stack, for bench/run.sh: a bare Boost.Beast HTTPS server that reads each
// POST with a fresh request_parser and answers a static body. Same Asio io_context run by N threads, one
// strand per connection, coroutines, ssl_stream: what imagegate's server is built from, without the review.
// Built by CMake (target bench_bare_server), never installed.
//
//   bench_bare_server CERT KEY PORT THREADS ANSWER_FILE
#include "common/asio_warnings.h"  // before any Asio header

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> serve(beast::ssl_stream<beast::tcp_stream> stream, const std::string& answer) {
  boost::system::error_code ec;
  co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  beast::flat_buffer buffer;
  while (!ec) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(8 * 1024 * 1024);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    http::response<http::string_body> response{http::status::ok, parser.get().version()};
    response.set(http::field::content_type, "application/json");
    response.keep_alive(parser.get().keep_alive());
    response.body() = answer;
    response.prepare_payload();
    co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
    if (!response.keep_alive()) break;
  }
  beast::get_lowest_layer(stream).close();
}

asio::awaitable<void> accept(tcp::acceptor& acceptor, asio::ssl::context& tls, const std::string& answer) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()), asio::use_awaitable);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls);
    auto executor = stream.get_executor();
    asio::co_spawn(executor, serve(std::move(stream), answer), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: bench_bare_server CERT KEY PORT THREADS ANSWER_FILE\n";
    return 2;
  }
  std::ifstream file(argv[5], std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  const std::string answer = text.str();
  const int threads = std::max(1, std::stoi(argv[4]));

  asio::ssl::context tls(asio::ssl::context::tls_server);
  tls.use_certificate_chain_file(argv[1]);
  tls.use_private_key_file(argv[2], asio::ssl::context::pem);
  asio::io_context io(threads);
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(argv[3]))});
  asio::co_spawn(io, accept(acceptor, tls, answer), asio::detached);
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& worker : workers) worker.join();
}
