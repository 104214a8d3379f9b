// URLs and authorities for OciRegistryClient (verifier/registry/oci_registry_internal.h), the SSRF address
// check and the registry host Docker Hub's API answers on (verifier/registry/registry_client.h).
#include "common/asio_warnings.h"  // before any Asio header

#include <array>
#include <cctype>

#include <boost/asio/ip/address.hpp>

#include "common/text.h"
#include "verifier/registry/oci_registry_internal.h"

namespace imagegate::verifier {
namespace oci {

bool split_authority(std::string_view authority, std::string& host, std::string& port, std::string_view default_port) {
  if (authority.empty()) return false;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(authority.substr(1, close - 1));
    const std::string_view rest = authority.substr(close + 1);
    if (rest.empty()) {
      port = std::string(default_port);
    } else if (rest.front() == ':' && rest.size() > 1) {
      port = std::string(rest.substr(1));
    } else {
      return false;
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos) {
      host = std::string(authority);
      port = std::string(default_port);
    } else {
      host = std::string(authority.substr(0, colon));
      port = std::string(authority.substr(colon + 1));
    }
  }
  if (host.empty() || port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return false;
  }
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) == 0 && c != '.' && c != '-' && c != ':' && c != '_') return false;
  }
  host = ascii_lower(host);
  return true;
}

Result<Url> parse_url(std::string_view text) {
  Url url;
  if (text.rfind("https://", 0) == 0) {
    text.remove_prefix(8);
  } else if (text.rfind("http://", 0) == 0) {
    url.https = false;
    text.remove_prefix(7);
  } else {
    return invalid_argument("not an http(s) URL");
  }
  const auto slash = text.find_first_of("/?#");
  const std::string_view authority = text.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) return invalid_argument("URL with user info refused");
  if (!split_authority(authority, url.host, url.port, url.https ? "443" : "80")) {
    return invalid_argument("bad URL host");
  }
  if (slash != std::string_view::npos) {
    std::string_view target = text.substr(slash);
    target = target.substr(0, target.find('#'));
    url.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  }
  for (char c : url.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return invalid_argument("bad URL path");
  }
  return url;
}

}  // namespace oci

namespace asio = boost::asio;

std::string registry_api_host(std::string_view domain) {
  if (domain == "docker.io" || domain == "index.docker.io") return "registry-1.docker.io";
  return std::string(domain);
}

bool is_blocked_address(std::string_view ip_text) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(std::string(ip_text), ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  if (address.is_v4()) {
    const auto v = address.to_v4().to_uint();
    if ((v & 0xFFFF0000U) == 0xA9FE0000U) return true;  // 169.254.0.0/16
    if (v == 0x646464C8U) return true;                  // 100.100.100.200
    return false;
  }
  const auto b = address.to_v6().to_bytes();
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return true;  // fe80::/10
  static constexpr std::array<unsigned char, 16> kEc2{0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  return b == kEc2;  // fd00:ec2::254
}

}  // namespace imagegate::verifier
