// VerdictStore: where scan verdicts live, keyed by image digest. Implementations: SQLite
// (sqlite_verdict_store.cc, one file, WAL, synchronous=FULL) and Redis (redis_verdict_store.cc, shared by
// several imagegate processes). Verdicts are stored in their native JSON form (verifier/scan_verdict.h).
//
// Calls block (disk or network I/O, bounded by the implementation's timeouts): callers on an io_context
// post them to a thread of their own (webhook/verdict_lookup.h). Implementations are thread-safe.
// A store that cannot answer returns ErrorCode::unavailable; it never throws.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/scan_verdict.h"

namespace imagegate::verifier {

class VerdictStore {
 public:
  virtual ~VerdictStore() = default;
  // Replaces the digest's verdict. Ok means durable (SQLite: committed with synchronous=FULL).
  virtual Status put(const ScanVerdict& verdict) = 0;
  // nullopt when the store has no verdict for the digest.
  virtual Result<std::optional<ScanVerdict>> get(const std::string& digest) = 0;
  // Verdicts pushed for exactly this image reference (as given when pushed), newest scan first, at most `limit`.
  virtual Result<std::vector<ScanVerdict>> find_by_image(const std::string& image, std::size_t limit) = 0;
};

// "sqlite:PATH" or "redis://HOST:PORT[/DB]". invalid_argument for anything else; unavailable when the store
// cannot be opened.
Result<std::unique_ptr<VerdictStore>> open_verdict_store(std::string_view spec);

Result<std::unique_ptr<VerdictStore>> open_sqlite_verdict_store(const std::string& path);
// "redis://HOST:PORT[/DB]"; connects now (2 s timeout for connect and every command).
Result<std::unique_ptr<VerdictStore>> open_redis_verdict_store(std::string_view url);

}  // namespace imagegate::verifier
