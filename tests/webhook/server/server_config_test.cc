#include "webhook/server/server_config.h"

#include <gtest/gtest.h>

namespace imagegate::webhook {
namespace {

using namespace std::chrono_literals;

TEST(ServerConfigTest, ReadsEveryKey) {
  auto config = parse_server_config(R"(
listen: "0.0.0.0:9443"
policy: /etc/imagegate/policy.yaml
policyReloadInterval: 5s
threads: 3
gracePeriod: 20s
maxConnections: 77
maxBudget: 8s
tls:
  certFile: /tls/tls.crt
  keyFile: /tls/tls.key
  clientCAFile: /tls/ca.crt
  reloadInterval: 500ms
timeouts:
  handshake: 3s
  idle: 2m
  read: 4s
  write: 6s
)",
                                    "imagegate.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listen, "0.0.0.0:9443");
  EXPECT_EQ(config->policy_file, "/etc/imagegate/policy.yaml");
  EXPECT_EQ(config->policy_reload_interval, 5s);
  EXPECT_EQ(config->threads, 3U);
  EXPECT_EQ(config->grace_period, 20s);
  EXPECT_EQ(config->max_connections, 77U);
  EXPECT_EQ(config->max_budget, 8s);
  EXPECT_EQ(config->tls_cert_file, "/tls/tls.crt");
  EXPECT_EQ(config->tls_key_file, "/tls/tls.key");
  EXPECT_EQ(config->client_ca_file, "/tls/ca.crt");
  EXPECT_EQ(config->tls_reload_interval, 500ms);
  EXPECT_EQ(config->handshake_timeout, 3s);
  EXPECT_EQ(config->idle_timeout, 2min);
  EXPECT_EQ(config->read_timeout, 4s);
  EXPECT_EQ(config->write_timeout, 6s);
  EXPECT_TRUE(validate_server_config(*config).ok());
}

TEST(ServerConfigTest, KeepsDefaultsForKeysLeftOut) {
  ServerConfig base;
  base.grace_period = 3s;
  auto config = parse_server_config("threads: 2\n", "c.yaml", base);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->threads, 2U);
  EXPECT_EQ(config->grace_period, 3s);
  EXPECT_EQ(config->max_connections, 1024U);
  auto empty = parse_server_config("", "c.yaml");
  EXPECT_TRUE(empty.ok());
}

TEST(ServerConfigTest, ReadsRegistrySizeCaps) {
  auto config = parse_server_config("registry:\n  maxBlobBytes: 1048576\n  maxManifestBytes: 2097152\n", "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->registry.max_blob_bytes, 1048576U);
  EXPECT_EQ(config->registry.max_manifest_bytes, 2097152U);
  auto defaults = parse_server_config("registry: {timeout: 5s}\n", "c.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->registry.max_blob_bytes, 4U * 1024 * 1024);
  EXPECT_EQ(defaults->registry.max_manifest_bytes, 4U * 1024 * 1024);
}

TEST(ServerConfigTest, ReadsRegistryHostLists) {
  auto config = parse_server_config(
      "registry:\n  authHosts: {\"registry.gitlab.example.com\": [gitlab.example.com]}\n"
      "  blobHosts: {\"registry.internal:5000\": \"*.s3.eu-west-1.amazonaws.com\"}\n"
      "  registryCAFiles: {\"registry.internal:5000\": /ca.pem}\n",
      "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  using Lists = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(config->registry.auth_hosts, (Lists{{"registry.gitlab.example.com", {"gitlab.example.com"}}}));
  EXPECT_EQ(config->registry.blob_hosts, (Lists{{"registry.internal:5000", {"*.s3.eu-west-1.amazonaws.com"}}}));
  EXPECT_EQ(config->registry.registry_ca_files, (Lists{{"registry.internal:5000", {"/ca.pem"}}}));
}

TEST(ServerConfigTest, ReadsRegistryConcurrencyCaps) {
  auto config = parse_server_config("registry:\n  maxConcurrentPerReview: 4\n  maxConcurrentPerRegistry: 8\n", "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->registry.max_concurrent_per_review, 4U);
  EXPECT_EQ(config->registry.max_concurrent_per_registry, 8U);
  EXPECT_TRUE(validate_server_config(*config).ok());
  auto defaults = parse_server_config("registry: {timeout: 5s}\n", "c.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->registry.max_concurrent_per_review, 16U);
  EXPECT_EQ(defaults->registry.max_concurrent_per_registry, 32U);
  ServerConfig unbounded;
  unbounded.registry.max_concurrent_per_registry = 0;
  EXPECT_FALSE(validate_server_config(unbounded).ok()) << "set programmatically to 0";
  unbounded.registry.max_concurrent_per_registry = 32;
  unbounded.registry.max_concurrent_per_review = kMaxConcurrencyLimit + 1;
  EXPECT_FALSE(validate_server_config(unbounded).ok()) << "set programmatically past the hard cap";
}

TEST(ServerConfigTest, ReadsSignatureSettings) {
  auto config = parse_server_config(
      "signatures:\n  maxSignatures: 10\n  maxPayloadBytes: 65536\n  cacheTTL: 0s\n  trustReloadInterval: 5s\n",
      "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->signatures.max_signatures, 10U);
  EXPECT_EQ(config->signatures.max_payload_bytes, 65536U);
  EXPECT_EQ(config->signatures.cache_ttl, 0ms) << "0 disables the cache";
  EXPECT_EQ(config->signatures.trust_reload_interval, 5s);
  EXPECT_TRUE(validate_server_config(*config).ok());
  auto raised = parse_server_config("signatures: {maxSignatures: 200, maxPayloadBytes: 262144}\n", "c.yaml");
  ASSERT_TRUE(raised.ok()) << raised.error().message;
  EXPECT_EQ(raised->signatures.max_signatures, kMaxSignaturesLimit);
  EXPECT_EQ(raised->signatures.max_payload_bytes, 256U * 1024);
  auto defaults = parse_server_config("threads: 2\n", "c.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->signatures.max_signatures, 50U);
  EXPECT_EQ(defaults->signatures.max_payload_bytes, 256U * 1024);
  EXPECT_EQ(defaults->signatures.cache_ttl, 5min);
  EXPECT_EQ(defaults->signatures.trust_reload_interval, 30s);

  ServerConfig too_many;
  too_many.signatures.max_signatures = kMaxSignaturesLimit + 1;
  EXPECT_FALSE(validate_server_config(too_many).ok()) << "set programmatically, past the hard cap";
  ServerConfig no_payload;
  no_payload.signatures.max_payload_bytes = 0;
  EXPECT_FALSE(validate_server_config(no_payload).ok());
}

struct BadCase {
  const char* name;
  const char* yaml;
  const char* expect;  // substring of the error
};

class ServerConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ServerConfigErrorTest, NamesFileLineAndKey) {
  auto config = parse_server_config(GetParam().yaml, "imagegate.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find(GetParam().expect), std::string::npos) << config.error().message;
  EXPECT_EQ(config.error().code, ErrorCode::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ServerConfigErrorTest,
    ::testing::Values(
        BadCase{"unknown_top_key", "threads: 2\nlisten_addr: x\n", "imagegate.yaml:2:1: listen_addr: unknown key"},
        BadCase{"unknown_nested_key", "tls:\n  certFile: a\n  caFile: b\n", "imagegate.yaml:3:3: tls.caFile: unknown key"},
        BadCase{"snake_case_is_unknown", "grace_period: 10s\n", "imagegate.yaml:1:1: grace_period: unknown key"},
        BadCase{"bad_duration", "gracePeriod: 10\n", "imagegate.yaml:1:14: gracePeriod: duration \"10\""},
        BadCase{"bad_unit", "maxBudget: 5 s\n", "maxBudget: duration"},
        BadCase{"zero_threads", "threads: 0\n", "imagegate.yaml:1:10: threads: must be between 1 and 1024"},
        BadCase{"negative", "maxConnections: -4\n", "maxConnections: not a non-negative integer"},
        BadCase{"list_for_string", "policy: [a, b]\n", "imagegate.yaml:1:9: policy: expected a string"},
        BadCase{"tls_not_a_map", "tls: yes\n", "tls: expected a mapping"},
        BadCase{"root_is_list", "- a\n", "must be a mapping"},
        BadCase{"empty_string", "listen: \"\"\n", "listen: must not be empty"},
        BadCase{"yaml_syntax", "tls: {certFile: a\n", "imagegate.yaml:"},
        BadCase{"huge_duration", "gracePeriod: 99999999999h\n", "gracePeriod: duration"},
        BadCase{"zero_blob_cap", "registry:\n  maxBlobBytes: 0\n", "registry.maxBlobBytes: must be between 1 and"},
        BadCase{"huge_blob_cap", "registry:\n  maxBlobBytes: 1073741824\n", "registry.maxBlobBytes: must be between"},
        BadCase{"huge_manifest_cap", "registry:\n  maxManifestBytes: 999999999999\n",
                "registry.maxManifestBytes: must be between"},
        BadCase{"text_blob_cap", "registry:\n  maxBlobBytes: 4MiB\n", "registry.maxBlobBytes"},
        BadCase{"auth_hosts_list", "registry:\n  authHosts: [auth.example.com]\n",
                "registry.authHosts: expected a mapping of registry host to hosts"},
        BadCase{"blob_hosts_nested", "registry:\n  blobHosts: {r: {a: b}}\n", "registry.blobHosts.r"},
        BadCase{"zero_review_concurrency", "registry:\n  maxConcurrentPerReview: 0\n",
                "imagegate.yaml:2:27: registry.maxConcurrentPerReview: must be between 1 and 1024"},
        BadCase{"huge_registry_concurrency", "registry:\n  maxConcurrentPerRegistry: 1025\n",
                "registry.maxConcurrentPerRegistry: must be between 1 and 1024"},
        BadCase{"negative_registry_concurrency", "registry: {maxConcurrentPerRegistry: -1}\n",
                "registry.maxConcurrentPerRegistry: not a"},
        BadCase{"zero_signatures", "signatures:\n  maxSignatures: 0\n",
                "imagegate.yaml:2:18: signatures.maxSignatures: must be between 1 and 200"},
        BadCase{"too_many_signatures", "signatures:\n  maxSignatures: 201\n",
                "signatures.maxSignatures: must be between 1 and 200"},
        BadCase{"negative_signatures", "signatures: {maxSignatures: -1}\n", "signatures.maxSignatures: not a"},
        BadCase{"huge_payload", "signatures:\n  maxPayloadBytes: 262145\n",
                "signatures.maxPayloadBytes: must be between 1 and 262144"},
        BadCase{"zero_payload", "signatures:\n  maxPayloadBytes: 0\n", "signatures.maxPayloadBytes: must be between"},
        BadCase{"bad_signature_ttl", "signatures:\n  cacheTTL: 5\n", "signatures.cacheTTL: duration \"5\""},
        BadCase{"negative_reload", "signatures:\n  trustReloadInterval: -1s\n", "signatures.trustReloadInterval: duration"},
        BadCase{"unknown_signature_key", "signatures:\n  maxSigs: 3\n", "signatures.maxSigs: unknown key"},
        BadCase{"signatures_not_a_map", "signatures: 50\n", "signatures: expected a mapping"}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

TEST(ServerConfigTest, ValidatesCombinations) {
  ServerConfig config;
  EXPECT_TRUE(validate_server_config(config).ok()) << "no policy, no TLS: the embedded demo";
  config.tls_cert_file = "a.crt";
  EXPECT_FALSE(validate_server_config(config).ok()) << "certificate without key";
  config.tls_key_file = "a.key";
  EXPECT_TRUE(validate_server_config(config).ok());
  config.listen = "localhost:8443";
  EXPECT_FALSE(validate_server_config(config).ok()) << "listen needs a numeric address";
  config.listen = ":8443";
  EXPECT_TRUE(validate_server_config(config).ok());

  ServerConfig policy_without_tls;
  policy_without_tls.policy_file = "policy.yaml";
  EXPECT_FALSE(validate_server_config(policy_without_tls).ok());

  ServerConfig ca_without_cert;
  ca_without_cert.client_ca_file = "ca.crt";
  EXPECT_FALSE(validate_server_config(ca_without_cert).ok());
}

TEST(ServerConfigTest, ParsesListenAddresses) {
  struct Case {
    const char* text;
    const char* host;
    unsigned port;
  };
  for (const Case& c : {Case{"127.0.0.1:8443", "127.0.0.1", 8443}, Case{":9443", "0.0.0.0", 9443},
                        Case{"[::1]:0", "::1", 0}, Case{"[::]:443", "::", 443}, Case{"0.0.0.0:65535", "0.0.0.0", 65535}}) {
    auto a = parse_listen_address(c.text);
    ASSERT_TRUE(a.ok()) << c.text << ": " << a.error().message;
    EXPECT_EQ(a->host, c.host) << c.text;
    EXPECT_EQ(a->port, c.port) << c.text;
  }
  for (const char* bad : {"", "8443", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "::1:8443", "[::1]8443",
                          "example.com:8443", "1.2.3.4:-1", "[::1:8443"}) {
    EXPECT_FALSE(parse_listen_address(bad).ok()) << bad;
  }
}

TEST(ServerConfigTest, ParsesDurations) {
  // What the config always took, and now the rest of common/duration.h's grammar (days, combinations).
  EXPECT_EQ(*parse_config_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_config_duration("10s"), 10s);
  EXPECT_EQ(*parse_config_duration("2m"), 2min);
  EXPECT_EQ(*parse_config_duration("1h"), 1h);
  EXPECT_EQ(*parse_config_duration("0s"), 0ms);
  EXPECT_EQ(*parse_config_duration("1m30s"), 90s);
  EXPECT_EQ(*parse_config_duration("1d"), 24h);
  EXPECT_EQ(*parse_config_duration("7d"), 168h);
  EXPECT_EQ(*parse_config_duration("1.5s"), 1500ms);  // Go's fractions: the grammar's, everywhere
  for (const char* bad : {"", "10", "s", "1.5", "-1s", "10 s", "10S", "8d", "169h", "1w"}) {
    EXPECT_FALSE(parse_config_duration(bad).ok()) << bad;
  }
  EXPECT_NE(parse_config_duration("8d").error().message.find("too long"), std::string::npos);
  EXPECT_NE(parse_config_duration("soon").error().message.find("ms, s, m, h, d"), std::string::npos);
}

TEST(ServerConfigTest, LogFormatAndMetricsListen) {
  auto config = parse_server_config("logFormat: text\nmetricsListen: 127.0.0.1:9090\n", "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->log_format, "text");
  EXPECT_EQ(config->metrics_listen, "127.0.0.1:9090");
  EXPECT_TRUE(validate_server_config(*config).ok());
  EXPECT_EQ(ServerConfig{}.log_format, "json");
  EXPECT_TRUE(ServerConfig{}.metrics_listen.empty());

  auto bad_format = parse_server_config("logFormat: logfmt\n", "c.yaml");
  ASSERT_FALSE(bad_format.ok());
  EXPECT_NE(bad_format.error().message.find("c.yaml:1:"), std::string::npos) << bad_format.error().message;
  EXPECT_NE(bad_format.error().message.find("json or text"), std::string::npos) << bad_format.error().message;

  ServerConfig bad_listen;
  bad_listen.metrics_listen = "example.com:9090";
  auto checked = validate_server_config(bad_listen);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().message.find("metricsListen"), std::string::npos) << checked.error().message;
}

TEST(ServerConfigTest, MissingFileIsAnError) {
  auto config = load_server_config("/nonexistent/imagegate.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("/nonexistent/imagegate.yaml"), std::string::npos);
}

}  // namespace
}  // namespace imagegate::webhook
