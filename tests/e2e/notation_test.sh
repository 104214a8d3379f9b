#!/usr/bin/env bash
# Notation (Notary Project) signatures end to end, over the wire: the notation CLI's own OCI layouts
# (conformance notation/notation-cli-e2e/oci_layout, read in place; expectations from cases.json section
# notation_cli_e2e) pushed into Debian's docker-registry (distribution 2.8: no referrers API, so the
# referrers tag schema is what is read), then judged by `imagegate verify --notation-trust-policy F
# --notation-trust-store DIR` and by `imagegate serve` (/validate with a Pod) under notation's own trust
# policy files and a trust store laid out as notation's (x509/ca/e2e/*.crt):
#   - every trust policy of the conformance set against the valid signature: "valid" -> 0, "invalid" -> 1,
#     "policy error" -> 2 naming the file and the problem (cases.json's error text); the rest decided
#     (0/1, or 2 naming the file);
#   - each layout: valid, multiple signatures (one trusted), invalid envelope, expired signature (strict vs
#     permissive and the overrides), expired certificate, unsigned, malformed timestamp;
#   - negatives over the wire: an index listing 1,000 signatures (bounded: fails closed, nothing read), a
#     50 MB envelope blob (refused unread), a signature manifest whose subject is another digest; controls
#     that verify;
#   - serve: allowed / denied by a Notation anchor, the decision log's evidence, the migration example of
#     docs/policy.md (a Notary v1 anchor and a Notation anchor at threshold 1, then Notation only), and the
#     trust store rotated without restart.
#
# How the layouts reach the registry: skopeo copies one manifest at a time, and skopeo 1.9 rewrites an OCI
# index without its entries' `artifactType` (which is what marks a Notation signature in the referrers
# index). So: the image (`v1`) with `skopeo copy oci:LAYOUT:v1`; each signature manifest with `skopeo copy
# --preserve-digests` from a scratch copy of the layout whose index.json tags it (`notation-sig-N`); the
# referrers fallback index (`sha256-<hex>` tag) written with the registry API (curl PUT), built as notation
# writes it over a registry without the referrers API: one entry per signature manifest whose subject is
# the image, with its artifactType and annotations (some layouts ship a stale one or none).
source "$(dirname "$0")/lib.sh"
require_cmd docker-registry skopeo openssl python3 curl
bin="${IMAGEGATE_BINARY:?}"
C="${IMAGEGATE_CONFORMANCE_DIR:?}/notation/notation-cli-e2e"
CASES="${IMAGEGATE_CONFORMANCE_DIR}/notation/cases.json"
[ -d "$C/oci_layout" ] || die "no notation conformance layouts at $C"
make_temp_dir
T="$E2E_TMP"
make_ca
make_server_cert "$T" tls
reg_port="$(free_port)"
start_registry registry "$reg_port"
REG="127.0.0.1:$reg_port"
SUBJECT="sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9"

# curl against the registry's API with the test CA.
rcurl() { curl -sS -f --cacert "$T/ca.pem" "$@"; }

# put_manifest REPO REFERENCE MEDIA_TYPE FILE: PUT a manifest with the registry API.
put_manifest() {
  rcurl -X PUT -H "Content-Type: $3" --data-binary "@$4" -o /dev/null "https://$REG/v2/$1/manifests/$2" ||
    die "PUT manifest $2 to $1"
}

# put_blob REPO FILE: uploads FILE as a blob (POST + PUT); prints its digest.
put_blob() {
  local digest location
  digest="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
  location="$(rcurl -X POST -D - -o /dev/null "https://$REG/v2/$1/blobs/uploads/" | tr -d '\r' |
    sed -n 's/^[Ll]ocation: //p')"
  [ -n "$location" ] || die "no upload location for $1"
  case "$location" in http*) ;; *) location="https://$REG$location" ;; esac
  case "$location" in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
  rcurl -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" -o /dev/null "$location" ||
    die "PUT blob to $1"
  echo "$digest"
}

# push_layout LAYOUT REPO: the layout's `v1` image, its signature manifests and the referrers fallback index
# (see the header) in $REG/REPO.
push_layout() {
  local layout="$C/oci_layout/$1" repo="$2" scratch="$T/layouts/$1" tag
  rm -rf "$scratch"
  mkdir -p "$T/layouts"
  cp -r "$layout" "$scratch"
  # The scratch index.json: every signature manifest tagged notation-sig-N; the fallback index as notation
  # writes it; the tags to copy.
  python3 - "$scratch" >"$T/sig-tags" <<'PY' || die "layout $1"
import json, os, sys
root = sys.argv[1]
blob = lambda d: open(os.path.join(root, "blobs", "sha256", d.split(":")[1]), "rb").read()
index = json.load(open(os.path.join(root, "index.json")))
v1 = next(m for m in index["manifests"] if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == "v1")
entries, n = [], 0
for m in index["manifests"]:
    if m["mediaType"] != "application/vnd.oci.image.manifest.v1+json" or m is v1:
        continue
    body = json.loads(blob(m["digest"]))
    if body.get("subject", {}).get("digest") != v1["digest"]:
        continue
    n += 1
    m.setdefault("annotations", {})["org.opencontainers.image.ref.name"] = "notation-sig-%d" % n
    print("notation-sig-%d" % n)
    entry = {"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"],
             "artifactType": body.get("artifactType") or body["config"]["mediaType"]}
    if body.get("annotations"):
        entry["annotations"] = body["annotations"]
    entries.append(entry)
json.dump(index, open(os.path.join(root, "index.json"), "w"))
fallback = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
open(os.path.join(root, "fallback.json"), "w").write(json.dumps(fallback, separators=(",", ":")))
PY
  skopeo copy --quiet --dest-cert-dir "$T/certs.d" "oci:$scratch:v1" "docker://$REG/$repo:v1" >"$T/skopeo.log" 2>&1 ||
    die "skopeo copy $1:v1: $(cat "$T/skopeo.log")"
  while read -r tag; do
    skopeo copy --quiet --preserve-digests --dest-cert-dir "$T/certs.d" "oci:$scratch:$tag" \
      "docker://$REG/$repo:$tag" >"$T/skopeo.log" 2>&1 || die "skopeo copy $1:$tag: $(cat "$T/skopeo.log")"
  done <"$T/sig-tags"
  local v1_digest
  v1_digest="$(python3 -c 'import json,sys; print(next(m["digest"] for m in json.load(open(sys.argv[1]))["manifests"] if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == "v1"))' "$scratch/index.json")"
  if [ -s "$T/sig-tags" ]; then
    put_manifest "$repo" "sha256-${v1_digest#sha256:}" application/vnd.oci.image.index.v1+json "$scratch/fallback.json"
  fi
}

# store NAME CERT...: a trust store directory $T/stores/NAME laid out as notation's, with CERTs in ca:e2e.
store() {
  local name="$1"
  shift
  rm -rf "$T/stores/$name"
  mkdir -p "$T/stores/$name/x509/ca/e2e"
  for cert in "$@"; do cp "$C/localkeys/$cert" "$T/stores/$name/x509/ca/e2e/"; done
  STORE="$T/stores/$name"
}

# nverify REF POLICY STORE [ARGS...]: imagegate verify with a Notation trust policy and store.
nverify() {
  local ref="$1" policy="$2" dir="$3"
  shift 3
  run_capture "$bin" verify "$ref" --notation-trust-policy "$policy" --notation-trust-store "$dir" \
    --ca-file "$T/ca.pem" --timeout 10s "$@"
}
TP="$C/trustpolicies"

for layout in e2e e2e-valid-signature e2e-valid-multiple-signatures e2e-invalid-signature e2e-expired-signature \
  e2e-with-expired-cert e2e-with-timestamped-signature e2e-with-invalid-timestamped-signature; do
  push_layout "$layout" "notation/$layout"
done
VALID="$REG/notation/e2e-valid-signature:v1"
store e2e e2e.crt
E2E_STORE="$STORE"

# ---- the valid signature: verify, JSON evidence ----
nverify "$VALID" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "valid signature verifies (strict, ca:e2e)" 0
assert_contains "valid: the signer subject is shown" "$OUT" "CN=e2e"
assert_contains "valid: the signing scheme is shown" "$OUT" "notary.x509"
nverify "$VALID" "$TP/trustpolicy.json" "$E2E_STORE" -o json
assert_rc "valid signature verifies (-o json)" 0
assert_eq "json: the anchor kind" "notation" "$(json_get "$OUT" 'd["anchors"][0]["kind"]')"
assert_contains "json: the signer" "$(json_get "$OUT" 'd["anchors"][0]["signers"][0]')" "CN=e2e"
assert_eq "json: the digest" "$SUBJECT" "$(json_get "$OUT" 'd["digest"]')"

# ---- every trust policy of cases.json against the valid signature ----
python3 - "$CASES" >"$T/policy-cases" <<'PY'
import json, os, sys
for case in json.load(open(sys.argv[1]))["notation_cli_e2e"]:
    if not case.get("layout", "").endswith("/e2e-valid-signature") or "trust_policy" not in case:
        continue
    certs = [os.path.basename(f) for f in (case.get("trust_store") or {}).get("ca:e2e", ["e2e.crt"])]
    expected = case["expected"]
    rc = 2 if expected.startswith("policy error") else 1 if expected.startswith("invalid") else 0
    print("\t".join([os.path.basename(case["trust_policy"]), ",".join(certs), str(rc), case.get("error_contains", "")]))
PY
named_policies=" "
while IFS=$'\t' read -r policy certs rc want; do
  named_policies+="$policy "
  store "case" ${certs//,/ }
  nverify "$VALID" "$TP/$policy" "$STORE"
  assert_rc "$policy with ${certs}: exit $rc" "$rc"
  if [ "$rc" = 2 ]; then
    assert_contains "$policy: the error names the file" "$ERR" "$policy"
    [ -n "$want" ] && assert_contains "$policy: the problem" "$ERR" "$want"
  elif [ -n "$want" ]; then
    assert_contains "$policy: the reason" "$OUT$ERR" "$want"
  fi
done <"$T/policy-cases"
# Trust policies cases.json does not name: decided (0 or 1), or refused naming the file. Those notation-go
# refuses as malformed must be refused here too.
for path in "$TP"/*.json; do
  policy="$(basename "$path")"
  case "$named_policies" in *" $policy "*) continue ;; esac
  nverify "$VALID" "$path" "$E2E_STORE"
  case "$policy" in
    invalid_format_* | malformed_registry_scope_* | empty_registry_scope_* | \
      multi_statements_with_the_same_* | multi_statements_with_multi_wildcard_* | overlapped_registry_scope_* | \
      wildcard_plus_other_registry_scope_*)
      assert_rc "$policy: a malformed trust policy is refused" 2
      assert_contains "$policy: the error names the file" "$ERR" "$policy" ;;
    invalid_registry_scope_*)  # well formed; its one scope is another registry's repository
      assert_rc "$policy: no statement applies: refused" 1
      assert_contains "$policy: said so" "$OUT$ERR" "no applicable trust policy statement" ;;
    *)
      if [ "$RC" = 2 ]; then assert_contains "$policy: refused naming the file" "$ERR" "$policy"
      else assert_match "$policy: decided" "$RC" '^[01]$'; fi ;;
  esac
done

# ---- the other layouts ----
nverify "$REG/notation/e2e-valid-multiple-signatures:v1" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "two signatures, one trusted: verifies" 0
nverify "$REG/notation/e2e-invalid-signature:v1" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "a layer that is no envelope: refused" 1
assert_contains "invalid envelope: integrity named" "$OUT$ERR" "integrity"
nverify "$REG/notation/e2e-invalid-signature:v1" "$TP/skip_trustpolicy.json" "$E2E_STORE"
assert_rc "skip level: nothing verified, not counted as a signature" 1
assert_contains "skip level: said so" "$OUT$ERR" "skips verification"
EXPIRED="$REG/notation/e2e-expired-signature:v1"
nverify "$EXPIRED" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "expired signature, strict: refused" 1
assert_contains "expired signature: expiry named" "$OUT$ERR" "expir"
nverify "$EXPIRED" "$TP/permissive_trustpolicy.json" "$E2E_STORE"
assert_rc "expired signature, permissive: expiry only logged" 0
nverify "$EXPIRED" "$TP/override_strict_trustpolicy.json" "$E2E_STORE"
assert_rc "expired signature, strict with expiry overridden to log: verifies" 0
nverify "$EXPIRED" "$TP/override_permissive_trustpolicy.json" "$E2E_STORE"
assert_rc "expired signature, permissive with expiry overridden to enforce: refused" 1
store expired expired_e2e.crt
nverify "$REG/notation/e2e-with-expired-cert:v1" "$TP/trustpolicy.json" "$STORE"
assert_rc "expired certificate, strict: refused" 1
nverify "$REG/notation/e2e-with-expired-cert:v1" "$TP/permissive_trustpolicy.json" "$STORE"
assert_rc "expired certificate, permissive: verifies" 0
nverify "$REG/notation/e2e:v1" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "unsigned image: refused" 1
assert_contains "unsigned: no signatures" "$OUT$ERR" "no Notation signatures"
nverify "$REG/notation/e2e-with-invalid-timestamped-signature:v1" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "malformed timestamp countersignature (untrusted signer too): refused" 1
nverify "$REG/notation/e2e-with-timestamped-signature:v1" "$TP/trustpolicy.json" "$E2E_STORE"
assert_rc "timestamped signature by a signer no store trusts: refused" 1
nverify "$VALID" "$TP/trustpolicy.json" "$T/no-such-store"
assert_rc "a missing trust store directory is an error" 2
run_capture "$bin" verify "$VALID" --notation-trust-policy "$TP/trustpolicy.json" --ca-file "$T/ca.pem"
assert_rc "--notation-trust-policy without --notation-trust-store is an error" 2
assert_contains "flags: said so" "$ERR" "go together"

source "$(dirname "$0")/notation_attacks.sh"
source "$(dirname "$0")/notation_serve.sh"
finish
