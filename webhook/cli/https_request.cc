#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/cli/https_request.h"

#include <openssl/ssl.h>

#include <exception>
#include <stdexcept>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "verifier/registry/tls_policy.h"

namespace imagegate::webhook {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct HostPort {
  std::string host;
  std::string port = "443";
};

Result<HostPort> parse_server(const std::string& server) {
  if (server.rfind("https://", 0) != 0) return invalid_argument("--server must be an https:// URL");
  std::string rest = server.substr(8);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  HostPort out{rest};
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return invalid_argument("bad --server address");
    out.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') out.port = rest.substr(close + 2);
  } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    out.host = rest.substr(0, colon);
    out.port = rest.substr(colon + 1);
  }
  return out;
}

// The exchange itself, with Beast's and Asio's throwing calls: a blocking client has nothing to do between
// steps but give up, and the exception's text (operation and reason) is what the CLI prints.
HttpsReply exchange(const HostPort& address, HttpsRequest& request) {
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  // The server's own TLS policy (TLS 1.2+, ECDHE + AEAD): imagegate's API listener speaks exactly that.
  if (auto s = verifier::apply_tls_policy(ctx.native_handle()); !s) throw std::runtime_error(s.error().message);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  if (!request.cacert.empty()) {
    ctx.load_verify_file(request.cacert);
  } else {
    ctx.set_default_verify_paths();
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), address.host.c_str())) throw std::runtime_error("bad host name");
  stream.set_verify_callback(asio::ssl::host_name_verification(address.host));
  asio::ip::tcp::resolver resolver(io);
  beast::get_lowest_layer(stream).expires_after(request.timeout);
  beast::get_lowest_layer(stream).connect(resolver.resolve(address.host, address.port));
  stream.handshake(asio::ssl::stream_base::client);
  http::request<http::string_body> req{http::string_to_verb(request.method), request.target, 11};
  req.set(http::field::host, address.host);
  req.set(http::field::user_agent, "imagegate-cli");
  req.set(http::field::authorization, "Bearer " + request.bearer_token);
  if (!request.content_type.empty()) req.set(http::field::content_type, request.content_type);
  req.body() = std::move(request.body);
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(request.max_response_bytes);
  http::read(stream, buffer, parser);
  beast::error_code ignored;
  stream.shutdown(ignored);
  return {parser.get().result_int(), parser.get().body()};
}

}  // namespace

Result<HttpsReply> https_request(HttpsRequest request) {
  auto address = parse_server(request.server);
  if (!address) return address.error();
  try {
    return exchange(*address, request);
  } catch (const std::exception& e) {
    return Error{ErrorCode::unavailable, e.what()};
  }
}

}  // namespace imagegate::webhook
