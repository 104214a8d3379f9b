#!/usr/bin/python3
"""Lays out, under a scratch ROOT, the files the kubelet would mount into the imagegate container of a
rendered install, so that the real server can run with the chart's own config file (tests/e2e/chart_test.sh).

Usage: materialize.py RENDER.yaml ROOT [--existing KIND/NAME/KEY=FILE]... [--listen PORT] [--api-port PORT]
                      [--drop-flag FLAG]...

- Every volumeMount of the Deployment's container is created under ROOT: a Secret or ConfigMap volume from
  the rendered object, or from --existing for objects the install expects to exist already (honouring
  `items`, and failing -- naming the volume -- when an object or a key is missing, as the kubelet would);
  emptyDir and persistentVolumeClaim volumes become empty directories.
- The config file is copied to ROOT/run-config.yaml with /etc/imagegate and /var/lib/imagegate paths moved
  under ROOT and `listen`/`apiListen` on 127.0.0.1; the mounted policy gets the same path rewrite.
- Prints the container's args after `serve`, one a line, with $(VAR) expanded from the container env
  (value or secretKeyRef) and --config pointing at run-config.yaml; --drop-flag leaves out a flag (FLAG=V or
  FLAG V) that the binary under test does not know yet (the chart may pass flags added on other branches).
"""
import argparse
import base64
import os
import re
import sys

import yaml

PREFIXES = ("/etc/imagegate", "/var/lib/imagegate")


def die(msg):
    print("materialize: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("render")
    p.add_argument("root")
    p.add_argument("--existing", action="append", default=[])
    p.add_argument("--listen", type=int, default=0)
    p.add_argument("--api-port", type=int, default=0)
    p.add_argument("--drop-flag", action="append", default=[])
    a = p.parse_args()
    root = os.path.abspath(a.root)
    objs = [o for o in yaml.safe_load_all(open(a.render)) if o]
    data = {}  # (kind, name) -> {key: bytes}
    for o in objs:
        if o["kind"] == "Secret":
            d = {k: base64.b64decode(v) for k, v in (o.get("data") or {}).items()}
            d.update({k: v.encode() for k, v in (o.get("stringData") or {}).items()})
            data[("Secret", o["metadata"]["name"])] = d
        elif o["kind"] == "ConfigMap":
            data[("ConfigMap", o["metadata"]["name"])] = {k: v.encode() for k, v in (o.get("data") or {}).items()}
    for e in a.existing:
        spec, path = e.split("=", 1)
        kind, name, key = spec.split("/", 2)
        data.setdefault((kind, name), {})[key] = open(path, "rb").read()

    dep = next(o for o in objs if o["kind"] == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    volumes = {v["name"]: v for v in pod.get("volumes") or []}

    def under(path):
        return root + path

    for m in c.get("volumeMounts") or []:
        v = volumes.get(m["name"]) or die("volumeMount %s has no volume" % m["name"])
        target = under(m["mountPath"])
        os.makedirs(target, exist_ok=True)
        if "secret" in v or "configMap" in v:
            kind = "Secret" if "secret" in v else "ConfigMap"
            src = v.get("secret") or v.get("configMap")
            name = src.get("secretName") or src.get("name")
            files = data.get((kind, name))
            if files is None:
                if src.get("optional"):
                    continue
                die("volume %s: %s %s neither rendered nor given with --existing" % (m["name"], kind, name))
            items = src.get("items") or [{"key": k, "path": k} for k in files]
            for it in items:
                if it["key"] not in files:
                    die("volume %s: %s %s has no key %s" % (m["name"], kind, name, it["key"]))
                out = os.path.join(target, it["path"])
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with open(out, "wb") as f:
                    f.write(files[it["key"]])
        elif not ("emptyDir" in v or "persistentVolumeClaim" in v):
            die("volume %s: unsupported source %r" % (m["name"], sorted(v)))

    def move(node):
        if isinstance(node, dict):
            return {k: move(v) for k, v in node.items()}
        if isinstance(node, list):
            return [move(v) for v in node]
        if isinstance(node, str):
            for pre in PREFIXES:
                if node.startswith(pre + "/"):
                    return under(node)
                if node.startswith("sqlite:" + pre + "/"):
                    return "sqlite:" + under(node[len("sqlite:"):])
        return node

    args = c.get("args") or []
    if args[:1] != ["serve"] or "--config" not in args:
        die("container args %r: want serve --config FILE" % args)
    cfg_path = args[args.index("--config") + 1]
    config = move(yaml.safe_load(open(under(cfg_path))))
    config["listen"] = "127.0.0.1:%d" % a.listen
    if "apiListen" in config:
        config["apiListen"] = "127.0.0.1:%d" % a.api_port
    run_cfg = os.path.join(root, "run-config.yaml")
    with open(run_cfg, "w") as f:
        yaml.safe_dump(config, f)
    pol = config.get("policy")
    if pol and os.path.isfile(pol):
        text = open(pol).read()
        for pre in PREFIXES:
            text = text.replace(pre + "/", under(pre) + "/")
        os.chmod(pol, 0o644)
        with open(pol, "w") as f:
            f.write(text)

    env = {}
    for e in c.get("env") or []:
        if "value" in e:
            env[e["name"]] = e["value"]
        else:
            ref = ((e.get("valueFrom") or {}).get("secretKeyRef")) or die("env %s: unsupported source" % e["name"])
            files = data.get(("Secret", ref["name"])) or die("env %s: Secret %s not given" % (e["name"], ref["name"]))
            if ref["key"] not in files:
                die("env %s: Secret %s has no key %s" % (e["name"], ref["name"], ref["key"]))
            env[e["name"]] = files[ref["key"]].decode().strip()
    out = []
    skip = False
    for arg in args[1:]:
        if skip:
            skip = False
            continue
        if arg.split("=", 1)[0] in a.drop_flag:
            skip = "=" not in arg
            continue
        arg = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), arg)
        out.append(arg)
    out[out.index("--config") + 1] = run_cfg
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
