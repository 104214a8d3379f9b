// WWW-Authenticate challenges (RFC 9110 section 11.6.1): what a registry answers with 401 so the client
// knows whether to send Basic credentials or fetch a Bearer token from a realm.
//
//   challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param = token BWS "=" BWS ( token / quoted-string )
//
// Several challenges may share one header, separated by commas. Parsing is by hand, linear, bounded by
// kMaxChallengeHeaderBytes, and never throws. Plain value types; thread-compatible.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace imagegate::verifier {

inline constexpr std::size_t kMaxChallengeHeaderBytes = 8 * 1024;

struct AuthChallenge {
  std::string scheme;                         // lowercased: "bearer", "basic"
  std::string token68;                        // when the challenge carries a token68 instead of params
  std::map<std::string, std::string> params;  // names lowercased; values unquoted

  // The parameter's value, or "" when absent.
  std::string param(std::string_view name) const;
};

// Parses a header value. invalid_argument on malformed input (unterminated quote, missing scheme, bad
// characters, duplicate parameter), resource_exhausted when longer than kMaxChallengeHeaderBytes.
Result<std::vector<AuthChallenge>> parse_www_authenticate(std::string_view header);

}  // namespace imagegate::verifier
