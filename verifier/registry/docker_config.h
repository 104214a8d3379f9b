// Registry credentials from Docker config files (~/.docker/config.json, or a Kubernetes
// `.dockerconfigjson` Secret mounted as a file):
//
//   { "auths": { "registry.example.com": { "auth": "base64(user:password)" },
//                "registry.example.com/team": { "username": "u", "password": "p" },
//                "https://index.docker.io/v1/": { "identitytoken": "..." } } }
//
// Keys may be a host[:port], a host with a path prefix, or a URL (scheme and the "/v1/" style suffix are
// dropped; index.docker.io means docker.io). Lookup picks the longest key that is the image's
// registry host, or the host plus a path prefix of the repository on a '/' boundary. `credsStore` and
// `credHelpers` are not supported (they run programs); files that use them are rejected with a clear error
// only when no `auths` entry exists for the registry.
//
// Plain value types; thread-compatible (a loaded DockerCredentials is immutable and safe to share).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace imagegate::verifier {

inline constexpr std::size_t kMaxDockerConfigBytes = 1024 * 1024;

struct RegistryCredentials {
  std::string username;
  std::string password;
  std::string identity_token;  // OAuth2 refresh token (docker login with an identity provider)

  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
  friend bool operator==(const RegistryCredentials&, const RegistryCredentials&) = default;
};

class DockerCredentials {
 public:
  // Parses one file's text; `file_name` names it in errors. invalid_argument for bad JSON, a bad `auth`
  // (not base64, no ':'), wrong types; resource_exhausted above kMaxDockerConfigBytes.
  static Result<DockerCredentials> parse(std::string_view json_text, std::string_view file_name);
  static Result<DockerCredentials> load(const std::string& path);
  // Merges `other` in; entries already present win (the first configured file takes precedence).
  void merge(const DockerCredentials& other);

  // The credentials for an image in `registry` (host[:port], "docker.io" for Docker Hub) and repository
  // `path`, and the key that matched (for cache keys and logs). nullopt: anonymous.
  struct Match {
    std::string key;
    RegistryCredentials credentials;
  };
  std::optional<Match> find(std::string_view registry, std::string_view path) const;
  std::size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, RegistryCredentials> entries_;  // normalised key -> credentials
};

// "https://index.docker.io/v1/" -> "docker.io"; "Registry.Example.com:5000/team/" -> "registry.example.com:5000/team";
// "host:443" -> "host". The host part is canonical_registry_host's, the form references carry.
std::string normalize_docker_config_key(std::string_view key);

}  // namespace imagegate::verifier
