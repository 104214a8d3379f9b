// Tests verifier/registry/oci_registry_client.cc's fetch_manifest, fetch_referrers, fetch_blob and get() against real
// Debian docker-registry processes (distribution 2.8) on 127.0.0.1, started once for the suite and stopped
// by PID: one with TLS from a test CA (open), one with token auth (the test's token issuer,
// tests/e2e/registry/token_issuer.py, is the only fake), one over plain HTTP. Images are pushed with skopeo
// from OCI layouts written by tests/e2e/registry/make_layout.py; digests are checked against the sha256 of
// `skopeo inspect --raw`.
//
// LyingRegistry runs tests/e2e/registry/fault_server.py, the project's scripted fake, for what a real
// registry cannot do: advertise one digest and serve other bytes, or gain the referrers API between requests.
#include "verifier/registry/oci_registry_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include "tests/coroutine_support.h"
#include "tests/test_support.h"

namespace imagegate::verifier {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

std::string sha256_hex(const std::string& data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data());
  std::string out = "sha256:";
  for (unsigned char b : md) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

ImageReference image_ref(const std::string& text) {
  auto r = ImageReference::from_container_image(text);
  if (!r) throw std::runtime_error("bad reference in test: " + text);
  return *r;
}

// The registries, started once for the suite (testing::LocalRegistry: its own test CA each) and stopped
// when it ends: open TLS, token auth (issuer over HTTPS with the token registry's certificate), plain HTTP.
class Registries : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      set_up();
      setup_ok_ = true;
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }

  static void set_up() {
    dir_ = fs::temp_directory_path() / ("imagegate-oci-client-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const fs::path e2e = testing::source_dir() / "tests" / "e2e" / "registry";
    const std::string d = dir_.string();
    if (testing::run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/jwt.key",
                              "-out", d + "/jwt.pem", "-days", "2", "-subj", "/CN=token signer"},
                             dir_ / "openssl.log") != 0) {
      throw std::runtime_error("openssl (token signer): " + testing::read_file(dir_ / "openssl.log"));
    }
    issuer_port_ = testing::free_port();
    const int issuer_port = issuer_port_;
    open_ = std::make_unique<testing::LocalRegistry>();
    token_ = std::make_unique<testing::LocalRegistry>(testing::LocalRegistryOptions{
        .tls = true,
        .auth_yaml = "auth: {token: {realm: 'https://127.0.0.1:" + std::to_string(issuer_port) +
                     "/token', service: test-registry, issuer: test-issuer, rootcertbundle: " + d + "/jwt.pem}}"});
    plain_ = std::make_unique<testing::LocalRegistry>(testing::LocalRegistryOptions{.tls = false, .auth_yaml = {}});
    issuer_ = std::make_unique<testing::Process>(
        std::vector<std::string>{"python3", (e2e / "token_issuer.py").string(), std::to_string(issuer_port),
                                 d + "/jwt.key", d + "/jwt.pem", "test-issuer", "test-registry", "bob", "pa55",
                                 d + "/token-requests.log", token_->tls_cert().string(), token_->tls_key().string()},
        dir_ / "issuer.log");
    if (!testing::wait_for_port(issuer_port)) {
      throw std::runtime_error("token issuer did not start: " + testing::read_file(dir_ / "issuer.log"));
    }
    open_->push("seed1", "team/app:v1");
    token_->push("seed1", "secure/app:v1", {"--dest-creds", "bob:pa55"});
    plain_->push("seed1", "plain/app:v1");
    if (testing::run_command({"skopeo", "inspect", "--raw", "--cert-dir", open_->cert_dir().string(),
                              "docker://" + open_->host() + "/team/app:v1"},
                             dir_ / "manifest.json") != 0) {
      throw std::runtime_error("skopeo inspect: " + testing::read_file(dir_ / "manifest.json"));
    }
    std::ofstream(dir_ / "docker-config.json")
        << R"({"auths":{")" << token_->host() << R"(":{"username":"bob","password":"pa55"}}})";
  }

  static void TearDownTestSuite() {
    issuer_.reset();
    open_.reset();
    token_.reset();
    plain_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void SetUp() override {
    ASSERT_TRUE(setup_ok_) << "registry set-up failed: " << setup_error_;
  }

  // One io_context per test, outliving the test's clients (their pooled connections live on it).
  template <class T>
  T run(asio::awaitable<T> task) {
    return testing::run_on(io_, std::move(task));
  }
  asio::io_context io_;

  static std::vector<std::string> ca_files() { return {open_->ca_file().string(), token_->ca_file().string()}; }

  static std::unique_ptr<OciRegistryClient> client(RegistryClientOptions options = {}) {
    for (const std::string& ca : ca_files()) options.ca_files.push_back(ca);
    options.docker_config_files.push_back((dir_ / "docker-config.json").string());
    auto made = OciRegistryClient::create(std::move(options));
    if (!made) throw std::runtime_error(made.error().message);
    return std::move(made.value());
  }
  static std::string tls_registry() { return open_->host(); }
  static std::string token_registry() { return token_->host(); }
  static std::string http_registry() { return plain_->host(); }
  static std::string manifest() { return testing::read_file(dir_ / "manifest.json"); }

  static inline fs::path dir_;
  static inline std::unique_ptr<testing::LocalRegistry> open_;
  static inline std::unique_ptr<testing::LocalRegistry> token_;
  static inline std::unique_ptr<testing::LocalRegistry> plain_;
  static inline std::unique_ptr<testing::Process> issuer_;
  static inline int issuer_port_ = 0;
  static inline bool setup_ok_ = false;
  static inline std::string setup_error_;
};

TEST_F(Registries, FetchManifestByTagAndByDigest) {
  auto c = client();
  const std::string raw = manifest();
  const std::string want = sha256_hex(raw);
  auto by_tag = run(c->fetch_manifest(image_ref(tls_registry() + "/team/app:v1")));
  ASSERT_TRUE(by_tag.ok()) << by_tag.error().message;
  EXPECT_EQ(by_tag->digest, want);
  EXPECT_EQ(sha256_hex(by_tag->body), by_tag->digest);  // the body is what the digest names
  EXPECT_EQ(by_tag->body, raw);
  EXPECT_EQ(by_tag->media_type, "application/vnd.oci.image.manifest.v1+json");

  auto by_digest = run(c->fetch_manifest(image_ref(tls_registry() + "/team/app@" + want)));
  ASSERT_TRUE(by_digest.ok()) << by_digest.error().message;
  EXPECT_EQ(by_digest->digest, want);
  EXPECT_EQ(by_digest->body, raw);

  auto missing_tag = run(c->fetch_manifest(image_ref(tls_registry() + "/team/app:nope")));
  ASSERT_FALSE(missing_tag.ok());
  EXPECT_EQ(missing_tag.error().code, ErrorCode::not_found) << missing_tag.error().message;
  auto missing_digest = run(c->fetch_manifest(image_ref(tls_registry() + "/team/app@sha256:" + std::string(64, '0'))));
  ASSERT_FALSE(missing_digest.ok());
  EXPECT_EQ(missing_digest.error().code, ErrorCode::not_found) << missing_digest.error().message;
}

TEST_F(Registries, FetchReferrersWithoutTheApiIsNotFound) {
  auto c = client();
  const std::string digest = sha256_hex(manifest());
  auto referrers = run(c->fetch_referrers(image_ref(tls_registry() + "/team/app:v1"), digest));
  ASSERT_FALSE(referrers.ok()) << "distribution 2.8 has no referrers API";
  EXPECT_EQ(referrers.error().code, ErrorCode::not_found) << referrers.error().message;
  auto bad = run(c->fetch_referrers(image_ref(tls_registry() + "/team/app:v1"), "sha256:xyz"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
}

TEST_F(Registries, FetchBlobVerifiedAndCapped) {
  const auto doc = nlohmann::json::parse(manifest());
  const std::string config_digest = doc.at("config").at("digest").get<std::string>();
  const std::size_t config_size = doc.at("config").at("size").get<std::size_t>();
  const ImageReference image = image_ref(tls_registry() + "/team/app:v1");
  auto blob = run(client()->fetch_blob(image, config_digest, 1 << 20));
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  EXPECT_EQ(sha256_hex(*blob), config_digest);

  // registry.maxBlobBytes caps every blob, whatever the caller allows.
  RegistryClientOptions small;
  small.max_blob_bytes = config_size - 1;
  auto capped = run(client(small)->fetch_blob(image, config_digest, 1 << 20));
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.error().code, ErrorCode::resource_exhausted) << capped.error().message;
  auto caller_cap = run(client()->fetch_blob(image, config_digest, config_size - 1));
  ASSERT_FALSE(caller_cap.ok());
  EXPECT_EQ(caller_cap.error().code, ErrorCode::resource_exhausted);

  auto unknown = run(client()->fetch_blob(image, "sha256:" + std::string(64, '1'), 1 << 20));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);
}

TEST_F(Registries, GetUsesTheTokenFlow) {
  auto c = client();
  const std::string scope = "repository:secure/app:pull";
  auto tags = run(c->get("https://" + token_registry(), "/v2/secure/app/tags/list", scope, 64 * 1024));
  ASSERT_TRUE(tags.ok()) << tags.error().message;
  const auto doc = nlohmann::json::parse(*tags);
  EXPECT_EQ(doc.at("tags"), nlohmann::json::array({"v1"}));
  const std::string issued = testing::read_file(dir_ / "token-requests.log");
  EXPECT_NE(issued.find("scope=repository%3Asecure%2Fapp%3Apull"), std::string::npos) << issued;

  auto missing = run(c->get("https://" + token_registry(), "/v2/secure/none/tags/list", "repository:secure/none:pull",
                            64 * 1024));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found) << missing.error().message;

  // Without credentials the token issuer refuses: permission_denied, not unavailable.
  RegistryClientOptions anonymous;
  anonymous.ca_files = ca_files();
  auto anon = OciRegistryClient::create(anonymous);
  ASSERT_TRUE(anon.ok());
  auto refused = run((*anon)->get("https://" + token_registry(), "/v2/secure/app/tags/list", scope, 64 * 1024));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::permission_denied) << refused.error().message;
}

TEST_F(Registries, GetOverPlainHttpOnlyForInsecureHosts) {
  const std::string url = "http://" + http_registry();
  auto refused = run(client()->get(url, "/v2/plain/app/tags/list", "repository:plain/app:pull", 64 * 1024));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument) << refused.error().message;

  RegistryClientOptions insecure;
  insecure.insecure_registries.insert(http_registry());
  auto allowed = run(client(insecure)->get(url, "/v2/plain/app/tags/list", "repository:plain/app:pull", 64 * 1024));
  ASSERT_TRUE(allowed.ok()) << allowed.error().message;
  EXPECT_NE(allowed->find("\"v1\""), std::string::npos) << *allowed;

  // The same client resolves through the plain-HTTP registry only because it is configured insecure.
  auto manifest_over_http = run(client(insecure)->fetch_manifest(image_ref(http_registry() + "/plain/app:v1")));
  ASSERT_TRUE(manifest_over_http.ok()) << manifest_over_http.error().message;
  EXPECT_EQ(manifest_over_http->digest, sha256_hex(manifest()));
}

// Issue 13, weak spot 6, with the real token registry: its realm (the issuer) is another origin. With an
// allowlist that names only the registry, the realm is refused before any request reaches it (so the Basic
// credentials never leave); listed as the registry's auth host, the same flow works.
TEST_F(Registries, TokenRealmOffTheAllowlistOnlyWhenListed) {
  const std::string registry = token_registry();
  const auto only_the_registry = [registry](std::string_view authority) { return authority == registry; };
  const ImageReference image = image_ref(registry + "/secure/app:v1");
  const fs::path issued = dir_ / "token-requests.log";
  const std::string before = testing::read_file(issued);

  auto unlisted = client();
  unlisted->set_allowed_hosts(only_the_registry);
  auto refused = run(unlisted->fetch_manifest(image));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument) << refused.error().message;
  EXPECT_NE(refused.error().message.find("token realm https://127.0.0.1:" + std::to_string(issuer_port_) + " of " +
                                         registry + " refused"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(testing::read_file(issued), before) << "the realm was contacted";

  RegistryClientOptions listed;
  listed.auth_hosts[registry] = {"127.0.0.1:" + std::to_string(issuer_port_)};
  auto with_auth_host = client(listed);
  with_auth_host->set_allowed_hosts(only_the_registry);
  auto fetched = run(with_auth_host->fetch_manifest(image));
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_NE(testing::read_file(issued), before) << "the listed realm issued the token";
}

// Issue 13, weak spot 5: whenever a manifest's bytes are fetched, the digest is computed from them and a
// Docker-Content-Digest that disagrees is refused. The fake registry lies (a real one cannot): HEAD of
// /v2/lie/... advertises digest A, GET serves manifest B with header A; /v2/lie512/... sends a sha512 header.
class LyingRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("imagegate-lying-registry-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    if (testing::run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/key.pem",
                              "-out", d + "/cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                              "subjectAltName=IP:127.0.0.1"},
                             dir_ / "openssl.log") != 0) {
      setup_error_ = "openssl: " + testing::read_file(dir_ / "openssl.log");
      return;
    }
    port_ = testing::free_port();
    server_ = std::make_unique<testing::Process>(
        std::vector<std::string>{"python3",
                                 (testing::source_dir() / "tests" / "e2e" / "registry" / "fault_server.py").string(),
                                 std::to_string(port_), d + "/cert.pem", d + "/key.pem", d + "/requests.log"},
        dir_ / "server.log");
    if (!testing::wait_for_port(port_)) setup_error_ = "fault server: " + testing::read_file(dir_ / "server.log");
  }
  static void TearDownTestSuite() {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  std::unique_ptr<OciRegistryClient> client() {
    RegistryClientOptions options;
    options.ca_files = {(dir_ / "cert.pem").string()};
    auto made = OciRegistryClient::create(std::move(options));
    if (!made) throw std::runtime_error(made.error().message);
    return std::move(made.value());
  }
  static ImageReference at(const std::string& path) { return image_ref("127.0.0.1:" + std::to_string(port_) + "/" + path); }
  template <class T>
  T run(asio::awaitable<T> task) {
    return testing::run_on(io_, std::move(task));
  }
  // The fault server's manifests (Python's json.dumps of them): the one it serves (config digest a...) and the
  // one it advertises (b...).
  static std::string manifest(char config) {
    return R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": )"
           R"({"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:)" +
           std::string(64, config) + R"(", "size": 2}, "layers": []})";
  }

  asio::io_context io_;
  static inline fs::path dir_;
  static inline int port_ = 0;
  static inline std::unique_ptr<testing::Process> server_;
  static inline std::string setup_error_;
};

TEST_F(LyingRegistry, EveryPathThatFetchesBytesHashesThem) {
  auto c = client();
  const std::string served = sha256_hex(manifest('a'));
  const std::string advertised = sha256_hex(manifest('b'));
  ASSERT_NE(served, advertised);
  const auto expect_refused = [&](const auto& r, std::string_view header) {
    ASSERT_FALSE(r.ok()) << "the lie was accepted";
    EXPECT_EQ(r.error().code, ErrorCode::permission_denied) << r.error().message;
    EXPECT_NE(r.error().message.find(std::string("Docker-Content-Digest ") + std::string(header) +
                                     " but the body hashes to " + served),
              std::string::npos)
        << r.error().message;
  };
  ResolveOptions details;
  details.details = true;
  {
    SCOPED_TRACE("resolve with details (GET)");
    expect_refused(run(c->resolve(at("lie/app:v1"), details)), advertised);
  }
  {
    SCOPED_TRACE("fetch_manifest by tag (signature tags, the referrers fallback index)");
    expect_refused(run(c->fetch_manifest(at("lie/app:sha256-" + std::string(64, '1') + ".sig"))), advertised);
  }
  {
    SCOPED_TRACE("fetch_referrers");
    expect_refused(run(c->fetch_referrers(at("lie/app:v1"), served)), advertised);
  }
  {
    SCOPED_TRACE("a header in another algorithm is not skipped");
    expect_refused(run(c->fetch_manifest(at("lie512/app:v1"))), "sha512:" + std::string(128, 'c'));
  }
  // By digest: the bytes must be the digest asked for, whatever a header says.
  auto by_digest = run(c->fetch_manifest(at("lie/app@" + advertised)));
  ASSERT_FALSE(by_digest.ok());
  EXPECT_EQ(by_digest.error().code, ErrorCode::permission_denied) << by_digest.error().message;

  // HEAD alone carries no bytes: the advertised digest is all there is. That is the threat docs/policy.md
  // describes and pinning closes (the runtime then pulls by digest and checks the bytes itself).
  auto head = run(c->resolve(at("lie/app:v1")));
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_EQ(head->digest, advertised);

  // Control: an honest registry resolves, with and without the manifest.
  auto honest = run(c->resolve(at("ok/app:v1"), details));
  ASSERT_TRUE(honest.ok()) << honest.error().message;
  EXPECT_EQ(honest->digest, served);
  auto honest_head = run(c->resolve(at("ok/app:v1")));
  ASSERT_TRUE(honest_head.ok()) << honest_head.error().message;
  EXPECT_EQ(honest_head->digest, served);
  auto honest_fetch = run(c->fetch_manifest(at("ok/app:v1")));
  ASSERT_TRUE(honest_fetch.ok()) << honest_fetch.error().message;
  EXPECT_EQ(honest_fetch->digest, served);
}

// Registries without the referrers API (distribution 2.8) are remembered, so a new image costs one request
// fewer; the fault server's `gains` repository plays a registry upgraded to one with the API (a real
// registry cannot change under a test), `noname` a 404 for a missing repository (NAME_UNKNOWN).
TEST_F(LyingRegistry, RegistryWithoutReferrersApiIsRememberedUntilTheMemoExpires) {
  RegistryClientOptions options;
  options.ca_files = {(dir_ / "cert.pem").string()};
  options.referrers_absence_ttl = std::chrono::milliseconds(400);
  auto made = OciRegistryClient::create(std::move(options));
  ASSERT_TRUE(made.ok()) << made.error().message;
  OciRegistryClient& c = **made;
  const std::string digest = "sha256:" + std::string(64, '1');
  const auto asked = [] {
    // The fault server creates its log at its first request.
    if (!std::filesystem::exists(dir_ / "requests.log")) return std::size_t{0};
    const std::string log = testing::read_file(dir_ / "requests.log");
    std::size_t n = 0;
    for (std::size_t at = log.find("/referrers/"); at != std::string::npos; at = log.find("/referrers/", at + 1)) ++n;
    return n;
  };
  const std::size_t before = asked();
  auto first = run(c.fetch_referrers(at("gains:v1"), digest));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::not_found) << first.error().message;
  EXPECT_EQ(asked(), before + 1);
  // Remembered for the whole registry: neither this repository nor another is asked again.
  for (const char* repo : {"gains:v1", "ok:v1"}) {
    auto again = run(c.fetch_referrers(at(repo), digest));
    ASSERT_FALSE(again.ok()) << repo;
    EXPECT_EQ(again.error().code, ErrorCode::not_found) << repo;
    EXPECT_EQ(again.error().message, "registry has no referrers API for " + at(repo).name())
        << "the same answer as the registry's 404";
  }
  EXPECT_EQ(asked(), before + 1) << "the memo answered";
  // The registry gains the API: unnoticed until the memo expires, then found and no longer remembered absent.
  ASSERT_EQ(testing::run_command({"curl", "-sk", "https://127.0.0.1:" + std::to_string(port_) + "/_referrers_on"},
                                 dir_ / "curl.log"),
            0);
  EXPECT_FALSE(run(c.fetch_referrers(at("gains:v1"), digest)).ok()) << "still within the memo's lifetime";
  EXPECT_EQ(asked(), before + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int i = 0; i < 2; ++i) {
    auto found = run(c.fetch_referrers(at("gains:v1"), digest));
    ASSERT_TRUE(found.ok()) << found.error().message;
    EXPECT_NE(found->body.find("\"manifests\": []"), std::string::npos) << found->body;
  }
  EXPECT_EQ(asked(), before + 3) << "the registry is asked each time once it has the API";
}

TEST_F(LyingRegistry, MissingRepositoryIsNotTakenForAMissingReferrersApi) {
  auto c = client();
  const std::string digest = "sha256:" + std::string(64, '2');
  for (int i = 0; i < 2; ++i) {
    auto r = run(c->fetch_referrers(at("noname:v1"), digest));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::not_found) << r.error().message;
  }
  const std::string log = testing::read_file(dir_ / "requests.log");
  const std::string path = "GET /v2/noname/referrers/" + digest;
  EXPECT_NE(log.find(path), log.rfind(path)) << "NAME_UNKNOWN is not remembered: both asked\n" << log;
}

// Tokens are cached per registry and scope until they expire: repository A's token is never sent for
// repository B, and a registry that challenged once gets a new scope's token without another 401. The
// fault server's scoped-* repositories accept only their own scope's token and log which one came.
TEST_F(LyingRegistry, TokensAreCachedPerScopeAndNeverCrossRepositories) {
  auto c = client();
  const auto lines = [](const std::string& needle) {
    std::vector<std::string> out;
    std::istringstream log(testing::read_file(dir_ / "requests.log"));
    for (std::string line; std::getline(log, line);) {
      if (line.find(needle) != std::string::npos) out.push_back(line);
    }
    return out;
  };
  const std::string a = "Bearer scoped:repository:scoped-a:pull";
  const std::string b = "Bearer scoped:repository:scoped-b:pull";
  for (const char* repo : {"scoped-a:v1", "scoped-b:v1", "scoped-a:v2", "scoped-b:v2"}) {
    auto r = run(c->fetch_manifest(at(repo)));
    ASSERT_TRUE(r.ok()) << repo << ": " << r.error().message;
  }
  // Attack: A's token on B's requests (or B's on A's) would be a token used beyond its scope.
  for (const std::string& line : lines("/v2/scoped-b/")) EXPECT_EQ(line.find(a), std::string::npos) << line;
  for (const std::string& line : lines("/v2/scoped-a/")) EXPECT_EQ(line.find(b), std::string::npos) << line;
  // Control: each scope's token was asked for once and then reused; only the very first request went
  // without one (the 401 that named the realm).
  EXPECT_EQ(lines("scope=repository%3Ascoped-a%3Apull").size(), 1u);
  EXPECT_EQ(lines("scope=repository%3Ascoped-b%3Apull").size(), 1u);
  EXPECT_EQ(lines(" " + a).size(), 2u);
  EXPECT_EQ(lines(" " + b).size(), 2u) << "B's token came before any 401 of B's";
  EXPECT_EQ(lines("/v2/scoped-b/manifests/v1 -").size(), 0u);
  EXPECT_EQ(lines("/v2/scoped-a/manifests/v1 -").size(), 1u);
}

// A token lives what its realm said (expires_in 10 s here), less 5 s so it never expires mid-request; then
// a new one is asked for.
TEST_F(LyingRegistry, AnExpiredTokenIsNotUsed) {
  auto c = client();
  const auto issued = [] {
    const std::string log = testing::read_file(dir_ / "requests.log");
    std::size_t n = 0;
    for (std::size_t at = log.find("scope=repository%3Ascoped-exp%3Apull"); at != std::string::npos;
         at = log.find("scope=repository%3Ascoped-exp%3Apull", at + 1)) {
      ++n;
    }
    return n;
  };
  ASSERT_TRUE(run(c->fetch_manifest(at("scoped-exp:v1"))).ok());
  ASSERT_TRUE(run(c->fetch_manifest(at("scoped-exp:v2"))).ok());
  EXPECT_EQ(issued(), 1u) << "cached while valid";
  std::this_thread::sleep_for(std::chrono::milliseconds(5'300));
  ASSERT_TRUE(run(c->fetch_manifest(at("scoped-exp:v3"))).ok());
  EXPECT_EQ(issued(), 2u) << "expired: asked again";
}

// Transport failures reach admission answers: they say only "registry unreachable" (no port scanning
// through denial messages, issue 13 item 7); the socket or TLS error is the detail, for the operator.
TEST_F(Registries, TransportFailuresSayOnlyRegistryUnreachable) {
  const std::string closed = "127.0.0.1:" + std::to_string(testing::free_port());
  auto made = OciRegistryClient::create({});  // no test CA: the TLS registry's certificate is untrusted
  ASSERT_TRUE(made.ok()) << made.error().message;
  struct Case {
    const char* name;
    OciRegistryClient& client;
    std::string image;
    const char* detail;
  };
  auto trusting = client();
  const std::vector<Case> cases = {
      {"closed port", *trusting, closed + "/app:v1", "Connection refused"},
      {"plain HTTP where TLS is expected", *trusting, http_registry() + "/plain/app:v1", "TLS handshake with"},
      {"untrusted certificate", **made, tls_registry() + "/team/app:v1", "certificate verify failed"},
  };
  for (const Case& c : cases) {
    auto r = run(c.client.resolve(image_ref(c.image)));
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, ErrorCode::unavailable) << c.name;
    EXPECT_EQ(r.error().message, "registry unreachable") << c.name << ": " << r.error().message;
    EXPECT_NE(r.error().detail.find(c.detail), std::string::npos) << c.name << ": " << r.error().detail;
  }
  // Control: an HTTP answer keeps its meaning.
  auto missing = run(trusting->resolve(image_ref(tls_registry() + "/team/app:missing")));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("manifest unknown"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace imagegate::verifier
