#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/api/verdict_api.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/offload.h"
#include "common/rfc3339.h"
#include "verifier/image/image_reference.h"
#include "webhook/api/api_query.h"
#include "webhook/observe/metrics.h"
#include "webhook/server/router.h"

namespace imagegate::webhook {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kPrefix = "/api/v1/verdicts";
constexpr std::string_view kInventory = "/api/v1/inventory";
// Every route but a verdict PUT reads no body; what a client sends anyway is bounded by this.
constexpr std::size_t kMaxBodilessRouteBytes = 16 * 1024;

HttpAnswer json_error(unsigned status, std::string_view message) { return api_error(status, message); }

nlohmann::json summary(const verifier::ScanVerdict& v) {
  nlohmann::json counts = nlohmann::json::object();
  const auto by = v.vulnerability_counts();
  for (int s = 1; s <= 5; ++s) counts[std::string(verifier::severity_name(static_cast<verifier::Severity>(s)))] = by[s];
  return {{"digest", v.digest},
          {"image", v.image},
          {"scanner", v.scanner},
          {"scannedAt", format_rfc3339(v.scanned_at)},
          {"vulnerabilities", counts},
          {"secrets", v.secrets.size()},
          {"complianceFailed",
           std::count_if(v.compliance.begin(), v.compliance.end(), [](const auto& c) { return !c.passed; })}};
}

HttpAnswer store_error(const Error& e) { return api_store_error(e); }

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

nlohmann::json entry_json(const verifier::InventoryEntry& e) {
  return {{"namespace", e.namespace_name}, {"kind", e.kind},
          {"name", e.name},                {"image", e.image},
          {"digest", e.digest},            {"firstSeen", format_rfc3339(e.first_seen)},
          {"lastSeen", format_rfc3339(e.last_seen)}};
}

// What the API's handlers share. `lookup` and `pool` are null in the head check's copy, whose router only
// ever matches (its handlers never run).
struct Api {
  VerdictLookup* lookup = nullptr;
  std::shared_ptr<asio::thread_pool> pool;
  std::shared_ptr<ApiTokens> tokens;
  VerdictApiOptions options;
  Router router{json_error, 200};  // a 404 quotes at most 200 bytes of the path
};

// DELETE /api/v1/inventory?olderThan=30d: the retention backstop (a read-write token). Removes entries
// last seen longer ago than that. No default: removing is always asked for explicitly.
asio::awaitable<HttpAnswer> prune_inventory(const Api& api, HttpRequest request) {
  const std::string older_text = query_param(request.target, "olderThan");
  if (older_text.empty()) co_return json_error(400, "give ?olderThan= (a duration: 30d, 720h, ...)");
  const auto older = parse_positive_seconds(older_text);  // common/duration.h: 30d, 720h, 1h30m
  if (!older) co_return json_error(400, "bad ?olderThan= (a positive duration: numbers with units ms, s, m, h, d: 30d, 720h)");
  const auto cutoff = api.options.clock() - *older;
  std::shared_ptr<verifier::VerdictStore> store = api.lookup->store();
  std::function<Result<std::size_t>()> call = [store, cutoff] { return store->prune_inventory(cutoff); };
  // Blocking (a transaction, or Redis round trips): on a thread of the API's own, never an I/O thread.
  Result<std::size_t> removed = co_await offload(*api.pool, std::move(call));
  if (!removed) {
    co_return removed.error().code == ErrorCode::invalid_argument ? json_error(501, removed.error().message)
                                                                 : store_error(removed.error());
  }
  co_return HttpAnswer{200, "application/json",
                       dump({{"olderThan", older_text},
                             {"cutoff", format_rfc3339(std::chrono::floor<std::chrono::seconds>(cutoff))},
                             {"removed", *removed}})};
}

HttpAnswer bad_digest_query() { return json_error(400, "bad ?digest= (want sha256:<64 lowercase hex>)"); }

// GET /api/v1/inventory: what runs where (a read-only token suffices). The store filters, orders and
// skips (?offset=); `truncated`: more entries follow this page.
asio::awaitable<HttpAnswer> list_inventory(const Api& api, HttpRequest request) {
  Result<verifier::InventoryQuery> query = inventory_page_query(request.target, api.options.max_inventory);
  if (!query) co_return json_error(400, query.error().message);
  const std::size_t limit = query->limit;
  const std::size_t offset = query->offset;
  // One more than asked: tells whether the answer is complete.
  query->limit = limit + 1;
  verifier::InventoryQuery asked = std::move(query).value();  // named: see verdict_lookup.cc on GCC 12
  auto snapshot = co_await api.lookup->inventory(std::move(asked), false);
  if (!snapshot) co_return store_error(snapshot.error());
  const bool truncated = snapshot->entries.size() > limit;
  if (truncated) snapshot->entries.resize(limit);
  nlohmann::json items = nlohmann::json::array();
  for (const auto& e : snapshot->entries) items.push_back(entry_json(e));
  co_return HttpAnswer{200, "application/json",
                       dump({{"items", items}, {"offset", offset}, {"truncated", truncated}})};
}

// GET /api/v1/inventory/rescan[?olderThan=24h]: digests whose verdict is missing or older than that.
asio::awaitable<HttpAnswer> rescan_inventory(const Api& api, HttpRequest request) {
  std::optional<verifier::InventoryQuery> query = inventory_query(request.target);
  if (!query) co_return bad_digest_query();
  const auto now = api.options.clock();
  query->limit = api.options.max_inventory + 1;
  std::string older_text = query_param(request.target, "olderThan");
  if (older_text.empty()) older_text = "24h";
  // common/duration.h's grammar (0 allowed: every digest is due).
  const std::optional<std::chrono::milliseconds> older = parse_duration(older_text);
  if (!older) co_return json_error(400, "bad ?olderThan=: expected " + std::string(kDurationSyntax));
  auto snapshot = co_await api.lookup->inventory(std::move(*query), true);
  if (!snapshot) co_return store_error(snapshot.error());
  const bool truncated = snapshot->entries.size() > api.options.max_inventory;
  if (truncated) snapshot->entries.resize(api.options.max_inventory);
  // One line per digest: a scan job scans each digest once, whatever number of workloads run it.
  struct Due {
    std::set<std::string> images;
    std::size_t workloads = 0;
    std::chrono::system_clock::time_point last_seen{};
  };
  std::map<std::string, Due> due;
  const auto cutoff = now - *older;
  for (const auto& e : snapshot->entries) {
    const auto& verdict = snapshot->verdicts[e.digest];
    if (verdict && verdict->scanned_at >= cutoff) continue;
    Due& d = due[e.digest];
    d.images.insert(e.image);
    ++d.workloads;
    d.last_seen = std::max(d.last_seen, e.last_seen);
  }
  nlohmann::json digests = nlohmann::json::array();
  for (const auto& [digest, d] : due) {
    const auto& verdict = snapshot->verdicts[digest];
    nlohmann::json item = {{"digest", digest},
                           {"images", d.images},
                           {"reason", verdict ? "stale" : "missing"},
                           {"workloads", d.workloads},
                           {"lastSeen", format_rfc3339(d.last_seen)}};
    if (verdict) item["scannedAt"] = format_rfc3339(verdict->scanned_at);
    digests.push_back(std::move(item));
  }
  co_return HttpAnswer{200, "application/json",
                       dump({{"olderThan", older_text}, {"digests", digests}, {"truncated", truncated}})};
}

// GET /api/v1/inventory/violations: workloads the policy in force would deny now.
asio::awaitable<HttpAnswer> inventory_violations(const Api& api, HttpRequest request) {
  std::optional<verifier::InventoryQuery> query = inventory_query(request.target);
  if (!query) co_return bad_digest_query();
  const auto now = api.options.clock();
  query->limit = api.options.max_inventory + 1;
  const auto compiled = api.options.policy ? api.options.policy() : nullptr;
  if (!compiled) co_return json_error(503, "no policy is loaded");
  auto snapshot = co_await api.lookup->inventory(std::move(*query), true);
  if (!snapshot) co_return store_error(snapshot.error());
  const bool truncated = snapshot->entries.size() > api.options.max_inventory;
  if (truncated) snapshot->entries.resize(api.options.max_inventory);
  nlohmann::json violations = nlohmann::json::array();
  // The same violations by (rule, first reason): what to replace, for one fix at a time.
  std::map<std::pair<std::string, std::string>, nlohmann::json> groups;
  for (const auto& e : snapshot->entries) {
    const policy::Decision d = reevaluate(*compiled, e, snapshot->verdicts[e.digest], now);
    if (d.action != policy::Action::deny) continue;
    nlohmann::json item = entry_json(e);
    item["rule"] = d.rule;
    item["reasons"] = d.reasons;
    nlohmann::json& group = groups[{d.rule, d.reasons.empty() ? std::string() : d.reasons.front()}];
    if (group.is_null()) group = nlohmann::json::array();
    group.push_back(entry_json(e));
    violations.push_back(std::move(item));
  }
  nlohmann::json grouped = nlohmann::json::array();
  for (auto& [key, workloads] : groups) {
    grouped.push_back({{"rule", key.first}, {"reason", key.second}, {"workloads", std::move(workloads)}});
  }
  co_return HttpAnswer{200, "application/json",
                       dump({{"policyVersion", policy::version_of(*compiled)},
                             {"violations", violations},
                             {"groups", grouped},
                             {"truncated", truncated}})};
}

// The digest a /api/v1/verdicts/{digest} path names ("" for /api/v1/verdicts), or nullopt when it is not one.
std::optional<std::string> digest_in_path(std::string_view target) {
  const std::string_view path = path_of(target);
  std::string digest(path.size() > kPrefix.size() ? path.substr(kPrefix.size() + 1) : std::string_view());
  if (!digest.empty() && !verifier::is_valid_digest(digest)) return std::nullopt;
  return digest;
}

HttpAnswer bad_digest_path() { return json_error(400, "bad digest in the path (want sha256:<64 lowercase hex>)"); }

// PUT /api/v1/verdicts[/{digest}]: parses, validates and stores a report (a read-write token).
asio::awaitable<HttpAnswer> put_verdict(const Api& api, HttpRequest request) {
  const std::optional<std::string> digest = digest_in_path(request.target);
  if (!digest) co_return bad_digest_path();
  std::optional<verifier::ReportFormat> format;
  if (const std::string f = query_param(request.target, "format"); !f.empty()) {
    format = verifier::parse_report_format(f);
    if (!format) co_return json_error(400, "unknown format (trivy, grype, sarif, native)");
  } else if (request.content_type.find("sarif") != std::string::npos) {
    format = verifier::ReportFormat::sarif;
  } else if (request.content_type.find("vnd.imagegate.verdict") != std::string::npos) {
    format = verifier::ReportFormat::native;
  }
  verifier::ReportInput in{request.body, format, *digest, normalized_image(query_param(request.target, "image")),
                           std::chrono::system_clock::now()};
  Result<verifier::ScanVerdict> parsed = verifier::parse_scan_report(in, api.options.limits);
  if (!parsed) {
    co_return json_error(parsed.error().code == ErrorCode::resource_exhausted ? 413 : 400, parsed.error().message);
  }
  parsed->image = normalized_image(parsed->image);
  const nlohmann::json answer = summary(*parsed);
  verifier::ScanVerdict verdict = std::move(parsed).value();  // named: see verdict_lookup.cc on GCC 12
  Status stored = co_await api.lookup->put(std::move(verdict));
  if (api.options.metrics != nullptr) api.options.metrics->verdict_stored(static_cast<bool>(stored));
  if (!stored) co_return store_error(stored.error());
  co_return HttpAnswer{200, "application/json", dump(answer)};
}

// GET /api/v1/verdicts/{digest}, or GET /api/v1/verdicts?image=REF (a read-only token suffices).
asio::awaitable<HttpAnswer> get_verdicts(const Api& api, HttpRequest request) {
  const std::optional<std::string> digest = digest_in_path(request.target);
  if (!digest) co_return bad_digest_path();
  if (!digest->empty()) {
    auto got = co_await api.lookup->get(*digest);
    if (!got) co_return store_error(got.error());
    if (!got->has_value()) co_return json_error(404, "no scan verdict for " + *digest);
    co_return HttpAnswer{200, "application/json", verifier::to_native_json(**got)};
  }
  const std::string image = query_param(request.target, "image");
  if (image.empty()) co_return json_error(400, "give a digest in the path or ?image=REF");
  std::vector<verifier::ScanVerdict> found;
  auto ref = verifier::ImageReference::parse_normalized(image);
  if (auto* parsed = std::get_if<verifier::ImageReference>(&ref); parsed != nullptr && parsed->has_digest()) {
    std::string ref_digest = parsed->digest();
    auto got = co_await api.lookup->get(std::move(ref_digest));
    if (!got) co_return store_error(got.error());
    if (got->has_value()) found.push_back(std::move(**got));
  } else {
    std::string normalized = normalized_image(image);
    auto list = co_await api.lookup->find_by_image(std::move(normalized), api.options.max_list);
    if (!list) co_return store_error(list.error());
    found = std::move(list).value();
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : found) out.push_back(summary(v));
  co_return HttpAnswer{200, "application/json", dump({{"verdicts", out}})};
}

asio::awaitable<HttpAnswer> healthz(HttpRequest) { co_return HttpAnswer{200, "text/plain; charset=utf-8", "ok\n"}; }

// The API's routes (docs/api.md), the table verdict_api.h lists. Names are the metrics' route labels. Every
// route but /healthz wants a token: a read-only one for GET, a read-write one for PUT and DELETE.
void add_routes(Api& api) {
  using Match = Router::Match;
  const Api* a = &api;  // the router is a member of `api`: its handlers never outlive it
  api.router.add("", "/healthz", Match::exact, healthz, "healthz");
  api.router.add("GET", std::string(kInventory), Match::exact,
                 [a](HttpRequest r) { return list_inventory(*a, std::move(r)); }, "inventory");
  api.router.add("DELETE", std::string(kInventory), Match::exact,
                 [a](HttpRequest r) { return prune_inventory(*a, std::move(r)); }, "inventory_prune");
  api.router.add("GET", std::string(kInventory) + "/rescan", Match::exact,
                 [a](HttpRequest r) { return rescan_inventory(*a, std::move(r)); }, "inventory_rescan");
  api.router.add("GET", std::string(kInventory) + "/violations", Match::exact,
                 [a](HttpRequest r) { return inventory_violations(*a, std::move(r)); }, "inventory_violations");
  api.router.add("GET", std::string(kPrefix), Match::subtree,
                 [a](HttpRequest r) { return get_verdicts(*a, std::move(r)); }, "verdicts_get");
  api.router.add("PUT", std::string(kPrefix), Match::subtree,
                 [a](HttpRequest r) { return put_verdict(*a, std::move(r)); }, "verdicts_put");
  if (api.options.more_routes) api.options.more_routes(api.router);
}

std::shared_ptr<const Api> make_api(VerdictLookup* lookup, std::shared_ptr<asio::thread_pool> pool,
                                    std::shared_ptr<ApiTokens> tokens, VerdictApiOptions options) {
  auto api = std::make_shared<Api>();
  api->lookup = lookup;
  api->pool = std::move(pool);
  api->tokens = std::move(tokens);
  api->options = std::move(options);
  add_routes(*api);
  return api;
}

// The route label of a request, for the metrics (a fixed set: never the digest or image). A 405 is labelled
// by its path; GET /api/v1/verdicts without a digest is a listing.
std::string_view route_label(const Router::Found& found, std::string_view target) {
  if (found.route == nullptr) return "other";
  if (found.route->name == "verdicts_get" && path_of(target).size() <= kPrefix.size() + 1) return "verdicts_list";
  return found.route->name;
}

// What a request is refused on its header alone -- unknown route 404, method 405, no or unknown token 401,
// a read-only token where writing 403 -- or nullopt when it goes on. The head check asks it before a body
// is read and the handler asks it again, so the answer is the same whether a request carried a body or not.
std::optional<HttpAnswer> refuse_on_header(const Api& api, const Router::Found& found, const HttpRequest& request) {
  if (found.refusal) return found.refusal;
  if (found.route->name == "healthz") return std::nullopt;
  const auto& open = api.options.public_routes;
  if (std::find(open.begin(), open.end(), found.route->name) != open.end()) return std::nullopt;
  const bool writes = request.method == "PUT" || request.method == "DELETE";
  const Access access = api.tokens->check(request.authorization);
  if (access == Access::none) return json_error(401, "a valid bearer token is required");
  if (writes && access != Access::write) return json_error(403, "this token is read-only");
  return std::nullopt;
}

}  // namespace

HttpAnswer api_error(unsigned status, std::string_view message) {
  return {status, "application/json", dump(nlohmann::json{{"error", message}})};
}

HttpAnswer api_store_error(const Error& e) { return api_error(e.code == ErrorCode::internal ? 500 : 503, e.message); }

policy::Decision reevaluate(const policy::CompiledPolicy& policy, const verifier::InventoryEntry& entry,
                            const std::optional<verifier::ScanVerdict>& verdict,
                            std::chrono::system_clock::time_point now) {
  const policy::ImageUnderReview image{entry.namespace_name, entry.image};
  const policy::Plan plan = policy::plan(policy, image);
  policy::Evidence evidence;
  evidence.digest = entry.digest;
  const policy::CheckEvidence recorded{policy::EvidenceStatus::verified, "recorded at admission"};
  if (plan.needs.resolve_digest) evidence.digest_resolution = recorded;
  // Signatures were verified when the workload was admitted, and a digest's content cannot change; only a
  // revoked key or a changed trust anchor would change the answer, and that needs the network.
  for (const auto& anchor : plan.needs.anchors) {
    evidence.signatures.push_back({anchor, {policy::EvidenceStatus::verified, "verified at admission (not re-checked)"}});
  }
  // Attestations likewise: statements about a digest were decided when it was admitted.
  for (const policy::AttestationRequirement* requirement : plan.needs.attestations) {
    policy::AttestationEvidence a{requirement->name, {}};
    for (const auto& anchor : requirement->anchors) {
      a.anchors.push_back({anchor, {policy::EvidenceStatus::verified, "verified at admission (not re-checked)"}});
    }
    evidence.attestations.push_back(std::move(a));
  }
  if (plan.needs.verdict) {
    if (verdict) {
      evidence.verdict = {policy::EvidenceStatus::verified,
                          "scanned by " + verdict->scanner + " at " + format_rfc3339(verdict->scanned_at)};
      evidence.scan = *verdict;
    } else {
      evidence.verdict = {policy::EvidenceStatus::failed, "no scan verdict for " + entry.digest};
      evidence.scan_missing = true;
    }
  }
  return policy::evaluate(policy, image, evidence, now);
}

Result<Verdicts> open_verdicts(const ServerConfig& config) {
  Verdicts out;
  out.store_spec = config.store;
  if (out.store_spec.empty() && !config.api_listen.empty()) {
    const char* env = std::getenv("IMAGEGATE_DATA_DIR");
    const std::filesystem::path dir = env != nullptr && *env != '\0' ? env : "/var/lib/imagegate";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return invalid_argument("cannot create the data directory " + dir.string() + ": " + ec.message());
    out.store_spec = "sqlite:" + (dir / "verdicts.db").string();
  }
  if (!out.store_spec.empty()) {
    auto store = verifier::open_verdict_store(out.store_spec);
    if (!store) return Error{store.error().code, "store: " + store.error().message};
    out.lookup = std::make_unique<VerdictLookup>(std::shared_ptr<verifier::VerdictStore>(std::move(store).value()),
                                                 config.verdict_cache_ttl);
  }
  if (!config.api_listen.empty()) {
    auto tokens = ApiTokens::load(config.api_token_file);
    if (!tokens) return tokens.error();
    out.tokens = std::move(tokens).value();
  }
  return out;
}

// A plain coroutine, not a capturing coroutine lambda (GCC 12 miscompiles those, see verdict_lookup.cc).
asio::awaitable<HttpAnswer> guarded_handle(std::shared_ptr<const Api> api, HttpRequest request) {
  const Router::Found found = api->router.find(request.method, request.target);
  const std::string_view route = route_label(found, request.target);
  HttpAnswer answer;
  try {
    if (std::optional<HttpAnswer> refused = refuse_on_header(*api, found, request)) {
      answer = std::move(*refused);
    } else {
      answer = co_await found.route->handler(std::move(request));
    }
  } catch (const std::exception& e) {
    answer = json_error(500, std::string("internal error: ") + e.what());
  }
  if (api->options.metrics != nullptr) api->options.metrics->verdict_api_request(route, answer.status);
  co_return answer;
}

RequestHeadCheck make_verdict_api_head_check(std::shared_ptr<ApiTokens> tokens, const VerdictApiOptions& options) {
  // Matching only: no store, no thread (the handlers of this copy never run).
  std::shared_ptr<const Api> api = make_api(nullptr, nullptr, std::move(tokens), options);
  return [api](const HttpRequest& head) {
    HeadDecision decision;
    const Router::Found found = api->router.find(head.method, head.target);
    decision.refuse = refuse_on_header(*api, found, head);
    const std::string_view route = route_label(found, head.target);
    decision.body_limit = route == "verdicts_put" ? api->options.limits.max_bytes : kMaxBodilessRouteBytes;
    // Counted like every other answer of the API (the handler, which counts those, never runs).
    if (decision.refuse && api->options.metrics != nullptr) {
      api->options.metrics->verdict_api_request(route, decision.refuse->status);
    }
    return decision;
  };
}

RequestHandler make_verdict_api(VerdictLookup& lookup, std::shared_ptr<ApiTokens> tokens, VerdictApiOptions options) {
  // One thread for the rare blocking calls VerdictLookup does not offer (prune); the handler (and every
  // copy of it) holds it, and it joins when the last copy goes.
  std::shared_ptr<const Api> api =
      make_api(&lookup, std::make_shared<asio::thread_pool>(1), std::move(tokens), std::move(options));
  return [api](HttpRequest request) { return guarded_handle(api, std::move(request)); };
}

}  // namespace imagegate::webhook
