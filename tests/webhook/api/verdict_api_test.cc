// Tests the verdict API (webhook/api/verdict_api.cc; its token file: api_tokens_test.cc) on a real HttpsServer
// (127.0.0.1:0, TLS, a SQLite store in a temporary directory): a request is refused on its header (401,
// 403, 413 for a Content-Length over the route's limit) before its body is read, and an authorised push
// still stores its verdict (issue 13: unauthenticated bodies were buffered whole before the token check).
#include "webhook/api/verdict_api.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "tests/https_client.h"
#include "tests/test_support.h"
#include "verifier/verdict/verdict_store.h"
#include "webhook/admission/admission_service.h"
#include "webhook/observe/logger.h"
#include "webhook/observe/metrics.h"
#include "webhook/server/self_signed.h"
#include "webhook/server/tls_context.h"

namespace imagegate::webhook {
namespace {

// HttpsServer needs an AdmissionService; the API listener never calls it (its handler answers everything).
class NoAdmission final : public AdmissionService {
 public:
  boost::asio::awaitable<HttpAnswer> validate(std::string, std::string) override {
    co_return HttpAnswer{500, "application/json", R"({"error":"not the admission listener"})"};
  }
  bool ready() const override { return true; }
};

class VerdictApiListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = make_private_temp_directory("imagegate-verdict-api-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    ASSERT_TRUE(write_self_signed_certificate(dir_).ok());
    std::ofstream(dir_ / "tokens") << "rw:write-0123456789abcdef\nro:read-0123456789abcdef\n";
    auto tokens = ApiTokens::load(dir_ / "tokens");
    ASSERT_TRUE(tokens.ok()) << tokens.error().message;
    auto store = verifier::open_verdict_store("sqlite:" + (dir_ / "verdicts.db").string());
    ASSERT_TRUE(store.ok()) << store.error().message;
    lookup_ = std::make_unique<VerdictLookup>(std::shared_ptr<verifier::VerdictStore>(std::move(store).value()),
                                              std::chrono::milliseconds(0));
    auto tls = TlsContextProvider::create(TlsFiles{dir_ / "tls.crt", dir_ / "tls.key", {}}, nullptr, logger_);
    ASSERT_TRUE(tls.ok()) << tls.error().message;
    tls_ = std::move(tls.value());
    VerdictApiOptions api;
    api.metrics = &metrics_;
    HttpsServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.body_limit = api.limits.max_bytes;
    options.head_check = make_verdict_api_head_check(*tokens, api);
    options.handler = make_verdict_api(*lookup_, *tokens, api);
    server_ = std::make_unique<HttpsServer>(io_, options, *tls_, admission_, nullptr, logger_);
    auto bound = server_->listen();
    ASSERT_TRUE(bound.ok()) << bound.error().message;
    port_ = bound->port();
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Sends a PUT's header announcing `length` body bytes, and none of the body: the server must answer
  // from the header alone (it would otherwise wait for the body until its 10 s read timeout, and the
  // client's read, 5 s here, times out first).
  testing::Answer put_header_only(const std::string& authorization, std::size_t length) {
    testing::Client client(port_);
    EXPECT_TRUE(client.connected());
    std::string head = "PUT /api/v1/verdicts/sha256:" + std::string(64, 'a') +
                       " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
    if (!authorization.empty()) head += "Authorization: " + authorization + "\r\n";
    head += "Content-Length: " + std::to_string(length) + "\r\n\r\n";
    testing::error_code ec;
    EXPECT_TRUE(client.send_raw(head, ec)) << ec.message();
    client.lowest().expires_after(std::chrono::seconds(5));
    return client.read();
  }

  std::filesystem::path dir_;
  std::ostringstream log_;
  Logger logger_{log_};
  Metrics metrics_;
  NoAdmission admission_;
  std::unique_ptr<VerdictLookup> lookup_;
  std::shared_ptr<TlsContextProvider> tls_;
  boost::asio::io_context io_;
  std::unique_ptr<HttpsServer> server_;
  std::thread thread_;
  unsigned short port_ = 0;
};

TEST_F(VerdictApiListenerTest, RefusesOnTheHeaderBeforeReadingTheBody) {
  const std::size_t big = 15 * 1024 * 1024;
  auto anonymous = put_header_only("", big);
  ASSERT_FALSE(anonymous.ec) << "no answer before the body was sent: " << anonymous.ec.message();
  EXPECT_EQ(anonymous.status, 401U) << anonymous.body;
  EXPECT_FALSE(anonymous.keep_alive);
  auto unknown = put_header_only("Bearer nope-nope-nope-nope", big);
  ASSERT_FALSE(unknown.ec) << unknown.ec.message();
  EXPECT_EQ(unknown.status, 401U);
  auto read_only = put_header_only("Bearer read-0123456789abcdef", big);
  ASSERT_FALSE(read_only.ec) << read_only.ec.message();
  EXPECT_EQ(read_only.status, 403U);
  EXPECT_NE(read_only.body.find("read-only"), std::string::npos) << read_only.body;
  // Authorised, but a declared length over the route's limit: 413 before the body.
  auto too_big = put_header_only("Bearer write-0123456789abcdef", VerdictApiOptions{}.limits.max_bytes + 1);
  ASSERT_FALSE(too_big.ec) << too_big.ec.message();
  EXPECT_EQ(too_big.status, 413U);
  // A route that takes no body does not get to send 15 MiB either.
  testing::Client client(port_);
  testing::error_code ec;
  ASSERT_TRUE(client.send_raw("GET /api/v1/inventory HTTP/1.1\r\nHost: localhost\r\n"
                              "Authorization: Bearer read-0123456789abcdef\r\nContent-Length: 15728640\r\n\r\n",
                              ec));
  client.lowest().expires_after(std::chrono::seconds(5));
  auto get = client.read();
  ASSERT_FALSE(get.ec) << get.ec.message();
  EXPECT_EQ(get.status, 413U);
  // Refusals are counted like the handler's answers.
  const std::string metrics = metrics_.render();
  EXPECT_NE(metrics.find(R"(imagegate_verdict_api_requests_total{route="verdicts_put",code="401"} 2)"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(imagegate_verdict_api_requests_total{route="verdicts_put",code="403"} 1)"), std::string::npos)
      << metrics;
}

TEST_F(VerdictApiListenerTest, AuthorisedPushIsStoredAndReadBack) {
  const std::string report = testing::read_file(testing::conformance_dir() / "scan-reports/trivy/alpine-39.json.golden");
  const std::string target = "/api/v1/verdicts/sha256:" + std::string(64, 'b');
  testing::Client writer(port_);
  auto put = writer.request(testing::http::verb::put, target, report,
                            {{"Authorization", "Bearer write-0123456789abcdef"}, {"Content-Type", "application/json"}});
  ASSERT_FALSE(put.ec) << put.ec.message();
  EXPECT_EQ(put.status, 200U) << put.body;
  testing::Client reader(port_);
  auto get = reader.request(testing::http::verb::get, target, {}, {{"Authorization", "Bearer read-0123456789abcdef"}});
  EXPECT_EQ(get.status, 200U) << get.body;
  EXPECT_NE(get.body.find("sha256:" + std::string(64, 'b')), std::string::npos) << get.body;
  // Bodyless requests keep their answers (checked by the handler, as before).
  testing::Client anonymous(port_);
  EXPECT_EQ(anonymous.request(testing::http::verb::get, target).status, 401U);
}

}  // namespace
}  // namespace imagegate::webhook
