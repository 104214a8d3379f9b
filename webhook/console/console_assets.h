// The console's page, script and style (webhook/console/page/), compiled into the binary: the root
// CMakeLists.txt generates the definition (console_assets.cc in the build tree) from those files, so the
// served bytes are the files' bytes and nothing is fetched from anywhere else.
#pragma once

#include <span>
#include <string_view>

namespace imagegate::webhook {

struct ConsoleAsset {
  std::string_view name;          // the file's name under page/ ("index.html", "console.js", ...)
  std::string_view content_type;  // by its extension
  std::string_view body;
};

std::span<const ConsoleAsset> console_assets();

}  // namespace imagegate::webhook
