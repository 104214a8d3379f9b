// The console's JSON views (docs/api.md "Console"), as pure functions of what the routes read: the
// inventory grouped by digest or by workload with each digest's verdict (max severity, age) and signature
// status, the policy in force, the summary (counts and reviews by decision over the last hour), and the
// recent decisions (their decision-log lines inserted as they are: never parsed or written again).
// console_routes.cc reads the store and the ring and answers with these.
//
// Pure and thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/policy.h"
#include "verifier/image/scan_verdict.h"
#include "verifier/verdict/verdict_store.h"
#include "webhook/observe/decision_ring.h"

namespace imagegate::webhook {

// Inventory entries grouped by digest or by workload (namespace, kind, name), in the order of the entries
// given (newest last_seen first): one group's entries.
struct InventoryGroup {
  std::string key;  // the digest, or "namespace/kind/name"
  std::vector<const verifier::InventoryEntry*> entries;
};
enum class InventoryGrouping { by_digest, by_workload };
std::vector<InventoryGroup> group_inventory(const std::vector<verifier::InventoryEntry>& entries,
                                            InventoryGrouping grouping);

// The digests a page of groups names (each once), whose verdicts the view shows.
std::vector<std::string> digests_of(const std::vector<InventoryGroup>& page);

using VerdictsByDigest = std::map<std::string, std::optional<verifier::ScanVerdict>>;

// {"maxSeverity", "scannedAt", "ageSeconds", "scanner", "vulnerabilities": {SEVERITY: n}} or null (no verdict).
nlohmann::json verdict_view(const std::optional<verifier::ScanVerdict>& verdict,
                            std::chrono::system_clock::time_point now);
// The signature status of an image in a namespace under `policy` (null: none loaded): the anchors its rule
// requires, which were verified when it was admitted (the inventory holds only admitted images).
nlohmann::json signature_view(const policy::CompiledPolicy* policy, const verifier::InventoryEntry& entry);

// One page of a grouped inventory view: {"items": [...], "total", "offset", "truncated"}; `total` counts
// the groups of the entries read, `truncated` says the store held more entries than were read.
nlohmann::json inventory_view(const std::vector<InventoryGroup>& page, InventoryGrouping grouping,
                              const VerdictsByDigest& verdicts, const policy::CompiledPolicy* policy,
                              std::size_t total, std::size_t offset, bool truncated,
                              std::chrono::system_clock::time_point now);

// The policy in force: name, version, loadedAt, defaults, rules in order with their matches and
// requirements, trust anchors by name, kind and fingerprint (SHA-256 of the anchor as configured: never key
// bytes or paths).
nlohmann::json policy_view(const policy::CompiledPolicy& policy, std::chrono::system_clock::time_point loaded_at);
// "cosignKey", "keyless", "notaryV1" or "notation"; and the fingerprint.
std::string anchor_kind(const verifier::AnchorSpec& spec);
std::string anchor_fingerprint(const verifier::AnchorSpec& spec);

// The summary header: replica, totals and the last hour by decision, the ring's size.
nlohmann::json summary_view(const DecisionRing& ring, const std::string& replica, const std::string& policy_version,
                            std::chrono::system_clock::time_point now);

// Recent decisions, the body of the answer: {"replica", "items": [{"id","time","decision","namespace",
// "rules","entry": LINE}], "next": ID or null}. The lines are inserted verbatim (they are JSON objects).
std::string decisions_body(const std::vector<RecentDecision>& items, std::size_t limit, const std::string& replica);
// One decision: {"id", "time", "decision", "namespace", "rules", "entry": LINE}.
std::string decision_body(const RecentDecision& decision);

}  // namespace imagegate::webhook
