// The public face of OciRegistryClient: construction from options, resolve, manifests, blobs, referrers
// and get. The transport and auth flow live in oci_connection_pool.cc and oci_request_flow.cc (see
// verifier/registry/oci_registry_internal.h).
#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/registry/oci_registry_client.h"

#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "verifier/registry/oci_registry_internal.h"

namespace imagegate::verifier {

using namespace oci;  // NOLINT: this file implements the client

namespace {

Error status_error(const Response& r, const ImageReference& ref, std::string_view what) {
  const std::string where = std::string(what) + " " + ref.string();
  if (r.status == 404) return not_found("manifest unknown: " + where);
  if (r.status == 401 || r.status == 403) {
    return permission_denied("registry refused access to " + where + " (HTTP " + std::to_string(r.status) + ")");
  }
  if (r.status == 429) return unavailable("registry rate limited " + where + " (HTTP 429)");
  return unavailable("registry answered HTTP " + std::to_string(r.status) + " for " + where);
}

std::string manifest_target(const ImageReference& ref, std::string_view reference) {
  return "/v2/" + ref.path() + "/manifests/" + std::string(reference);
}

// A manifest's bytes in hand: its digest is the one computed from them, never a header's. A
// Docker-Content-Digest that says anything else (another digest, another algorithm, garbage) is a registry
// lying or broken and refused, as is a body that is not the digest the caller asked for. Only a HEAD answer
// (no bytes) is taken at its header's word: see resolve().
Result<FetchedManifest> checked_manifest(Response&& r, const ImageReference& ref, std::string_view wanted) {
  FetchedManifest out;
  out.digest = sha256_digest(r.body);
  const auto it = r.headers.find("Docker-Content-Digest");
  if (it != r.headers.end() && it->value() != out.digest) {
    return permission_denied("registry sent manifest " + ref.string() + " with Docker-Content-Digest " +
                             std::string(it->value()) + " but the body hashes to " + out.digest);
  }
  if (!wanted.empty() && wanted != out.digest) {
    return permission_denied("manifest " + ref.string() + " hashes to " + out.digest);
  }
  out.media_type = r.header(http::field::content_type);
  out.body = std::move(r.body);
  return out;
}

// An error when the body is not an image manifest or index (JSON object with schemaVersion 2) within
// kManifestJsonLimits.
Status read_manifest_details(const std::string& body, ResolvedImage& out) {
  auto parsed = parse_json_bounded(body, kManifestJsonLimits);
  if (!parsed && parsed.error().code == ErrorCode::resource_exhausted) return parsed.error();
  if (!parsed) return unavailable("not an image manifest or index (" + parsed.error().message + ")");
  const nlohmann::json& doc = *parsed;
  const Error not_manifest = unavailable("not an image manifest or index");
  if (!doc.is_object()) return not_manifest;
  if (auto v = doc.find("schemaVersion"); v == doc.end() || !v->is_number_integer() || v->get<int>() != 2) {
    return not_manifest;
  }
  if (auto it = doc.find("mediaType"); it != doc.end() && it->is_string() && out.media_type.empty()) {
    out.media_type = it->get<std::string>();
  }
  const auto manifests = doc.find("manifests");
  if (manifests == doc.end() || !manifests->is_array()) return Ok{};
  for (const auto& m : *manifests) {
    if (!m.is_object()) continue;
    const auto p = m.find("platform");
    if (p == m.end() || !p->is_object()) continue;
    const auto os = p->find("os");
    const auto arch = p->find("architecture");
    if (os == p->end() || arch == p->end() || !os->is_string() || !arch->is_string()) continue;
    std::string platform = os->get<std::string>() + "/" + arch->get<std::string>();
    if (auto v = p->find("variant"); v != p->end() && v->is_string()) platform += "/" + v->get<std::string>();
    out.platforms.push_back(std::move(platform));
  }
  return Ok{};
}

}  // namespace

OciRegistryClient::OciRegistryClient(std::unique_ptr<State> state) : state_(std::move(state)) {}
OciRegistryClient::~OciRegistryClient() = default;

Result<RegistryClientOptions> canonical_registry_keys(RegistryClientOptions options) {
  std::set<std::string> insecure;
  for (const std::string& host : options.insecure_registries) {
    auto canonical = canonical_registry_host(host);
    if (!canonical) return invalid_argument("insecure registry: " + canonical.error().message);
    // `host:443` is `host` (HTTPS's default port), which plain HTTP reaches on port 80: refuse the ambiguity.
    const auto has_port = [](std::string_view h) {
      const std::size_t bracket = h.rfind(']');
      return h.substr(bracket == std::string_view::npos ? 0 : bracket).find(':') != std::string_view::npos;
    };
    if (has_port(host) && !has_port(*canonical)) {
      return invalid_argument("insecure registry \"" + host + "\": port 443 is HTTPS's; plain HTTP there is not supported");
    }
    insecure.insert(std::move(canonical).value());
  }
  options.insecure_registries = std::move(insecure);
  std::set<std::string> legacy;
  for (const std::string& host : options.legacy_tls_registries) {
    auto canonical = canonical_registry_host(host);
    if (!canonical) return invalid_argument("legacy TLS registry: " + canonical.error().message);
    legacy.insert(std::move(canonical).value());
  }
  options.legacy_tls_registries = std::move(legacy);
  std::map<std::string, std::vector<std::string>> ca_files;
  for (auto& [host, files] : options.registry_ca_files) {
    auto canonical = canonical_registry_host(host);
    if (!canonical) return invalid_argument("registry CA files: " + canonical.error().message);
    auto& merged = ca_files[std::move(canonical).value()];
    merged.insert(merged.end(), files.begin(), files.end());
  }
  options.registry_ca_files = std::move(ca_files);
  return options;
}

Result<std::unique_ptr<OciRegistryClient>> OciRegistryClient::create(RegistryClientOptions options) {
  auto state = std::make_unique<State>();
  for (const std::string& file : options.docker_config_files) {
    auto loaded = DockerCredentials::load(file);
    if (!loaded) return loaded.error();
    state->credentials.merge(*loaded);
  }
  // Check every per-registry CA file now, so a bad path fails at start-up rather than on the first review
  // (ca_files are read into the shared context below).
  for (const auto& [host, files] : options.registry_ca_files) {
    for (const std::string& file : files) {
      ssl::context probe(ssl::context::tls_client);
      boost::system::error_code ec;
      probe.load_verify_file(file, ec);
      if (ec) return invalid_argument("CA file " + file + ": " + ec.message());
    }
  }
  state->gates = std::make_unique<KeyedSemaphore>(options.max_concurrent_per_registry);
  auto canonical = canonical_registry_keys(std::move(options));
  if (!canonical) return canonical.error();
  state->options = std::move(canonical).value();
  // The shared TLS context: the system trust store and ca_files, read once here rather than on first contact.
  auto shared_tls = state->make_tls_context("");
  if (!shared_tls) return shared_tls.error();
  state->default_tls = std::move(shared_tls).value();
  auto guard = RedirectGuard::create(state->options.auth_hosts, state->options.blob_hosts);
  if (!guard) return guard.error();
  state->guard = std::move(guard.value());
  return std::unique_ptr<OciRegistryClient>(new OciRegistryClient(std::move(state)));
}

void OciRegistryClient::set_allowed_hosts(std::function<bool(std::string_view authority)> allowed) {
  state_->guard.set_allowed(std::move(allowed));
}

void OciRegistryClient::set_request_observer(std::function<void(std::string_view)> observer) {
  state_->observer = std::move(observer);
}

void OciRegistryClient::set_request_timing_observer(std::function<void(std::string_view, double)> observer) {
  state_->timing_observer = std::move(observer);
}

std::string OciRegistryClient::credentials_key(const ImageReference& ref) const { return state_->credentials_key(ref); }

asio::awaitable<Result<ResolvedImage>> OciRegistryClient::resolve(const ImageReference& ref, ResolveOptions options) {
  if (ref.domain().empty() || ref.path().empty()) co_return invalid_argument("cannot resolve " + ref.string());
  ResolvedImage out;
  if (ref.has_digest() && !options.details) {
    out.digest = ref.digest();
    co_return out;
  }
  const std::string reference = ref.has_digest() ? ref.digest() : ref.effective_tag();
  const std::string target = manifest_target(ref, reference);
  if (!options.details) {
    // HEAD (free of Docker Hub's pull limit) gives the digest in Docker-Content-Digest and no bytes to check
    // it against: a registry that lies here can still serve other bytes to the runtime's GET of the tag.
    // Only pinning (pinDigest + /mutate) closes that; docs/policy.md says so.
    auto head = co_await state_->registry_request(ref, http::verb::head, target, 0);
    if (!head) co_return head.error();
    if (head->status == 200) {
      const auto it = head->headers.find("Docker-Content-Digest");
      if (it != head->headers.end() && !validate_digest(std::string(it->value()))) {
        out.digest = std::string(it->value());
        out.media_type = head->header(http::field::content_type);
        const std::string length = head->header(http::field::content_length);
        if (!length.empty() && length.size() < 19) out.size = std::stoull(length);
        co_return out;
      }
      // No (usable) digest header: read the manifest and hash it.
    } else if (head->status == 404 || head->status == 401 || head->status == 403 || head->status == 429 ||
               head->status >= 500) {
      co_return status_error(*head, ref, "manifest");
    }
    // Other statuses (405 and friends): fall back to GET.
  }
  auto get = co_await state_->registry_request(ref, http::verb::get, target, state_->options.max_manifest_bytes);
  if (!get) co_return get.error();
  if (get->status != 200) co_return status_error(*get, ref, "manifest");
  auto checked = checked_manifest(std::move(get.value()), ref, ref.has_digest() ? ref.digest() : "");
  if (!checked) co_return checked.error();
  out.digest = checked->digest;
  out.size = checked->body.size();
  out.media_type = checked->media_type;
  if (Status read = read_manifest_details(checked->body, out); !read) {
    co_return Error{read.error().code, "registry sent a body for " + ref.string() + " that is " +
                                           (read.error().code == ErrorCode::resource_exhausted ? "refused: " : "") +
                                           read.error().message};
  }
  co_return out;
}

asio::awaitable<Result<std::string>> OciRegistryClient::fetch_blob(const ImageReference& ref, std::string digest,
                                                                   std::size_t max_bytes) {
  if (auto bad = validate_digest(digest)) co_return invalid_argument("bad blob digest " + digest);
  max_bytes = std::min(max_bytes, state_->options.max_blob_bytes);
  auto r = co_await state_->registry_request(ref, http::verb::get, "/v2/" + ref.path() + "/blobs/" + digest, max_bytes);
  if (!r) co_return r.error();
  if (r->status == 404) co_return not_found("blob unknown: " + ref.name() + "@" + digest);
  if (r->status != 200) co_return status_error(*r, ref, "blob");
  if (sha256_digest(r->body) != digest) {
    co_return permission_denied("blob " + ref.name() + "@" + digest + " does not match its digest");
  }
  co_return std::move(r->body);
}

asio::awaitable<Result<FetchedManifest>> OciRegistryClient::fetch_manifest(const ImageReference& ref) {
  if (ref.domain().empty() || ref.path().empty()) co_return invalid_argument("cannot fetch " + ref.string());
  const std::string reference = ref.has_digest() ? ref.digest() : ref.effective_tag();
  auto r = co_await state_->registry_request(ref, http::verb::get, manifest_target(ref, reference),
                                             state_->options.max_manifest_bytes);
  if (!r) co_return r.error();
  if (r->status != 200) co_return status_error(*r, ref, "manifest");
  co_return checked_manifest(std::move(r.value()), ref, ref.has_digest() ? ref.digest() : "");
}

asio::awaitable<Result<FetchedManifest>> OciRegistryClient::fetch_referrers(const ImageReference& ref,
                                                                            std::string digest) {
  if (auto bad = validate_digest(digest)) co_return invalid_argument("bad digest " + digest);
  const std::string registry = registry_api_host(ref.domain());
  if (state_->referrers_known_absent(registry)) co_return not_found("registry has no referrers API for " + ref.name());
  auto r = co_await state_->registry_request(ref, http::verb::get, "/v2/" + ref.path() + "/referrers/" + digest,
                                             state_->options.max_manifest_bytes,
                                             "application/vnd.oci.image.index.v1+json");
  if (!r) co_return r.error();
  // 404 (and 400/405 from registries that route the path elsewhere) means no referrers API.
  if (r->status == 404 || r->status == 400 || r->status == 405) {
    // NAME_UNKNOWN: the repository is missing, which says nothing about the API.
    if (r->body.find("NAME_UNKNOWN") == std::string::npos) state_->remember_referrers(registry, false);
    co_return not_found("registry has no referrers API for " + ref.name());
  }
  if (r->status != 200) co_return status_error(*r, ref, "referrers of");
  state_->remember_referrers(registry, true);
  co_return checked_manifest(std::move(r.value()), ref, "");
}

asio::awaitable<Result<std::string>> OciRegistryClient::get(std::string base_url, std::string path, std::string scope,
                                                            std::size_t max_bytes) {
  auto url = parse_url(base_url);
  if (!url) co_return url.error();
  if (path.empty() || path.front() != '/') co_return invalid_argument("path must start with /: " + path);
  url->target = path;
  const std::string authority = url->authority();
  if (!url->https && state_->options.insecure_registries.count(authority) == 0) {
    co_return invalid_argument("plain HTTP to " + authority + " is not configured as insecure");
  }
  // Credentials for the server are looked up as for a registry of that host.
  auto r = co_await state_->authorized_request(authority, *url, state_->credentials.find(authority, ""),
                                               std::move(scope), http::verb::get, max_bytes, "application/json");
  if (!r) co_return r.error();
  if (r->status == 404) co_return not_found(authority + path + " not found (HTTP 404)");
  if (r->status == 401 || r->status == 403) {
    co_return permission_denied(authority + " refused access to " + path + " (HTTP " + std::to_string(r->status) + ")");
  }
  if (r->status == 429 || r->status >= 500 || r->status != 200) {
    co_return unavailable(authority + " answered HTTP " + std::to_string(r->status) + " for " + path);
  }
  co_return std::move(r->body);
}

}  // namespace imagegate::verifier
