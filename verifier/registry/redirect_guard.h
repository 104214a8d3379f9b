// RedirectGuard: where a registry may send imagegate besides its own origin. A registry answers with a
// redirect (3xx Location, e.g. a blob on a CDN) or names a token realm in its 401 challenge; either is
// followed only to
//   - the registry's own origin (scheme, host and port),
//   - a host the policy allows (its `registries.allow`; any host when the policy has no allowlist),
//   - a host listed for that registry: `authHosts` (token realms, and redirects while fetching a token)
//     or `blobHosts` (redirects only).
// docker.io lists auth.docker.io and its blob CDNs built in (kDockerHubAuthHosts, kDockerHubBlobHosts),
// so Docker Hub works with `registries.allow: [docker.io]` and nothing else configured.
//
// List entries are host[:port] (no port: 443) or "*.suffix[:port]" (any host under suffix). Registry keys
// are host[:port] as images name them; docker.io and index.docker.io mean Docker Hub's API host.
//
// Immutable after construction except set_allowed(), which is called before the first request; check()
// may then be called from any thread (the predicate must be thread-safe).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace imagegate::verifier {

inline constexpr const char* kDockerHubAuthHosts[] = {"auth.docker.io"};
inline constexpr const char* kDockerHubBlobHosts[] = {
    "production.cloudflare.docker.com",
    "docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com",
    "docker-images-prod.r2.cloudflarestorage.com",
};

// A scheme and authority: "https" + "registry.example.com:5000" (the port left out when it is the default).
struct Origin {
  bool https = true;
  std::string authority;

  std::string string() const { return (https ? "https://" : "http://") + authority; }
  friend bool operator==(const Origin&, const Origin&) = default;
};

enum class Hop { redirect, token_realm };

class RedirectGuard {
 public:
  using HostLists = std::map<std::string, std::vector<std::string>>;  // registry host[:port] -> entries
  // invalid_argument naming the entry when one is not host[:port] or *.suffix[:port].
  static Result<RedirectGuard> create(const HostLists& auth_hosts, const HostLists& blob_hosts);

  // Which hosts the policy allows (authority: host[:port]). Unset: every host (no allowlist).
  void set_allowed(std::function<bool(std::string_view authority)> allowed) { allowed_ = std::move(allowed); }

  // Ok when `target` may be contacted on behalf of `registry` (the key its tokens and credentials are
  // found by: the API host[:port]) whose origin is `origin`; otherwise invalid_argument saying why.
  Status check(Hop hop, std::string_view registry, const Origin& origin, const Origin& target) const;

 private:
  bool listed(const HostLists& lists, std::string_view registry, std::string_view authority) const;

  HostLists auth_hosts_;
  HostLists blob_hosts_;
  std::function<bool(std::string_view)> allowed_;
};

}  // namespace imagegate::verifier
