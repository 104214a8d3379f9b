// NotaryV1Verifier (verifier/signature/notary_v1/notary_v1.h): what create() refuses, and answers that need no server. The
// verifier against a real notary-server is tests/e2e/notary_test.sh; the trust chain itself is tuf_test.cc.
#include "common/asio_warnings.h"  // before any Asio header

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <stdexcept>

#include "tests/test_support.h"
#include "verifier/registry/oci_registry_client.h"
#include "verifier/signature/notary_v1/notary_v1.h"

namespace imagegate::verifier {
namespace {

std::string root_pem() {
  return imagegate::testing::read_file(imagegate::testing::conformance_dir() / "tuf" / "notaryv1-connaisseur" /
                                       "trust_data" / "keys" / "root.pub");
}

NotaryV1Config config() {
  NotaryV1Config c;
  c.server = "https://127.0.0.1:1";
  c.root_pems = {root_pem()};
  return c;
}

std::string create_error(NotaryV1Config c) {
  auto v = NotaryV1Verifier::create(std::move(c));
  if (v.ok()) return "ok";
  EXPECT_EQ(v.error().code, ErrorCode::invalid_argument);
  return v.error().message;
}

TEST(NotaryV1Verifier, CreateRefusesUnusableConfiguration) {
  EXPECT_EQ(create_error(config()), "ok");
  auto c = config();
  c.root_pems.clear();
  EXPECT_EQ(create_error(c), "a Notary v1 anchor needs a pinned root key or certificate");
  c = config();
  c.root_pems = {"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"};  // DER/base64, not PEM (connaisseur's case #16)
  EXPECT_EQ(create_error(c), "notary root is in the wrong format: provide a PEM public key or certificate");
  c = config();
  c.root_pems = {"-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n"};
  EXPECT_NE(create_error(c).find("notary root: "), std::string::npos);
  c = config();
  c.server = "http://127.0.0.1:1";
  EXPECT_EQ(create_error(c), "notary server must be an https:// URL: \"http://127.0.0.1:1\"");
  c = config();
  c.delegations = {"releases"};
  EXPECT_EQ(create_error(c), "notary delegation must be a role under targets/: \"releases\"");
  c = config();
  c.root_key_ids = {"abc"};
  EXPECT_EQ(create_error(c), "notary root key id is not 64 hex digits: \"abc\"");
  c = config();
  c.ca_files = {"/nonexistent/ca.pem"};
  EXPECT_NE(create_error(c), "ok");
}

AnchorCheck run(NotaryV1Verifier& v, const ImageReference& ref, std::string digest) {
  boost::asio::io_context io;
  // The image registry's client is not what Notary v1 reads (its trust data is on the notary-server).
  auto registry = OciRegistryClient::create({});
  if (!registry) throw std::runtime_error(registry.error().message);
  auto f = boost::asio::co_spawn(io, v.fetch_and_verify(**registry, ref, std::move(digest)), boost::asio::use_future);
  io.run();
  return f.get();
}

TEST(NotaryV1Verifier, DigestOnlyReferenceHasNoTagToLookUp) {
  auto v = NotaryV1Verifier::create(config());
  ASSERT_TRUE(v.ok());
  const std::string digest = "sha256:" + std::string(64, 'a');
  auto ref = ImageReference::from_container_image("registry.example.com/app@" + digest);
  ASSERT_TRUE(ref.ok());
  auto check = run(**v, *ref, digest);
  EXPECT_EQ(check.status, AnchorCheck::Status::failed);
  EXPECT_EQ(check.detail, "Notary v1 signs tags: registry.example.com/app@" + digest + " has no tag to look up");
}

TEST(NotaryV1Verifier, UnreachableServerIsUnavailable) {
  auto c = config();
  c.timeout = std::chrono::milliseconds(2000);
  auto v = NotaryV1Verifier::create(c);  // port 1 on 127.0.0.1: connection refused
  ASSERT_TRUE(v.ok());
  auto ref = ImageReference::from_container_image("registry.example.com/app:v1");
  ASSERT_TRUE(ref.ok());
  auto check = run(**v, *ref, "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(check.status, AnchorCheck::Status::unavailable) << check.detail;
}

}  // namespace
}  // namespace imagegate::verifier
