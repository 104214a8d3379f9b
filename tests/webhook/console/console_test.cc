// The console (webhook/console/): the recent-decisions ring, the query parsers of its views (negative
// cases), and every JSON view through the verdict API's real handler over a real SQLite store: tokens (the
// page needs none, every view does, a read-only one suffices), pagination bounds at 10,000 entries, bad
// parameters -> 400, the CVE search pushed into the store, the policy's anchors by fingerprint only.
#include "common/asio_warnings.h"  // before any Asio header

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/policy.h"
#include "tests/run_awaitable.h"
#include "tests/test_support.h"
#include "webhook/api/api_query.h"
#include "webhook/api/verdict_api.h"
#include "webhook/console/console_assets.h"
#include "webhook/console/console_routes.h"
#include "webhook/console/console_views.h"
#include "webhook/observe/decision_ring.h"
#include "webhook/server/self_signed.h"
#include "webhook/server/server_config.h"

namespace imagegate::webhook {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;
using testing::run_awaitable;

const std::string kReadToken = "read-token-0123456789abcdef";

RecentDecision decided(const std::string& decision, const std::string& ns, std::vector<std::string> rules,
                       system_clock::time_point at = system_clock::now()) {
  return {0, at, decision, ns, std::move(rules), R"({"msg":"admission review","namespace":")" + ns + R"("})"};
}

// ---- the ring -------------------------------------------------------------------------------------------

TEST(DecisionRing, KeepsTheNewestAndFilters) {
  DecisionRing ring(3);
  ring.record(decided("allowed", "a", {}));
  ring.record(decided("denied", "b", {"signed"}));
  ring.record(decided("denied", "a", {"scanned", "signed"}));
  ring.record(decided("warned", "a", {"scanned"}));
  EXPECT_EQ(ring.size(), 3U);
  auto all = ring.list({});
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].id, 4U);
  EXPECT_EQ(all[2].id, 2U);
  EXPECT_FALSE(ring.find(1).has_value()) << "the oldest left the ring";
  EXPECT_FALSE(ring.find(0).has_value());
  EXPECT_FALSE(ring.find(99).has_value());
  ASSERT_TRUE(ring.find(2).has_value());
  EXPECT_EQ(ring.find(2)->namespace_name, "b");
  EXPECT_EQ(ring.list({"denied", "", "", 0, 50}).size(), 2U);
  EXPECT_EQ(ring.list({"", "a", "", 0, 50}).size(), 2U);
  EXPECT_EQ(ring.list({"", "", "signed", 0, 50}).size(), 2U);
  EXPECT_EQ(ring.list({"denied", "a", "signed", 0, 50}).size(), 1U);
  EXPECT_TRUE(ring.list({"error", "", "", 0, 50}).empty());
  // Pages: before=ID lists older ones only; limit bounds a page.
  auto page = ring.list({"", "", "", 0, 2});
  ASSERT_EQ(page.size(), 2U);
  auto next = ring.list({"", "", "", page.back().id, 2});
  ASSERT_EQ(next.size(), 1U);
  EXPECT_EQ(next[0].id, 2U);
  EXPECT_TRUE(ring.list({"", "", "", 2, 2}).empty());
  EXPECT_TRUE(ring.list({"", "", "", 0, 0}).empty());
  // Counted since start, whatever the ring keeps.
  const auto totals = ring.totals();
  EXPECT_EQ(totals[0], 1U);
  EXPECT_EQ(totals[1], 1U);
  EXPECT_EQ(totals[2], 2U);
  EXPECT_EQ(totals[3], 0U);
}

TEST(DecisionRing, CountsTheLastHourByMinute) {
  DecisionRing ring(2);
  const auto now = std::chrono::floor<std::chrono::minutes>(system_clock::now()) + std::chrono::seconds(30);
  ring.record(decided("denied", "a", {}, now - std::chrono::minutes(90)));  // older than the hour
  ring.record(decided("denied", "a", {}, now - std::chrono::minutes(59)));
  ring.record(decided("allowed", "a", {}, now - std::chrono::minutes(5)));
  ring.record(decided("allowed", "a", {}, now - std::chrono::minutes(5)));
  ring.record(decided("error", "a", {}, now));
  const auto hour = ring.last_hour(now);
  ASSERT_EQ(hour.size(), 60U);
  EXPECT_EQ(hour.back().minute, std::chrono::floor<std::chrono::minutes>(now));
  EXPECT_EQ(hour.back().counts[3], 1U);
  EXPECT_EQ(hour[54].counts[0], 2U);
  EXPECT_EQ(hour[0].counts[2], 1U);
  std::uint64_t sum = 0;
  for (const auto& m : hour) sum += m.counts[0] + m.counts[1] + m.counts[2] + m.counts[3];
  EXPECT_EQ(sum, 4U) << "the review 90 minutes ago is not in the last hour";
  EXPECT_EQ(ring.totals()[2], 2U);
}

// ---- the query parsers ----------------------------------------------------------------------------------

TEST(ConsoleQuery, PageQueriesAreBounded) {
  auto ok = inventory_page_query("/x?cve=CVE-2024-3094&search=ngin%78&limit=25&offset=50&namespace=prod", 10'000);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->cve, "CVE-2024-3094");
  EXPECT_EQ(ok->image_contains, "nginx");
  EXPECT_EQ(ok->limit, 25U);
  EXPECT_EQ(ok->offset, 50U);
  EXPECT_EQ(ok->namespace_name, "prod");
  for (const char* bad : {"/x?limit=0", "/x?limit=-1", "/x?limit=1e3", "/x?offset=-1", "/x?offset=10001",
                          "/x?offset=1x", "/x?offset=99999999999999999999999", "/x?cve=%3Cscript%3E",
                          "/x?cve=CVE 2024", "/x?digest=sha256:zz"}) {
    EXPECT_FALSE(inventory_page_query(bad, 10'000).ok()) << bad;
  }
  EXPECT_FALSE(inventory_page_query("/x?search=" + std::string(kMaxFilterBytes + 1, 'a'), 10'000).ok());
  EXPECT_FALSE(inventory_page_query("/x?cve=" + std::string(kMaxVulnerabilityIdBytes + 1, 'A'), 10'000).ok());
  EXPECT_EQ(inventory_page_query("/x?offset=10000", 10'000)->offset, 10'000U);
  EXPECT_TRUE(is_valid_vulnerability_id("GHSA-abcd-1234-wxyz"));
  EXPECT_TRUE(is_valid_vulnerability_id("ALAS2:2024.1_x"));
  EXPECT_FALSE(is_valid_vulnerability_id(""));
  EXPECT_FALSE(is_valid_vulnerability_id("CVE/1"));
}

TEST(ConsoleQuery, RecentFiltersAndIds) {
  auto ok = recent_filter("/api/v1/decisions?decision=denied&namespace=a%20b&rule=signed&before=7&limit=500");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->decision, "denied");
  EXPECT_EQ(ok->namespace_name, "a b");
  EXPECT_EQ(ok->before, 7U);
  EXPECT_EQ(ok->limit, 500U);
  EXPECT_EQ(recent_filter("/api/v1/decisions")->limit, kDefaultDecisionLimit);
  EXPECT_EQ(recent_filter("/api/v1/decisions?limit=100000")->limit, kMaxDecisionLimit);
  for (const char* bad : {"?decision=maybe", "?decision=DENIED", "?before=0", "?before=-3", "?before=01",
                          "?before=18446744073709551616", "?limit=0", "?limit=x"}) {
    EXPECT_FALSE(recent_filter(std::string("/api/v1/decisions") + bad).ok()) << bad;
  }
  EXPECT_FALSE(recent_filter("/d?rule=" + std::string(kMaxFilterBytes + 1, 'r')).ok());
  EXPECT_EQ(parse_decision_id("42"), 42U);
  EXPECT_EQ(parse_decision_id("18446744073709551615"), 18446744073709551615ULL);
  for (const char* bad : {"", "0", "007", "+1", "-1", "1.5", "4x", "18446744073709551616"}) {
    EXPECT_FALSE(parse_decision_id(bad).has_value()) << bad;
  }
}

// ---- the config keys ------------------------------------------------------------------------------------

// The config's bound and the ring's are one number, written twice (server/ and observe/ each own one).
static_assert(kMaxRecentDecisionsLimit == kMaxRecentDecisions);

TEST(ConsoleConfig, KeysAndTheirBounds) {
  auto defaults = parse_server_config("listen: \"127.0.0.1:8443\"\n", "c.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_TRUE(defaults->console_enabled);
  EXPECT_EQ(defaults->recent_decisions, kDefaultRecentDecisions);
  auto set = parse_server_config("console:\n  enabled: false\n  recentDecisions: 50\n", "c.yaml");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_FALSE(set->console_enabled);
  EXPECT_EQ(set->recent_decisions, 50U);
  for (const char* bad : {"console:\n  enabled: maybe\n", "console:\n  enabled: [true]\n",
                          "console:\n  recentDecisions: 0\n", "console:\n  recentDecisions: 100001\n",
                          "console:\n  recentDecisions: -5\n", "console:\n  theme: dark\n", "console: on\n"}) {
    auto refused = parse_server_config(bad, "c.yaml");
    EXPECT_FALSE(refused.ok()) << bad;
    if (!refused.ok()) {
      EXPECT_NE(refused.error().message.find("c.yaml:"), std::string::npos) << refused.error().message;
    }
  }
}

// ---- the views through the API's handler ----------------------------------------------------------------

constexpr const char* kPolicy = R"(apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: console}
spec:
  noMatch: allow
  trustAnchors:
    - name: release-key
      cosign:
        key: |
          -----BEGIN PUBLIC KEY-----
          MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4s9DJZ6k6y8qYnIbCWsVq3O4y3i0
          Kmr8mZfcV4HbWZJc7ZsmHCs1dJmv0EYSkNaa4Cc8h5SJmUnPcmbAsL7m7A==
          -----END PUBLIC KEY-----
  rules:
    - name: scanned
      match: {images: ["registry.example.com/**"]}
      vulnerabilities: {maxSeverity: HIGH, onMissing: deny}
    - name: signed
      match: {images: ["signed.example.com/**"]}
      signatures: {anchors: [release-key]}
)";

std::string digest_of(std::size_t n) {
  std::string hex = std::to_string(n);
  return "sha256:" + std::string(64 - hex.size(), '0') + hex;
}

verifier::ScanVerdict verdict(const std::string& digest, const std::string& cve, verifier::Severity worst,
                              system_clock::time_point scanned_at) {
  verifier::ScanVerdict v;
  v.digest = digest;
  v.image = "registry.example.com/app:1";
  v.scanner = "trivy";
  v.scanned_at = std::chrono::floor<std::chrono::seconds>(scanned_at);
  v.vulnerabilities.push_back({cve, worst, std::nullopt, "openssl", "1.0", "1.1"});
  return v;
}

struct ConsoleFixture {
  fs::path dir = *make_private_temp_directory("imagegate-console-test-");
  std::shared_ptr<verifier::VerdictStore> store =
      std::shared_ptr<verifier::VerdictStore>(std::move(verifier::open_verdict_store("sqlite:" + (dir / "v.db").string())).value());
  VerdictLookup lookup{store, std::chrono::milliseconds(0)};
  DecisionRing ring{100};
  std::shared_ptr<const policy::CompiledPolicy> policy;
  system_clock::time_point now = std::chrono::floor<std::chrono::seconds>(system_clock::now());
  RequestHandler handler;

  ConsoleFixture() {
    auto loaded = policy::load_policy(kPolicy, "policy.yaml");
    EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const policy::CompiledPolicy>>(loaded));
    policy = std::get<std::shared_ptr<const policy::CompiledPolicy>>(loaded);
    std::ofstream(dir / "tokens") << "ro:" << kReadToken << "\nrw:write-token-0123456789abcdef\n";
    auto tokens = ApiTokens::load(dir / "tokens");
    EXPECT_TRUE(tokens.ok());
    VerdictApiOptions options;
    options.policy = [this] { return policy; };
    auto sources = std::make_shared<ConsoleSources>();
    sources->recent = &ring;
    sources->lookup = &lookup;
    sources->policy = options.policy;
    sources->policy_loaded_at = [this] { return now; };
    sources->replica = "replica-1";
    add_console(options, sources);
    handler = make_verdict_api(lookup, std::move(tokens).value(), std::move(options));
  }
  ~ConsoleFixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  HttpAnswer raw(const std::string& target, const std::string& token = kReadToken) {
    HttpRequest r{"GET", target, "", token.empty() ? "" : "Bearer " + token, ""};
    return run_awaitable(handler(std::move(r)));
  }
  std::pair<unsigned, nlohmann::json> get(const std::string& target, const std::string& token = kReadToken) {
    const HttpAnswer answer = raw(target, token);
    return {answer.status, nlohmann::json::parse(answer.body, nullptr, false)};
  }
};

TEST(ConsoleApi, ThePageNeedsNoTokenAndEveryViewNeedsOne) {
  ConsoleFixture f;
  for (const char* page : {"/console", "/console/", "/console/console.js", "/console/console.css"}) {
    const HttpAnswer answer = f.raw(page, "");
    EXPECT_EQ(answer.status, 200U) << page;
    EXPECT_FALSE(answer.body.empty()) << page;
  }
  EXPECT_EQ(f.raw("/console/", "").content_type, "text/html; charset=utf-8");
  EXPECT_EQ(f.raw("/console/console.js", "").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(f.raw("/console/other.js", "").status, 404U);
  // The page's script never inserts data as HTML, and the page has no inline script or style.
  const std::string script(f.raw("/console/console.js", "").body);
  EXPECT_EQ(script.find("innerHTML"), std::string::npos);
  EXPECT_EQ(script.find("insertAdjacentHTML"), std::string::npos);
  EXPECT_EQ(script.find("eval("), std::string::npos);
  const std::string html(f.raw("/console/", "").body);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find("<style"), std::string::npos);
  EXPECT_EQ(html.find("style="), std::string::npos);
  for (const char* handler_attribute : {"onclick=", "onload=", "onerror=", "onsubmit="}) {
    EXPECT_EQ(html.find(handler_attribute), std::string::npos) << handler_attribute;
  }
  for (const char* view : {"/api/v1/summary", "/api/v1/decisions", "/api/v1/decisions/1", "/api/v1/policy",
                           "/api/v1/inventory/digests", "/api/v1/inventory/workloads"}) {
    EXPECT_EQ(f.get(view, "").first, 401U) << view;
    EXPECT_EQ(f.get(view, "wrong-token-0123456789abcdef").first, 401U) << view;
  }
  EXPECT_EQ(f.get("/api/v1/summary").first, 200U);
  EXPECT_EQ(f.get("/api/v1/inventory/digests").first, 200U);
  EXPECT_EQ(f.get("/api/v1/policy").first, 200U);
  // Read-only views: the methods that write are not routed.
  HttpRequest put{"PUT", "/api/v1/decisions", "", "Bearer write-token-0123456789abcdef", ""};
  EXPECT_EQ(run_awaitable(f.handler(std::move(put))).status, 405U);
}

TEST(ConsoleApi, AnswerHeadersAreStrict) {
  bool csp = false;
  for (const auto& [name, value] : console_answer_headers()) {
    if (name == "Content-Security-Policy") {
      csp = true;
      EXPECT_NE(value.find("default-src 'none'"), std::string::npos);
      EXPECT_NE(value.find("script-src 'self'"), std::string::npos);
      EXPECT_EQ(value.find("unsafe-inline"), std::string::npos);
      EXPECT_EQ(value.find("unsafe-eval"), std::string::npos);
    }
  }
  EXPECT_TRUE(csp);
  const auto headers = console_answer_headers();
  EXPECT_NE(std::find(headers.begin(), headers.end(), std::pair<std::string, std::string>{"X-Content-Type-Options", "nosniff"}),
            headers.end());
  EXPECT_NE(std::find(headers.begin(), headers.end(), std::pair<std::string, std::string>{"Cache-Control", "no-store"}),
            headers.end());
}

TEST(ConsoleApi, InventoryByDigestAndWorkloadWithCveSearch) {
  ConsoleFixture f;
  ASSERT_TRUE(f.store
                  ->record_seen({{"prod", "Deployment", "web", "registry.example.com/app:1", digest_of(1), f.now, f.now},
                                 {"prod", "Deployment", "api", "registry.example.com/app:1", digest_of(1), f.now, f.now},
                                 {"dev", "Pod", "tool", "signed.example.com/tool:3", digest_of(2), f.now, f.now}})
                  .ok());
  ASSERT_TRUE(f.store->put(verdict(digest_of(1), "CVE-2024-3094", verifier::Severity::critical, f.now - std::chrono::hours(2))).ok());
  auto [status, body] = f.get("/api/v1/inventory/digests");
  ASSERT_EQ(status, 200U) << body.dump();
  ASSERT_EQ(body["total"], 2);
  const auto& first = body["items"][0]["digest"] == digest_of(1) ? body["items"][0] : body["items"][1];
  EXPECT_EQ(first["workloads"], 2);
  EXPECT_EQ(first["verdict"]["maxSeverity"], "CRITICAL");
  EXPECT_GE(first["verdict"]["ageSeconds"].get<long>(), 7200);
  EXPECT_EQ(first["signatures"]["status"], "not required");
  const auto& second = body["items"][0]["digest"] == digest_of(2) ? body["items"][0] : body["items"][1];
  EXPECT_TRUE(second["verdict"].is_null());
  EXPECT_EQ(second["signatures"]["status"], "verified at admission");
  EXPECT_EQ(second["signatures"]["anchors"][0], "release-key");

  // Where does CVE-2024-3094 run? The store answers (an indexed table), in every inventory view.
  std::tie(status, body) = f.get("/api/v1/inventory/digests?cve=CVE-2024-3094");
  ASSERT_EQ(body["items"].size(), 1U) << body.dump();
  EXPECT_EQ(body["items"][0]["digest"], digest_of(1));
  std::tie(status, body) = f.get("/api/v1/inventory?cve=CVE-2024-3094");
  EXPECT_EQ(body["items"].size(), 2U) << body.dump();
  std::tie(status, body) = f.get("/api/v1/inventory/workloads?cve=CVE-2024-3094&namespace=prod");
  EXPECT_EQ(body["items"].size(), 2U) << body.dump();
  EXPECT_EQ(body["items"][0]["images"][0]["verdict"]["maxSeverity"], "CRITICAL");
  std::tie(status, body) = f.get("/api/v1/inventory/digests?cve=CVE-1999-0001");
  EXPECT_TRUE(body["items"].empty());
  // A new verdict for the digest replaces its ids: the old CVE no longer finds it.
  ASSERT_TRUE(f.store->put(verdict(digest_of(1), "CVE-2025-0002", verifier::Severity::low, f.now)).ok());
  std::tie(status, body) = f.get("/api/v1/inventory/digests?cve=CVE-2024-3094");
  EXPECT_TRUE(body["items"].empty()) << body.dump();
  std::tie(status, body) = f.get("/api/v1/inventory/digests?cve=CVE-2025-0002");
  EXPECT_EQ(body["items"].size(), 1U);
  std::tie(status, body) = f.get("/api/v1/inventory/digests?search=signed.example");
  ASSERT_EQ(body["items"].size(), 1U);
  EXPECT_EQ(body["items"][0]["digest"], digest_of(2));
  for (const char* bad : {"/api/v1/inventory/digests?limit=0", "/api/v1/inventory/digests?offset=-1",
                          "/api/v1/inventory/workloads?offset=10001", "/api/v1/inventory/digests?cve=%3Cscript%3E",
                          "/api/v1/inventory?cve=a%20b", "/api/v1/inventory?offset=x"}) {
    std::tie(status, body) = f.get(bad);
    EXPECT_EQ(status, 400U) << bad;
    EXPECT_TRUE(body.contains("error")) << bad;
  }
}

TEST(ConsoleApi, PaginationAtTenThousandEntries) {
  ConsoleFixture f;
  std::vector<verifier::InventoryEntry> entries;
  for (std::size_t i = 0; i < 10'000; ++i) {
    const auto seen = f.now - std::chrono::seconds(i);  // entry 0 is the newest
    entries.push_back({"ns" + std::to_string(i % 7), "Pod", "p" + std::to_string(i), "registry.example.com/app:" +
                       std::to_string(i), digest_of(i), seen, seen});
  }
  ASSERT_TRUE(f.store->record_seen(entries).ok());
  auto [status, body] = f.get("/api/v1/inventory/digests?limit=25&offset=9975");
  ASSERT_EQ(status, 200U) << body.dump();
  EXPECT_EQ(body["total"], 10'000);
  ASSERT_EQ(body["items"].size(), 25U);
  EXPECT_EQ(body["items"][0]["digest"], digest_of(9975));
  EXPECT_EQ(body["items"][24]["digest"], digest_of(9999));
  EXPECT_FALSE(body["truncated"].get<bool>());
  std::tie(status, body) = f.get("/api/v1/inventory/digests?limit=25&offset=10000");
  EXPECT_EQ(status, 200U);
  EXPECT_TRUE(body["items"].empty());
  // The flat listing pages in the store (LIMIT/OFFSET): the same order.
  std::tie(status, body) = f.get("/api/v1/inventory?limit=3&offset=5000");
  ASSERT_EQ(body["items"].size(), 3U) << body.dump();
  EXPECT_EQ(body["items"][0]["digest"], digest_of(5000));
  EXPECT_EQ(body["offset"], 5000);
  EXPECT_TRUE(body["truncated"].get<bool>());
  std::tie(status, body) = f.get("/api/v1/inventory/workloads?namespace=ns3&limit=10&offset=10");
  EXPECT_EQ(body["items"].size(), 10U);
  EXPECT_EQ(body["total"], 1429);  // i % 7 == 3 for i = 3, 10, ..., 9999
  EXPECT_EQ(f.get("/api/v1/inventory/digests?limit=10001").first, 200U);  // capped at the maximum, not refused
}

TEST(ConsoleApi, RecentDecisionsAndOneInFull) {
  ConsoleFixture f;
  f.ring.record(decided("allowed", "shop", {"scanned"}));
  f.ring.record(decided("denied", "shop", {"signed"}));
  f.ring.record(decided("denied", "ops", {"scanned"}));
  auto [status, body] = f.get("/api/v1/decisions");
  ASSERT_EQ(status, 200U) << body.dump();
  EXPECT_EQ(body["replica"], "replica-1");
  ASSERT_EQ(body["items"].size(), 3U);
  EXPECT_EQ(body["items"][0]["id"], 3);
  EXPECT_EQ(body["items"][0]["entry"]["namespace"], "ops");  // the line itself, as JSON
  EXPECT_TRUE(body["next"].is_null());
  std::tie(status, body) = f.get("/api/v1/decisions?decision=denied&rule=signed");
  ASSERT_EQ(body["items"].size(), 1U);
  EXPECT_EQ(body["items"][0]["id"], 2);
  std::tie(status, body) = f.get("/api/v1/decisions?limit=2");
  EXPECT_EQ(body["next"], 2);
  std::tie(status, body) = f.get("/api/v1/decisions?limit=2&before=2");
  ASSERT_EQ(body["items"].size(), 1U);
  EXPECT_EQ(body["items"][0]["id"], 1);
  std::tie(status, body) = f.get("/api/v1/decisions/2");
  ASSERT_EQ(status, 200U);
  EXPECT_EQ(body["decision"], "denied");
  EXPECT_EQ(body["rules"][0], "signed");
  EXPECT_EQ(body["entry"]["msg"], "admission review");
  EXPECT_EQ(f.get("/api/v1/decisions/9").first, 404U);
  for (const char* bad : {"/api/v1/decisions/0", "/api/v1/decisions/x", "/api/v1/decisions/-1",
                          "/api/v1/decisions?decision=nope", "/api/v1/decisions?limit=0", "/api/v1/decisions?before=x"}) {
    EXPECT_EQ(f.get(bad).first, 400U) << bad;
  }
  std::tie(status, body) = f.get("/api/v1/summary");
  ASSERT_EQ(status, 200U);
  EXPECT_EQ(body["reviews"]["denied"], 2);
  EXPECT_EQ(body["lastHourTotals"]["allowed"], 1);
  EXPECT_EQ(body["lastHour"].size(), 60U);
  EXPECT_EQ(body["recent"]["capacity"], 100);
  EXPECT_EQ(body["recent"]["kept"], 3);
  EXPECT_EQ(body["policyVersion"], policy::version_of(*f.policy));
}

TEST(ConsoleApi, PolicyInForceShowsAnchorsByFingerprintOnly) {
  ConsoleFixture f;
  const HttpAnswer answer = f.raw("/api/v1/policy");
  ASSERT_EQ(answer.status, 200U) << answer.body;
  EXPECT_EQ(answer.body.find("PUBLIC KEY"), std::string::npos) << "no key bytes";
  EXPECT_EQ(answer.body.find("MFkwEwYHKoZIzj0"), std::string::npos) << "no key bytes";
  const auto body = nlohmann::json::parse(answer.body);
  EXPECT_EQ(body["name"], "console");
  EXPECT_EQ(body["version"], policy::version_of(*f.policy));
  ASSERT_EQ(body["rules"].size(), 2U);
  EXPECT_EQ(body["rules"][0]["name"], "scanned");
  EXPECT_EQ(body["rules"][1]["name"], "signed");
  EXPECT_EQ(body["rules"][1]["signatures"]["anchors"][0], "release-key");
  EXPECT_EQ(body["rules"][0]["vulnerabilities"]["maxSeverity"], "HIGH");
  ASSERT_EQ(body["trustAnchors"].size(), 1U);
  EXPECT_EQ(body["trustAnchors"][0]["kind"], "cosignKey");
  const std::string fingerprint = body["trustAnchors"][0]["fingerprint"];
  EXPECT_EQ(fingerprint.size(), 7U + 64U);
  EXPECT_EQ(fingerprint, anchor_fingerprint(policy::spec_of(*f.policy).trust_anchors[0].spec));
  EXPECT_NE(anchor_fingerprint(verifier::CosignKeyAnchor{"a", ""}), anchor_fingerprint(verifier::CosignKeyAnchor{"", "a"}));
  f.policy = nullptr;
  EXPECT_EQ(f.get("/api/v1/policy").first, 503U);
}

TEST(ConsoleApi, ViolationsAreGroupedByRuleAndReason) {
  ConsoleFixture f;
  ASSERT_TRUE(f.store
                  ->record_seen({{"prod", "Deployment", "web", "registry.example.com/app:1", digest_of(1), f.now, f.now},
                                 {"prod", "Deployment", "api", "registry.example.com/app:1", digest_of(1), f.now, f.now},
                                 {"dev", "Pod", "fine", "other.example.com/tool:3", digest_of(2), f.now, f.now}})
                  .ok());
  auto [status, body] = f.get("/api/v1/inventory/violations");
  ASSERT_EQ(status, 200U) << body.dump();
  EXPECT_EQ(body["violations"].size(), 2U);
  ASSERT_EQ(body["groups"].size(), 1U) << body.dump();
  EXPECT_EQ(body["groups"][0]["rule"], "scanned");
  EXPECT_EQ(body["groups"][0]["workloads"].size(), 2U);
  EXPECT_EQ(body["groups"][0]["reason"], body["violations"][0]["reasons"][0]) << body.dump();
}

// A database made before verdict_cves existed: its verdicts are indexed when it is opened again.
TEST(ConsoleApi, AnOlderDatabaseIsIndexedOnOpen) {
  auto dir = make_private_temp_directory("imagegate-console-db-");
  ASSERT_TRUE(dir.ok());
  const std::string path = (*dir / "v.db").string();
  const auto now = system_clock::now();
  {
    auto store = verifier::open_verdict_store("sqlite:" + path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put(verdict(digest_of(5), "CVE-2024-3094", verifier::Severity::high, now)).ok());
    ASSERT_TRUE((*store)->record_seen({{"a", "Pod", "p", "x.example.com/y:1", digest_of(5), now, now}}).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE verdict_cves", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = verifier::open_verdict_store("sqlite:" + path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  verifier::InventoryQuery query;
  query.cve = "CVE-2024-3094";
  auto found = (*store)->list_inventory(query);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 1U);
  std::error_code ec;
  fs::remove_all(*dir, ec);
}

}  // namespace
}  // namespace imagegate::webhook
