#!/usr/bin/env python3
"""Adds cosign signatures to an image copied to a `dir:` layout, in containers/image's storage format, so
`skopeo copy dir:... docker://...` with registries.d `use-sigstore-attachments: true` writes them to the
registry as cosign's `sha256-<hex>.sig` manifest (skopeo's own attachment code; skopeo cannot sign).

  attach.py DIR PAYLOAD SIGNATURE [PAYLOAD SIGNATURE]...

Each PAYLOAD is the exact simple-signing JSON that was signed, SIGNATURE the raw signature bytes (made by
openssl). A signature file is `\\x00sigstore-json\\n` + {"mimeType", "payload" (base64), "annotations"}, as
containers/image internal/signature writes it. Files are numbered after those already in DIR.
"""
import base64, json, os, sys


def main():
    d, pairs = sys.argv[1], sys.argv[2:]
    if not pairs or len(pairs) % 2:
        sys.exit(__doc__)
    n = 1
    while os.path.exists(os.path.join(d, "signature-%d" % n)):
        n += 1
    for payload_file, signature_file in zip(pairs[0::2], pairs[1::2]):
        payload = open(payload_file, "rb").read()
        signature = open(signature_file, "rb").read()
        chunk = json.dumps({
            "mimeType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "payload": base64.b64encode(payload).decode(),
            "annotations": {"dev.cosignproject.cosign/signature": base64.b64encode(signature).decode()},
        }).encode()
        with open(os.path.join(d, "signature-%d" % n), "wb") as f:
            f.write(b"\x00sigstore-json\n" + chunk)
        n += 1


if __name__ == "__main__":
    main()
