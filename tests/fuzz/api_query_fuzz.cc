// libFuzzer target for the verdict API's query strings (webhook/api/api_query.h): arbitrary bytes as the
// request target of GET/DELETE /api/v1/inventory. Percent-decoding never grows a value; ?limit= is within
// [1, max] or refused; an inventory filter's ?digest= is a valid digest or the query is refused;
// ?olderThan= goes through the duration parser the handler uses. The console's pages: a page query's ?limit=
// and ?offset= stay within their bounds and its ?cve= is a valid id; a recent-decisions filter names a
// known decision and a limit within its bound; a decision id is never 0.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/duration.h"
#include "verifier/image/scan_verdict.h"
#include "webhook/api/api_query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::webhook;
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  if (url_decode(target).size() > target.size()) std::abort();
  for (const char* name : {"namespace", "image", "digest", "limit", "olderThan", "format", "search", "cve", "offset",
                           "decision", "rule", "before"}) {
    if (query_param(target, name).size() > target.size()) std::abort();
  }
  for (const std::size_t max : {std::size_t{1}, std::size_t{10'000}}) {
    if (const auto limit = parse_limit(query_param(target, "limit"), max); limit && (*limit < 1 || *limit > max)) {
      std::abort();
    }
  }
  if (const auto query = inventory_query(target)) {
    if (!query->digest.empty() && !imagegate::verifier::is_valid_digest(query->digest)) std::abort();
  }
  for (const std::size_t max : {std::size_t{1}, std::size_t{10'000}}) {
    if (const auto page = inventory_page_query(target, max)) {
      if (page->limit < 1 || page->limit > max || page->offset > max) std::abort();
      if (!page->cve.empty() && !is_valid_vulnerability_id(page->cve)) std::abort();
      if (page->image_contains.size() > kMaxFilterBytes) std::abort();
    }
  }
  if (const auto filter = recent_filter(target)) {
    if (filter->limit < 1 || filter->limit > kMaxDecisionLimit) std::abort();
    if (!filter->decision.empty() && !ring_decision_index(filter->decision)) std::abort();
  }
  if (const auto id = parse_decision_id(query_param(target, "id")); id && *id == 0) std::abort();
  if (const std::string older = query_param(target, "olderThan"); !older.empty()) {
    (void)imagegate::parse_duration(older);
  }
  return 0;
}
