#include "verifier/registry/docker_config.h"

#include "common/bounded_file.h"
#include "common/json_bounded.h"
#include "common/text.h"

#include <cctype>
#include <sstream>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "verifier/image/image_reference.h"

namespace imagegate::verifier {
namespace {

std::optional<std::string> base64_decode(std::string_view in) {
  std::string clean;
  for (char c : in) {
    if (c == '\n' || c == '\r' || c == ' ') continue;
    clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  if (clean.empty()) return std::string();
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts padding bytes as output zeros.
  if (clean.size() >= 1 && clean[clean.size() - 1] == '=') --len;
  if (clean.size() >= 2 && clean[clean.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

}  // namespace

std::string normalize_docker_config_key(std::string_view key) {
  std::string_view k = key;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (k.size() >= scheme.size() && k.substr(0, scheme.size()) == scheme) k.remove_prefix(scheme.size());
  }
  while (!k.empty() && k.back() == '/') k.remove_suffix(1);
  std::string host(k.substr(0, k.find('/')));
  std::string rest = k.find('/') == std::string_view::npos ? std::string() : std::string(k.substr(k.find('/')));
  // The registry's canonical host, as references carry it (LOCALHOST:5000 and localhost:5000, host:443 and
  // host, registry-1.docker.io and docker.io are one key). A key that is no host[:port] can never match a
  // reference; it is kept lowercased so the file still loads.
  if (auto canonical = canonical_registry_host(host)) {
    host = std::move(canonical).value();
  } else {
    host = ascii_lower(host);
  }
  // The legacy "/v1" (and "/v2") suffix names the API version, not a repository prefix.
  if (rest == "/v1" || rest == "/v2") rest.clear();
  return host + rest;
}

Result<DockerCredentials> DockerCredentials::parse(std::string_view json_text, std::string_view file_name) {
  const std::string where = "docker config " + std::string(file_name);
  if (json_text.size() > kMaxDockerConfigBytes) {
    return resource_exhausted(where + ": larger than " + std::to_string(kMaxDockerConfigBytes) + " bytes");
  }
  // A config of a few hundred registries is a few thousand values; 50,000 bound the DOM to 200 B * 50,000
  // + 2 * 1 MiB = 12 MiB (common/json_bounded.h).
  auto parsed = parse_json_bounded(json_text, JsonLimits{kMaxDockerConfigBytes, 32, 50'000});
  if (!parsed) return Error{parsed.error().code, where + ": " + parsed.error().message};
  const nlohmann::json& doc = *parsed;
  if (!doc.is_object()) return invalid_argument(where + ": expected a JSON object");
  DockerCredentials out;
  const auto auths = doc.find("auths");
  if (auths == doc.end()) return out;
  if (!auths->is_object()) return invalid_argument(where + ": \"auths\" must be an object");
  for (const auto& [key, entry] : auths->items()) {
    const std::string at = where + ": auths[\"" + key + "\"]";
    if (!entry.is_object()) return invalid_argument(at + " must be an object");
    RegistryCredentials creds;
    for (const char* field : {"auth", "username", "password", "identitytoken", "registrytoken", "email"}) {
      const auto it = entry.find(field);
      if (it != entry.end() && !it->is_string()) return invalid_argument(at + "." + field + " must be a string");
    }
    if (const auto it = entry.find("auth"); it != entry.end() && !it->get<std::string>().empty()) {
      const auto decoded = base64_decode(it->get<std::string>());
      if (!decoded) return invalid_argument(at + ".auth is not valid base64");
      const auto colon = decoded->find(':');
      if (colon == std::string::npos) return invalid_argument(at + ".auth does not decode to user:password");
      creds.username = decoded->substr(0, colon);
      creds.password = decoded->substr(colon + 1);
    }
    if (const auto it = entry.find("username"); it != entry.end() && creds.username.empty()) {
      creds.username = it->get<std::string>();
    }
    if (const auto it = entry.find("password"); it != entry.end() && creds.password.empty()) {
      creds.password = it->get<std::string>();
    }
    if (const auto it = entry.find("identitytoken"); it != entry.end()) creds.identity_token = it->get<std::string>();
    if (creds.empty()) continue;
    const std::string normalized = normalize_docker_config_key(key);
    if (normalized.empty()) return invalid_argument(at + ": empty registry key");
    out.entries_.emplace(normalized, std::move(creds));
  }
  return out;
}

Result<DockerCredentials> DockerCredentials::load(const std::string& path) {
  auto text = read_bounded_file(path, kMaxDockerConfigBytes);
  if (!text) {
    if (text.error().code == ErrorCode::resource_exhausted) {
      return Error{text.error().code, "docker config " + text.error().message};
    }
    return invalid_argument("docker config " + path + ": cannot open");
  }
  return parse(*text, path);
}

void DockerCredentials::merge(const DockerCredentials& other) {
  for (const auto& [k, v] : other.entries_) entries_.emplace(k, v);
}

std::optional<DockerCredentials::Match> DockerCredentials::find(std::string_view registry,
                                                                std::string_view path) const {
  const std::string host = normalize_docker_config_key(registry);
  std::string candidate = host + "/" + std::string(path);
  // Longest prefix first: host/a/b/c, host/a/b, host/a, host.
  for (;;) {
    if (const auto it = entries_.find(candidate); it != entries_.end()) return Match{it->first, it->second};
    if (candidate.size() <= host.size()) break;
    const auto slash = candidate.rfind('/');
    if (slash == std::string::npos || slash < host.size()) break;
    candidate.resize(slash);
  }
  return std::nullopt;
}

}  // namespace imagegate::verifier
