#!/usr/bin/env bash
# Generates the webhook's TLS material for the kustomize install (manifests/): a private CA and a serving
# certificate for the Service, with SANs <service>, <service>.<namespace>, <service>.<namespace>.svc and
# <service>.<namespace>.svc.cluster.local. Writes ca.crt, tls.crt and tls.key for the tls component (into
# manifests/tls/generated-by-scripts-gen-webhook-cert.sh/ by default: the folder's name is what kustomize
# prints while they are missing), from which kustomize builds the Secret and fills the webhook's caBundle.
#
# Usage: scripts/gen-webhook-cert.sh [--namespace NS] [--service NAME] [--out DIR] [--days N] [--force]
#                                    [--print-ca-bundle]
#   --namespace  the namespace imagegate runs in (default imagegate-system; change the kustomization's
#                `namespace:` to match)
#   --service    the webhook Service's name (default imagegate)
#   --out        where to write the files (default manifests/tls/generated-by-scripts-gen-webhook-cert.sh/)
#   --days       validity of the serving certificate (default 365; the CA gets 10 years)
#   --force      overwrite existing files (rotation); without it, existing files are kept and the script fails
#   --print-ca-bundle  also print the base64 caBundle (for patching a webhook configuration by hand)
# Needs only openssl. The CA's private key is not kept: a new serving certificate means a new CA too, and
# both reach the cluster together through the same `kubectl apply -k`.
set -euo pipefail

namespace=imagegate-system
service=imagegate
out="$(cd "$(dirname "$0")/.." && pwd)/manifests/tls/generated-by-scripts-gen-webhook-cert.sh"
days=365
force=0
print_bundle=0
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) namespace="${2:?--namespace needs a value}"; shift 2 ;;
    --service) service="${2:?--service needs a value}"; shift 2 ;;
    --out) out="${2:?--out needs a value}"; shift 2 ;;
    --days) days="${2:?--days needs a value}"; shift 2 ;;
    --force) force=1; shift ;;
    --print-ca-bundle) print_bundle=1; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gen-webhook-cert: unknown argument: $1" >&2; exit 2 ;;
  esac
done

# DNS-1123 labels: the SAN must be exactly what the API server dials.
label='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
[[ "$namespace" =~ $label ]] || { echo "gen-webhook-cert: invalid namespace: $namespace" >&2; exit 2; }
[[ "$service" =~ $label ]] || { echo "gen-webhook-cert: invalid service name: $service" >&2; exit 2; }
[[ "$days" =~ ^[1-9][0-9]*$ ]] || { echo "gen-webhook-cert: --days must be a positive integer" >&2; exit 2; }

mkdir -p "$out"
for f in ca.crt tls.crt tls.key; do
  if [ -e "$out/$f" ] && [ "$force" -ne 1 ]; then
    echo "gen-webhook-cert: $out/$f exists (use --force to replace it)" >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
umask 077

fqdn="$service.$namespace.svc"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca.key" 2>/dev/null
openssl req -x509 -new -key "$work/ca.key" -sha256 -days 3650 -subj "/CN=imagegate webhook CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" -out "$work/ca.crt"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/tls.key" 2>/dev/null
openssl req -new -key "$work/tls.key" -subj "/CN=$fqdn" -out "$work/tls.csr"
cat > "$work/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$service,DNS:$service.$namespace,DNS:$fqdn,DNS:$fqdn.cluster.local
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EXT
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
  -sha256 -days "$days" -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null
openssl verify -CAfile "$work/ca.crt" "$work/tls.crt" >/dev/null

install -m 0644 "$work/ca.crt" "$out/ca.crt"
install -m 0644 "$work/tls.crt" "$out/tls.crt"
install -m 0600 "$work/tls.key" "$out/tls.key"
echo "gen-webhook-cert: wrote $out/{ca.crt,tls.crt,tls.key} for $fqdn (valid $days days)" >&2
if [ "$print_bundle" -eq 1 ]; then
  base64 -w0 "$out/ca.crt"
  echo
fi
