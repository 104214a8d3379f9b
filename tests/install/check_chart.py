#!/usr/bin/python3
"""Static checks of charts/imagegate that need no Helm binary.

Usage: check_chart.py CHART [SOURCE_DIR]

What it checks (each failure printed; exit 1 if any):
- values.schema.json is a valid draft-07 schema and values.yaml validates against it;
- every value in values.yaml is described by the schema (no value outside `properties`, except inside
  free-form maps such as podAnnotations), and every leaf value is listed in the chart README's table;
- the schema rejects bad values: at least one for every value in values.yaml (checked: a new value without
  its own negative case fails), plus combinations (the API without a store or tokens, Redis without a URL,
  an existing TLS Secret together with cert-manager);
- every `.Values.*` path named in templates/ exists in values.yaml (or, below an empty map such as
  tls.certManager.issuerRef, in the schema);
- every template (templates/ and its subfolders, e.g. tests/) parses with balanced {{ }} and
  if/range/with/define ... end (tests/install/helm_render.py's parser, which knows Go's template syntax, plus
  an independent count of block openers and `end`s), and every `include` names a helper that some `define`
  provides;
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
        ("console.enabled", "yes"),
        ("console.recentDecisions", 0),
        ("console.recentDecisions", 100001),
        ("console.recentDecisions", "1000"),
        ("console.theme", "dark"),
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
        # Names, image, pod and server basics.
        ("nameOverride", "x" * 64),
        ("fullnameOverride", 5),
        ("image.repository", ""),
        ("image.tag", "v1 beta"),
        ("image.pullPolicy", "Sometimes"),
        ("imagePullSecrets", ["Bad_Secret"]),
        ("imagePullSecrets", [{"name": "regcred"}]),
        ("podAntiAffinity", "preferred"),
        ("topologySpread", "yes"),
        ("podDisruptionBudget.enabled", "true"),
        ("podDisruptionBudget.maxUnavailable", 0),
        ("terminationGracePeriodSeconds", 0),
        ("preStopSleepSeconds", 61),
        ("preStopSleepSeconds", -1),
        ("resources.requests.cpu", "one"),
        ("resources.requests.memory", "64 MB"),
        ("resources.limits.cpu", True),
        ("resources.limits.memory", "lots"),
        ("podAnnotations", {"a": 1}),
        ("podLabels", {"a": True}),
        ("nodeSelector", {"disk": 1}),
        ("tolerations", ["NoSchedule"]),
        ("serviceAccount.create", "yes"),
        ("serviceAccount.name", "Imagegate_SA"),
        ("serviceAccount.annotations", {"a": 1}),
        ("service.port", 0),
        ("service.port", 65536),
        ("server.port", 443),
        ("server.threads", 0),
        ("server.threads", 1025),
        ("server.maxConnections", 0),
        ("server.maxBudget", "25"),
        ("server.reloadInterval", "2 s"),
        ("server.clientCAFile", "client-ca.crt"),
        ("server.timeouts.handshake", "10"),
        ("server.timeouts.idle", "1d"),
        ("server.timeouts.read", -1),
        ("server.timeouts.write", "10x"),
        ("policy", ""),
        ("policy", {"kind": "ImagePolicy"}),
        ("existingPolicyConfigMap", "My_Policy"),
        ("extraSecretMounts", [{"name": "keys", "secretName": "k"}]),
        ("extraSecretMounts", [{"name": "Keys", "secretName": "k", "mountPath": "/etc/keys"}]),
        ("webhook.excludeNamespaces", ["Team_A"]),
        ("webhook.optOutLabel", "not a label"),
        ("webhook.objectSelector", {"matchLabel": {"a": "b"}}),
        ("webhook.objectSelector", {"matchExpressions": [{"key": "a", "operator": "Equals"}]}),
        ("webhook.annotations", {"a": 1}),
        ("mutatingWebhook.enabled", "true"),
        ("mutatingWebhook.failurePolicy", "Open"),
        ("tls.certManager.enabled", "true"),
        ("tls.certManager.issuerRef", {"name": "ca", "kind": "Certificate"}),
        ("tls.certManager.issuerRef", {"nam": "ca"}),
        ("tls.certManager.duration", "90d"),
        ("tls.certManager.renewBefore", "15 days"),
        ("tls.generatedValidityDays", 29),
        ("tls.generatedValidityDays", 36501),
        ("metrics.serviceMonitor.enabled", "true"),
        ("metrics.serviceMonitor.interval", "30"),
        ("metrics.serviceMonitor.scrapeTimeout", "10 s"),
        ("metrics.serviceMonitor.labels", {"release": 1}),
        ("metrics.dashboard.enabled", 1),
        ("metrics.dashboard.labels", {"grafana_dashboard": 1}),
        ("metrics.dashboard.annotations", {"a": 1}),
        ("networkPolicy.enabled", "true"),
        ("networkPolicy.ingressFrom", ["10.0.0.0/8"]),
        ("networkPolicy.egress", [443]),
        # Pod, webhook, TLS, metrics and hook knobs.
        ("affinity", {"nodeAfinity": {}}),
        ("affinity", []),
        ("topologySpreadConstraints", [{"maxSkew": 1, "topologyKey": "zone"}]),
        ("topologySpreadConstraints", [{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}]),
        ("topologySpreadConstraints", [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Sometimes"}]),
        ("priorityClassName", "System_Critical"),
        ("priorityClassName", 1000),
        ("podSecurityContext", {"runAsUser": -1}),
        ("podSecurityContext", {"runAsNonRoot": "yes"}),
        ("podSecurityContext", {"runAsUsr": 1000}),
        ("podSecurityContext", {"seccompProfile": {"type": "Default"}}),
        ("securityContext", {"privileged": "false"}),
        ("securityContext", {"capabilities": {"drop": ["all"]}}),
        ("securityContext", {"readOnlyRootFS": True}),
        ("securityContext", {"seccompProfile": {}}),
        ("hostNetwork", "true"),
        ("extraArgs", ["4"]),
        ("extraArgs", "--threads=4"),
        ("extraArgs", ["--config", "/tmp/other.yaml"]),
        ("extraArgs", ["--config=/tmp/other.yaml"]),
        ("extraArgs", ["--threads", ""]),
        ("extraEnv", [{"value": "x"}]),
        ("extraEnv", [{"name": "1BAD", "value": "x"}]),
        ("extraEnv", [{"name": "A", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
        ("extraEnv", [{"name": "A", "value": 5}]),
        ("extraEnv", {"A": "x"}),
        ("logFormat", "logfmt"),
        ("logFormat", "JSON"),
        ("webhook.namespaceSelector", {"matchLabel": {"a": "b"}}),
        ("webhook.namespaceSelector", {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}),
        ("webhook.namespaceSelector", {"matchLabels": {"a": 1}}),
        ("webhook.matchConditions", [{"name": "skip-ci"}]),
        ("webhook.matchConditions", [{"expression": "true"}]),
        ("webhook.matchConditions", [{"name": "bad name", "expression": "true"}]),
        ("webhook.matchConditions", [{"name": "a", "expression": ""}]),
        ("webhook.matchConditions", [{"name": "n%d" % i, "expression": "true"} for i in range(65)]),
        ("webhook.labels", {"team": 5}),
        ("webhook.labels", ["team"]),
        ("tls.existingSecret.name", "Corp_TLS"),
        ("tls.existingSecret.caBundle", "-----BEGIN CERTIFICATE-----"),
        ("tls.existingSecret.caBundle", "bm90IGEgUEVN"),
        ("tls.existingSecret.secretName", "corp-tls"),
        ("metrics.plainHTTP.enabled", "true"),
        ("metrics.plainHTTP.port", 80),
        ("metrics.plainHTTP.port", 65536),
        ("metrics.plainHTTP.port", "8000"),
        ("metrics.plainHTTP.address", "0.0.0.0"),
        ("hooks.image.repository", ""),
        ("hooks.image.tag", ""),
        ("hooks.image.digest", "latest"),
        ("hooks.image.pullPolicy", "Sometimes"),
        ("hooks.preDelete.enabled", "no"),
        ("hooks.preDelete.image", "x"),
        ("hooks.test.enabled", 1),
    ]
    combos = {
        "verdicts.api.enabled without a store": [("verdicts.api.enabled", True),
                                                   ("verdicts.api.tokens.lines", ["rw:0123456789abcdef0123"])],
        "verdicts.api.enabled without tokens": [("verdicts.api.enabled", True), ("verdicts.store.type", "redis"),
                                                ("verdicts.store.redis.url", "redis://redis:6379")],
        "store redis without url or existingSecret": [("verdicts.store.type", "redis")],
        "tls.existingSecret.name with tls.certManager.enabled": [("tls.certManager.enabled", True),
                                                                 ("tls.existingSecret.name", "corp-tls")],
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
    # Every value has at least one negative case above (a new value must come with its own).
    covered = {w.split("=")[0].split(" ")[0] for w in negatives} | {p for p, _ in nested_negatives}
    covered |= {p for sets in combos.values() for p, _ in sets}
    for path, value in walk_values(values):
        dotted = ".".join(path)
        if any(c == dotted or c.startswith(dotted + ".") or dotted.startswith(c + ".") for c in covered):
            continue
        node = schema_node(schema, path)
        if node is not None and "properties" in node and isinstance(value, dict) and value:
            continue  # a section: its leaves are checked
        fail("no negative schema check for %s (add one to check_chart.py)" % dotted)
    good = copy.deepcopy(values)
    good["verdicts"]["store"]["type"] = "redis"
    good["verdicts"]["store"]["redis"]["existingSecret"] = "verdict-redis"
    good["verdicts"]["api"]["enabled"] = True
    good["verdicts"]["api"]["tokens"]["lines"] = ["rw:0123456789abcdef0123"]
    for e in validator.iter_errors(good):
        fail("values.schema.json rejects a valid verdicts setup: %s" % e.message)

    # Templates.
    defines = {}
    includes = []
    value_paths = set()
    for name, text in helm_render.load_chart(chart)[1].items():
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
