// check_json_bounded: parse_json_bounded's verdict without its DOM (implemented in json_bounded.cc, beside
// the parse it mirrors).
#pragma once

#include <string_view>

#include "common/json_bounded.h"
#include "common/result.h"

namespace imagegate {

// Whether parse_json_bounded(text, limits) would succeed, with the same Error when it would not, building
// nothing (nlohmann's SAX parser with a handler that keeps nothing). For a decoder of its own that must
// accept and refuse exactly what the DOM parser does, and word its refusals the same
// (webhook/admission/json_stream.h).
Status check_json_bounded(std::string_view text, const JsonLimits& limits);

}  // namespace imagegate
