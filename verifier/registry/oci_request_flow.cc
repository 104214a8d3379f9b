// OciRegistryClient's request flow (verifier/registry/oci_registry_internal.h): redirects within what the
// RedirectGuard allows, the 401 challenge (Bearer token from the realm, or Basic), the token cache (per
// registry, scope and credentials) with each registry's last Bearer challenge (a new scope's token is asked
// for at once), and the 429 back-off shared by every caller.
#include "common/asio_warnings.h"  // before any Asio header

#include <algorithm>
#include <cctype>
#include <utility>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "common/text.h"
#include "verifier/registry/oci_registry_internal.h"

namespace imagegate::verifier {

using namespace oci;  // NOLINT: this file implements the client's internals
using std::chrono::milliseconds;

namespace {

std::string status_result(unsigned status) {
  if (status >= 200 && status < 400) return "ok";
  if (status == 404) return "not_found";
  if (status == 401 || status == 403) return "unauthorized";
  if (status == 429) return "rate_limited";
  if (status >= 500) return "server_error";
  return "error";
}

// Seconds in a Retry-After header (delta-seconds only; an HTTP date counts as 1 s).
milliseconds retry_after(const Response& r) {
  const std::string v = r.header(http::field::retry_after);
  if (v.empty()) return milliseconds(1'000);
  long long seconds = 0;
  for (char c : v) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return milliseconds(1'000);
    seconds = seconds * 10 + (c - '0');
    if (seconds > 86'400) break;
  }
  return milliseconds(seconds * 1'000);
}

// What a token realm answered: the token ("token", else "access_token") and its lifetime in seconds
// (expires_in clamped to 10..3600, 60 when absent). unavailable naming `authority` when there is no token.
struct TokenAnswer {
  std::string token;
  long long expires_in = 60;
};

Result<TokenAnswer> read_token_response(const std::string& body, const std::string& authority) {
  // A token response is a handful of members; 1,000 values bound its DOM to 200 KB + 2 MiB.
  auto parsed = parse_json_bounded(body, JsonLimits{.max_depth = 8, .max_values = 1'000});
  if (!parsed) return unavailable("token response from " + authority + ": " + parsed.error().message);
  const nlohmann::json& doc = *parsed;
  TokenAnswer out;
  if (doc.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      if (auto it = doc.find(key); it != doc.end() && it->is_string() && !it->get<std::string>().empty()) {
        out.token = it->get<std::string>();
        break;
      }
    }
    if (auto it = doc.find("expires_in"); it != doc.end() && it->is_number_integer()) {
      out.expires_in = std::clamp<long long>(it->get<long long>(), 10, 3600);
    }
  }
  if (out.token.empty()) return unavailable("token response from " + authority + " has no token");
  return out;
}

}  // namespace

// exchange() plus redirects and the observer. A redirect is followed a few times, https only unless the
// target is an insecure registry, and only where the guard lets requests for `registry` (whose origin is
// `home`) go. Credentials never leave the origin they were meant for: the Authorization header is
// dropped when the origin changes, and a request carrying a body (an OAuth2 refresh token) is not
// re-sent to another origin. Every hop connects through connect(), so the SSRF guard applies to each.
asio::awaitable<Result<Response>>
OciRegistryClient::State::send(Request req, const std::string& registry, const Origin& home) {
  const std::string origin = req.url.authority();
  for (unsigned hops = 0;; ++hops) {
    const auto started = Clock::now();
    Result<Response> r = co_await exchange(req);
    if (!r) {
      observe("error", started);
      co_return r;
    }
    observe(status_result(r->status), started);
    const unsigned s = r->status;
    if (s != 301 && s != 302 && s != 303 && s != 307 && s != 308) co_return r;
    if (hops >= options.max_redirects) {
      co_return unavailable("too many redirects from " + origin);
    }
    const std::string location = r->header(http::field::location);
    if (location.empty()) co_return unavailable("redirect without Location from " + req.url.authority());
    Url next;
    if (location.front() == '/') {
      next = req.url;
      next.target = location;
    } else {
      auto parsed = parse_url(location);
      if (!parsed) co_return unavailable("redirect to a bad URL: " + parsed.error().message);
      next = *parsed;
    }
    if (!next.https && options.insecure_registries.count(next.authority()) == 0) {
      co_return unavailable("redirect from " + req.url.authority() + " to plain HTTP refused");
    }
    if (auto allowed = guard.check(Hop::redirect, registry, home, next.origin()); !allowed) {
      co_return allowed.error();
    }
    if (s == 301 || s == 302 || s == 303) {  // as browsers and Go's client do: the next request is a GET
      if (req.method != http::verb::head) req.method = http::verb::get;
      req.body.clear();
      req.content_type.clear();
    }
    if (next.origin() != req.url.origin()) {
      req.authorization.clear();
      if (!req.body.empty()) {
        co_return permission_denied("redirect of a request with credentials from " + req.url.authority() +
                                    " to another origin (" + next.authority() + ") refused");
      }
    }
    req.url = std::move(next);
  }
}

std::string OciRegistryClient::State::credentials_key(const ImageReference& ref) const {
  const auto match = credentials.find(ref.domain(), ref.path());
  return match ? match->key + "#" + sha256_digest(match->credentials.username + ":" + match->credentials.password +
                                                  ":" + match->credentials.identity_token)
                                       .substr(7, 12)
               : std::string();
}

asio::awaitable<Result<std::string>>
OciRegistryClient::State::fetch_token(const AuthChallenge& challenge, const std::string& scope,
                                      const std::optional<DockerCredentials::Match>& creds,
                                      const std::string& registry, const Origin& home) {
  const std::string realm = challenge.param("realm");
  if (realm.empty()) co_return permission_denied("Bearer challenge from " + registry + " without a realm");
  auto realm_url = parse_url(realm);
  if (!realm_url) co_return permission_denied("Bearer realm of " + registry + ": " + realm_url.error().message);
  if (!realm_url->https && options.insecure_registries.count(realm_url->authority()) == 0) {
    co_return permission_denied("Bearer realm of " + registry + " is plain HTTP; refused");
  }
  // The realm is the one this registry named (the 401 came from its origin: authorized_request), and the
  // guard must let requests for the registry go there; then, and only then, its credentials go along.
  if (auto allowed = guard.check(Hop::token_realm, registry, home, realm_url->origin()); !allowed) {
    co_return allowed.error();
  }
  const std::string service = challenge.param("service");
  Request req;
  req.url = *realm_url;
  req.body_limit = kMaxTokenResponseBytes;
  std::string query;
  if (!service.empty()) query += "service=" + url_encode(service);
  if (!scope.empty()) query += (query.empty() ? "" : "&") + std::string("scope=") + url_encode(scope);
  // The GET form: query parameters, Basic credentials when configured.
  Request get_req = req;
  if (!query.empty()) get_req.url.target += (get_req.url.target.find('?') == std::string::npos ? "?" : "&") + query;
  const bool identity = creds && !creds->credentials.identity_token.empty();
  if (identity) {
    // An identity token is an OAuth2 refresh token: POSTed to the realm as distribution's token server
    // (docs/spec/auth/oauth.md) and docker's client do it. Realms without the OAuth2 endpoint answer
    // 400/401/404/405; then, as containerd does, the token is tried as the Basic password over GET.
    get_req.authorization = "Basic " + base64_encode(creds->credentials.username + ":" + creds->credentials.identity_token);
  } else if (creds && !creds->credentials.username.empty()) {
    get_req.authorization = "Basic " + base64_encode(creds->credentials.username + ":" + creds->credentials.password);
  }
  Result<Response> r = unavailable("no token request made");
  if (identity) {
    req.method = http::verb::post;
    req.content_type = "application/x-www-form-urlencoded";
    req.body = "grant_type=refresh_token&client_id=imagegate&refresh_token=" +
               url_encode(creds->credentials.identity_token) + (query.empty() ? "" : "&" + query);
    r = co_await send(std::move(req), registry, home);
    if (r && (r->status == 400 || r->status == 401 || r->status == 404 || r->status == 405)) {
      r = co_await send(std::move(get_req), registry, home);
    }
  } else {
    r = co_await send(std::move(get_req), registry, home);
  }
  if (!r) co_return r.error();
  if (r->status == 401 || r->status == 403) {
    co_return permission_denied("token request to " + realm_url->authority() + " refused (HTTP " +
                                std::to_string(r->status) + "): credentials not accepted");
  }
  if (r->status != 200) {
    co_return unavailable("token request to " + realm_url->authority() + ": HTTP " + std::to_string(r->status));
  }
  auto answer = read_token_response(r->body, realm_url->authority());
  if (!answer) co_return answer.error();
  const std::string& token = answer->token;
  const long long expires_in = answer->expires_in;
  {
    std::lock_guard lock(mutex);
    // Renew a little early so a token never expires mid-request.
    tokens[registry + "|" + scope + "|" + (creds ? creds->key : "")] =
        CachedToken{token, Clock::now() + std::chrono::seconds(expires_in) - std::chrono::seconds(5)};
  }
  co_return token;
}

// A registry API request with auth (cached token, Basic, or the 401 challenge flow) and 429 back-off.
asio::awaitable<Result<Response>>
OciRegistryClient::State::registry_request(const ImageReference& ref, http::verb method,
                                           std::string target, std::size_t body_limit,
                                           std::string accept) {
  const std::string registry = registry_api_host(ref.domain());
  Url url;
  url.https = options.insecure_registries.count(registry) == 0 &&
              options.insecure_registries.count(ref.domain()) == 0;
  if (!split_authority(registry, url.host, url.port, url.https ? "443" : "80")) {
    co_return invalid_argument("bad registry host " + registry);
  }
  url.target = std::move(target);
  co_return co_await authorized_request(registry, std::move(url), credentials.find(ref.domain(), ref.path()),
                                        "repository:" + ref.path() + ":pull", method, body_limit,
                                        std::move(accept));
}

// One request to `url` with the auth flow, keyed for tokens and back-off by `registry` (host[:port]).
// Shared by the registry API and the Notary v1 trust-data API (same token flow).
asio::awaitable<Result<Response>>
OciRegistryClient::State::authorized_request(std::string registry, Url url,
                                             std::optional<DockerCredentials::Match> creds,
                                             std::string scope, http::verb method,
                                             std::size_t body_limit, std::string accept) {
  const std::string token_key = registry + "|" + scope + "|" + (creds ? creds->key : "");
  const Origin home = url.origin();

  // A registry that challenged us for a Bearer token before gets a token for a new scope at once, from the
  // realm it named then (checked by the guard again), instead of an anonymous request and its 401: one
  // round trip fewer per new repository. A failure here changes nothing: the usual flow follows.
  std::optional<AuthChallenge> known;
  {
    std::lock_guard lock(mutex);
    const auto cached = tokens.find(token_key);
    if (cached == tokens.end() || cached->second.expires <= Clock::now()) {
      if (auto it = bearer_challenges.find(registry); it != bearer_challenges.end()) known = it->second;
    }
  }
  if (known) {
    Result<std::string> prefetched = co_await fetch_token(*known, scope, creds, registry, home);
    (void)prefetched;
  }

  bool retried_auth = false;
  bool retried_429 = false;
  for (;;) {
    // A registry that answered 429 is left alone until its Retry-After passes (within our patience).
    Clock::time_point wait_until{};
    {
      std::lock_guard lock(mutex);
      if (auto it = backoff_until.find(registry); it != backoff_until.end()) wait_until = it->second;
    }
    if (wait_until > Clock::now()) {
      if (wait_until - Clock::now() > options.max_retry_after) {
        co_return unavailable(registry + " is rate limiting (HTTP 429); backing off");
      }
      // The wait is bounded by the caller: a review whose budget runs out cancels its gathering, and the
      // cancellation ends this wait at once (no request is sent after the answer has been given).
      asio::steady_timer pause(co_await asio::this_coro::executor, wait_until);
      boost::system::error_code ec;
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Error{ErrorCode::deadline_exceeded, "cancelled while backing off after HTTP 429"};
      if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
        co_return Error{ErrorCode::deadline_exceeded, "cancelled while backing off after HTTP 429"};
      }
    }
    Request req;
    req.method = method;
    req.url = url;
    req.accept = accept;
    req.body_limit = body_limit;
    {
      std::lock_guard lock(mutex);
      if (auto it = tokens.find(token_key); it != tokens.end() && it->second.expires > Clock::now()) {
        req.authorization = "Bearer " + it->second.token;
      } else if (basic_hosts.count(registry) != 0 && creds) {
        req.authorization = "Basic " + base64_encode(creds->credentials.username + ":" + creds->credentials.password);
      }
    }
    auto r = co_await send(req, registry, home);
    if (!r) co_return r;
    if (r->status == 429) {
      const milliseconds delay = retry_after(*r);
      {
        std::lock_guard lock(mutex);
        backoff_until[registry] = Clock::now() + delay;
      }
      if (retried_429 || delay > options.max_retry_after) {
        co_return unavailable(registry + " answered HTTP 429 (rate limited)");
      }
      retried_429 = true;
      continue;
    }
    if (r->status == 401 && r->url.origin() != home) {
      // A challenge from where a redirect led is not the registry's: its credentials do not go there, nor
      // to a realm that host names.
      co_return permission_denied(r->url.origin().string() + " (a redirect from " + registry +
                                  ") answered 401; credentials for " + registry + " are not sent on its behalf");
    }
    if (r->status != 401 || retried_auth) co_return r;
    retried_auth = true;
    auto challenges = parse_www_authenticate(r->header(http::field::www_authenticate));
    if (!challenges) co_return permission_denied(registry + " answered 401: " + challenges.error().message);
    const AuthChallenge* bearer = nullptr;
    const AuthChallenge* basic = nullptr;
    for (const auto& ch : *challenges) {
      if (ch.scheme == "bearer" && !bearer) bearer = &ch;
      if (ch.scheme == "basic" && !basic) basic = &ch;
    }
    if (bearer) {
      // The challenge's scope is the registry's to choose; we ask only for pull on this repository.
      auto token = co_await fetch_token(*bearer, scope, creds, registry, home);
      if (!token) co_return token.error();
      std::lock_guard lock(mutex);
      bearer_challenges[registry] = *bearer;
      continue;
    }
    if (basic) {
      if (!creds || creds->credentials.username.empty()) {
        co_return permission_denied(registry + " requires credentials (Basic) and none are configured");
      }
      std::lock_guard lock(mutex);
      basic_hosts[registry] = "basic";
      continue;
    }
    co_return permission_denied(registry + " answered 401 with no supported challenge");
  }
}

}  // namespace imagegate::verifier
