// A hint for a YAML syntax error, as Go YAML users are used to ("found character that cannot start any
// token" is Go YAML's way of saying "a tab"): yaml-cpp's messages ("end of map not found", "illegal map
// value") name the parser state, not the mistake. Used by the policy loader and the CLI's YAML reader.
//
// Pure function; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace imagegate {

// `text` is the whole input, `error_line` the 0-based line yaml-cpp reported (-1: unknown) and `message`
// its message. Returns "" or a hint to append after "; ":
//   - a tab in the indentation of a line up to the error's: "tabs are not allowed for indentation (line N
//     is indented with a tab); indent with spaces";
//   - an error about the shape of block mappings or lists: "check the indentation near line N: the keys of
//     one mapping, and the items of one list, start in the same column".
std::string yaml_syntax_hint(std::string_view text, int error_line, std::string_view message);

}  // namespace imagegate
