// Fuzzes the CLI's manifest reader: arbitrary bytes as a YAML/JSON stream (the YAML -> JSON converter
// with its depth, node and alias bounds, List flattening, AdmissionReview unwrapping), then workload
// extraction on every object found, and the YAML writer on what was read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/workload.h"
#include "webhook/cli/manifest_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto objects = imagegate::webhook::read_manifests(text, "fuzz.yaml");
  if (!objects.ok()) return 0;
  for (const auto& object : *objects) {
    auto workload = imagegate::policy::extract_workload(object.object, object.request_kind);
    (void)workload;
    (void)imagegate::webhook::to_yaml(object.object);
  }
  return 0;
}
