#include "webhook/api/verdict_api.h"

#include "common/asio_warnings.h"  // before any Asio header

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "common/offload.h"
#include "policy/loader.h"
#include "verifier/image/image_reference.h"
#include "webhook/observe/metrics.h"

namespace imagegate::webhook {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kPrefix = "/api/v1/verdicts";
constexpr std::string_view kInventory = "/api/v1/inventory";
constexpr std::size_t kDefaultInventoryLimit = 1000;
// Every route but a verdict PUT reads no body; what a client sends anyway is bounded by this.
constexpr std::size_t kMaxBodilessRouteBytes = 16 * 1024;

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

HttpAnswer json_error(unsigned status, std::string_view message) {
  return {status, "application/json",
          nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::string query_param(std::string_view target, std::string_view name) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return "";
}

// The normalised form of a reference (docker.io/library/nginx:1.25, registry host canonical), or the text as
// given when it does not parse, so pushes and queries agree on spelling.
std::string normalized_image(const std::string& image) {
  if (image.empty()) return image;
  auto ref = verifier::ImageReference::from_container_image(image);
  if (ref) return ref->string();
  return image;
}

nlohmann::json summary(const verifier::ScanVerdict& v) {
  nlohmann::json counts = nlohmann::json::object();
  const auto by = v.vulnerability_counts();
  for (int s = 1; s <= 5; ++s) counts[std::string(verifier::severity_name(static_cast<verifier::Severity>(s)))] = by[s];
  return {{"digest", v.digest},
          {"image", v.image},
          {"scanner", v.scanner},
          {"scannedAt", verifier::format_rfc3339(v.scanned_at)},
          {"vulnerabilities", counts},
          {"secrets", v.secrets.size()},
          {"complianceFailed",
           std::count_if(v.compliance.begin(), v.compliance.end(), [](const auto& c) { return !c.passed; })}};
}

HttpAnswer store_error(const Error& e) {
  return json_error(e.code == ErrorCode::internal ? 500 : 503, e.message);
}

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

nlohmann::json entry_json(const verifier::InventoryEntry& e) {
  return {{"namespace", e.namespace_name}, {"kind", e.kind},
          {"name", e.name},                {"image", e.image},
          {"digest", e.digest},            {"firstSeen", verifier::format_rfc3339(e.first_seen)},
          {"lastSeen", verifier::format_rfc3339(e.last_seen)}};
}

// ?limit=N within [1, max]; default kDefaultInventoryLimit (or max when smaller). nullopt when malformed.
std::optional<std::size_t> parse_limit(const std::string& text, std::size_t max) {
  if (text.empty()) return std::min(kDefaultInventoryLimit, max);
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n == 0) return std::nullopt;
  return std::min(n, max);
}

// DELETE /api/v1/inventory?olderThan=30d: the retention backstop (a read-write token). Removes entries
// last seen longer ago than that. No default: removing is always asked for explicitly.
asio::awaitable<HttpAnswer> prune_inventory(VerdictLookup& lookup, asio::thread_pool& pool,
                                            const VerdictApiOptions& options, std::string_view target) {
  const std::string older_text = query_param(target, "olderThan");
  if (older_text.empty()) co_return json_error(400, "give ?olderThan= (a duration: 30d, 720h, ...)");
  const auto older = policy::parse_duration(older_text);
  if (!older) co_return json_error(400, "bad ?olderThan= (a positive duration in s, m, h, d: 30d, 720h)");
  const auto cutoff = options.clock() - *older;
  std::shared_ptr<verifier::VerdictStore> store = lookup.store();
  std::function<Result<std::size_t>()> call = [store, cutoff] { return store->prune_inventory(cutoff); };
  // Blocking (a transaction, or Redis round trips): on a thread of the API's own, never an I/O thread.
  Result<std::size_t> removed = co_await offload(pool, std::move(call));
  if (!removed) {
    co_return removed.error().code == ErrorCode::invalid_argument ? json_error(501, removed.error().message)
                                                                 : store_error(removed.error());
  }
  co_return HttpAnswer{200, "application/json",
                       dump({{"olderThan", older_text},
                             {"cutoff", verifier::format_rfc3339(std::chrono::floor<std::chrono::seconds>(cutoff))},
                             {"removed", *removed}})};
}

// GET /api/v1/inventory[/rescan|/violations] read (a read-only token suffices); DELETE /api/v1/inventory
// prunes (read-write).
asio::awaitable<HttpAnswer> handle_inventory(VerdictLookup& lookup, asio::thread_pool& pool,
                                             const VerdictApiOptions& options, HttpRequest request) {
  // Route, method and token were checked by refuse_on_header.
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  const std::string_view sub = path.substr(kInventory.size());
  if (sub.empty() && request.method == "DELETE") co_return co_await prune_inventory(lookup, pool, options, target);

  verifier::InventoryQuery query;
  query.namespace_name = query_param(target, "namespace");
  query.digest = query_param(target, "digest");
  if (!query.digest.empty() && !verifier::is_valid_digest(query.digest)) {
    co_return json_error(400, "bad ?digest= (want sha256:<64 lowercase hex>)");
  }
  if (const std::string image = query_param(target, "image"); !image.empty()) query.image = normalized_image(image);
  const auto now = options.clock();

  if (sub.empty()) {
    const auto limit = parse_limit(query_param(target, "limit"), options.max_inventory);
    if (!limit) co_return json_error(400, "bad ?limit= (a positive number)");
    // One more than asked: tells whether the answer is complete.
    query.limit = *limit + 1;
    auto snapshot = co_await lookup.inventory(std::move(query), false);
    if (!snapshot) co_return store_error(snapshot.error());
    const bool truncated = snapshot->entries.size() > *limit;
    if (truncated) snapshot->entries.resize(*limit);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& e : snapshot->entries) items.push_back(entry_json(e));
    co_return HttpAnswer{200, "application/json", dump({{"items", items}, {"truncated", truncated}})};
  }

  query.limit = options.max_inventory + 1;
  if (sub == "/rescan") {
    std::string older_text = query_param(target, "olderThan");
    if (older_text.empty()) older_text = "24h";
    auto older = parse_duration(older_text);
    if (!older) co_return json_error(400, "bad ?olderThan=: " + older.error().message);
    auto snapshot = co_await lookup.inventory(std::move(query), true);
    if (!snapshot) co_return store_error(snapshot.error());
    const bool truncated = snapshot->entries.size() > options.max_inventory;
    if (truncated) snapshot->entries.resize(options.max_inventory);
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
                             {"lastSeen", verifier::format_rfc3339(d.last_seen)}};
      if (verdict) item["scannedAt"] = verifier::format_rfc3339(verdict->scanned_at);
      digests.push_back(std::move(item));
    }
    co_return HttpAnswer{200, "application/json",
                         dump({{"olderThan", older_text}, {"digests", digests}, {"truncated", truncated}})};
  }

  // /violations
  const auto compiled = options.policy ? options.policy() : nullptr;
  if (!compiled) co_return json_error(503, "no policy is loaded");
  auto snapshot = co_await lookup.inventory(std::move(query), true);
  if (!snapshot) co_return store_error(snapshot.error());
  const bool truncated = snapshot->entries.size() > options.max_inventory;
  if (truncated) snapshot->entries.resize(options.max_inventory);
  nlohmann::json violations = nlohmann::json::array();
  for (const auto& e : snapshot->entries) {
    const policy::Decision d = reevaluate(*compiled, e, snapshot->verdicts[e.digest], now);
    if (d.action != policy::Action::deny) continue;
    nlohmann::json item = entry_json(e);
    item["rule"] = d.rule;
    item["reasons"] = d.reasons;
    violations.push_back(std::move(item));
  }
  co_return HttpAnswer{200, "application/json",
                       dump({{"policyVersion", policy::version_of(*compiled)},
                             {"violations", violations},
                             {"truncated", truncated}})};
}

bool is_inventory_path(std::string_view path) {
  return path == kInventory || path.substr(0, kInventory.size() + 1) == std::string(kInventory) + "/";
}

// What a request is refused on its header alone -- unknown route 404, method 405, no or unknown token 401,
// a read-only token where writing 403 -- or nullopt when it goes on. The head check asks it before a body
// is read and handle() asks it again, so the answer is the same whether a request carried a body or not.
std::optional<HttpAnswer> refuse_on_header(ApiTokens& tokens, const HttpRequest& request) {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/healthz") return std::nullopt;
  bool writes = false;
  if (is_inventory_path(path)) {
    const std::string_view sub = path.substr(kInventory.size());
    if (sub != "" && sub != "/rescan" && sub != "/violations") {
      return json_error(404, "not found: " + std::string(path.substr(0, 200)));
    }
    writes = sub.empty() && request.method == "DELETE";
    if (request.method != "GET" && !writes) {
      return json_error(405, sub.empty() ? "method not allowed: use GET or DELETE" : "method not allowed: use GET");
    }
  } else {
    if (path.substr(0, kPrefix.size()) != kPrefix || (path.size() > kPrefix.size() && path[kPrefix.size()] != '/')) {
      return json_error(404, "not found: " + std::string(path.substr(0, 200)));
    }
    writes = request.method == "PUT";
    if (!writes && request.method != "GET") return json_error(405, "method not allowed: use GET or PUT");
  }
  const Access access = tokens.check(request.authorization);
  if (access == Access::none) return json_error(401, "a valid bearer token is required");
  if (writes && access != Access::write) return json_error(403, "this token is read-only");
  return std::nullopt;
}

asio::awaitable<HttpAnswer> handle(VerdictLookup& lookup, asio::thread_pool& pool, ApiTokens& tokens,
                                   const VerdictApiOptions& options, HttpRequest request) {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/healthz") co_return HttpAnswer{200, "text/plain; charset=utf-8", "ok\n"};
  if (std::optional<HttpAnswer> refused = refuse_on_header(tokens, request)) co_return std::move(*refused);
  if (is_inventory_path(path)) co_return co_await handle_inventory(lookup, pool, options, std::move(request));
  std::string digest(path.size() > kPrefix.size() ? path.substr(kPrefix.size() + 1) : std::string_view());
  const bool put = request.method == "PUT";
  if (!digest.empty() && !verifier::is_valid_digest(digest)) {
    co_return json_error(400, "bad digest in the path (want sha256:<64 lowercase hex>)");
  }

  if (put) {
    std::optional<verifier::ReportFormat> format;
    if (const std::string f = query_param(target, "format"); !f.empty()) {
      format = verifier::parse_report_format(f);
      if (!format) co_return json_error(400, "unknown format (trivy, grype, sarif, native)");
    } else if (request.content_type.find("sarif") != std::string::npos) {
      format = verifier::ReportFormat::sarif;
    } else if (request.content_type.find("vnd.imagegate.verdict") != std::string::npos) {
      format = verifier::ReportFormat::native;
    }
    verifier::ReportInput in{request.body, format, digest, normalized_image(query_param(target, "image")),
                             std::chrono::system_clock::now()};
    Result<verifier::ScanVerdict> parsed = verifier::parse_scan_report(in, options.limits);
    if (!parsed) {
      co_return json_error(parsed.error().code == ErrorCode::resource_exhausted ? 413 : 400, parsed.error().message);
    }
    parsed->image = normalized_image(parsed->image);
    const nlohmann::json answer = summary(*parsed);
    verifier::ScanVerdict verdict = std::move(parsed).value();  // named: see verdict_lookup.cc on GCC 12
    Status stored = co_await lookup.put(std::move(verdict));
    if (options.metrics != nullptr) options.metrics->verdict_stored(static_cast<bool>(stored));
    if (!stored) co_return store_error(stored.error());
    co_return HttpAnswer{200, "application/json", answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  }

  if (!digest.empty()) {
    auto got = co_await lookup.get(digest);
    if (!got) co_return store_error(got.error());
    if (!got->has_value()) co_return json_error(404, "no scan verdict for " + digest);
    co_return HttpAnswer{200, "application/json", verifier::to_native_json(**got)};
  }
  const std::string image = query_param(target, "image");
  if (image.empty()) co_return json_error(400, "give a digest in the path or ?image=REF");
  std::vector<verifier::ScanVerdict> found;
  auto ref = verifier::ImageReference::parse_normalized(image);
  if (auto* parsed = std::get_if<verifier::ImageReference>(&ref); parsed != nullptr && parsed->has_digest()) {
    std::string ref_digest = parsed->digest();
    auto got = co_await lookup.get(std::move(ref_digest));
    if (!got) co_return store_error(got.error());
    if (got->has_value()) found.push_back(std::move(**got));
  } else {
    std::string normalized = normalized_image(image);
    auto list = co_await lookup.find_by_image(std::move(normalized), options.max_list);
    if (!list) co_return store_error(list.error());
    found = std::move(list).value();
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : found) out.push_back(summary(v));
  co_return HttpAnswer{200, "application/json",
                       nlohmann::json{{"verdicts", out}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

// The route label of a request, for the metrics (a fixed set: never the digest or image).
std::string_view route_of(const HttpRequest& request) {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/healthz") return "healthz";
  if (path == kInventory) return request.method == "DELETE" ? "inventory_prune" : "inventory";
  if (path == std::string(kInventory) + "/rescan") return "inventory_rescan";
  if (path == std::string(kInventory) + "/violations") return "inventory_violations";
  if (path == kPrefix || path.substr(0, kPrefix.size() + 1) == std::string(kPrefix) + "/") {
    if (request.method == "PUT") return "verdicts_put";
    return path.size() > kPrefix.size() + 1 ? "verdicts_get" : "verdicts_list";
  }
  return "other";
}

}  // namespace

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
  if (plan.needs.verdict) {
    if (verdict) {
      evidence.verdict = {policy::EvidenceStatus::verified,
                          "scanned by " + verdict->scanner + " at " + verifier::format_rfc3339(verdict->scanned_at)};
      evidence.scan = *verdict;
    } else {
      evidence.verdict = {policy::EvidenceStatus::failed, "no scan verdict for " + entry.digest};
      evidence.scan_missing = true;
    }
  }
  return policy::evaluate(policy, image, evidence, now);
}

Result<std::vector<std::pair<Access, std::array<unsigned char, 32>>>> ApiTokens::parse(const std::string& text,
                                                                                        const std::string& name) {
  std::vector<std::pair<Access, std::array<unsigned char, 32>>> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    const std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const std::string_view entry = std::string_view(line).substr(start);
    Access access = Access::none;
    if (entry.substr(0, 3) == "rw:") access = Access::write;
    if (entry.substr(0, 3) == "ro:") access = Access::read;
    if (access == Access::none) {
      return invalid_argument(name + ":" + std::to_string(n) + ": a token line starts with rw: or ro:");
    }
    const std::string_view token = entry.substr(3);
    if (token.size() < 16) return invalid_argument(name + ":" + std::to_string(n) + ": tokens have at least 16 characters");
    out.emplace_back(access, sha256(token));
  }
  if (out.empty()) return invalid_argument(name + ": no tokens");
  return out;
}

Result<std::shared_ptr<ApiTokens>> ApiTokens::load(std::filesystem::path file) {
  auto tokens = std::make_shared<ApiTokens>();
  tokens->file_ = std::move(file);
  std::error_code ec;
  tokens->mtime_ = std::filesystem::last_write_time(tokens->file_, ec);
  std::ifstream in(tokens->file_, std::ios::binary);
  if (ec || !in) return invalid_argument("cannot read the API token file " + tokens->file_.string());
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse(text.str(), tokens->file_.string());
  if (!parsed) return parsed.error();
  tokens->tokens_ = std::move(parsed).value();
  return tokens;
}

void ApiTokens::reload_if_changed() {
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(file_, ec);
  if (ec || mtime == mtime_) return;
  std::ifstream in(file_, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  // A half-written or broken file keeps the tokens we had.
  if (auto parsed = parse(text.str(), file_.string())) {
    tokens_ = std::move(parsed).value();
    mtime_ = mtime;
  }
}

Access ApiTokens::check(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer) return Access::none;
  const auto presented = sha256(authorization.substr(kBearer.size()));
  std::lock_guard lock(mutex_);
  if (!file_.empty()) reload_if_changed();
  Access best = Access::none;
  // Every token is compared, matching or not: the time taken does not depend on which one matched.
  for (const auto& [access, hash] : tokens_) {
    if (CRYPTO_memcmp(hash.data(), presented.data(), hash.size()) == 0 && access > best) best = access;
  }
  return best;
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
asio::awaitable<HttpAnswer> guarded_handle(VerdictLookup* lookup, std::shared_ptr<asio::thread_pool> pool,
                                           std::shared_ptr<ApiTokens> tokens,
                                           std::shared_ptr<const VerdictApiOptions> options, HttpRequest request) {
  const std::string_view route = route_of(request);
  HttpAnswer answer;
  try {
    answer = co_await handle(*lookup, *pool, *tokens, *options, std::move(request));
  } catch (const std::exception& e) {
    answer = json_error(500, std::string("internal error: ") + e.what());
  }
  if (options->metrics != nullptr) options->metrics->verdict_api_request(route, answer.status);
  co_return answer;
}

RequestHeadCheck make_verdict_api_head_check(std::shared_ptr<ApiTokens> tokens, const VerdictApiOptions& options) {
  const std::size_t put_limit = options.limits.max_bytes;
  Metrics* metrics = options.metrics;
  return [tokens = std::move(tokens), put_limit, metrics](const HttpRequest& head) {
    HeadDecision decision;
    decision.refuse = refuse_on_header(*tokens, head);
    const std::string_view route = route_of(head);
    decision.body_limit = route == "verdicts_put" ? put_limit : kMaxBodilessRouteBytes;
    // Counted like every other answer of the API (the handler, which counts those, never runs).
    if (decision.refuse && metrics != nullptr) metrics->verdict_api_request(route, decision.refuse->status);
    return decision;
  };
}

RequestHandler make_verdict_api(VerdictLookup& lookup, std::shared_ptr<ApiTokens> tokens, VerdictApiOptions options) {
  auto shared_options = std::make_shared<const VerdictApiOptions>(std::move(options));
  // One thread for the rare blocking calls VerdictLookup does not offer (prune); the handler (and every
  // copy of it) holds it, and it joins when the last copy goes.
  auto pool = std::make_shared<asio::thread_pool>(1);
  return [lookup = &lookup, pool, tokens = std::move(tokens), shared_options](HttpRequest request) {
    return guarded_handle(lookup, pool, tokens, shared_options, std::move(request));
  };
}

}  // namespace imagegate::webhook
