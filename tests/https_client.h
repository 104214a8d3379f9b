// A TLS client for tests of HttpsServer listeners (tests/webhook/server/https_server_test.cc, verdict_api_test.cc):
// Beast over OpenSSL on its own io_context, a timeout on every step, raw bytes when a test needs to send a
// header without its body. Not thread-safe: one test thread drives it.
#pragma once

#include "common/asio_warnings.h"  // before any Asio header

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace imagegate::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

struct Answer {
  error_code ec;
  unsigned status = 0;
  std::string body;
  bool keep_alive = false;
};

// A TLS client with a timeout on every step, driven on its own io_context.
class Client {
 public:
  explicit Client(unsigned short port, const std::vector<std::string>& alpn = {"http/1.1"})
      : context_(ssl::context::tls_client) {
    context_.set_verify_mode(ssl::verify_none);  // the tests compare the served certificate themselves
    if (!alpn.empty()) {
      std::string wire;
      for (const auto& p : alpn) wire += static_cast<char>(p.size()) + p;
      SSL_CTX_set_alpn_protos(context_.native_handle(), reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned>(wire.size()));
    }
    stream_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, context_);
    lowest().expires_after(5s);
    lowest().async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                           [this](error_code ec) { connect_error = ec; });
    run();
    if (connect_error) return;
    stream_->async_handshake(ssl::stream_base::client, [this](error_code ec) { handshake_error = ec; });
    run();
  }

  bool connected() const { return !connect_error && !handshake_error; }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(*stream_); }

  Answer request(http::verb verb, std::string target, std::string body = {},
                 const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "localhost");
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty() || verb == http::verb::post) {
      req.body() = std::move(body);
      req.prepare_payload();
    }
    Answer answer;
    if (!send(req, answer.ec)) return answer;
    return read(answer);
  }

  template <class Message>
  bool send(Message& message, error_code& out) {
    lowest().expires_after(10s);
    http::async_write(*stream_, message, [&](error_code ec, std::size_t) { out = ec; });
    run();
    return !out;
  }

  bool send_raw(std::string_view bytes, error_code& out) {
    lowest().expires_after(10s);
    asio::async_write(*stream_, asio::buffer(bytes), [&](error_code ec, std::size_t) { out = ec; });
    run();
    return !out;
  }

  Answer read(Answer answer = {}) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    lowest().expires_after(10s);
    http::async_read(*stream_, buffer_, parser, [&](error_code ec, std::size_t) { answer.ec = ec; });
    run();
    if (!answer.ec) {
      auto res = parser.release();
      answer.status = res.result_int();
      answer.body = res.body();
      answer.keep_alive = res.keep_alive();
    }
    return answer;
  }

  // Waits until the server closes the connection (or `limit` passes); returns how long that took.
  std::chrono::milliseconds time_until_closed(std::chrono::milliseconds limit) {
    const auto start = std::chrono::steady_clock::now();
    lowest().expires_after(limit);
    char byte = 0;
    error_code result;
    stream_->async_read_some(asio::buffer(&byte, 1), [&](error_code ec, std::size_t) { result = ec; });
    run();
    closed_error = result;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }

  // The DER of the certificate the server presented.
  std::string peer_certificate() {
    X509* cert = SSL_get1_peer_certificate(stream_->native_handle());
    if (cert == nullptr) return {};
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len > 0 ? len : 0));
    OPENSSL_free(der);
    X509_free(cert);
    return out;
  }

  std::string alpn() {
    const unsigned char* data = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(stream_->native_handle(), &data, &len);
    return std::string(reinterpret_cast<const char*>(data), len);
  }

  error_code connect_error;
  error_code handshake_error;
  error_code closed_error;

 private:
  void run() {
    io_.restart();
    io_.run();
  }

  asio::io_context io_;
  ssl::context context_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
};

}  // namespace imagegate::testing
