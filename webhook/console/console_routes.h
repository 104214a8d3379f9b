// The console: a read-only web page and the JSON views behind it, served on the verdict API listener
// (webhook/api/verdict_api.h: VerdictApiOptions::more_routes) behind the API's bearer tokens (a read-only
// token suffices). Routes (docs/api.md "Console"):
//
//   GET /console, /console/, /console/console.js, /console/console.css  the page (no token: it holds no data)
//   GET /api/v1/summary                     counts, reviews by decision over the last hour (this replica)
//   GET /api/v1/decisions[?decision=&namespace=&rule=&before=&limit=]   this replica's recent decisions
//   GET /api/v1/decisions/{id}              one of them in full (the decision-log line)
//   GET /api/v1/inventory/digests[?namespace=&search=&cve=&limit=&offset=]   the inventory by digest
//   GET /api/v1/inventory/workloads[?...]   the inventory by workload
//   GET /api/v1/policy                      the policy in force
// (Violations now: /api/v1/inventory/violations, the API's own route.)
//
// Safety: the page's script inserts every value as text (textContent, never innerHTML); the listener sends
// console_answer_headers() with every answer: a Content-Security-Policy allowing only the page's own script
// and style (no inline script or style, no other origin), nosniff, no-store, no framing.
//
// Thread-safe: the handlers may run on any io thread; what ConsoleSources points to must outlive them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "policy/policy.h"
#include "webhook/api/verdict_api.h"
#include "webhook/evidence/verdict_lookup.h"
#include "webhook/observe/decision_ring.h"
#include "webhook/server/router.h"

namespace imagegate::webhook {

struct ConsoleSources {
  const DecisionRing* recent = nullptr;  // required
  VerdictLookup* lookup = nullptr;       // required: the inventory and verdicts
  std::function<std::shared_ptr<const policy::CompiledPolicy>()> policy;  // the policy in force (may answer null)
  std::function<std::chrono::system_clock::time_point()> policy_loaded_at;
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
  std::string replica;                   // this process's name (the host name: a pod's name)
  std::size_t max_inventory = 10'000;    // inventory entries one view reads at most
};

// Adds the routes above to `router` (the verdict API's).
void add_console_routes(Router& router, std::shared_ptr<const ConsoleSources> sources);
// Sets `options` (the verdict API's) to add them, and lets the page's routes answer without a token.
void add_console(VerdictApiOptions& options, std::shared_ptr<const ConsoleSources> sources);
// The names of the routes that answer without a token (the page, its script and its style).
std::vector<std::string> console_public_routes();
// The header fields every answer of the API listener carries.
std::vector<std::pair<std::string, std::string>> console_answer_headers();
// The host name of this process (a pod's name), "" when unknown.
std::string replica_name();

}  // namespace imagegate::webhook
