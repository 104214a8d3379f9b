// The value bound (common/json_bounded.h) at every verifier parser of outside JSON: a node bomb that fits
// the parser's byte limit ("[[],[],...]" or a flat object of empty members, issue 13) is refused with
// resource_exhausted naming the value limit, before nlohmann builds it. The parsers' own tests are the
// controls (their valid documents still parse).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

#include "verifier/signature/cosign/cosign.h"
#include "verifier/registry/docker_config.h"
#include "verifier/registry/oci_index.h"
#include "verifier/signature/sigstore/rekor.h"
#include "verifier/verdict/scan_report.h"
#include "verifier/registry/shared_answer.h"
#include "verifier/signature/sigstore/sigstore_bundle.h"
#include "verifier/signature/sigstore/trusted_root.h"
#include "verifier/signature/notary_v1/tuf.h"

namespace imagegate::verifier {
namespace {

// "[[],[],...]" of about `bytes` bytes: bytes / 3 values.
std::string arrays(std::size_t bytes) {
  std::string out = "[[]";
  out.reserve(bytes);
  while (out.size() + 4 <= bytes) out += ",[]";
  return out + "]";
}

// {"a0":{},"a1":{},...} of about `bytes` bytes: the costliest shape per value.
std::string members(std::size_t bytes) {
  std::string out = "{";
  out.reserve(bytes + 32);
  for (std::size_t i = 0; out.size() + 32 < bytes; ++i) out += (i ? ",\"a" : "\"a") + std::to_string(i) + "\":{}";
  return out + "}";
}

template <class T>
Error error_of(const Result<T>& r) {
  return r.ok() ? Error{ErrorCode::internal, "accepted"} : r.error();
}

struct Case {
  const char* name;
  std::size_t bytes;  // the parser's byte limit: the bomb stays under it
  std::function<Error(const std::string&)> parse;
};

TEST(JsonBounds, NodeBombsUnderTheByteLimitAreRefusedByValueCount) {
  const Case cases[] = {
      {"cosign signature manifest", kMaxManifestBytes, [](const std::string& t) { return error_of(parse_manifest(t, 50)); }},
      {"simple signing payload", kMaxSignaturePayloadBytes, [](const std::string& t) { return error_of(parse_simple_signing(t)); }},
      {"image index", kMaxIndexBytes, [](const std::string& t) { return error_of(parse_image_index(t)); }},
      {"sigstore bundle", kMaxBundleBytes, [](const std::string& t) { return error_of(parse_sigstore_bundle(t)); }},
      {"rekor bundle", 1024 * 1024, [](const std::string& t) { return error_of(parse_cosign_rekor_bundle(t)); }},
      {"trusted root", 4 * 1024 * 1024, [](const std::string& t) { return error_of(TrustedRoot::from_json(t)); }},
      {"tuf metadata", tuf::kMaxMetadataBytes, [](const std::string& t) { return error_of(tuf::parse_root(t)); }},
      {"docker config", kMaxDockerConfigBytes, [](const std::string& t) { return error_of(DockerCredentials::parse(t, "c.json")); }},
      {"scan report", ReportLimits{}.max_bytes,
       [](const std::string& t) { return error_of(parse_scan_report({t, std::nullopt, "", "", {}})); }},
  };
  for (const Case& c : cases) {
    for (const std::string& bomb : {arrays(c.bytes - 16), members(c.bytes - 16)}) {
      SCOPED_TRACE(std::string(c.name) + ", " + std::to_string(bomb.size()) + " bytes of " + bomb.substr(0, 6));
      ASSERT_LT(bomb.size(), c.bytes);
      const Error e = c.parse(bomb);
      EXPECT_EQ(e.code, ErrorCode::resource_exhausted) << e.message;
      EXPECT_NE(e.message.find("values (at byte"), std::string::npos) << e.message;
    }
  }
}

TEST(JsonBounds, SharedAnswersOverTheValueBoundAreMisses) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_FALSE(decode_shared_answer(arrays(kMaxSharedValueBytes - 16), now).has_value());
  // A well-formed answer with more platforms than it may carry is refused by the pre-scan as well.
  std::string many = R"({"digest":"sha256:)" + std::string(64, 'a') + R"(","mediaType":"m","size":1,"expiresAt":)" +
                     std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        (now + std::chrono::hours(1)).time_since_epoch()).count()) +
                     R"(,"platforms":[)";
  for (std::size_t i = 0; i < 2 * kMaxSharedPlatforms + 16; ++i) many += (i ? ",\"a\"" : "\"a\"");
  EXPECT_FALSE(decode_shared_answer(many + "]}", now).has_value());
}

}  // namespace
}  // namespace imagegate::verifier
