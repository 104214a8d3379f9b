// Fuzzes common/json_writer.h, the writer of every answer and decision-log line. The input is cut at 0x00
// bytes into strings; each is written as a key and as a value, and the whole input's first 8 bytes as a
// double. Then:
//  - what the writer wrote is the byte string nlohmann's dump(-1, ' ', false, replace) writes for the same
//    values (so the answers and the log did not change when the writer replaced nlohmann's);
//  - it parses (nlohmann), and each string reads back as it went in when it was valid UTF-8;
//  - the double reads back as the same value.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> pieces;
  for (std::size_t start = 0;;) {
    const std::size_t end = input.find('\0', start);
    pieces.push_back(input.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  double number = 0;
  if (size >= sizeof number) std::memcpy(&number, data, sizeof number);

  std::string out;
  imagegate::JsonWriter writer(out);
  writer.begin_array();
  nlohmann::json oracle = nlohmann::json::array();
  for (const std::string_view piece : pieces) {
    writer.begin_object();
    writer.member(piece, piece);
    writer.end_object();
    oracle.push_back({{std::string(piece), std::string(piece)}});
  }
  writer.value(number);
  oracle.push_back(number);
  writer.end_array();

  const std::string expected = oracle.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const auto parsed = nlohmann::json::parse(out, nullptr, false);
  if (parsed.is_discarded()) std::abort();
  if (parsed.size() != pieces.size() + 1) std::abort();
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::string piece(pieces[i]);
    // Valid UTF-8 survives unchanged (nlohmann's strict dump throws on invalid UTF-8).
    bool valid = true;
    try {
      (void)nlohmann::json(piece).dump();
    } catch (const nlohmann::json::exception&) {
      valid = false;
    }
    if (valid && parsed[i].items().begin().key() != piece) std::abort();
    if (valid && parsed[i].items().begin().value() != piece) std::abort();
  }
  const auto& back = parsed[pieces.size()];
  if (std::isfinite(number)) {
    if (back.get<double>() != number) std::abort();
  } else if (!back.is_null()) {
    std::abort();
  }
  // Byte for byte nlohmann's, except where Grisu2 (nlohmann) picks a longer digit string than the
  // shortest: compare the strings part exactly, the number by value (checked above).
  const std::size_t cut = out.rfind(',');
  const std::size_t expected_cut = expected.rfind(',');
  if (!pieces.empty() && out.substr(0, cut) != expected.substr(0, expected_cut)) std::abort();
  return 0;
}
