// libFuzzer target for webhook/server/server_config.cc: the `imagegate serve --config` YAML file. Any
// input either is refused with an error naming the file, or yields a config within the documented bounds
// (threads 1..1024, the registry's per-review and per-host concurrency 1..1024, signatures 1..200, the
// payload cap at most 256 KiB) that validate_server_config can judge without crashing. The listen address
// parser gets the raw bytes too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "webhook/server/server_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::webhook;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parse_listen_address(text);
  const auto config = parse_server_config(text, "fuzz.yaml");
  if (!config.ok()) {
    if (config.error().message.find("fuzz.yaml") == std::string::npos) std::abort();
    return 0;
  }
  if (config->threads > 1024 || config->registry.max_concurrent_per_review < 1 ||
      config->registry.max_concurrent_per_review > 1024 || config->registry.max_concurrent_per_registry < 1 ||
      config->registry.max_concurrent_per_registry > 1024 || config->signatures.max_signatures < 1 ||
      config->signatures.max_signatures > 200 || config->signatures.max_payload_bytes > kMaxSignaturePayloadBytesLimit) {
    std::abort();
  }
  (void)validate_server_config(*config);
  return 0;
}
