#include "common/bounded_file.h"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace imagegate {

Result<std::string> read_bounded_file(const std::string& path, std::size_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return not_found(path + ": cannot read: " + ec.message());
  if (std::filesystem::is_directory(status)) return invalid_argument(path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open for reading");
  std::string data;
  char buffer[65536];
  while (in) {
    // Never past max_bytes + 1: one byte over the bound is enough to refuse.
    const std::size_t left = max_bytes - data.size();
    const std::size_t step = left < sizeof buffer ? left + 1 : sizeof buffer;
    in.read(buffer, static_cast<std::streamsize>(step));
    data.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (data.size() > max_bytes) {
      return resource_exhausted(path + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  if (in.bad()) return not_found(path + ": read error");
  return data;
}

}  // namespace imagegate
