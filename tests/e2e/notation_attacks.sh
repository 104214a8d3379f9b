# Part of tests/e2e/notation_test.sh (sourced by it, not a test of its own): attacks on Notation discovery
# over the wire, each with a control that must still verify. Uses the registry, helpers and trust store the
# main script set up ($REG, push_layout, put_blob, put_manifest, nverify, $TP, $E2E_STORE, $SUBJECT).

# fallback_index REPO DIGEST ENTRIES_JSON: writes the `sha256-<hex>` referrers index of DIGEST in REPO.
fallback_index() {
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":%s}' "$3" \
    >"$T/index.json"
  put_manifest "$1" "sha256-${2#sha256:}" application/vnd.oci.image.index.v1+json "$T/index.json"
}
VALID_SIG='{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:90ceaff260d657d797c408ac73564a9c7bb9d86055877c2a811f0e63b8c6524f","size":728,"artifactType":"application/vnd.cncf.notary.signature"}'

# ---- GHSA-87x9-7grx-m28v: a registry listing 1,000 signatures; nothing is read, the check fails closed ----
push_layout e2e-valid-signature notation/many
fallback_index notation/many "$SUBJECT" "[$(for _ in $(seq 1 1000); do printf '%s,' "$VALID_SIG"; done | sed 's/,$//')]"
before="$(grep -c "GET /v2/notation/many/manifests/sha256:90ceaff2" "$T/registry.log" || true)"
nverify "$REG/notation/many:v1" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "1,000 listed signatures: refused" 1
assert_contains "1,000 signatures: the bound is named" "$OUT$ERR" "more than 400 entries"
after="$(grep -c "GET /v2/notation/many/manifests/sha256:90ceaff2" "$T/registry.log" || true)"
assert_eq "1,000 signatures: no signature manifest was read" "$before" "$after"
fallback_index notation/many "$SUBJECT" "[$VALID_SIG]"
nverify "$REG/notation/many:v1" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "control: the same signature listed once verifies" 0

# ---- a 50 MB envelope: refused by its claimed size unread, and by the bytes when the claim lies ----
push_layout e2e-valid-signature notation/big
head -c $((50 * 1024 * 1024)) /dev/zero | tr '\0' 'A' >"$T/big.envelope"
big_digest="$(put_blob notation/big "$T/big.envelope")"
config_digest="$(printf '{}' >"$T/config.json"; put_blob notation/big "$T/config.json")"
# big_manifest CLAIMED_SIZE: a signature manifest of the image with the 50 MB envelope; prints its entry.
big_manifest() {
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.notary.signature","digest":"%s","size":2},"layers":[{"mediaType":"application/jose+json","digest":"%s","size":%s}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":517}}' \
    "$config_digest" "$big_digest" "$1" "$SUBJECT" >"$T/big-$1.json"
  local digest="sha256:$(sha256sum "$T/big-$1.json" | cut -d' ' -f1)"
  put_manifest notation/big "$digest" application/vnd.oci.image.manifest.v1+json "$T/big-$1.json"
  printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"artifactType":"application/vnd.cncf.notary.signature"}' \
    "$digest" "$(stat -c %s "$T/big-$1.json")"
}
honest="$(big_manifest $((50 * 1024 * 1024)))"
lying="$(big_manifest 2070)"
fallback_index notation/big "$SUBJECT" "[$honest,$lying]"
nverify "$REG/notation/big:v1" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "50 MB envelopes only: refused" 1
assert_contains "50 MB envelope: the claimed size is refused" "$OUT$ERR" "envelope of 52428800 bytes exceeds"
blob_gets="$(grep -c "GET /v2/notation/big/blobs/$big_digest" "$T/registry.log" || true)"
assert_eq "50 MB envelope: fetched once (the lying claim), bounded by the client" "1" "$blob_gets"
fallback_index notation/big "$SUBJECT" "[$honest,$lying,$VALID_SIG]"
nverify "$REG/notation/big:v1" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "control: beside the oversized ones, the valid signature verifies" 0

# ---- a signature manifest whose subject is another digest ----
push_layout e2e-valid-signature notation/subject
push_image other-image "$REG/notation/subject:v2"
other="$(raw_digest "$REG/notation/subject:v2")"
fallback_index notation/subject "$other" "[$VALID_SIG]"
nverify "$REG/notation/subject:v2" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "another image's signature listed for this one: refused" 1
assert_contains "another image's signature: its subject is named" "$OUT$ERR" "its subject is $SUBJECT"
nverify "$REG/notation/subject:v1" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "control: the image it signs verifies" 0
