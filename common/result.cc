#include "common/result.h"

namespace imagegate {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::deadline_exceeded: return "deadline_exceeded";
    case ErrorCode::resource_exhausted: return "resource_exhausted";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

std::string message_with_detail(const Error& error) {
  return error.detail.empty() ? error.message : error.message + " (" + error.detail + ")";
}

}  // namespace imagegate
