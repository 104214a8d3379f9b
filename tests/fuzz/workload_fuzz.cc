// Fuzzes the workload decoder (webhook/admission/workload_decoder.h): arbitrary bytes parsed as JSON
// (non-throwing), then decode_workload with and without a request kind. Checks that every decoded path
// points at the image it names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "policy/workload.h"
#include "webhook/admission/workload_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json object = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return 0;
  for (const char* hint : {"", "Pod", "CronJob"}) {
    auto workload = imagegate::webhook::decode_workload(object, hint);
    if (!workload.ok()) continue;
    if (workload->images.size() > imagegate::policy::kMaxContainersPerObject) std::abort();
    for (const auto& image : workload->images) {
      const nlohmann::json::json_pointer pointer(imagegate::policy::to_json_pointer(image.json_path));
      if (!object.contains(pointer) || object.at(pointer) != image.image) std::abort();
    }
  }
  return 0;
}
