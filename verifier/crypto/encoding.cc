// Digests (SHA-2 through OpenSSL's EVP) and the byte encodings beside them: hex both ways and base64
// decoding (verifier/crypto/crypto.h). The base64 encoder is common/text.h's.
#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>

#include "verifier/crypto/crypto.h"
#include "verifier/crypto/crypto_internal.h"

namespace imagegate::verifier {

using namespace crypto_internal;  // NOLINT: this file is part of verifier/crypto's implementation

std::string sha_digest(HashAlgorithm hash, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, evp_md(hash), nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return to_string_view_bytes(md.data(), len);
}

std::string sha256(std::string_view data) { return sha_digest(HashAlgorithm::sha256, data); }
std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

std::string hex_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

Result<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return invalid_argument("hex string of odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return invalid_argument("not a hex string");
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

namespace {

// RFC 4648 decoding for both alphabets. Whitespace is skipped (PEM bodies, wrapped JSON). Padding may be
// omitted, but when present it must be complete and final.
Result<std::string> base64_decode_with(std::string_view text, bool url) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned int acc = 0;
  int bits = 0;
  std::size_t chars = 0;
  std::size_t padding = 0;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return invalid_argument("base64: data after padding");
    int v = -1;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == (url ? '-' : '+')) {
      v = 62;
    } else if (c == (url ? '_' : '/')) {
      v = 63;
    }
    if (v < 0) return invalid_argument("base64: invalid character");
    ++chars;
    acc = (acc << 6) | static_cast<unsigned int>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (chars % 4 == 1) return invalid_argument("base64: truncated input");
  if (padding > 0 && (chars + padding) % 4 != 0) return invalid_argument("base64: wrong padding");
  if (padding > 2) return invalid_argument("base64: wrong padding");
  return out;
}

}  // namespace

Result<std::string> base64_decode(std::string_view text) { return base64_decode_with(text, false); }
Result<std::string> base64url_decode(std::string_view text) { return base64_decode_with(text, true); }

}  // namespace imagegate::verifier
