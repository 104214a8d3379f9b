// ApiTokens: the verdict API's bearer tokens (webhook/api/verdict_api.h). A file with one token per line,
// `rw:TOKEN` (read-write) or `ro:TOKEN` (read-only); blank lines and `#` comments are ignored; a token has at
// least 16 characters. `Authorization: Bearer TOKEN` is compared with every known token in constant time
// (SHA-256 of both, CRYPTO_memcmp). The file is re-read when its modification time changes (a rotated
// Kubernetes Secret); a broken new version keeps the tokens already loaded.
//
// Thread-safe: check() may run on any thread.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace imagegate::webhook {

enum class Access { none, read, write };

class ApiTokens {
 public:
  // Loads the file now; a missing or malformed file is an error (names the file and line).
  static Result<std::shared_ptr<ApiTokens>> load(std::filesystem::path file);
  // Parses the file's text (tests).
  static Result<std::vector<std::pair<Access, std::array<unsigned char, 32>>>> parse(const std::string& text,
                                                                                      const std::string& name);
  // The access an `Authorization` header value grants.
  Access check(std::string_view authorization);

 private:
  void reload_if_changed();
  std::filesystem::path file_;
  std::mutex mutex_;
  std::filesystem::file_time_type mtime_{};
  std::vector<std::pair<Access, std::array<unsigned char, 32>>> tokens_;
};

}  // namespace imagegate::webhook
