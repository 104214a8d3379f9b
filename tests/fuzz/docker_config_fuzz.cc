// libFuzzer target for verifier/registry/docker_config.cc: arbitrary bytes as a Docker config file must parse or
// fail cleanly; lookups on what parsed must not crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "verifier/registry/docker_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto r = imagegate::verifier::DockerCredentials::parse(input, "fuzz.json");
  if (!r.ok()) return 0;
  (void)r->find("docker.io", "library/nginx");
  (void)r->find("registry.example.com:5000", "team/app");
  (void)imagegate::verifier::normalize_docker_config_key(input.substr(0, 256));
  return 0;
}
