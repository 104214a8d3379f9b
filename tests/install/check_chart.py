#!/usr/bin/python3
"""Static checks of charts/imagegate that need no Helm binary.

Usage: check_chart.py CHART [SOURCE_DIR]

What it checks (each failure printed; exit 1 if any):
- values.schema.json is a valid draft-07 schema and values.yaml validates against it;
- every value in values.yaml is described by the schema (no value outside `properties`, except inside
  free-form maps such as podAnnotations), and every leaf value is listed in the chart README's table;
- the schema rejects bad values: webhook timeoutSeconds 0 and 31, an unknown failurePolicy, a misspelled
  top-level key, a tag given as image.digest, replicaCount 0, and at least one bad value for every registry,
  trust and verdicts value (plus the API without a store or tokens, Redis without a URL);
- every `.Values.*` path named in templates/ exists in values.yaml (or, below an empty map such as
  tls.certManager.issuerRef, in the schema);
- every template parses with balanced {{ }} and if/range/with/define ... end (tests/install/helm_render.py's
  parser, which knows Go's template syntax, plus an independent count of block openers and `end`s), and
  every `include` names a helper that some `define` provides;
- the Grafana dashboard is valid JSON whose queries name only metrics the server exports (names collected
  from SOURCE_DIR/webhook/observe/metrics.h and metrics.cc), and every exported review/reload/http metric is shown.
"""
import copy
import json
import os
import re
import sys

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helm_render  # noqa: E402

errors = []


def fail(msg):
    errors.append(msg)


def schema_node(schema, keys):
    node = schema
    for k in keys:
        props = node.get("properties")
        if props is None or k not in props:
            return None
        node = props[k]
    return node


def walk_values(v, path=()):
    """Yields (path, value) for every key path in values.yaml."""
    if isinstance(v, dict):
        for k, sub in v.items():
            yield path + (k,), sub
            yield from walk_values(sub, path + (k,))


def main():
    chart = sys.argv[1]
    src = sys.argv[2] if len(sys.argv) > 2 else os.path.join(chart, "..", "..")
    values = yaml.safe_load(open(os.path.join(chart, "values.yaml")))
    schema = json.load(open(os.path.join(chart, "values.schema.json")))
    readme = open(os.path.join(chart, "README.md")).read()

    # Schema and values.
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as e:
        fail("values.schema.json is not a valid schema: %s" % e.message)
    validator = jsonschema.Draft7Validator(schema)
    for e in validator.iter_errors(values):
        fail("values.yaml: %s: %s" % ("/".join(map(str, e.absolute_path)), e.message))
    for path, value in walk_values(values):
        parent = schema_node(schema, path[:-1])
        if parent is None:
            continue  # below a free-form map: reported at the map
        if "properties" not in parent:
            continue  # free-form map (labels, annotations, selectors)
        node = schema_node(schema, path)
        if node is None:
            fail("values.yaml %s has no schema entry" % ".".join(path))
        elif not node.get("description") and not isinstance(value, dict):
            fail("schema entry %s has no description" % ".".join(path))
        leaf = not isinstance(value, dict) or not value or "properties" not in (node or {})
        if leaf and ("`%s`" % ".".join(path)) not in readme:
            fail("README.md values table lacks `%s`" % ".".join(path))

    negatives = {
        "webhook.timeoutSeconds=31": ("webhook", "timeoutSeconds", 31),
        "webhook.timeoutSeconds=0": ("webhook", "timeoutSeconds", 0),
        "webhook.failurePolicy=Maybe": ("webhook", "failurePolicy", "Maybe"),
        "mutatingWebhook.timeoutSeconds=45": ("mutatingWebhook", "timeoutSeconds", 45),
        "image.digest=latest": ("image", "digest", "latest"),
        "replicaCount=0": (None, "replicaCount", 0),
        "webhok (misspelled key)": (None, "webhok", {}),
        "server.gracePeriodSeconds=\"10s\"": ("server", "gracePeriodSeconds", "10s"),
    }
    for what, (section, key, bad) in negatives.items():
        v = copy.deepcopy(values)
        (v[section] if section else v)[key] = bad
        if validator.is_valid(v):
            fail("values.schema.json accepts %s" % what)
    # Registry, trust and verdict values: each bad value alone (dotted path -> value), and combinations.
    nested_negatives = [
        ("registry.credentials.existingSecrets", ["Bad_Name"]),
        ("registry.credentials.existingSecrets", ["chart"]),
        ("registry.credentials.auths", {"registry.example.com": "user:pass"}),
        ("registry.credentials.auths", {"registry.example.com": {"user": "bot"}}),
        ("registry.caBundles", [{"key": "ca.crt"}]),
        ("registry.caBundles", [{"secret": "a", "configMap": "b", "key": "ca.crt"}]),
        ("registry.caBundles", [{"secret": "a", "key": "../ca.crt"}]),
        ("registry.registryCABundles", {"https://registry.internal/": [{"secret": "a", "key": "ca"}]}),
        ("registry.registryCABundles", {"registry.internal": []}),
        ("registry.insecureRegistries", ["http://registry.local"]),
        ("registry.legacyTLSRegistries", ["https://old.internal:5000"]),
        ("registry.legacyTLSRegistries", "old.internal:5000"),
        ("registry.allowedPrivateAddresses", ["metadata.google.internal"]),
        ("registry.authHosts", {"registry.example.com": ["https://auth.example.com"]}),
        ("registry.authHosts", {"https://registry.example.com": ["auth.example.com"]}),
        ("registry.blobHosts", {"registry.example.com": []}),
        ("registry.blobHosts", {"registry.example.com": ["cdn.example.com/path"]}),
        ("registry.timeout", "10"),
        ("registry.tagCacheTTL", "1 minute"),
        ("registry.digestCacheTTL", 3600),
        ("registry.negativeCacheTTL", "15x"),
        ("registry.staleIfError", "-1s"),
        ("registry.maxConcurrentPerReview", 0),
        ("registry.maxConcurrentPerReview", 1025),
        ("registry.maxConcurrentPerRegistry", "32"),
        ("registry.maxConcurrentPerRegistry", -1),
        ("registry.caFiles", ["/etc/ca.pem"]),
        ("signatures.maxSignatures", 0),
        ("signatures.maxSignatures", 201),
        ("signatures.maxSignatures", "50"),
        ("signatures.maxPayloadBytes", 262145),
        ("signatures.maxPayloadBytes", 0),
        ("signatures.cacheTTL", "5"),
        ("signatures.cacheTTL", "-1m"),
        ("signatures.trustReloadInterval", "30 s"),
        ("signatures.maxSigs", 10),
        ("trust.notation", [{"name": "team", "certificates": [{"key": "e2e.crt", "store": "ca/e2e"}]}]),
        ("trust.notation", [{"name": "team", "secret": "s", "configMap": "c",
                             "certificates": [{"key": "e2e.crt", "store": "ca/e2e"}]}]),
        ("trust.notation", [{"name": "Team", "secret": "s", "certificates": [{"key": "e2e.crt", "store": "ca/e2e"}]}]),
        ("trust.notation", [{"name": "team", "secret": "s", "certificates": [{"key": "e2e.crt", "store": "root/e2e"}]}]),
        ("trust.notation", [{"name": "team", "secret": "s", "certificates": [{"key": "e2e.crt", "store": "ca/.."}]}]),
        ("trust.notation", [{"name": "team", "secret": "s", "certificates": [{"key": "../e2e.crt", "store": "ca/e2e"}]}]),
        ("trust.notation", [{"name": "team", "secret": "s", "certificates": []}]),
        ("trust.existingSecrets", ["Release_Keys"]),
        ("trust.existingSecrets", ["chart"]),
        ("trust.files", {"../cosign.pub": "x"}),
        ("trust.files", {"cosign.pub": ""}),
        ("verdicts.store.type", "postgres"),
        ("verdicts.store.sqlite.existingClaim", "Bad_Claim"),
        ("verdicts.store.sqlite.size", "lots"),
        ("verdicts.store.sqlite.storageClassName", 5),
        ("verdicts.store.redis.url", "http://redis:6379"),
        ("verdicts.store.redis.url", "redis://:password@redis:6379"),
        ("verdicts.store.redis.existingSecret", "Redis_URL"),
        ("verdicts.store.redis.existingSecretKey", ""),
        ("verdicts.cacheTTL", "30"),
        ("verdicts.api.enabled", "yes"),
        ("verdicts.api.port", 80),
        ("verdicts.api.servicePort", 0),
        ("verdicts.api.tokens.existingSecret", "Tokens"),
        ("verdicts.api.tokens.existingSecretKey", "a/b"),
        ("verdicts.api.tokens.lines", ["ci-token-without-access-prefix"]),
        ("verdicts.api.tokens.lines", ["rw:short"]),
        ("verdicts.api.ingressFrom", ["10.0.0.0/8"]),
    ]
    combos = {
        "verdicts.api.enabled without a store": [("verdicts.api.enabled", True),
                                                   ("verdicts.api.tokens.lines", ["rw:0123456789abcdef0123"])],
        "verdicts.api.enabled without tokens": [("verdicts.api.enabled", True), ("verdicts.store.type", "redis"),
                                                ("verdicts.store.redis.url", "redis://redis:6379")],
        "store redis without url or existingSecret": [("verdicts.store.type", "redis")],
    }
    for path, bad in nested_negatives:
        combos["%s=%s" % (path, json.dumps(bad))] = [(path, bad)]
    for what, sets in combos.items():
        v = copy.deepcopy(values)
        for path, bad in sets:
            keys = path.split(".")
            node = v
            for k in keys[:-1]:
                node = node.setdefault(k, {})
            node[keys[-1]] = bad
        if validator.is_valid(v):
            fail("values.schema.json accepts %s" % what)
    good = copy.deepcopy(values)
    good["verdicts"]["store"]["type"] = "redis"
    good["verdicts"]["store"]["redis"]["existingSecret"] = "verdict-redis"
    good["verdicts"]["api"]["enabled"] = True
    good["verdicts"]["api"]["tokens"]["lines"] = ["rw:0123456789abcdef0123"]
    for e in validator.iter_errors(good):
        fail("values.schema.json rejects a valid verdicts setup: %s" % e.message)

    # Templates.
    tdir = os.path.join(chart, "templates")
    defines = {}
    includes = []
    value_paths = set()
    for name in sorted(os.listdir(tdir)):
        text = open(os.path.join(tdir, name)).read()
        try:
            _, d = helm_render.parse_template(text, name)
            defines.update(d)
        except helm_render.TemplateError as e:
            fail("template does not parse: %s" % e)
        if text.count("{{") != text.count("}}"):
            fail("%s: %d '{{' but %d '}}'" % (name, text.count("{{"), text.count("}}")))
        actions = re.findall(r"\{\{-?\s*(.*?)\s*-?\}\}", text, re.S)
        opens = sum(1 for a in actions if re.match(r"(if|range|with|define|block)\b", a))
        ends = sum(1 for a in actions if re.fullmatch(r"end", a))
        if opens != ends:
            fail("%s: %d block openers but %d ends" % (name, opens, ends))
        includes += [(name, n) for n in re.findall(r"\b(?:include|template)\s+\"([^\"]+)\"", text)]
        value_paths |= {m for m in re.findall(r"\.Values((?:\.[A-Za-z0-9_]+)+)", text)}
    for name, inc in includes:
        if inc not in defines:
            fail("%s includes undefined helper %r" % (name, inc))
    for p in sorted(value_paths):
        keys = p.split(".")[1:]
        node = values
        for i, k in enumerate(keys):
            if isinstance(node, dict) and k in node:
                node = node[k]
                continue
            if isinstance(node, dict) and not node and schema_node(schema, keys[:i + 1]) is not None:
                break  # an empty map in values.yaml whose keys the schema defines
            fail(".Values%s is used in templates/ but not defined in values.yaml" % p)
            break

    # Dashboard.
    exported = set()
    for f in ("webhook/observe/metrics.h", "webhook/observe/metrics.cc"):
        path = os.path.join(src, f)
        if os.path.isfile(path):
            exported |= set(re.findall(r"imagegate_[a-z_]+[a-z]", open(path).read()))
    if not exported:
        fail("no metric names found in %s/webhook/metrics.{h,cc}" % src)
    try:
        dash = json.load(open(os.path.join(chart, "dashboards", "imagegate.json")))
        exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
        used = set()
        for e in exprs:
            for m in re.findall(r"imagegate_[a-z_]+[a-z]", e):
                used.add(re.sub(r"_(bucket|sum|count)$", "", m))
        for m in sorted(used - exported):
            fail("dashboard queries %s, which the server does not export" % m)
        for m in ("imagegate_admission_reviews_total", "imagegate_admission_review_duration_seconds",
                  "imagegate_admission_stage_duration_seconds", "imagegate_admission_reviews_in_flight",
                  "imagegate_policy_reloads_total", "imagegate_tls_reloads_total", "imagegate_http_requests_total",
                  "imagegate_verdict_api_requests_total", "imagegate_verdicts_stored_total", "imagegate_policy_loaded",
                  "imagegate_shared_cache_total"):
            if m not in used:
                fail("dashboard does not show %s" % m)
    except (ValueError, KeyError) as e:
        fail("dashboard JSON: %s" % e)

    for e in errors:
        print("CHART CHECK FAILED: " + e)
    print("check_chart: %d values paths used in templates, %d helpers, %d failures" % (
        len(value_paths), len(defines), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
