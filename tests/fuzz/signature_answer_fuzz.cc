// libFuzzer target for webhook/evidence/signature_shared_answer.h: the signature answers replicas read back from
// Redis. Any input either reads as nothing or as answers within the bounds (only verified/failed, an expiry
// in range, bounded counts) for exactly the anchors asked, and those answers survive encode -> decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "webhook/evidence/signature_shared_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagegate::webhook;
  using imagegate::verifier::AnchorCheck;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The anchors asked: the names the seeds use.
  const std::vector<std::string> anchors = {"release", "ci"};
  const auto answer = decode_signature_answer(text, anchors);
  if (!answer) return 0;
  if (answer->checks.size() != anchors.size()) std::abort();
  if (answer->expires_ms <= 0 || answer->expires_ms > kMaxSignatureAnswerExpiresMs) std::abort();
  std::vector<std::pair<std::string, AnchorCheck>> pairs;
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    const AnchorCheck& check = answer->checks[i];
    if (check.status == AnchorCheck::Status::unavailable) std::abort();
    if (check.signers.size() > kMaxSignatureAnswerSigners) std::abort();
    pairs.emplace_back(anchors[i], check);
  }
  const auto again = decode_signature_answer(encode_signature_answer(pairs, answer->signatures, answer->expires_ms),
                                             anchors);
  if (!again || again->signatures != answer->signatures || again->expires_ms != answer->expires_ms) std::abort();
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    const AnchorCheck& a = answer->checks[i];
    const AnchorCheck& b = again->checks[i];
    if (a.status != b.status || a.detail != b.detail || a.signers != b.signers) std::abort();
  }
  return 0;
}
