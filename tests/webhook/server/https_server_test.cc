// HttpsServer on 127.0.0.1:0 with a real TLS client (Beast over OpenSSL). The AdmissionService here is a
// small scripted one: these tests are about the server (limits, timeouts, keep-alive, certificate
// rotation, graceful stop), not about admission decisions, which tests/e2e/server_test.sh covers with the
// real service.

#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/server/https_server.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/https_client.h"
#include "webhook/admission/admission_service.h"
#include "verifier/crypto/crypto.h"
#include "webhook/observe/logger.h"
#include "webhook/observe/metrics.h"
#include "webhook/server/self_signed.h"
#include "webhook/server/tls_context.h"

namespace imagegate::webhook {
namespace {

// Answer, Client, and the asio, beast, http, ssl, tcp, error_code names and chrono literals.
using namespace testing;
namespace fs = std::filesystem;

// Answers every review with 200 and the body's size; `?delay_ms=N` makes it take N ms (a review in flight).
class ScriptedService final : public AdmissionService {
 public:
  asio::awaitable<HttpAnswer> validate(std::string body, std::string target) override {
    ++calls;
    if (auto pos = target.find("delay_ms="); pos != std::string::npos) {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(std::chrono::milliseconds(std::stoi(target.substr(pos + 9))));
      co_await timer.async_wait(asio::use_awaitable);
    }
    co_return HttpAnswer{200, "application/json", nlohmann::json{{"bytes", body.size()}}.dump()};
  }
  bool ready() const override { return is_ready.load(); }

  std::atomic<bool> is_ready{true};
  std::atomic<int> calls{0};
};

std::string der_of_file(const fs::path& pem) {
  FILE* f = std::fopen(pem.c_str(), "r");
  if (f == nullptr) return {};
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) return {};
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len > 0 ? len : 0));
  OPENSSL_free(der);
  X509_free(cert);
  return out;
}

// Certificates laid out like a mounted Secret: tls.crt -> ..data/tls.crt, ..data -> a versioned dir.
// rotate_to() swaps ..data atomically (rename of a new symlink), as the kubelet does.
class SecretDir {
 public:
  SecretDir() {
    auto dir = make_private_temp_directory("imagegate-https-test-");
    EXPECT_TRUE(dir.ok());
    root_ = *dir;
    fs::create_symlink("..data/tls.crt", root_ / "tls.crt");
    fs::create_symlink("..data/tls.key", root_ / "tls.key");
  }
  ~SecretDir() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // A new version with a fresh key pair; returns its directory.
  fs::path make_version(const std::string& name) {
    const fs::path dir = root_ / name;
    fs::create_directory(dir);
    EXPECT_TRUE(write_self_signed_certificate(dir).ok());
    return dir;
  }

  void rotate_to(const std::string& name) {
    const fs::path tmp = root_ / "..data_tmp";
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::create_symlink(name, tmp);
    fs::rename(tmp, root_ / "..data");
  }

  fs::path cert() const { return root_ / "tls.crt"; }
  fs::path key() const { return root_ / "tls.key"; }
  fs::path root() const { return root_; }

 private:
  fs::path root_;
};

class HttpsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    secrets_.make_version("v1");
    secrets_.rotate_to("v1");
  }

  void start(HttpsServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    auto tls = TlsContextProvider::create(TlsFiles{secrets_.cert(), secrets_.key(), {}}, &metrics_, logger_);
    ASSERT_TRUE(tls.ok()) << tls.error().message;
    tls_ = std::move(tls.value());
    server_ = std::make_unique<HttpsServer>(io_, options, *tls_, service_, &metrics_, logger_);
    auto bound = server_->listen();
    ASSERT_TRUE(bound.ok()) << bound.error().message;
    port_ = bound->port();
    ASSERT_NE(port_, 0);
    server_->start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    if (tls_) tls_->stop();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  // Polls `condition` for up to `limit`.
  template <class F>
  static bool eventually(F condition, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return condition();
  }

  SecretDir secrets_;
  ScriptedService service_;
  Metrics metrics_;
  std::ostringstream log_;  // written from io threads only after start; read after they stop
  Logger logger_{log_};
  asio::io_context io_;
  std::shared_ptr<TlsContextProvider> tls_;
  std::unique_ptr<HttpsServer> server_;
  std::vector<std::thread> threads_;
  unsigned short port_ = 0;
};

TEST_F(HttpsServerTest, ServesSeveralRequestsOnOneKeepAliveConnection) {
  start();
  Client client(port_);
  ASSERT_TRUE(client.connected()) << client.handshake_error.message();
  EXPECT_EQ(client.alpn(), "http/1.1");

  auto health = client.request(http::verb::get, "/healthz");
  ASSERT_FALSE(health.ec) << health.ec.message();
  EXPECT_EQ(health.status, 200U);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_TRUE(health.keep_alive);

  for (int i = 0; i < 3; ++i) {
    auto review = client.request(http::verb::post, "/validate?timeout=10s", std::string(100 + i, 'x'));
    ASSERT_FALSE(review.ec) << review.ec.message();
    EXPECT_EQ(review.status, 200U);
    EXPECT_EQ(nlohmann::json::parse(review.body)["bytes"], 100 + i);
  }
  auto ready = client.request(http::verb::get, "/readyz");
  EXPECT_EQ(ready.status, 200U);
  auto metrics = client.request(http::verb::get, "/metrics");
  EXPECT_EQ(metrics.status, 200U);
  EXPECT_NE(metrics.body.find("imagegate_"), std::string::npos);
  EXPECT_EQ(service_.calls.load(), 3);
  EXPECT_EQ(server_->connections(), 1U);
}

TEST_F(HttpsServerTest, ReadyzFollowsTheService) {
  start();
  service_.is_ready = false;
  Client client(port_);
  EXPECT_EQ(client.request(http::verb::get, "/readyz").status, 503U);
  service_.is_ready = true;
  EXPECT_EQ(client.request(http::verb::get, "/readyz").status, 200U);
}

TEST_F(HttpsServerTest, UnknownPathsAre404AndWrongMethods405WithJsonErrors) {
  start();
  Client client(port_);
  struct Case {
    http::verb verb;
    const char* target;
    unsigned status;
  };
  for (const Case& c : {Case{http::verb::get, "/nope", 404}, Case{http::verb::post, "/mutate", 404},
                        Case{http::verb::get, "/validate", 405}, Case{http::verb::put, "/validate", 405},
                        Case{http::verb::post, "/healthz", 405}, Case{http::verb::delete_, "/metrics", 405}}) {
    auto answer = client.request(c.verb, c.target);
    ASSERT_FALSE(answer.ec) << c.target << ": " << answer.ec.message();
    EXPECT_EQ(answer.status, c.status) << c.target;
    auto body = nlohmann::json::parse(answer.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << answer.body;
    EXPECT_TRUE(body["error"].is_string()) << answer.body;
    EXPECT_TRUE(answer.keep_alive) << "a 4xx for a well-formed request keeps the connection";
  }
  EXPECT_EQ(service_.calls.load(), 0);
  // Non-review answers are counted by status code.
  const std::string rendered = metrics_.render();
  EXPECT_NE(rendered.find("404"), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("405"), std::string::npos) << rendered;
}

TEST_F(HttpsServerTest, AcceptsABodyAtTheLimitAndAnswers413BeyondIt) {
  start();
  {
    Client client(port_);
    auto at_limit = client.request(http::verb::post, "/validate", std::string(kMaxReviewBytes, 'a'));
    ASSERT_FALSE(at_limit.ec) << at_limit.ec.message();
    EXPECT_EQ(at_limit.status, 200U);
    EXPECT_EQ(nlohmann::json::parse(at_limit.body)["bytes"], kMaxReviewBytes);
  }
  {
    // Declared length over the limit: refused from the header, before the body is read.
    Client client(port_);
    error_code ec;
    const std::string head = "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                             "Content-Length: " + std::to_string(kMaxReviewBytes + 1) + "\r\n\r\n";
    ASSERT_TRUE(client.send_raw(head + std::string(64 * 1024, 'a'), ec)) << ec.message();
    auto answer = client.read();
    ASSERT_FALSE(answer.ec) << answer.ec.message();
    EXPECT_EQ(answer.status, 413U);
    EXPECT_FALSE(answer.keep_alive);
    EXPECT_TRUE(nlohmann::json::parse(answer.body)["error"].is_string());
    EXPECT_LT(client.time_until_closed(5s), 4s) << "the connection closes after a 413";
  }
  {
    // Chunked, no declared length: cut when the body passes the limit.
    Client client(port_);
    error_code ec;
    std::string chunked = "POST /validate HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string chunk(1024 * 1024, 'b');
    for (int i = 0; i < 9; ++i) chunked += "100000\r\n" + chunk + "\r\n";
    chunked += "0\r\n\r\n";
    client.send_raw(chunked, ec);  // may fail part-way once the server has answered and closed
    auto answer = client.read();
    ASSERT_FALSE(answer.ec) << answer.ec.message();
    EXPECT_EQ(answer.status, 413U);
  }
  EXPECT_EQ(service_.calls.load(), 1);
}

TEST_F(HttpsServerTest, HeaderOverTheLimitIs431) {
  start();
  Client client(port_);
  auto answer = client.request(http::verb::get, "/healthz", {}, {{"X-Padding", std::string(20 * 1024, 'p')}});
  ASSERT_FALSE(answer.ec) << answer.ec.message();
  EXPECT_EQ(answer.status, 431U);
  EXPECT_FALSE(answer.keep_alive);
  Client small(port_);
  EXPECT_EQ(small.request(http::verb::get, "/healthz", {}, {{"X-Padding", std::string(8 * 1024, 'p')}}).status, 200U);
}

TEST_F(HttpsServerTest, MalformedRequestIs400) {
  start();
  Client client(port_);
  error_code ec;
  ASSERT_TRUE(client.send_raw("GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: nope\r\n\r\n", ec));
  auto answer = client.read();
  ASSERT_FALSE(answer.ec) << answer.ec.message();
  EXPECT_EQ(answer.status, 400U);
}

TEST_F(HttpsServerTest, ConnectionsBeyondTheCapAreClosed) {
  HttpsServerOptions options;
  options.max_connections = 2;
  start(options);
  auto first = std::make_unique<Client>(port_);
  Client second(port_);
  ASSERT_TRUE(first->connected());
  ASSERT_TRUE(second.connected());
  ASSERT_TRUE(eventually([&] { return server_->connections() == 2; }));

  Client third(port_);
  const bool third_served = third.connected() && !third.request(http::verb::get, "/healthz").ec;
  EXPECT_FALSE(third_served) << "a third connection must be refused";

  EXPECT_EQ(second.request(http::verb::get, "/healthz").status, 200U) << "connections within the cap still work";
  first.reset();  // closes its socket
  ASSERT_TRUE(eventually([&] { return server_->connections() < 2; }));
  Client fourth(port_);
  ASSERT_TRUE(fourth.connected());
  EXPECT_EQ(fourth.request(http::verb::get, "/healthz").status, 200U);
}

TEST_F(HttpsServerTest, SlowClientIsCutOffByTheReadTimeout) {
  HttpsServerOptions options;
  options.read_timeout = 400ms;
  start(options);
  Client client(port_);
  ASSERT_TRUE(client.connected());
  error_code ec;
  ASSERT_TRUE(client.send_raw("GET /healthz HTTP/1.1\r\nHost: localhost\r\n", ec));
  // Slowloris: one header line every 100 ms (at least), never finishing the request. A timeout per read
  // would never fire; one from the first byte fires after about 4 lines. Counting lines, not the clock,
  // keeps this true on a loaded machine (slower sleeps only mean fewer lines).
  int lines = 0;
  bool cut = false;
  while (lines < 40 && !cut) {
    std::this_thread::sleep_for(100ms);
    cut = !client.send_raw("X-Slow-" + std::to_string(lines) + ": a\r\n", ec);
    if (!cut && server_->connections() == 0) cut = true;
    ++lines;
  }
  EXPECT_TRUE(cut);
  EXPECT_LT(lines, 20) << "the read timeout counts from the request's first byte, not per read";
  EXPECT_TRUE(eventually([&] { return server_->connections() == 0; }));
}

TEST_F(HttpsServerTest, IdleAndSilentConnectionsTimeOut) {
  HttpsServerOptions options;
  options.idle_timeout = 300ms;
  options.handshake_timeout = 300ms;
  start(options);
  Client idle(port_);
  ASSERT_TRUE(idle.connected());
  EXPECT_EQ(idle.request(http::verb::get, "/healthz").status, 200U);
  EXPECT_LT(idle.time_until_closed(5s), 2s);

  // A TCP connection that never starts the TLS handshake.
  asio::io_context io;
  tcp::socket raw(io);
  raw.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  ASSERT_TRUE(eventually([&] { return server_->connections() == 1; }, 2s));
  EXPECT_TRUE(eventually([&] { return server_->connections() == 0; }, 2s));
}

TEST_F(HttpsServerTest, OffersOnlyHttp11OverAlpn) {
  start();
  Client h2_only(port_, {"h2"});
  ASSERT_TRUE(h2_only.connected()) << h2_only.handshake_error.message();
  EXPECT_EQ(h2_only.alpn(), "") << "h2 must not be selected";
  Client both(port_, {"h2", "http/1.1"});
  EXPECT_EQ(both.alpn(), "http/1.1");
}

TEST_F(HttpsServerTest, RotatedCertificateIsServedWithoutDroppingConnections) {
  start();
  tls_->start(io_.get_executor(), 50ms);
  const std::string v1 = der_of_file(secrets_.cert());
  ASSERT_FALSE(v1.empty());

  Client before(port_);
  ASSERT_EQ(before.peer_certificate(), v1);
  ASSERT_EQ(before.request(http::verb::get, "/healthz").status, 200U);

  // Traffic on fresh connections while the certificate rotates: every request must succeed.
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> successes{0};
  std::thread traffic([&] {
    while (!done.load()) {
      Client c(port_);
      auto a = c.request(http::verb::post, "/validate", "{}");
      if (a.ec || a.status != 200) ++failures; else ++successes;
    }
  });

  std::this_thread::sleep_for(100ms);
  secrets_.make_version("v2");
  secrets_.rotate_to("v2");
  const std::string v2 = der_of_file(secrets_.cert());
  ASSERT_NE(v1, v2);
  EXPECT_TRUE(eventually([&] { return Client(port_).peer_certificate() == v2; }))
      << "new connections get the new certificate";
  std::this_thread::sleep_for(100ms);
  done = true;
  traffic.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(successes.load(), 0);

  // The connection opened before the swap keeps working (on its old context).
  auto after = before.request(http::verb::get, "/healthz");
  ASSERT_FALSE(after.ec) << after.ec.message();
  EXPECT_EQ(after.status, 200U);
  EXPECT_NE(metrics_.render().find("imagegate_tls_reloads_total{result=\"success\"} 1"), std::string::npos)
      << metrics_.render();
  // The expiry gauge follows the certificate now served.
  std::ifstream pem_file(secrets_.cert(), std::ios::binary);
  const std::string pem((std::istreambuf_iterator<char>(pem_file)), std::istreambuf_iterator<char>());
  auto served = verifier::Certificate::from_pem(pem);
  ASSERT_TRUE(served.ok());
  const auto not_after = std::chrono::duration_cast<std::chrono::seconds>(served->not_after().time_since_epoch());
  EXPECT_NE(metrics_.render().find("imagegate_tls_certificate_expiry_seconds " + std::to_string(not_after.count()) + "\n"),
            std::string::npos)
      << metrics_.render();
}

TEST_F(HttpsServerTest, BadNewCertificateKeepsTheOldOne) {
  start();
  const std::string v1 = der_of_file(secrets_.cert());
  // v3: a certificate whose key is someone else's (v1's certificate is fine, v3's key does not match it).
  const fs::path v3 = secrets_.make_version("v3");
  fs::copy_file(secrets_.root() / "v1" / "tls.crt", v3 / "tls.crt", fs::copy_options::overwrite_existing);
  secrets_.rotate_to("v3");
  EXPECT_FALSE(tls_->check_now()) << "a key that does not match is rejected";

  // Garbage PEM is rejected too.
  const fs::path v4 = secrets_.root() / "v4";
  fs::create_directory(v4);
  std::ofstream(v4 / "tls.crt") << "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  std::ofstream(v4 / "tls.key") << "garbage\n";
  secrets_.rotate_to("v4");
  EXPECT_FALSE(tls_->check_now());

  Client client(port_);
  ASSERT_TRUE(client.connected());
  EXPECT_EQ(client.peer_certificate(), v1);
  EXPECT_EQ(client.request(http::verb::get, "/healthz").status, 200U);
  EXPECT_NE(log_.str().find("reload rejected"), std::string::npos);
  EXPECT_NE(metrics_.render().find("imagegate_tls_reloads_total{result=\"failure\"} 2"), std::string::npos)
      << metrics_.render();

  // Unchanged files are not reloaded again; a good pair afterwards is.
  EXPECT_FALSE(tls_->check_now());
  secrets_.make_version("v5");
  secrets_.rotate_to("v5");
  EXPECT_TRUE(tls_->check_now());
  EXPECT_EQ(Client(port_).peer_certificate(), der_of_file(secrets_.cert()));
}

TEST_F(HttpsServerTest, StopFinishesTheRequestInFlightAndClosesIdleConnections) {
  HttpsServerOptions options;
  options.shutdown_timeout = 300ms;  // the test's clients never answer close_notify
  start(options);
  Client idle(port_);
  ASSERT_EQ(idle.request(http::verb::get, "/healthz").status, 200U);

  Client busy(port_);
  ASSERT_TRUE(busy.connected());
  http::request<http::string_body> slow{http::verb::post, "/validate?delay_ms=600", 11};
  slow.set(http::field::host, "localhost");
  slow.body() = "{}";
  slow.prepare_payload();
  error_code ec;
  ASSERT_TRUE(busy.send(slow, ec));
  ASSERT_TRUE(eventually([&] { return service_.calls.load() == 1; }));

  std::promise<void> stopped;
  server_->stop(5s, [&] { stopped.set_value(); });

  EXPECT_LT(idle.time_until_closed(5s), 2s) << "idle keep-alive connections close at once";
  auto answer = busy.read();
  ASSERT_FALSE(answer.ec) << answer.ec.message();
  EXPECT_EQ(answer.status, 200U) << "the request in flight is answered";
  EXPECT_FALSE(answer.keep_alive) << "with Connection: close";
  EXPECT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);

  Client late(port_);
  EXPECT_FALSE(late.connected()) << "no new connections after stop()";
}

TEST_F(HttpsServerTest, StopClosesWhatRemainsWhenTheGracePeriodEnds) {
  start();
  Client busy(port_);
  http::request<http::string_body> slow{http::verb::post, "/validate?delay_ms=5000", 11};
  slow.set(http::field::host, "localhost");
  slow.body() = "{}";
  slow.prepare_payload();
  error_code ec;
  ASSERT_TRUE(busy.send(slow, ec));
  ASSERT_TRUE(eventually([&] { return service_.calls.load() == 1; }));
  std::promise<void> stopped;
  const auto begin = std::chrono::steady_clock::now();
  server_->stop(300ms, [&] { stopped.set_value(); });
  EXPECT_EQ(stopped.get_future().wait_for(3s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 2s);
  EXPECT_TRUE(busy.read().ec) << "the connection was closed unanswered";
}

TEST(TlsContextTest, RejectsMissingAndMismatchedFiles) {
  auto dir = make_private_temp_directory("imagegate-tls-test-");
  ASSERT_TRUE(dir.ok());
  auto a = write_self_signed_certificate(*dir);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(make_server_tls_context(TlsFiles{a->cert_file, a->key_file, {}}).ok());

  auto missing = make_server_tls_context(TlsFiles{*dir / "nope.crt", a->key_file, {}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope.crt"), std::string::npos) << missing.error().message;

  fs::create_directory(*dir / "b");
  auto b = write_self_signed_certificate(*dir / "b");
  ASSERT_TRUE(b.ok());
  auto mismatch = make_server_tls_context(TlsFiles{a->cert_file, b->key_file, {}});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("does not match"), std::string::npos) << mismatch.error().message;

  auto bad_ca = make_server_tls_context(TlsFiles{a->cert_file, a->key_file, *dir / "missing-ca.crt"});
  EXPECT_FALSE(bad_ca.ok());
  EXPECT_TRUE(make_server_tls_context(TlsFiles{a->cert_file, a->key_file, a->cert_file}).ok());
  EXPECT_FALSE(write_self_signed_certificate(*dir).ok()) << "never overwrites an existing key";
  EXPECT_EQ(fs::status(a->key_file).permissions() & fs::perms::others_all, fs::perms::none);
  fs::remove_all(*dir);
}

}  // namespace
}  // namespace imagegate::webhook
