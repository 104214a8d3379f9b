// Tests for verifier/signature/timestamp.cc against a real timestamp authority: `openssl ts -reply` with a CA and a
// timeStamping certificate made at test time (no committed keys), answering queries with and without the
// signer certificate. The conformance suite's TSA cases run in sigstore_bundle_test.cc.
#include "verifier/signature/timestamp.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/test_support.h"
#include "verifier/crypto/crypto.h"

namespace imagegate::verifier {
namespace {

namespace fs = std::filesystem;

class TimestampTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("imagegate-tsa-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    write("tsa.cnf",
          "[ tsa ]\ndefault_tsa = tsa_config1\n[ tsa_config1 ]\ndir = .\nserial = ./serial\ncrypto_device = builtin\n"
          "signer_cert = ./tsa.pem\nsigner_key = ./tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n"
          "digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = yes\ntsa_name = yes\n"
          "ess_cert_id_chain = no\ness_cert_id_alg = sha256\n");
    write("serial", "01\n");
    write("leaf.ext", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                      "extendedKeyUsage=critical,timeStamping\n");
    write("data", "signature bytes");
    write("other", "other signature bytes");
    const std::string script =
        "cd '" + dir_->string() + "' && "
        "for ca in ca other; do openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $ca.key "
        "-out $ca.pem -subj /CN=test-$ca-root -days 3650 -addext basicConstraints=critical,CA:TRUE "
        "-addext keyUsage=critical,keyCertSign,cRLSign || exit 1; done && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa.key -out tsa.csr -subj /CN=test-tsa && "
        "openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tsa.pem -days 365 -extfile leaf.ext && "
        "openssl ts -query -data data -sha256 -cert -out with_cert.tsq && "
        "openssl ts -query -data data -sha256 -out without_cert.tsq && "
        "openssl ts -reply -queryfile with_cert.tsq -config tsa.cnf -section tsa_config1 -out with_cert.tsr && "
        "openssl ts -reply -queryfile without_cert.tsq -config tsa.cnf -section tsa_config1 -out without_cert.tsr";
    const std::string log = (*dir_ / "log").string();
    ASSERT_EQ(std::system(("(" + script + ") >'" + log + "' 2>&1").c_str()), 0) << testing::read_file(log);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  static void write(const std::string& name, const std::string& text) { std::ofstream(*dir_ / name) << text; }
  static std::string read(const std::string& name) { return testing::read_file(*dir_ / name); }

  static CertificateAuthority authority(const std::string& root = "ca.pem") {
    CertificateAuthority ca;
    ca.uri = "https://tsa.test";
    ca.chain.push_back(*Certificate::from_pem(read("tsa.pem")));
    ca.chain.push_back(*Certificate::from_pem(read(root)));
    return ca;
  }

  static fs::path* dir_;
};

fs::path* TimestampTest::dir_ = nullptr;

TEST_F(TimestampTest, VerifiesWithAndWithoutTheEmbeddedSignerCertificate) {
  const auto before = std::chrono::system_clock::now() - std::chrono::minutes(5);
  for (const char* name : {"with_cert.tsr", "without_cert.tsr"}) {
    auto ts = verify_rfc3161_timestamp(read(name), "signature bytes", {authority()});
    ASSERT_TRUE(ts.ok()) << name << ": " << ts.error().message;
    EXPECT_GT(ts->time, before) << name;
    EXPECT_LT(ts->time, std::chrono::system_clock::now() + std::chrono::minutes(5)) << name;
    EXPECT_EQ(ts->authority, "https://tsa.test");
  }
}

TEST_F(TimestampTest, RejectsOtherDataAnotherRootAndTimesOutsideTheWindow) {
  const std::string resp = read("with_cert.tsr");
  auto other_data = verify_rfc3161_timestamp(resp, "other signature bytes", {authority()});
  ASSERT_FALSE(other_data.ok());
  EXPECT_EQ(other_data.error().code, ErrorCode::permission_denied);
  EXPECT_NE(other_data.error().message.find("imprint"), std::string::npos) << other_data.error().message;

  // The TSA's own certificate under another root: the chain does not lead to the trust anchor.
  EXPECT_FALSE(verify_rfc3161_timestamp(resp, "signature bytes", {authority("other.pem")}).ok());
  // Without the signer certificate in the token, only the authority's leaf can verify it.
  CertificateAuthority no_leaf = authority();
  no_leaf.chain.erase(no_leaf.chain.begin());
  EXPECT_FALSE(verify_rfc3161_timestamp(read("without_cert.tsr"), "signature bytes", {no_leaf}).ok());

  CertificateAuthority expired = authority();
  expired.valid.end = std::chrono::system_clock::now() - std::chrono::hours(24);
  EXPECT_FALSE(verify_rfc3161_timestamp(resp, "signature bytes", {expired}).ok());
  CertificateAuthority future = authority();
  future.valid.start = std::chrono::system_clock::now() + std::chrono::hours(24);
  EXPECT_FALSE(verify_rfc3161_timestamp(resp, "signature bytes", {future}).ok());
  // A trusted authority among untrusted ones is found.
  EXPECT_TRUE(verify_rfc3161_timestamp(resp, "signature bytes", {authority("other.pem"), authority()}).ok());
  EXPECT_FALSE(verify_rfc3161_timestamp(resp, "signature bytes", {}).ok());
}

TEST_F(TimestampTest, MalformedInputIsInvalidArgument) {
  std::string resp = read("with_cert.tsr");
  EXPECT_EQ(verify_rfc3161_timestamp("not DER", "x", {authority()}).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(verify_rfc3161_timestamp(resp.substr(0, resp.size() / 2), "x", {authority()}).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(verify_rfc3161_timestamp(resp + "trailing", "x", {authority()}).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(verify_rfc3161_timestamp(std::string(kMaxTimestampBytes + 1, '0'), "x", {authority()}).error().code,
            ErrorCode::resource_exhausted);
  // The genTime moved by a second inside the signed TSTInfo: it still parses, but no longer verifies.
  const std::size_t gen = resp.find(std::string("\x18\x0f", 2));  // GeneralizedTime, 15 bytes: YYYYMMDDhhmmssZ
  ASSERT_NE(gen, std::string::npos);
  char& second = resp[gen + 2 + 13];
  second = second == '0' ? '1' : '0';
  EXPECT_FALSE(verify_rfc3161_timestamp(resp, "signature bytes", {authority()}).ok());
}

}  // namespace
}  // namespace imagegate::verifier
