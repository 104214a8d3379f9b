#!/usr/bin/env python3
"""Writes a small OCI image layout for the registry tests: `make_layout.py DIR TAG SEED [--multi]`.

Single-arch: one manifest (config + one gzip'd tar layer whose content depends on SEED, so a new SEED is a
new digest). --multi: an OCI index over linux/amd64 and linux/arm64 manifests. Uses only the standard
library; skopeo copies the layout to the registry.
"""
import gzip, hashlib, io, json, os, sys, tarfile


def blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def image(root, seed, arch):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        content = ("seed %s arch %s\n" % (seed, arch)).encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = 0
        t.addfile(info, io.BytesIO(content))
    tar = raw.getvalue()
    layer = blob(root, gzip.compress(tar, mtime=0))
    layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    config = blob(root, json.dumps({
        "architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
        "config": {"Env": ["SEED=%s" % seed]}}).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": config, "layers": [layer]}).encode()
    desc = blob(root, manifest)
    desc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    return desc


def main():
    root, tag, seed = sys.argv[1], sys.argv[2], sys.argv[3]
    multi = "--multi" in sys.argv[4:]
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    if multi:
        entries = []
        for arch in ("amd64", "arm64"):
            d = image(root, seed, arch)
            d["platform"] = {"architecture": arch, "os": "linux"}
            if arch == "arm64":
                d["platform"]["variant"] = "v8"
            entries.append(d)
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": entries}).encode()
        top = blob(root, index)
        top["mediaType"] = "application/vnd.oci.image.index.v1+json"
    else:
        top = image(root, seed, "amd64")
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)


if __name__ == "__main__":
    main()
