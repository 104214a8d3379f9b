// The query strings of the verdict API (webhook/api/verdict_api.h): `?name=value&...` read from a request
// target, percent-decoded; the inventory filters (?namespace=, ?image=, ?digest=) and ?limit=. Outside
// input: bounded by the request line's size, never throws, fuzzed by tests/fuzz/api_query_fuzz.cc.
// Plain functions, no state.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "verifier/verdict/verdict_store.h"

namespace imagegate::webhook {

inline constexpr std::size_t kDefaultInventoryLimit = 1000;

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

}  // namespace imagegate::webhook
