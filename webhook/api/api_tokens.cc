#include "webhook/api/api_tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

namespace imagegate::webhook {

namespace {

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

}  // namespace

Result<std::vector<std::pair<Access, std::array<unsigned char, 32>>>> ApiTokens::parse(const std::string& text,
                                                                                        const std::string& name) {
  std::vector<std::pair<Access, std::array<unsigned char, 32>>> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    const std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const std::string_view entry = std::string_view(line).substr(start);
    Access access = Access::none;
    if (entry.substr(0, 3) == "rw:") access = Access::write;
    if (entry.substr(0, 3) == "ro:") access = Access::read;
    if (access == Access::none) {
      return invalid_argument(name + ":" + std::to_string(n) + ": a token line starts with rw: or ro:");
    }
    const std::string_view token = entry.substr(3);
    if (token.size() < 16) return invalid_argument(name + ":" + std::to_string(n) + ": tokens have at least 16 characters");
    out.emplace_back(access, sha256(token));
  }
  if (out.empty()) return invalid_argument(name + ": no tokens");
  return out;
}

Result<std::shared_ptr<ApiTokens>> ApiTokens::load(std::filesystem::path file) {
  auto tokens = std::make_shared<ApiTokens>();
  tokens->file_ = std::move(file);
  std::error_code ec;
  tokens->mtime_ = std::filesystem::last_write_time(tokens->file_, ec);
  std::ifstream in(tokens->file_, std::ios::binary);
  if (ec || !in) return invalid_argument("cannot read the API token file " + tokens->file_.string());
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse(text.str(), tokens->file_.string());
  if (!parsed) return parsed.error();
  tokens->tokens_ = std::move(parsed).value();
  return tokens;
}

void ApiTokens::reload_if_changed() {
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(file_, ec);
  if (ec || mtime == mtime_) return;
  std::ifstream in(file_, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  // A half-written or broken file keeps the tokens we had.
  if (auto parsed = parse(text.str(), file_.string())) {
    tokens_ = std::move(parsed).value();
    mtime_ = mtime;
  }
}

Access ApiTokens::check(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer) return Access::none;
  const auto presented = sha256(authorization.substr(kBearer.size()));
  std::lock_guard lock(mutex_);
  if (!file_.empty()) reload_if_changed();
  Access best = Access::none;
  // Every token is compared, matching or not: the time taken does not depend on which one matched.
  for (const auto& [access, hash] : tokens_) {
    if (CRYPTO_memcmp(hash.data(), presented.data(), hash.size()) == 0 && access > best) best = access;
  }
  return best;
}

}  // namespace imagegate::webhook
