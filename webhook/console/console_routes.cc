#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/console/console_routes.h"

#include <unistd.h>

#include <algorithm>
#include <climits>

#include "webhook/api/api_query.h"
#include "webhook/api/verdict_api.h"
#include "webhook/console/console_assets.h"
#include "webhook/console/console_views.h"

namespace imagegate::webhook {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kDecisions = "/api/v1/decisions";

HttpAnswer json_answer(const nlohmann::json& j) {
  return {200, "application/json", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

// GET /api/v1/inventory/digests and /workloads: the store filters (namespace, image, search, cve) and
// returns at most max_inventory entries, newest first; they are grouped here, and only the page's digests'
// verdicts are read.
asio::awaitable<HttpAnswer> inventory_groups(const ConsoleSources& s, HttpRequest request,
                                             InventoryGrouping grouping) {
  Result<verifier::InventoryQuery> query = inventory_page_query(request.target, s.max_inventory);
  if (!query) co_return api_error(400, query.error().message);
  const std::size_t limit = query->limit;
  const std::size_t offset = query->offset;
  verifier::InventoryQuery all = std::move(query).value();  // named: see verdict_lookup.cc on GCC 12
  all.limit = s.max_inventory + 1;
  all.offset = 0;
  auto snapshot = co_await s.lookup->inventory(std::move(all), false);
  if (!snapshot) co_return api_store_error(snapshot.error());
  const bool truncated = snapshot->entries.size() > s.max_inventory;
  if (truncated) snapshot->entries.resize(s.max_inventory);
  std::vector<InventoryGroup> groups = group_inventory(snapshot->entries, grouping);
  const std::size_t total = groups.size();
  const std::size_t from = std::min(offset, total);
  const std::size_t to = std::min(from + limit, total);
  std::vector<InventoryGroup> page(groups.begin() + static_cast<std::ptrdiff_t>(from),
                                   groups.begin() + static_cast<std::ptrdiff_t>(to));
  const std::vector<std::string> wanted = digests_of(page);
  VerdictsByDigest verdicts;
  for (const std::string& digest : wanted) {
    std::string asked = digest;
    auto got = co_await s.lookup->get(std::move(asked));
    if (!got) co_return api_store_error(got.error());
    verdicts[digest] = std::move(got).value();
  }
  const auto compiled = s.policy ? s.policy() : nullptr;
  co_return json_answer(inventory_view(page, grouping, verdicts, compiled.get(), total, offset, truncated, s.clock()));
}

// GET /api/v1/decisions[?...] and /api/v1/decisions/{id}.
HttpAnswer decisions(const ConsoleSources& s, const HttpRequest& request) {
  const std::string_view path = path_of(request.target);
  if (path.size() > kDecisions.size() + 1) {
    const auto id = parse_decision_id(path.substr(kDecisions.size() + 1));
    if (!id) return api_error(400, "bad decision id in the path (a positive number)");
    const std::optional<RecentDecision> found = s.recent->find(*id);
    if (!found) return api_error(404, "decision " + std::to_string(*id) + " is not kept (any more) on this replica");
    return {200, "application/json", decision_body(*found)};
  }
  Result<RecentFilter> filter = recent_filter(request.target);
  if (!filter) return api_error(400, filter.error().message);
  return {200, "application/json", decisions_body(s.recent->list(*filter), filter->limit, s.replica)};
}

HttpAnswer summary(const ConsoleSources& s) {
  const auto compiled = s.policy ? s.policy() : nullptr;
  return json_answer(summary_view(*s.recent, s.replica, compiled ? policy::version_of(*compiled) : "", s.clock()));
}

HttpAnswer policy_in_force(const ConsoleSources& s) {
  const auto compiled = s.policy ? s.policy() : nullptr;
  if (!compiled) return api_error(503, "no policy is loaded");
  const auto loaded = s.policy_loaded_at ? s.policy_loaded_at() : std::chrono::system_clock::time_point{};
  return json_answer(policy_view(*compiled, loaded));
}

void add_page(Router& router) {
  using Match = Router::Match;
  for (const ConsoleAsset& a : console_assets()) {
    HttpAnswer answer{200, std::string(a.content_type), std::string(a.body)};
    const auto serve = [answer](HttpRequest) { return answer_now(answer); };
    if (a.name == "index.html") {
      router.add("GET", "/console", Match::exact, serve, "console_page");
      router.add("GET", "/console/", Match::exact, serve, "console_page");
    } else {
      router.add("GET", "/console/" + std::string(a.name), Match::exact, serve, "console_page");
    }
  }
}

}  // namespace

void add_console_routes(Router& router, std::shared_ptr<const ConsoleSources> sources) {
  using Match = Router::Match;
  add_page(router);
  const std::shared_ptr<const ConsoleSources> s = std::move(sources);
  router.add("GET", "/api/v1/summary", Match::exact, [s](HttpRequest) { return answer_now(summary(*s)); },
             "summary");
  router.add("GET", "/api/v1/policy", Match::exact, [s](HttpRequest) { return answer_now(policy_in_force(*s)); },
             "policy");
  router.add("GET", std::string(kDecisions), Match::subtree,
             [s](HttpRequest r) { return answer_now(decisions(*s, r)); }, "decisions");
  router.add("GET", "/api/v1/inventory/digests", Match::exact,
             [s](HttpRequest r) { return inventory_groups(*s, std::move(r), InventoryGrouping::by_digest); },
             "inventory_digests");
  router.add("GET", "/api/v1/inventory/workloads", Match::exact,
             [s](HttpRequest r) { return inventory_groups(*s, std::move(r), InventoryGrouping::by_workload); },
             "inventory_workloads");
}

std::vector<std::string> console_public_routes() { return {"console_page"}; }

void add_console(VerdictApiOptions& options, std::shared_ptr<const ConsoleSources> sources) {
  options.more_routes = [sources](Router& router) { add_console_routes(router, sources); };
  options.public_routes = console_public_routes();
}

std::vector<std::pair<std::string, std::string>> console_answer_headers() {
  return {{"Content-Security-Policy",
           "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
          {"X-Content-Type-Options", "nosniff"},
          {"Cache-Control", "no-store"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Frame-Options", "DENY"}};
}

std::string replica_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

}  // namespace imagegate::webhook
