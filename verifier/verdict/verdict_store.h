// VerdictStore: where scan verdicts live, keyed by image digest. Implementations: SQLite
// (sqlite_verdict_store.cc, one file, WAL, synchronous=FULL) and Redis (redis_verdict_store.cc, shared by
// several imagegate processes). Verdicts are stored in their native JSON form (verifier/image/scan_verdict.h).
//
// Calls block (disk or network I/O, bounded by the implementation's timeouts): callers on an io_context
// post them to a thread of their own (webhook/evidence/verdict_lookup.h). Implementations are thread-safe.
// A store that cannot answer returns ErrorCode::unavailable; it never throws.
//
// The same store keeps the inventory: which image digests were admitted where (namespace, workload kind and
// name) and when they were first and last seen. The admission path writes it off its io threads, in
// batches (webhook/api/inventory_recorder.h); the verdict API reads it (docs/api.md, /api/v1/inventory).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/image/scan_verdict.h"

namespace imagegate::verifier {

// One place an image digest runs: the key is (namespace, kind, name, image, digest).
struct InventoryEntry {
  std::string namespace_name;
  std::string kind;   // the admitted object's kind (Pod, Deployment, ...)
  std::string name;   // its metadata.name (or generateName)
  std::string image;  // the normalised reference the container named (docker.io/library/nginx:1.25)
  std::string digest; // sha256:...
  std::chrono::system_clock::time_point first_seen{};
  std::chrono::system_clock::time_point last_seen{};
};

// A change to one workload's inventory (update_inventory), keyed by (namespace, kind, name).
//   replace = false: upsert `entries`, exactly as record_seen (a CREATE).
//   replace = true:  the workload now runs exactly `entries` (an UPDATE, or a DELETE with no entries): its
//                    other entries last seen at or before `at` are removed, the named ones upserted (so a
//                    digest it still names keeps its first_seen). Entries last seen after `at` stay: they
//                    come from a newer admission that another replica recorded first.
// Every entry's namespace_name/kind/name must equal the update's (else invalid_argument, nothing written).
struct InventoryUpdate {
  std::string namespace_name;
  std::string kind;
  std::string name;
  bool replace = false;
  std::chrono::system_clock::time_point at{};
  std::vector<InventoryEntry> entries;
};

// Filters for list_inventory; empty strings match everything. Newest last_seen first, at most `limit`
// after skipping `offset` matches (pagination: the store filters, orders and skips, not its caller).
struct InventoryQuery {
  std::string namespace_name;
  std::string image;  // normalised reference, exact
  std::string digest;
  std::size_t limit = 1000;
  std::string image_contains;  // a substring of the normalised reference (search)
  std::string cve;  // only digests whose stored verdict lists this vulnerability id (exact, as the scanner wrote it)
  std::size_t offset = 0;
};

class VerdictStore {
 public:
  virtual ~VerdictStore() = default;
  // Replaces the digest's verdict. Ok means durable (SQLite: committed with synchronous=FULL).
  virtual Status put(const ScanVerdict& verdict) = 0;
  // nullopt when the store has no verdict for the digest.
  virtual Result<std::optional<ScanVerdict>> get(const std::string& digest) = 0;
  // Verdicts pushed for exactly this image reference (as given when pushed), newest scan first, at most `limit`.
  virtual Result<std::vector<ScanVerdict>> find_by_image(const std::string& image, std::size_t limit) = 0;

  // Inventory. record_seen upserts every entry in one transaction: a new key takes first_seen and
  // last_seen from the entry; an existing key keeps its first_seen and takes the later last_seen (several
  // processes may record the same key out of order). The default implementations (stores without an
  // inventory) answer invalid_argument.
  virtual Status record_seen(const std::vector<InventoryEntry>& entries);
  virtual Result<std::vector<InventoryEntry>> list_inventory(const InventoryQuery& query);
  // Applies every update, in order, in one transaction (SQLite) or one MULTI/EXEC (Redis). What the
  // recorder calls (webhook/api/inventory_recorder.h); default: invalid_argument.
  virtual Status update_inventory(const std::vector<InventoryUpdate>& updates);
  // The retention backstop (`imagegate inventory prune`): removes every entry last seen before `cutoff`
  // and answers how many. last_seen only moves on admission, so a workload running unchanged for months
  // has an old last_seen too: never called automatically. Default: invalid_argument.
  virtual Result<std::size_t> prune_inventory(std::chrono::system_clock::time_point cutoff);
};

// invalid_argument unless every entry of every update names the update's workload. Stores call it first.
Status check_inventory_updates(const std::vector<InventoryUpdate>& updates);

// "sqlite:PATH" or "redis://HOST:PORT[/DB]". invalid_argument for anything else; unavailable when the store
// cannot be opened.
Result<std::unique_ptr<VerdictStore>> open_verdict_store(std::string_view spec);

Result<std::unique_ptr<VerdictStore>> open_sqlite_verdict_store(const std::string& path);
// "redis://HOST:PORT[/DB]"; connects now (2 s timeout for connect and every command).
Result<std::unique_ptr<VerdictStore>> open_redis_verdict_store(std::string_view url);

}  // namespace imagegate::verifier
