#include "verifier/registry/redirect_guard.h"

#include <cctype>
#include <optional>

#include "common/text.h"
#include "verifier/image/image_reference.h"
#include "verifier/registry/registry_client.h"

namespace imagegate::verifier {

namespace {

// ":port" of "host:port" / "[v6]:port" / "*.suffix:port"; "" when there is none.
std::string_view port_part(std::string_view authority) {
  const auto colon = authority.rfind(':');
  const auto bracket = authority.rfind(']');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) return {};
  return authority.substr(colon);
}

// Lower case, without a ":443" (what Origin::authority leaves out); empty when the text is not an entry.
std::string normalize_entry(std::string_view text) {
  std::string out = ascii_lower(text);
  if (out.size() > 4 && out.ends_with(":443")) out.resize(out.size() - 4);
  const std::string_view host = std::string_view(out).substr(out.rfind("*.", 0) == 0 ? 2 : 0);
  const std::string_view port = port_part(host);
  const std::string_view name = host.substr(0, host.size() - port.size());
  if (name.empty() || port == ":") return {};
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '-' && c != '_' && c != ':' && c != '[' &&
        c != ']') {
      return {};
    }
  }
  for (char c : port.substr(port.empty() ? 0 : 1)) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return {};
  }
  return out;
}

// The registry a list belongs to, as the client connects to it: the canonical host (image_reference.h), then
// Docker Hub's API host. nullopt when the key is no registry host.
std::optional<std::string> normalize_registry(std::string_view key) {
  auto canonical = canonical_registry_host(key);
  if (!canonical) return std::nullopt;
  return registry_api_host(*canonical);
}

bool entry_matches(std::string_view entry, std::string_view authority) {
  if (entry.rfind("*.", 0) != 0) return entry == authority;
  const std::string_view suffix = entry.substr(1);  // ".example.com[:port]"
  const std::string_view entry_port = port_part(suffix);
  const std::string_view port = port_part(authority);
  if (entry_port != port) return false;
  const std::string_view suffix_host = suffix.substr(0, suffix.size() - entry_port.size());
  const std::string_view host = authority.substr(0, authority.size() - port.size());
  return host.size() > suffix_host.size() && host.ends_with(suffix_host);
}

Result<RedirectGuard::HostLists> normalize(const RedirectGuard::HostLists& lists, std::string_view key) {
  RedirectGuard::HostLists out;
  for (const auto& [registry, entries] : lists) {
    const std::optional<std::string> name = normalize_registry(registry);
    if (!name) return invalid_argument(std::string(key) + ": \"" + registry + "\" is not a registry host[:port]");
    auto& into = out[*name];
    for (const std::string& entry : entries) {
      std::string e = normalize_entry(entry);
      if (e.empty()) {
        return invalid_argument(std::string(key) + " of " + registry + ": \"" + entry +
                                "\" is not host[:port] or *.suffix[:port]");
      }
      into.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace

Result<RedirectGuard> RedirectGuard::create(const HostLists& auth_hosts, const HostLists& blob_hosts) {
  auto auth = normalize(auth_hosts, "authHosts");
  if (!auth) return auth.error();
  auto blob = normalize(blob_hosts, "blobHosts");
  if (!blob) return blob.error();
  // Docker Hub out of the box: its token realm and blob CDNs, beside whatever the configuration adds.
  const std::string hub = registry_api_host("docker.io");
  for (const char* host : kDockerHubAuthHosts) (*auth)[hub].emplace_back(host);
  for (const char* host : kDockerHubBlobHosts) (*blob)[hub].emplace_back(host);
  RedirectGuard guard;
  guard.auth_hosts_ = std::move(auth.value());
  guard.blob_hosts_ = std::move(blob.value());
  return guard;
}

bool RedirectGuard::listed(const HostLists& lists, std::string_view registry, std::string_view authority) const {
  const std::optional<std::string> name = normalize_registry(registry);
  if (!name) return false;
  const auto it = lists.find(*name);
  if (it == lists.end()) return false;
  for (const std::string& entry : it->second) {
    if (entry_matches(entry, authority)) return true;
  }
  return false;
}

Status RedirectGuard::check(Hop hop, std::string_view registry, const Origin& origin, const Origin& target) const {
  if (target == origin) return Ok{};
  if (!allowed_ || allowed_(target.authority)) return Ok{};
  if (listed(auth_hosts_, registry, target.authority)) return Ok{};
  if (hop == Hop::redirect && listed(blob_hosts_, registry, target.authority)) return Ok{};
  const std::string reg(registry);
  if (hop == Hop::token_realm) {
    return invalid_argument("token realm " + target.string() + " of " + reg + " refused: not " + reg +
                            "'s origin, not allowed by the policy's registries.allow, and not listed in "
                            "registry.authHosts for " + reg);
  }
  return invalid_argument("redirect from " + reg + " to " + target.string() + " refused: not " + reg +
                          "'s origin, not allowed by the policy's registries.allow, and not listed in "
                          "registry.blobHosts or registry.authHosts for " + reg);
}

}  // namespace imagegate::verifier
