// The query strings of the verdict API (webhook/api/verdict_api.h): `?name=value&...` read from a request
// target, percent-decoded; the inventory filters (?namespace=, ?image=, ?digest=, ?search=, ?cve=) with
// ?limit= and ?offset=, and the recent decisions' filters (?decision=, ?namespace=, ?rule=, ?before=,
// ?limit=: webhook/console/). Outside input: bounded by the request line's size, never throws, fuzzed by
// tests/fuzz/api_query_fuzz.cc. Plain functions, no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "verifier/verdict/verdict_store.h"
#include "webhook/observe/decision_ring.h"

namespace imagegate::webhook {

inline constexpr std::size_t kDefaultInventoryLimit = 1000;
inline constexpr std::size_t kDefaultDecisionLimit = 50;
inline constexpr std::size_t kMaxDecisionLimit = 500;     // ?limit= of /api/v1/decisions at most
inline constexpr std::size_t kMaxFilterBytes = 256;       // ?namespace=, ?rule=, ?search= at most
inline constexpr std::size_t kMaxVulnerabilityIdBytes = 64;

// `%XX` decoded (a malformed escape stays as written), `+` as a space.
std::string url_decode(std::string_view s);
// The decoded value of the first `name=` in the query of `target` ("/path?a=1&b=2"); "" when absent.
std::string query_param(std::string_view target, std::string_view name);
// The normalised form of a reference (docker.io/library/nginx:1.25, registry host canonical), or the text
// as given when it does not parse, so pushes and queries agree on spelling.
std::string normalized_image(const std::string& image);
// ?limit=N within [1, max]; kDefaultInventoryLimit (or max when smaller) when empty. nullopt: malformed.
std::optional<std::size_t> parse_limit(const std::string& text, std::size_t max);
// The filters the GET inventory routes share (?namespace=, ?digest=, ?image=); nullopt: a bad ?digest=.
std::optional<verifier::InventoryQuery> inventory_query(std::string_view target);

// ?offset=N, a count of entries to skip: 0 when empty; nullopt when malformed or over `max`.
std::optional<std::size_t> parse_offset(const std::string& text, std::size_t max);
// A vulnerability id as scanners write them (CVE-2024-3094, GHSA-xxxx-xxxx-xxxx, RUSTSEC-2024-0001,
// ALAS2-2024-1): 1 to kMaxVulnerabilityIdBytes of letters, digits and . _ : -.
bool is_valid_vulnerability_id(std::string_view id) noexcept;
// A page of the inventory: inventory_query's filters, ?search= (a substring of the image, at most
// kMaxFilterBytes), ?cve= (is_valid_vulnerability_id), ?limit= within [1, max_limit], ?offset= within
// [0, max_limit] (a listing reads at most max_limit entries, so no page starts beyond them).
// invalid_argument naming the bad parameter.
Result<verifier::InventoryQuery> inventory_page_query(std::string_view target, std::size_t max_limit);
// The recent decisions' filters: ?decision= (allowed, warned, denied or error), ?namespace= and ?rule= (at most
// kMaxFilterBytes each), ?before=ID (a positive id: the next page), ?limit= within [1, kMaxDecisionLimit]
// (default kDefaultDecisionLimit). invalid_argument naming the bad parameter.
Result<RecentFilter> recent_filter(std::string_view target);
// The id of /api/v1/decisions/{id}: a positive decimal number without sign or leading zero; nullopt otherwise.
std::optional<std::uint64_t> parse_decision_id(std::string_view text) noexcept;

}  // namespace imagegate::webhook
