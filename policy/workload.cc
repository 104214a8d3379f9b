#include "policy/workload.h"

#include <string>
#include <string_view>

namespace imagegate::policy {

std::string owner_label(const ContainerImage& image, std::string_view fallback) {
  if (image.is_volume()) return "volume \"" + image.name + "\"";
  return image.name.empty() ? std::string(fallback) : image.name;
}

std::string to_json_pointer(const std::string& json_path) {
  std::string out;
  out.reserve(json_path.size() + 2);
  auto append_token = [&out](std::string_view token) {
    out += '/';
    for (char c : token) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out += c;
      }
    }
  };
  std::size_t i = 0;
  std::string token;
  bool have_token = false;
  while (i < json_path.size()) {
    const char c = json_path[i];
    if (c == '.') {
      if (have_token) append_token(token);
      token.clear();
      have_token = false;
      ++i;
    } else if (c == '[') {
      if (have_token) append_token(token);
      token.clear();
      const std::size_t close = json_path.find(']', i);
      if (close == std::string::npos) {  // not our syntax: keep the rest as one token
        append_token(std::string_view(json_path).substr(i));
        return out;
      }
      append_token(std::string_view(json_path).substr(i + 1, close - i - 1));
      have_token = false;
      i = close + 1;
    } else {
      token += c;
      have_token = true;
      ++i;
    }
  }
  if (have_token) append_token(token);
  return out;
}

}  // namespace imagegate::policy
