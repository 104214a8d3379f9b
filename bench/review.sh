#!/usr/bin/env bash
# The benchmarks' review: a real Deployment object from kubectl, 3 containers, wrapped as an
# AdmissionReview v1. Writes DIR/deployment.json and DIR/review.json (bench/run.sh, bench/decode.sh).
#
# Usage: bench/review.sh DIR
set -euo pipefail
dir="$1"
kubectl create deployment checkout --dry-run=client -o json \
  --image=registry.example.com/shop/checkout:1.4.2 \
  --image=registry.example.com/shop/envoy:1.29.1 \
  --image=registry.example.com/shop/log-shipper:3.0.0 -n shop > "$dir/deployment.json"
python3 - "$dir/deployment.json" > "$dir/review.json" <<'PY'
import json, sys
obj = json.load(open(sys.argv[1]))
obj["metadata"]["namespace"] = "shop"
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    "uid": "0d4f7a3e-5b1c-4b8e-9a57-3f0c2d6e8b11",
    "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
    "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
    "requestKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
    "requestResource": {"group": "apps", "version": "v1", "resource": "deployments"},
    "name": "checkout", "namespace": "shop", "operation": "CREATE",
    "userInfo": {"username": "system:serviceaccount:ci:deployer", "groups": ["system:serviceaccounts"]},
    "object": obj, "oldObject": None, "dryRun": False,
    "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}}}))
PY
