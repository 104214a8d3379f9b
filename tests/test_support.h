// Helpers shared by the test binaries: where things are, and reading files.
#pragma once

#include <filesystem>
#include <string>

namespace imagegate::testing {

// ../shared/conformance, or $IMAGEGATE_CONFORMANCE_DIR. Tests read vectors there in place.
std::filesystem::path conformance_dir();
// The project's source tree ($IMAGEGATE_SOURCE_DIR), for tests/testdata and examples.
std::filesystem::path source_dir();
// The built imagegate binary ($IMAGEGATE_BINARY).
std::filesystem::path imagegate_binary();
std::string read_file(const std::filesystem::path& path);

}  // namespace imagegate::testing
