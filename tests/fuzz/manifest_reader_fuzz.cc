// Fuzzes the CLI's manifest reader: arbitrary bytes as a YAML/JSON stream (the YAML -> JSON converter
// with its depth, node and alias bounds, List flattening, AdmissionReview unwrapping, the workload decoder
// on every object found), and the YAML writer on every document read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/workload.h"
#include "webhook/cli/manifest_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto objects = imagegate::webhook::read_manifests(text, "fuzz.yaml");
  if (objects.ok()) {
    for (const auto& object : *objects) {
      if (object.workload.ok() && object.workload->images.size() > imagegate::policy::kMaxContainersPerObject) {
        std::abort();
      }
    }
  }
  auto documents = imagegate::webhook::parse_documents(text, "fuzz.yaml");
  if (!documents.ok()) return 0;
  for (const auto& document : *documents) (void)imagegate::webhook::to_yaml(document.value);
  return 0;
}
