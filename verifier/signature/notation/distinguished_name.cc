// x509 distinguished names as Notation trusted identities compare them (notation-go internal/pkix): RFC 4514
// text parsed into attribute -> value with single-valued RDNs and unique attributes, C, ST and O mandatory;
// a certificate subject is read into the same map with Go's attribute names.
#include <cctype>

#include "verifier/signature/notation/trust_policy.h"

namespace imagegate::verifier::notation {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status add(DistinguishedName& dn, std::string_view text, std::string type, std::string value) {
  if (dn.count(type) != 0) {
    return invalid_argument("distinguished name (DN) \"" + std::string(text) + "\" has duplicate RDN attribute for \"" +
                            type + "\", DN can only have unique RDN attributes");
  }
  dn.emplace(std::move(type), std::move(value));
  return Ok{};
}

Status mandatory(const DistinguishedName& dn, std::string_view text) {
  for (const char* field : {"C", "ST", "O"}) {
    const auto it = dn.find(field);
    if (it == dn.end() || it->second.empty()) {
      return invalid_argument("distinguished name (DN) \"" + std::string(text) + "\" has no mandatory RDN attribute for \"" +
                              field + "\", it must contain 'C', 'ST', and 'O' RDN attributes at a minimum");
    }
  }
  return Ok{};
}

}  // namespace

Result<DistinguishedName> parse_distinguished_name(std::string_view text) {
  const std::string shown(text);
  if (text.find("=#") != std::string_view::npos) {
    return invalid_argument("unsupported distinguished name (DN) \"" + shown + "\". notation does not support x509.subject identities containing \"=#\"");
  }
  const auto failed = [&](const std::string& why) {
    return invalid_argument("parsing distinguished name (DN) \"" + shown + "\" failed with err: " + why +
                            ". A valid DN must contain 'C', 'ST', and 'O' RDN attributes at a minimum, and follow RFC 4514 standard");
  };
  DistinguishedName dn;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) return failed("attribute without a value");
    std::string type = trim(text.substr(i, eq - i));
    if (type.empty()) return failed("empty attribute type");
    std::string value;
    bool quoted = false;
    std::size_t j = eq + 1;
    while (j < text.size() && text[j] == ' ') ++j;
    if (j < text.size() && text[j] == '"') {
      quoted = true;
      ++j;
    }
    bool end_of_rdn = false;
    for (; j < text.size(); ++j) {
      const char c = text[j];
      if (c == '\\') {
        if (j + 1 >= text.size()) return failed("escape at the end");
        const int hi = hex_value(text[j + 1]);
        const int lo = j + 2 < text.size() ? hex_value(text[j + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
          value.push_back(static_cast<char>(hi * 16 + lo));
          j += 2;
        } else {
          value.push_back(text[++j]);
        }
        continue;
      }
      if (quoted) {
        if (c == '"') {
          quoted = false;
          continue;
        }
        value.push_back(c);
        continue;
      }
      if (c == '+') {
        return invalid_argument("distinguished name (DN) \"" + shown + "\" has multi-valued RDN attributes, remove multi-valued RDN attributes as they are not supported");
      }
      if (c == ',' || c == ';') {
        end_of_rdn = true;
        break;
      }
      value.push_back(c);
    }
    if (quoted) return failed("unterminated quoted value");
    if (auto s = add(dn, text, std::move(type), trim(value)); !s) return s.error();
    i = end_of_rdn ? j + 1 : text.size();
  }
  if (auto s = mandatory(dn, text); !s) return s.error();
  return dn;
}

Result<DistinguishedName> subject_name(const Certificate& cert) {
  DistinguishedName dn;
  const std::string text = cert.subject();
  for (auto& [key, value] : cert.subject_attributes()) {
    // OpenSSL's short names where Go's differ.
    std::string type = key == "street" ? "STREET" : key == "postalCode" ? "POSTALCODE" : key == "serialNumber" ? "SERIALNUMBER" : key;
    if (auto s = add(dn, text, std::move(type), value); !s) return s.error();
  }
  if (auto s = mandatory(dn, text); !s) return s.error();
  return dn;
}

bool is_subset(const DistinguishedName& trusted, const DistinguishedName& subject) {
  for (const auto& [key, value] : trusted) {
    const auto it = subject.find(key);
    if (it == subject.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace imagegate::verifier::notation
