// Error and Result<T>: how every public function of policy/ and verifier/ reports failure.
//
// No exception crosses a module boundary. An Error carries a code that tells the caller what to do
// (modelled on Abseil's status codes) and a message for humans. Result<T> holds either a T or an Error.
//
// `message` may travel far: into the admission answer the API server shows to whoever created the Pod.
// `detail` is what the message leaves out on purpose, for the operator only (the decision log, the CLI):
// a registry that cannot be reached is "registry unreachable" to the requester whatever the socket said
// (refused, reset, timed out, a TLS handshake with something that is not TLS), so admission answers cannot
// be used to scan ports; the socket error itself is the detail.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace imagegate {

enum class ErrorCode {
  invalid_argument,    // bad input: YAML, reference, review body
  not_found,           // no signature, no manifest, no verdict
  permission_denied,   // present but not trusted
  unavailable,         // transient: registry 5xx, connection reset; retryable
  deadline_exceeded,   // the review's budget ran out
  resource_exhausted,  // a size or count limit was hit
  internal,            // our bug
};

std::string_view to_string(ErrorCode code) noexcept;

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::string detail = {};  // for logs only, never in an admission answer; "" when the message says it all

  friend bool operator==(const Error&, const Error&) = default;
};

inline Error invalid_argument(std::string message) { return {ErrorCode::invalid_argument, std::move(message)}; }
inline Error not_found(std::string message) { return {ErrorCode::not_found, std::move(message)}; }
inline Error resource_exhausted(std::string message) {
  return {ErrorCode::resource_exhausted, std::move(message)};
}
inline Error internal_error(std::string message) { return {ErrorCode::internal, std::move(message)}; }

// The message with the detail it leaves out, for the operator's eyes (logs, CLI): "msg (detail)".
std::string message_with_detail(const Error& error);

// Either a value or an Error. Accessing the wrong alternative is a programming error (std::bad_variant_access).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

// For operations that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace imagegate
