#include "common/yaml_hint.h"

#include <array>

namespace imagegate {
namespace {

// yaml-cpp's messages (yaml-cpp/exceptions.h ErrorMsg) that mean "the block structure does not line up".
constexpr std::array<std::string_view, 6> kIndentationMessages = {
    "end of map not found", "end of sequence not found", "illegal map value",
    "illegal map key",      "illegal block entry",       "bad indentation"};

}  // namespace

std::string yaml_syntax_hint(std::string_view text, int error_line, std::string_view message) {
  // The first line, up to the one after the error's, whose indentation holds a tab: yaml-cpp often notices
  // the tab a line or more later, when the structure stops making sense.
  int line = 0;
  std::size_t start = 0;
  while (start <= text.size() && (error_line < 0 || line <= error_line + 1)) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    for (std::size_t i = start; i < end && (text[i] == ' ' || text[i] == '\t'); ++i) {
      if (text[i] == '\t') {
        return "tabs are not allowed for indentation (line " + std::to_string(line + 1) +
               " is indented with a tab); indent with spaces";
      }
    }
    if (end == text.size()) break;
    start = end + 1;
    ++line;
  }
  for (std::string_view known : kIndentationMessages) {
    if (message.find(known) != std::string_view::npos) {
      return "check the indentation" +
             (error_line >= 0 ? " near line " + std::to_string(error_line + 1) : std::string()) +
             ": the keys of one mapping, and the items of one list, start in the same column";
    }
  }
  return "";
}

}  // namespace imagegate
