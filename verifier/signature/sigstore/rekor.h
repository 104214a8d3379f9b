// Rekor (v1) transparency-log evidence shared by cosign's classic keyless signatures and Sigstore bundles:
// the Signed Entry Timestamp (SET, a log "inclusion promise") and the hashedrekord entry body.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier {

// A Rekor entry as the SET covers it: cosign's `dev.sigstore.cosign/bundle` Payload, or a bundle tlogEntry.
struct RekorEntry {
  std::string body;             // the canonicalized entry body (decoded JSON bytes, not base64)
  std::int64_t integrated_time = 0;  // seconds since the epoch
  std::string log_id;           // raw bytes (decode hex or base64 before)
  std::int64_t log_index = 0;
};

// Verifies a SET: the log whose id is entry.log_id (looked up in `root`, and valid at integrated_time)
// signed the canonical JSON {"body":B64,"integratedTime":N,"logID":HEX,"logIndex":N} with `set_signature`
// (raw DER ECDSA bytes). permission_denied "Rekor SET does not verify" / "unknown Rekor log ...".
Status verify_rekor_set(const RekorEntry& entry, std::string_view set_signature, const TrustedRoot& root);

// Parses cosign's `dev.sigstore.cosign/bundle` annotation ({"SignedEntryTimestamp":B64,"Payload":{"body":B64,
// "integratedTime":N,"logIndex":N,"logID":HEX}}) into the entry and the raw SET signature.
struct CosignRekorBundle {
  RekorEntry entry;
  std::string set_signature;
};
Result<CosignRekorBundle> parse_cosign_rekor_bundle(std::string_view json);

// Checks that a hashedrekord (v0.0.1) entry body records exactly this signature (raw bytes), this signing
// certificate or key (PEM as the signature carried it; compared as parsed DER) and this artifact sha256
// (raw 32 bytes). permission_denied naming the field that differs; invalid_argument for another kind.
Status check_hashedrekord_body(std::string_view body_json, std::string_view signature,
                               std::string_view signer_pem, std::string_view artifact_sha256);

}  // namespace imagegate::verifier
