#include "webhook/server/server_config.h"

#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include <boost/asio/ip/address.hpp>
#include <yaml-cpp/yaml.h>

#include "common/duration.h"
#include "webhook/observe/logger.h"

namespace imagegate::webhook {

namespace {

constexpr std::size_t kMaxConfigBytes = 1024 * 1024;
// Upper bounds for the registry size caps: generous for any manifest or signature, small enough that one
// review cannot make the server buffer an image layer.
constexpr std::uint64_t kMaxBlobBytesLimit = 256ULL * 1024 * 1024;
constexpr std::uint64_t kMaxManifestBytesLimit = 64ULL * 1024 * 1024;

Result<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return invalid_argument("not a non-negative integer: \"" + std::string(text) + "\"");
  }
  return value;
}

// Where a node is, for error messages: file:line:column (1-based).
std::string where(std::string_view file, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return std::string(file);
  return std::string(file) + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// Walks one mapping level: each key must be known; its handler reads the value.
class ConfigReader {
 public:
  ConfigReader(std::string_view file, ServerConfig& config) : file_(file), config_(config) {}

  Status read_root(const YAML::Node& root) {
    if (root.IsNull()) return Ok{};  // an empty file keeps every default
    if (!root.IsMap()) return fail(root, "", "the config file must be a mapping");
    return read_map(root, "", {
        {"listen", [&](const YAML::Node& n, const std::string& k) { return string(n, k, config_.listen); }},
        {"apiListen", [&](const YAML::Node& n, const std::string& k) { return string(n, k, config_.api_listen); }},
        {"metricsListen", [&](const YAML::Node& n, const std::string& k) { return string(n, k, config_.metrics_listen); }},
        {"logFormat",
         [&](const YAML::Node& n, const std::string& k) -> Status {
           if (auto s = string(n, k, config_.log_format); !s) return s;
           if (!parse_log_format(config_.log_format)) return fail(n, k, "must be json or text");
           return Ok{};
         }},
        {"apiTokenFile",
         [&](const YAML::Node& n, const std::string& k) { return string(n, k, config_.api_token_file); }},
        {"store", [&](const YAML::Node& n, const std::string& k) { return string(n, k, config_.store); }},
        {"verdictCacheTTL",
         [&](const YAML::Node& n, const std::string& k) { return duration(n, k, config_.verdict_cache_ttl); }},
        {"policy", [&](const YAML::Node& n, const std::string& k) { return string(n, k, config_.policy_file); }},
        {"policyReloadInterval",
         [&](const YAML::Node& n, const std::string& k) { return duration(n, k, config_.policy_reload_interval); }},
        {"threads",
         [&](const YAML::Node& n, const std::string& k) {
           std::uint64_t v = 0;
           if (auto s = count(n, k, v, 1024); !s) return s;
           config_.threads = static_cast<unsigned>(v);
           return Status(Ok{});
         }},
        {"gracePeriod",
         [&](const YAML::Node& n, const std::string& k) { return duration(n, k, config_.grace_period); }},
        {"maxConnections",
         [&](const YAML::Node& n, const std::string& k) {
           std::uint64_t v = 0;
           if (auto s = count(n, k, v, 1'000'000); !s) return s;
           config_.max_connections = static_cast<std::size_t>(v);
           return Status(Ok{});
         }},
        {"maxBudget", [&](const YAML::Node& n, const std::string& k) { return duration(n, k, config_.max_budget); }},
        {"tls",
         [&](const YAML::Node& n, const std::string& k) {
           return read_map(n, k, {
               {"certFile",
                [&](const YAML::Node& v, const std::string& p) { return string(v, p, config_.tls_cert_file); }},
               {"keyFile",
                [&](const YAML::Node& v, const std::string& p) { return string(v, p, config_.tls_key_file); }},
               {"clientCAFile",
                [&](const YAML::Node& v, const std::string& p) { return string(v, p, config_.client_ca_file); }},
               {"reloadInterval",
                [&](const YAML::Node& v, const std::string& p) {
                  return duration(v, p, config_.tls_reload_interval);
                }},
           });
         }},
        {"timeouts",
         [&](const YAML::Node& n, const std::string& k) {
           return read_map(n, k, {
               {"handshake",
                [&](const YAML::Node& v, const std::string& p) { return duration(v, p, config_.handshake_timeout); }},
               {"idle", [&](const YAML::Node& v, const std::string& p) { return duration(v, p, config_.idle_timeout); }},
               {"read", [&](const YAML::Node& v, const std::string& p) { return duration(v, p, config_.read_timeout); }},
               {"write",
                [&](const YAML::Node& v, const std::string& p) { return duration(v, p, config_.write_timeout); }},
           });
         }},
        {"registry",
         [&](const YAML::Node& n, const std::string& k) {
           RegistryConfig& r = config_.registry;
           return read_map(n, k, {
               {"caFiles", [&](const YAML::Node& v, const std::string& p) { return strings(v, p, r.ca_files); }},
               {"registryCAFiles",
                [&](const YAML::Node& v, const std::string& p) {
                  return per_registry(v, p, "CA files", r.registry_ca_files);
                }},
               {"authHosts",
                [&](const YAML::Node& v, const std::string& p) { return per_registry(v, p, "hosts", r.auth_hosts); }},
               {"blobHosts",
                [&](const YAML::Node& v, const std::string& p) { return per_registry(v, p, "hosts", r.blob_hosts); }},
               {"dockerConfigFiles",
                [&](const YAML::Node& v, const std::string& p) { return strings(v, p, r.docker_config_files); }},
               {"insecureRegistries",
                [&](const YAML::Node& v, const std::string& p) { return strings(v, p, r.insecure_registries); }},
               {"legacyTLSRegistries",
                [&](const YAML::Node& v, const std::string& p) { return strings(v, p, r.legacy_tls_registries); }},
               {"allowedPrivateAddresses",
                [&](const YAML::Node& v, const std::string& p) {
                  return strings(v, p, r.allowed_private_addresses);
                }},
               {"timeout", [&](const YAML::Node& v, const std::string& p) { return duration(v, p, r.timeout); }},
               {"tagCacheTTL",
                [&](const YAML::Node& v, const std::string& p) { return duration(v, p, r.tag_cache_ttl); }},
               {"digestCacheTTL",
                [&](const YAML::Node& v, const std::string& p) { return duration(v, p, r.digest_cache_ttl); }},
               {"negativeCacheTTL",
                [&](const YAML::Node& v, const std::string& p) { return duration(v, p, r.negative_cache_ttl); }},
               {"staleIfError",
                [&](const YAML::Node& v, const std::string& p) { return duration(v, p, r.stale_if_error); }},
               {"maxBlobBytes",
                [&](const YAML::Node& v, const std::string& p) {
                  std::uint64_t bytes = 0;
                  if (auto s2 = count(v, p, bytes, kMaxBlobBytesLimit); !s2) return s2;
                  r.max_blob_bytes = static_cast<std::size_t>(bytes);
                  return Status(Ok{});
                }},
               {"maxManifestBytes",
                [&](const YAML::Node& v, const std::string& p) {
                  std::uint64_t bytes = 0;
                  if (auto s2 = count(v, p, bytes, kMaxManifestBytesLimit); !s2) return s2;
                  r.max_manifest_bytes = static_cast<std::size_t>(bytes);
                  return Status(Ok{});
                }},
               {"maxConcurrentPerReview",
                [&](const YAML::Node& v, const std::string& p) {
                  std::uint64_t value = 0;
                  if (auto s2 = count(v, p, value, kMaxConcurrencyLimit); !s2) return s2;
                  r.max_concurrent_per_review = static_cast<std::size_t>(value);
                  return Status(Ok{});
                }},
               {"maxConcurrentPerRegistry",
                [&](const YAML::Node& v, const std::string& p) {
                  std::uint64_t value = 0;
                  if (auto s2 = count(v, p, value, kMaxConcurrencyLimit); !s2) return s2;
                  r.max_concurrent_per_registry = static_cast<std::size_t>(value);
                  return Status(Ok{});
                }},
           });
         }},
        {"console",
         [&](const YAML::Node& n, const std::string& k) {
           return read_map(n, k, {
               {"enabled",
                [&](const YAML::Node& v, const std::string& p) { return boolean(v, p, config_.console_enabled); }},
               {"recentDecisions",
                [&](const YAML::Node& v, const std::string& p) {
                  std::uint64_t value = 0;
                  if (auto s2 = count(v, p, value, kMaxRecentDecisionsLimit); !s2) return s2;
                  config_.recent_decisions = static_cast<std::size_t>(value);
                  return Status(Ok{});
                }},
           });
         }},
        {"signatures",
         [&](const YAML::Node& n, const std::string& k) {
           SignaturesConfig& sig = config_.signatures;
           return read_map(n, k, {
               {"maxSignatures",
                [&](const YAML::Node& v, const std::string& p) {
                  std::uint64_t value = 0;
                  if (auto s2 = count(v, p, value, kMaxSignaturesLimit); !s2) return s2;
                  sig.max_signatures = static_cast<std::size_t>(value);
                  return Status(Ok{});
                }},
               {"maxPayloadBytes",
                [&](const YAML::Node& v, const std::string& p) {
                  std::uint64_t value = 0;
                  if (auto s2 = count(v, p, value, kMaxSignaturePayloadBytesLimit); !s2) return s2;
                  sig.max_payload_bytes = static_cast<std::size_t>(value);
                  return Status(Ok{});
                }},
               {"cacheTTL", [&](const YAML::Node& v, const std::string& p) { return duration(v, p, sig.cache_ttl); }},
               {"trustReloadInterval",
                [&](const YAML::Node& v, const std::string& p) { return duration(v, p, sig.trust_reload_interval); }},
           });
         }},
    });
  }

 private:
  using Handler = std::function<Status(const YAML::Node&, const std::string&)>;

  Status fail(const YAML::Node& node, const std::string& key, const std::string& message) const {
    return invalid_argument(where(file_, node) + ": " + (key.empty() ? "" : key + ": ") + message);
  }

  // A mapping of registry host to one string or a list of them (registryCAFiles, authHosts, blobHosts).
  Status per_registry(const YAML::Node& v, const std::string& p, const std::string& what,
                      std::map<std::string, std::vector<std::string>>& into) {
    if (!v.IsMap()) return fail(v, p, "expected a mapping of registry host to " + what);
    for (const auto& entry : v) {
      if (!entry.first.IsScalar()) return fail(entry.first, p, "keys must be strings");
      auto& values = into[entry.first.Scalar()];
      if (entry.second.IsScalar()) {
        std::string one;
        if (auto s = string(entry.second, p + "." + entry.first.Scalar(), one); !s) return s;
        values.push_back(one);
      } else if (auto s = strings(entry.second, p + "." + entry.first.Scalar(), values); !s) {
        return s;
      }
    }
    return Status(Ok{});
  }

  Status read_map(const YAML::Node& node, const std::string& prefix, const std::map<std::string, Handler>& keys) {
    if (!node.IsMap()) return fail(node, prefix, "expected a mapping");
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) return fail(entry.first, prefix, "keys must be strings");
      const std::string name = entry.first.Scalar();
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      auto handler = keys.find(name);
      if (handler == keys.end()) {
        std::string known;
        for (const auto& [k, unused] : keys) known += (known.empty() ? "" : ", ") + k;
        return fail(entry.first, path, "unknown key (known: " + known + ")");
      }
      if (auto s = handler->second(entry.second, path); !s) return s;
    }
    return Ok{};
  }

  Status scalar(const YAML::Node& node, const std::string& key, std::string& out) const {
    if (!node.IsScalar()) return fail(node, key, "expected a string");
    out = node.Scalar();
    return Ok{};
  }

  Status string(const YAML::Node& node, const std::string& key, std::string& out) const {
    std::string value;
    if (auto s = scalar(node, key, value); !s) return s;
    if (value.empty()) return fail(node, key, "must not be empty");
    out = std::move(value);
    return Ok{};
  }

  Status strings(const YAML::Node& node, const std::string& key, std::vector<std::string>& out) const {
    if (!node.IsSequence()) return fail(node, key, "expected a list of strings");
    for (const auto& item : node) {
      std::string value;
      if (auto s = string(item, key, value); !s) return s;
      out.push_back(std::move(value));
    }
    return Ok{};
  }

  Status duration(const YAML::Node& node, const std::string& key, std::chrono::milliseconds& out) const {
    std::string value;
    if (auto s = scalar(node, key, value); !s) return s;
    auto d = parse_config_duration(value);
    if (!d) return fail(node, key, d.error().message);
    out = *d;
    return Ok{};
  }

  Status boolean(const YAML::Node& node, const std::string& key, bool& out) const {
    std::string value;
    if (auto s = scalar(node, key, value); !s) return s;
    if (value != "true" && value != "false") return fail(node, key, "expected true or false");
    out = value == "true";
    return Ok{};
  }

  Status count(const YAML::Node& node, const std::string& key, std::uint64_t& out, std::uint64_t max) const {
    std::string value;
    if (auto s = scalar(node, key, value); !s) return s;
    auto n = parse_unsigned(value);
    if (!n) return fail(node, key, n.error().message);
    if (*n == 0 || *n > max) return fail(node, key, "must be between 1 and " + std::to_string(max));
    out = *n;
    return Ok{};
  }

  std::string_view file_;
  ServerConfig& config_;
};

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return invalid_argument("listen address \"" + std::string(text) + "\": " + why);
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [IPv6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected ADDRESS:PORT or :PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("put an IPv6 address in brackets: [::1]:8443");
  }
  ListenAddress out;
  out.host = host.empty() ? "0.0.0.0" : std::string(host);
  boost::system::error_code ec;
  boost::asio::ip::make_address(out.host, ec);
  if (ec) return bad("not a numeric IP address: \"" + out.host + "\"");
  auto number = parse_unsigned(port);
  if (!number || *number > std::numeric_limits<std::uint16_t>::max()) return bad("port must be 0..65535");
  out.port = static_cast<std::uint16_t>(*number);
  return out;
}

Result<std::chrono::milliseconds> parse_config_duration(std::string_view text) {
  const std::optional<std::chrono::milliseconds> d = imagegate::parse_duration(text);
  if (!d) return invalid_argument("duration \"" + std::string(text) + "\": expected " + std::string(kDurationSyntax));
  constexpr std::chrono::milliseconds kMax = std::chrono::hours(7 * 24);  // a week is more than any setting needs
  if (*d > kMax) return invalid_argument("duration \"" + std::string(text) + "\" is too long (at most 7d)");
  return *d;
}

Result<ServerConfig> parse_server_config(std::string_view yaml_text, std::string_view file_name, ServerConfig base) {
  if (yaml_text.size() > kMaxConfigBytes) {
    return invalid_argument(std::string(file_name) + ": larger than 1 MiB");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return invalid_argument(std::string(file_name) + ":" + std::to_string(e.mark.line + 1) + ":" +
                            std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  ServerConfig config = std::move(base);
  ConfigReader reader(file_name, config);
  try {
    if (auto s = reader.read_root(root); !s) return s.error();
  } catch (const YAML::Exception& e) {
    return invalid_argument(std::string(file_name) + ": " + e.what());
  }
  return config;
}

Result<ServerConfig> load_server_config(const std::string& path, ServerConfig base) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument(path + ": cannot open the config file");
  std::string text;
  char chunk[64 * 1024];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) return invalid_argument(path + ": larger than 1 MiB");
  }
  if (in.bad()) return invalid_argument(path + ": read error");
  return parse_server_config(text, path, std::move(base));
}

Status validate_server_config(const ServerConfig& config) {
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return invalid_argument("tls: give both a certificate file and a key file, or neither");
  }
  if (!config.client_ca_file.empty() && config.tls_cert_file.empty()) {
    return invalid_argument("tls: a client CA needs a server certificate and key too");
  }
  if (!config.policy_file.empty() && config.tls_cert_file.empty()) {
    return invalid_argument("tls: a policy file needs --tls-cert and --tls-key (only the embedded demo "
                            "generates a self-signed certificate)");
  }
  if (!config.listen.empty()) {
    if (auto a = parse_listen_address(config.listen); !a) return a.error();
  }
  if (!parse_log_format(config.log_format)) {
    return invalid_argument("logFormat: \"" + config.log_format + "\" is not json or text");
  }
  if (!config.metrics_listen.empty()) {
    if (auto a = parse_listen_address(config.metrics_listen); !a) {
      return invalid_argument("metricsListen: " + a.error().message);
    }
  }
  if (!config.api_listen.empty()) {
    if (auto a = parse_listen_address(config.api_listen); !a) return invalid_argument("apiListen: " + a.error().message);
    if (config.api_token_file.empty()) return invalid_argument("apiListen needs apiTokenFile (no anonymous API)");
    if (config.tls_cert_file.empty()) return invalid_argument("apiListen needs a server certificate and key");
  }
  if (config.max_connections == 0) return invalid_argument("maxConnections must be at least 1");
  // Flags and programmatic configs bypass the reader's bounds: check them here too.
  if (config.signatures.max_signatures == 0 || config.signatures.max_signatures > kMaxSignaturesLimit) {
    return invalid_argument("signatures.maxSignatures must be between 1 and " + std::to_string(kMaxSignaturesLimit));
  }
  if (config.signatures.max_payload_bytes == 0 ||
      config.signatures.max_payload_bytes > kMaxSignaturePayloadBytesLimit) {
    return invalid_argument("signatures.maxPayloadBytes must be between 1 and " +
                            std::to_string(kMaxSignaturePayloadBytesLimit));
  }
  for (const auto& [name, value] : {std::pair{"registry.maxConcurrentPerReview", config.registry.max_concurrent_per_review},
                                    std::pair{"registry.maxConcurrentPerRegistry",
                                              config.registry.max_concurrent_per_registry}}) {
    if (value == 0 || value > kMaxConcurrencyLimit) {
      return invalid_argument(std::string(name) + " must be between 1 and " + std::to_string(kMaxConcurrencyLimit));
    }
  }
  using std::chrono::milliseconds;
  for (const auto& [name, value] :
       {std::pair{"handshake timeout", config.handshake_timeout}, std::pair{"idle timeout", config.idle_timeout},
        std::pair{"read timeout", config.read_timeout}, std::pair{"write timeout", config.write_timeout},
        std::pair{"tls reloadInterval", config.tls_reload_interval},
        std::pair{"policyReloadInterval", config.policy_reload_interval},
        std::pair{"maxBudget", config.max_budget}}) {
    if (value <= milliseconds(0)) return invalid_argument(std::string(name) + " must be positive");
  }
  return Ok{};
}

}  // namespace imagegate::webhook
