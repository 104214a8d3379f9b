// libFuzzer target for the Sigstore bundle parsers: verifier/signature/sigstore/sigstore_bundle.cc (bundle JSON, and the
// verification steps that run on what parses, against an empty and a key-only trust), the signed-note /
// checkpoint parser and the Merkle proof walk of verifier/signature/sigstore/transparency_log.cc, and the RFC 3161 response
// parser of verifier/signature/timestamp.cc. Nothing may crash, and nothing garbage may verify.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "verifier/signature/sigstore/sigstore_bundle.h"
#include "verifier/signature/timestamp.h"
#include "verifier/signature/sigstore/transparency_log.h"

namespace {

using namespace imagegate::verifier;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "sigstore_bundle_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto bundle = parse_sigstore_bundle(input);
  if (!bundle.ok()) {
    // Messages may quote the bundle, but only as bounded printable text.
    for (char c : bundle.error().message) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f) fail("unescaped byte in a parse error");
    }
    if (bundle.error().message.size() > 2048) fail("unbounded parse error");
  }
  if (bundle.ok()) {
    if (bundle->minor_version < 1 || bundle->minor_version > 3) fail("parsed an unknown bundle version");
    if (bundle->tlog_entries.size() > kMaxBundleTlogEntries) fail("more tlog entries than the bound");
    for (const auto& e : bundle->tlog_entries) {
      if (e.log_index < 0) fail("negative log index accepted");
      if (e.inclusion_proof) {
        if (e.inclusion_proof->hashes.size() > kMaxProofHashes) fail("more proof hashes than the bound");
        (void)root_from_inclusion_proof(*e.inclusion_proof, rfc6962_leaf_hash(e.body));
      }
    }
    // Verification on what parsed: with an empty trusted root nothing may verify.
    const TrustedRoot empty;
    Artifact artifact{HashAlgorithm::sha256, sha256("artifact"), std::string("artifact")};
    BundleTrust keyless;
    keyless.identity = CertificateIdentity{};
    if (verify_sigstore_bundle(input, artifact, empty, keyless).ok()) fail("keyless bundle verified against an empty root");
  }

  auto note = parse_signed_note(input);
  if (note.ok()) {
    if (note->signatures.empty() || note->signatures.size() > kMaxNoteSignatures) fail("signature count out of bounds");
    for (const auto& s : note->signatures) {
      if (s.key_hint.size() != 4) fail("key hint is not 4 bytes");
    }
    (void)parse_checkpoint(note->text);
  }
  (void)parse_checkpoint(input);

  auto ts = verify_rfc3161_timestamp(input, "signature", {});
  if (ts.ok()) fail("timestamp verified without authorities");
  return 0;
}
