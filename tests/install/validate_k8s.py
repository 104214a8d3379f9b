#!/usr/bin/python3
"""Validates rendered Kubernetes objects against the Kubernetes 1.33 OpenAPI v3 schemas and the CRD schemas
in <conformance>/kubernetes-openapi (see its README).

Usage: validate_k8s.py [--conformance DIR] FILE|- [...]      (YAML streams; `-` is stdin)

- apiVersion/kind -> schema file and JSON pointer through index.json; an unknown kind is an error.
- Strict, like kubectl-validate: every schema object with `properties` and no `additionalProperties` (and no
  x-kubernetes-preserve-unknown-fields) is treated as closed, so misspelled fields are reported.
- apiVersion and kind must equal the entry's; namespaced kinds need metadata.namespace, cluster-scoped kinds
  must not have one. CRD objects get their metadata checked against ObjectMeta separately.
Needs Debian's python3-yaml and python3-jsonschema (run with /usr/bin/python3). Exit 0: all valid; 1: errors.
"""
import argparse
import json
import os
import sys

import jsonschema
import yaml


def close_objects(node):
    """Marks every object schema with properties (and no explicit additionalProperties) as closed."""
    if isinstance(node, dict):
        if ("properties" in node and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")):
            node["additionalProperties"] = False
        for value in node.values():
            close_objects(value)
    elif isinstance(node, list):
        for value in node:
            close_objects(value)


class Schemas:
    def __init__(self, root):
        self.root = root
        with open(os.path.join(root, "index.json")) as f:
            self.index = {(e["apiVersion"], e["kind"]): e for e in json.load(f)["entries"]}
        self.files = {}
        self.validators = {}

    def document(self, rel):
        if rel not in self.files:
            with open(os.path.join(self.root, rel)) as f:
                doc = json.load(f)
            close_objects(doc)
            self.files[rel] = doc
        return self.files[rel]

    # Namespaced built-in kinds the index does not list (it names the kinds the first install needed), found
    # in the same group-version file by their x-kubernetes-group-version-kind. Only these are known to be
    # namespaced; any other unlisted kind stays an error.
    NAMESPACED_EXTRA = {("v1", "PersistentVolumeClaim")}

    def builtin_entry(self, api_version, kind):
        if (api_version, kind) not in self.NAMESPACED_EXTRA:
            return None
        files = {e["file"] for (v, _), e in self.index.items() if v == api_version and not e["file"].startswith("crds/")}
        group, _, version = api_version.rpartition("/")
        for rel in files:
            for name, sch in self.document(rel)["components"]["schemas"].items():
                for gvk in sch.get("x-kubernetes-group-version-kind") or []:
                    if (gvk.get("group"), gvk.get("version"), gvk.get("kind")) == (group, version, kind):
                        return {"file": rel, "pointer": "#/components/schemas/" + name, "namespaced": True}
        return None

    def validator(self, rel, pointer):
        key = (rel, pointer)
        if key not in self.validators:
            doc = self.document(rel)
            if pointer == "#":
                schema = doc
            else:
                # Validate against the pointer with the whole file as the root document, so that the
                # file-local `#/components/schemas/...` refs resolve.
                schema = {"$ref": pointer, "components": doc["components"]}
            self.validators[key] = jsonschema.Draft7Validator(schema)
        return self.validators[key]


def describe(obj):
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return "%s %s%s" % (obj.get("kind"), (ns + "/") if ns else "", meta.get("name"))


def validate(schemas, obj):
    errors = []
    key = (obj.get("apiVersion"), obj.get("kind"))
    entry = schemas.index.get(key) or schemas.builtin_entry(*key)
    if entry is None:
        return ["no schema for apiVersion=%s kind=%s" % key]
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        errors.append("metadata.name is missing")
    elif entry["namespaced"] and not meta.get("namespace"):
        errors.append("namespaced kind without metadata.namespace")
    elif not entry["namespaced"] and "namespace" in meta:
        errors.append("cluster-scoped kind with metadata.namespace")
    for err in schemas.validator(entry["file"], entry["pointer"]).iter_errors(obj):
        path = ".".join(str(p) for p in err.absolute_path) or "(root)"
        errors.append("%s: %s" % (path, err.message[:300]))
    if "metadataSchema" in entry and isinstance(meta, dict):
        ms = entry["metadataSchema"]
        for err in schemas.validator(ms["file"], ms["pointer"]).iter_errors(meta):
            path = ".".join(str(p) for p in err.absolute_path) or "(root)"
            errors.append("metadata.%s: %s" % (path, err.message[:300]))
    return errors


def load_stream(path):
    text = sys.stdin.read() if path == "-" else open(path).read()
    return [d for d in yaml.safe_load_all(text) if d is not None]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conformance", default=os.environ.get("IMAGEGATE_CONFORMANCE_DIR", ""))
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    root = os.path.join(args.conformance, "kubernetes-openapi")
    if not os.path.isfile(os.path.join(root, "index.json")):
        print("validate_k8s: %s/index.json not found (set --conformance or IMAGEGATE_CONFORMANCE_DIR)" % root,
              file=sys.stderr)
        return 2
    schemas = Schemas(root)
    failed = 0
    count = 0
    for path in args.files:
        for obj in load_stream(path):
            count += 1
            if not isinstance(obj, dict):
                print("%s: not an object" % path)
                failed += 1
                continue
            errors = validate(schemas, obj)
            if errors:
                failed += 1
                for e in errors:
                    print("INVALID %s: %s" % (describe(obj), e))
            else:
                print("valid   %s (%s)" % (describe(obj), obj.get("apiVersion")))
    print("validate_k8s: %d objects, %d invalid" % (count, failed))
    return 1 if failed or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
