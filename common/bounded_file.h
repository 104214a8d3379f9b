// Reading a whole file of outside input (trust material, Docker configs, manifests, policies) with a bound
// on its size: at most `max_bytes` + 1 bytes are ever read, in 64 KiB steps, so a huge or endless file (a
// FIFO, /dev/zero) costs no more memory than the bound, and a small file no more than its size.
//
// Errors name the path: not_found "PATH: cannot open for reading" (or the reason the file system gave, or
// "read error"), invalid_argument "PATH: is a directory", resource_exhausted "PATH: larger than N bytes".
// Callers that word their own messages tell these apart by the error code.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace imagegate {

Result<std::string> read_bounded_file(const std::string& path, std::size_t max_bytes);

}  // namespace imagegate
