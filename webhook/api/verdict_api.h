// The verdict API: a handler for the separate HTTPS listener (--api-listen) that ingests and serves scan
// verdicts. Routes (docs/api.md):
//
//   PUT /api/v1/verdicts/{digest}[?format=trivy|grype|sarif|native][&image=REF]  read-write token
//   PUT /api/v1/verdicts[?...]                  the digest comes from the report (exactly one named)
//   GET /api/v1/verdicts/{digest}               read-only or read-write token
//   GET /api/v1/verdicts?image=REF              the verdict of REF's digest, or those pushed for REF
//   GET /api/v1/inventory[?namespace=NS][&image=REF][&digest=D][&limit=N]   what runs where (read token)
//   GET /api/v1/inventory/rescan[?olderThan=24h][&namespace=NS]  digests whose verdict is missing or older
//   GET /api/v1/inventory/violations[?namespace=NS]  workloads the current policy would now deny
//   DELETE /api/v1/inventory?olderThan=30d      removes entries last seen before then (read-write token)
//   GET /healthz                                no token
//   ... and the routes VerdictApiOptions::more_routes adds (the console: webhook/console/console_routes.h).
// /api/v1/inventory also takes ?search=TEXT (a substring of the image), ?cve=ID and ?offset=N
// (api_query.h inventory_page_query); /violations answers its violations grouped by rule and reason too.
//
// Authentication happens on the request header (make_verdict_api_head_check): a request that is refused
// (401, 403, 404, 405, or a Content-Length over its route's limit: 413) never has its body read.
//
// Tokens (ApiTokens, webhook/api/api_tokens.h): no token or an unknown one: 401; a read-only token on PUT or
// DELETE: 403.
//
// A report is parsed and validated completely before it is stored: a rejected report changes nothing.
// Errors are JSON {"error": "..."}: 400 bad report or digest, 401, 403, 404, 405, 413 too large, 503 the
// store is unavailable.
//
// Thread-safe: the handler may run on any io_context thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "verifier/verdict/scan_report.h"
#include "webhook/api/api_tokens.h"
#include "webhook/server/https_server.h"
#include "webhook/server/router.h"
#include "webhook/server/server_config.h"
#include "webhook/evidence/verdict_lookup.h"

namespace imagegate::webhook {

class Metrics;

struct VerdictApiOptions {
  verifier::ReportLimits limits;
  std::size_t max_list = 50;  // verdicts returned for ?image=
  std::size_t max_inventory = 10'000;  // inventory entries one request reads (and ?limit= at most)
  Metrics* metrics = nullptr;          // requests by route and code, verdicts stored; may be null
  // The policy in force, for /api/v1/inventory/violations; empty or null: that route answers 503.
  std::function<std::shared_ptr<const policy::CompiledPolicy>()> policy;
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
  // More routes on this listener (the console), added after the API's own. Each wants a token like a GET
  // of the API unless its name is in `public_routes` (the console's page and its script and style: no data).
  std::function<void(Router&)> more_routes;
  std::vector<std::string> public_routes;
};

// The API's error answer, JSON {"error": "..."}; and a store's error: 500 internal, 503 otherwise.
HttpAnswer api_error(unsigned status, std::string_view message);
HttpAnswer api_store_error(const Error& e);

// The offline re-evaluation behind /api/v1/inventory/violations: for one inventory entry, the decision the
// policy would take now with the evidence that can be had without the network. The digest is the recorded
// one; signature checks count as verified (they were verified at admission and a digest's signatures do not
// change: they are not re-checked offline); the verdict is `verdict` (nullopt: missing, onMissing settles it).
policy::Decision reevaluate(const policy::CompiledPolicy& policy, const verifier::InventoryEntry& entry,
                            const std::optional<verifier::ScanVerdict>& verdict,
                            std::chrono::system_clock::time_point now);

// The RequestHandler for the API listener. `lookup` and `tokens` must outlive it.
RequestHandler make_verdict_api(VerdictLookup& lookup, std::shared_ptr<ApiTokens> tokens, VerdictApiOptions options);
// Its HttpsServerOptions::head_check: a request carrying a body is refused on its header (404, 405, 401,
// 403: the answers the handler gives) before the body is read; a verdict PUT may carry options.limits.max_bytes,
// any other route 16 KiB. Refusals are counted in options.metrics like the handler's answers.
RequestHeadCheck make_verdict_api_head_check(std::shared_ptr<ApiTokens> tokens, const VerdictApiOptions& options);

// What `imagegate serve` runs for verdicts. All empty when neither a store nor an API listener is
// configured (verdict checks then stay not_evaluated and the failurePolicy settles them).
struct Verdicts {
  std::string store_spec;
  std::unique_ptr<VerdictLookup> lookup;  // set when a store is configured
  std::shared_ptr<ApiTokens> tokens;      // set when the API listener is configured
};
// Opens config.store (default with an API listener: sqlite:$IMAGEGATE_DATA_DIR/verdicts.db, the data dir
// defaulting to /var/lib/imagegate) and loads the token file.
Result<Verdicts> open_verdicts(const ServerConfig& config);

}  // namespace imagegate::webhook
