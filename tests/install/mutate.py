#!/usr/bin/python3
"""Test helper: prints a YAML stream with one field of one object changed, so the tests can show that the
checkers reject a broken install. Usage: mutate.py FILE KIND DOTTED.PATH JSON_VALUE|__delete__
(list indexes are numbers in the path; the first object of KIND is changed, or KIND/NAME names it)."""
import json
import sys

import yaml


def main():
    path_file, kind, dotted, value = sys.argv[1:5]
    docs = [d for d in yaml.safe_load_all(open(path_file)) if d]
    kind, _, name = kind.partition("/")
    target = next(d for d in docs if d.get("kind") == kind and (not name or d["metadata"]["name"] == name))
    keys = [int(k) if k.isdigit() else k for k in dotted.split(".")]
    node = target
    for k in keys[:-1]:
        node = node[k]
    if value == "__delete__":
        del node[keys[-1]]
    else:
        node[keys[-1]] = json.loads(value)
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))


if __name__ == "__main__":
    main()
