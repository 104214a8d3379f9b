// "Did you mean": the closest of a few known words to a misspelt one (case-insensitive edit distance), for
// messages about unknown keys (the policy loader, the CLI's suite files).
//
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imagegate {

// Levenshtein distance, ASCII letters compared case-insensitively.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a typo (distance at most
// max(2, |word| / 3)); nullopt otherwise. Ties go to the first candidate.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace imagegate
