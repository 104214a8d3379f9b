// Internal to verifier/signature/notary_v1/: helpers the TUF files share (tuf.cc, tuf_checks.cc,
// tuf_trust_chain.cc). Not for other rooms.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "verifier/signature/notary_v1/tuf.h"

namespace imagegate::verifier::tuf::internal {

inline Error denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

// Every hash `meta` lists for a known algorithm matches `bytes`; permission_denied naming `what` otherwise,
// also when no sha256/sha384/sha512 hash is listed.
Status check_hashes(const FileMeta& meta, std::string_view bytes, std::string_view what);

// "a/b" for the delegated role "a/b/c"; "" for a top-level role.
inline std::string parent_of(std::string_view role) {
  auto slash = role.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(role.substr(0, slash));
}

}  // namespace imagegate::verifier::tuf::internal
