#include "verifier/registry/www_authenticate.h"

#include <cctype>

#include "common/text.h"

namespace imagegate::verifier {
namespace {

// RFC 9110 tchar.
bool is_tchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u) != 0) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token68_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void skip_ows() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  std::string_view token() {
    const std::size_t start = i_;
    while (!done() && is_tchar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  std::size_t pos() const { return i_; }
  void set_pos(std::size_t p) { i_ = p; }
  void advance() { ++i_; }
  std::string_view rest() const { return s_.substr(i_); }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

Error malformed(std::string_view why) {
  return invalid_argument("malformed WWW-Authenticate header: " + std::string(why));
}

// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
Result<std::string> quoted_string(Cursor& c) {
  c.advance();  // opening quote
  std::string out;
  while (!c.done()) {
    const char ch = c.peek();
    c.advance();
    if (ch == '"') return out;
    if (ch == '\\') {
      if (c.done()) break;
      out.push_back(c.peek());
      c.advance();
      continue;
    }
    if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t') return malformed("control character in quoted string");
    out.push_back(ch);
  }
  return malformed("unterminated quoted string");
}

}  // namespace

std::string AuthChallenge::param(std::string_view name) const {
  const auto it = params.find(std::string(name));
  return it == params.end() ? std::string() : it->second;
}

Result<std::vector<AuthChallenge>> parse_www_authenticate(std::string_view header) {
  if (header.size() > kMaxChallengeHeaderBytes) {
    return resource_exhausted("WWW-Authenticate header longer than " + std::to_string(kMaxChallengeHeaderBytes) +
                              " bytes");
  }
  std::vector<AuthChallenge> challenges;
  Cursor c(header);
  // Empty list elements (",,") are allowed by the list syntax.
  for (;;) {
    c.skip_ows();
    while (c.peek() == ',') {
      c.advance();
      c.skip_ows();
    }
    if (c.done()) break;
    const std::string_view scheme = c.token();
    if (scheme.empty()) return malformed("expected an auth scheme");
    AuthChallenge challenge;
    challenge.scheme = ascii_lower(scheme);
    if (!c.done() && c.peek() != ' ' && c.peek() != '\t' && c.peek() != ',') {
      return malformed("unexpected character after scheme");
    }
    c.skip_ows();
    // Either a token68, or auth-params, or nothing (next challenge / end). A token68 is recognised when
    // its characters (and '=' padding) run to the end of the element.
    if (!c.done() && c.peek() != ',') {
      std::size_t end = c.pos();
      while (end < header.size() && is_token68_char(header[end])) ++end;
      const std::size_t chars_end = end;
      while (end < header.size() && header[end] == '=') ++end;
      std::size_t after = end;
      while (after < header.size() && (header[after] == ' ' || header[after] == '\t')) ++after;
      if (chars_end > c.pos() && (after == header.size() || header[after] == ',')) {
        challenge.token68 = std::string(header.substr(c.pos(), end - c.pos()));
        c.set_pos(after);
      } else {
        // #auth-param, comma separated, until an element that is not name=value (the next challenge).
        for (;;) {
          const std::string_view name = c.token();
          if (name.empty()) return malformed("expected a parameter name");
          c.skip_ows();
          if (c.peek() != '=') return malformed("expected '=' after parameter " + std::string(name));
          c.advance();
          c.skip_ows();
          std::string value;
          if (c.peek() == '"') {
            auto q = quoted_string(c);
            if (!q) return q.error();
            value = std::move(*q);
          } else {
            const std::string_view v = c.token();
            if (v.empty()) return malformed("empty value for parameter " + std::string(name));
            value = std::string(v);
          }
          std::string key = ascii_lower(name);
          if (challenge.params.count(key) != 0) return malformed("duplicate parameter " + key);
          if (challenge.params.size() >= 64) return malformed("too many parameters");
          challenge.params.emplace(std::move(key), std::move(value));
          c.skip_ows();
          if (c.done()) break;
          if (c.peek() != ',') return malformed("expected ',' between parameters");
          // Look past the comma(s): "name =" continues this challenge; anything else starts the next one.
          const std::size_t comma = c.pos();
          while (c.peek() == ',' || c.peek() == ' ' || c.peek() == '\t') c.advance();
          const std::size_t next = c.pos();
          const std::string_view t = c.token();
          c.skip_ows();
          const bool is_param = !t.empty() && c.peek() == '=';
          c.set_pos(is_param ? next : comma);
          if (!is_param) break;
        }
      }
    }
    c.skip_ows();
    if (!c.done() && c.peek() != ',') return malformed("unexpected text after challenge");
    challenges.push_back(std::move(challenge));
    if (challenges.size() > 32) return malformed("too many challenges");
  }
  if (challenges.empty()) return malformed("no challenge");
  return challenges;
}

}  // namespace imagegate::verifier
