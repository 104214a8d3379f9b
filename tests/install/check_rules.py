#!/usr/bin/python3
"""Checks rendered imagegate install objects (kustomize output or the chart's) against the rules of the
install issue, beyond what the OpenAPI schemas can say.

Usage: check_rules.py [--replicas N] [--failure-policy Fail|Ignore] [--timeout N] [--no-mutating]
                      [--mutating-failure-policy Fail|Ignore] [--mutating-timeout N] [--no-inventory-webhook]
                      [--tls secret|cert-manager|existing] [--no-pre-delete-hook] [--no-test-hook] FILE|-

What it checks (each failure is printed; exit 1 if any):
- exactly one Deployment, Service, ServiceAccount, PodDisruptionBudget, NetworkPolicy and
  ValidatingWebhookConfiguration; no RBAC objects (imagegate needs no API access);
- the Deployment: replicas, pod anti-affinity and topology spread on the pod labels, restricted security
  context (runAsNonRoot, seccomp RuntimeDefault, read-only root fs, no privilege escalation, all capabilities
  dropped), no service account token, requests and limits, HTTPS readiness /readyz and liveness /healthz
  probes on the serving port, terminationGracePeriodSeconds > server gracePeriod + preStop sleep, the
  policy ConfigMap and TLS Secret mounted as directories (no subPath: live reload needs the symlink swap), and
  the server config's policy/cert/key paths inside those mounts;
- the Service selects the pods and targets the serving port; the PDB and NetworkPolicy select the pods;
- the policy ConfigMap holds an ImagePolicy;
- every validating webhook: admissionReviewVersions [v1], sideEffects NoneOnDryRun, failurePolicy,
  timeoutSeconds (<= 30), path /validate on the Service (name, namespace, port), CREATE and UPDATE on pods,
  pods/ephemeralcontainers and every pod-template kind, a namespaceSelector leaving out the own namespace and
  kube-system by kubernetes.io/metadata.name plus the imagegate.dev/ignore opt-out label;
- the inventory webhook `inventory.imagegate.dev` (unless --no-inventory-webhook; then none): DELETE only,
  on pods, replicationcontrollers, podtemplates and every workload kind, failurePolicy Ignore (a deletion is
  never blocked), timeoutSeconds at most 5, sideEffects NoneOnDryRun, /validate on the Service, the same
  namespace exclusions;
- a MutatingWebhookConfiguration on /mutate with reinvocationPolicy IfNeeded (same rules; its own
  failurePolicy and timeoutSeconds, --mutating-failure-policy / --mutating-timeout): digest pinning is on by
  default in both installs; with --no-mutating, none (--mutating is accepted and is the default);
- files: every Secret/ConfigMap volume is mounted read-only; every file the server config names (policy,
  certificate, key, client CA, registry CA bundles and Docker config files, the API token file) and every file
  the policy's trust anchors name (keyFile, trustedRoot, fulcioRoots, rekorKey, rootKeyFiles, caFile,
  trustStores, tsaStores, Notation's trustPolicy and trustStore directory) lies in a mounted volume of the right kind (credentials, keys and tokens only from
  Secrets), is projected by the volume's `items` when it has any, and is a key of the Secret/ConfigMap when
  that object is rendered too; nothing secret (private keys, Docker `auths`, API token lines, `--secret`
  strings) is in a ConfigMap; every $(VAR) in the container args is defined in env;
- verdicts: an sqlite store lies on a writable PersistentVolumeClaim volume (rendered, unless an existing
  claim) with exactly 1 replica and the Recreate strategy; `apiListen` is a container port that the Service
  and the NetworkPolicy expose, separate from the webhook port;
- Helm hooks (objects annotated helm.sh/hook are left out of every check above; expected in a chart render,
  whose objects say `app.kubernetes.io/managed-by: Helm`, never in kustomize's): the pre-delete Pod (unless
  --no-pre-delete-hook) runs as its own ServiceAccount, bound to a ClusterRole that may only delete exactly the
  rendered webhook configurations (resourceNames), and deletes exactly those (its WEBHOOKS); RBAC and
  ServiceAccount are created before that pod (hook weights); the `helm test` pod (unless --no-test-hook) posts
  an AdmissionReview (valid JSON, its uid the one it waits for) to the Service's /validate with the CA the
  webhooks trust; no hook pod is selected by the Service, and both run restricted;
- TLS: with `existing`, no TLS Secret or Certificate is rendered, the pod mounts the named Secret and every
  webhook carries a caBundle; with `secret`, the Secret's tls.crt has the SAN <service>.<namespace>.svc and verifies against both
  the Secret's ca.crt and the webhook's caBundle (openssl); with `cert-manager`, a Certificate for that SAN
  writes the mounted Secret and the webhooks carry cert-manager.io/inject-ca-from for it.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

REQUIRED_RULES = {
    ("", "pods"), ("", "pods/ephemeralcontainers"), ("", "replicationcontrollers"), ("", "podtemplates"),
    ("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets"), ("apps", "daemonsets"),
    ("batch", "jobs"), ("batch", "cronjobs"),
}

errors = []


def fail(msg):
    errors.append(msg)


def parse_duration_seconds(text):
    text = str(text)
    for unit, factor in (("ms", 0.001), ("h", 3600), ("m", 60), ("s", 1)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise ValueError("bad duration %r" % text)


def selects(selector, labels):
    """matchLabels/matchExpressions semantics over a label map."""
    if not selector:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        op, key, vals = e["operator"], e["key"], e.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def one(objs, kind):
    found = [o for o in objs if o.get("kind") == kind]
    if len(found) != 1:
        fail("expected exactly one %s, found %d" % (kind, len(found)))
        return None
    return found[0]


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True)


INVENTORY_WEBHOOK = "inventory.imagegate.dev"
DELETE_RULES = {r for r in REQUIRED_RULES if r != ("", "pods/ephemeralcontainers")}


def check_scope(h, where, ns):
    sel = h.get("namespaceSelector") or {}
    # An ordinary namespace carries the labels an extra matchLabels asks for (webhook.namespaceSelector): the
    # exclusions must hold even for namespaces that opted in.
    opted_in = dict(sel.get("matchLabels") or {})
    for excluded in (ns, "kube-system"):
        if selects(sel, dict(opted_in, **{"kubernetes.io/metadata.name": excluded})):
            fail("%s: namespaceSelector selects namespace %s" % (where, excluded))
    if not selects(sel, dict(opted_in, **{"kubernetes.io/metadata.name": "team-a"})):
        fail("%s: namespaceSelector does not select an ordinary namespace" % where)
    if selects(sel, dict(opted_in, **{"kubernetes.io/metadata.name": "team-a", "imagegate.dev/ignore": "true"})):
        fail("%s: the opt-out label imagegate.dev/ignore=true does not opt out" % where)


def check_inventory_webhook(h, svc, svc_port):
    """The DELETE-only webhook that keeps the inventory in step with deletions."""
    ns = svc["metadata"]["namespace"]
    where = "ValidatingWebhookConfiguration webhook %s" % h.get("name")
    if h.get("admissionReviewVersions") != ["v1"]:
        fail("%s: admissionReviewVersions %r, want [v1]" % (where, h.get("admissionReviewVersions")))
    if h.get("sideEffects") != "NoneOnDryRun":
        fail("%s: sideEffects %r, want NoneOnDryRun" % (where, h.get("sideEffects")))
    if h.get("failurePolicy") != "Ignore":
        fail("%s: failurePolicy %r, want Ignore (a deletion must never be blocked)" % (where, h.get("failurePolicy")))
    t = h.get("timeoutSeconds")
    if not isinstance(t, int) or not 1 <= t <= 5:
        fail("%s: timeoutSeconds %r, want 1..5" % (where, t))
    s = (h.get("clientConfig") or {}).get("service") or {}
    if (s.get("name"), s.get("namespace"), s.get("path"), s.get("port", 443)) != (
            svc["metadata"]["name"], ns, "/validate", svc_port):
        fail("%s: clientConfig.service %r does not point at %s/%s:%s/validate" % (
            where, s, ns, svc["metadata"]["name"], svc_port))
    covered = set()
    for r in h.get("rules") or []:
        ops = r.get("operations") or []
        if ops != ["DELETE"]:
            fail("%s: operations %r, want [DELETE] only" % (where, ops))
            continue
        for g in r.get("apiGroups") or []:
            for res in r.get("resources") or []:
                covered.add((g, res))
    missing = DELETE_RULES - covered
    if missing:
        fail("%s: DELETE not covered for %s" % (where, sorted(missing)))
    check_scope(h, where, ns)


def check_webhooks(config, kind, path, svc, svc_port, args):
    hooks = config.get("webhooks") or []
    if kind == "ValidatingWebhookConfiguration":
        inventory = [h for h in hooks if h.get("name") == INVENTORY_WEBHOOK]
        hooks = [h for h in hooks if h.get("name") != INVENTORY_WEBHOOK]
        if args.no_inventory_webhook:
            if inventory:
                fail("webhook %s rendered but not expected" % INVENTORY_WEBHOOK)
        elif len(inventory) != 1:
            fail("want one webhook %s (DELETE, for the inventory), found %d" % (INVENTORY_WEBHOOK, len(inventory)))
        for h in inventory:
            check_inventory_webhook(h, svc, svc_port)
    if not hooks:
        fail("%s has no webhooks" % kind)
    ns = svc["metadata"]["namespace"]
    for h in hooks:
        name = h.get("name")
        where = "%s webhook %s" % (kind, name)
        if h.get("admissionReviewVersions") != ["v1"]:
            fail("%s: admissionReviewVersions %r, want [v1]" % (where, h.get("admissionReviewVersions")))
        if h.get("sideEffects") != "NoneOnDryRun":
            fail("%s: sideEffects %r, want NoneOnDryRun" % (where, h.get("sideEffects")))
        mutating = kind == "MutatingWebhookConfiguration"
        want_policy = args.mutating_failure_policy if mutating else args.failure_policy
        want_timeout = args.mutating_timeout if mutating else args.timeout
        if h.get("failurePolicy") != want_policy:
            fail("%s: failurePolicy %r, want %s" % (where, h.get("failurePolicy"), want_policy))
        t = h.get("timeoutSeconds")
        if t != want_timeout or not isinstance(t, int) or not 1 <= t <= 30:
            fail("%s: timeoutSeconds %r, want %d (1..30)" % (where, t, want_timeout))
        s = (h.get("clientConfig") or {}).get("service") or {}
        if (s.get("name"), s.get("namespace"), s.get("path"), s.get("port", 443)) != (
                svc["metadata"]["name"], ns, path, svc_port):
            fail("%s: clientConfig.service %r does not point at %s/%s:%s%s" % (
                where, s, ns, svc["metadata"]["name"], svc_port, path))
        covered = set()
        for r in h.get("rules") or []:
            ops = set(r.get("operations") or [])
            if not {"CREATE", "UPDATE"} <= ops and "*" not in ops:
                continue
            for g in r.get("apiGroups") or []:
                for res in r.get("resources") or []:
                    covered.add((g, res))
        missing = REQUIRED_RULES - covered
        if missing:
            fail("%s: CREATE+UPDATE not covered for %s" % (where, sorted(missing)))
        check_scope(h, where, ns)
        if kind == "MutatingWebhookConfiguration" and h.get("reinvocationPolicy") != "IfNeeded":
            fail("%s: reinvocationPolicy %r, want IfNeeded" % (where, h.get("reinvocationPolicy")))


TRUST_FILE_KEYS = ("keyFile", "trustedRoot", "fulcioRoots", "rekorKey", "rootKeyFiles", "caFile", "trustStores",
                   "tsaStores", "trustPolicy", "trustStore")
SECRET_MARKERS = ("PRIVATE KEY", '"auths"')


def policy_files(policy):
    """(anchor name, key, path) for every file the policy's trust anchors name."""
    out = []
    for anchor in ((policy or {}).get("spec") or {}).get("trustAnchors") or []:
        for kind, body in anchor.items():
            if not isinstance(body, dict):
                continue
            for key in TRUST_FILE_KEYS:
                v = body.get(key)
                for path in (v if isinstance(v, list) else [v] if v else []):
                    out.append(("%s.%s" % (anchor.get("name"), kind), key, path))
    return out


# `imagegate serve` flags over the config file, as webhook/cli/serve_command.cc applies them: scalars replace,
# lists append.
FLAG_KEYS = {"--policy": ("policy",), "--tls-cert": ("tls", "certFile"), "--tls-key": ("tls", "keyFile"),
             "--client-ca": ("tls", "clientCAFile"), "--listen": ("listen",), "--api-listen": ("apiListen",),
             "--api-token-file": ("apiTokenFile",), "--store": ("store",), "--log-format": ("logFormat",),
             "--metrics-listen": ("metricsListen",)}
FLAG_LISTS = {"--ca-file": "caFiles", "--docker-config": "dockerConfigFiles",
              "--insecure-registry": "insecureRegistries", "--legacy-tls-registry": "legacyTLSRegistries"}


def apply_flags(config, cargs):
    i = 1
    while i < len(cargs):
        a = cargs[i]
        if "=" in a:
            name, value = a.split("=", 1)
            i += 1
        else:
            name, value = a, cargs[i + 1] if i + 1 < len(cargs) else ""
            i += 2
        if name in FLAG_KEYS:
            keys = FLAG_KEYS[name]
            node = config
            for k in keys[:-1]:
                node = node.setdefault(k, {})
            node[keys[-1]] = value
        elif name in FLAG_LISTS:
            reg = config.setdefault("registry", {})
            reg[FLAG_LISTS[name]] = list(reg.get(FLAG_LISTS[name]) or []) + [value]


def check_files(objs, by_name, dep, c, mounts, volumes, config, args):
    """Volumes read-only, every named file mounted (from a Secret when secret), no secrets in ConfigMaps."""
    for vname, m in mounts.items():
        src = volumes.get(vname) or {}
        if any(k in src for k in ("secret", "configMap", "projected")) and m.get("readOnly") is not True:
            fail("volume %s (%s) is mounted writable" % (vname, [k for k in src if k != "name"]))

    def check_file(what, path, secret_only, directory=False):
        if not isinstance(path, str) or not path.startswith("/"):
            fail("%s: %r is not an absolute path" % (what, path))
            return
        best = None
        for vname, m in mounts.items():
            mp = m["mountPath"].rstrip("/") + "/"
            if path.startswith(mp) and (best is None or len(mp) > len(best[1])):
                best = (vname, mp)
        if best is None:
            fail("%s: %s is on no mounted volume" % (what, path))
            return
        vname, mp = best
        m, src = mounts[vname], volumes.get(vname) or {}
        rel = path[len(mp):]
        kind = "secret" if "secret" in src else "configMap" if "configMap" in src else None
        if kind is None:
            fail("%s: %s is on volume %s, which is neither a Secret nor a ConfigMap" % (what, path, vname))
            return
        if secret_only and kind != "secret":
            fail("%s: %s comes from a ConfigMap; it must come from a Secret" % (what, path))
        if m.get("subPath"):
            fail("%s: %s is mounted with subPath (no live updates)" % (what, path))
        body = src[kind]
        key = rel
        items = body.get("items")
        if items:
            match = [i for i in items if i.get("path") == rel]
            # A directory (a Notation trust store) is there when items lie under it.
            if not match and directory:
                match = [i for i in items if i.get("path", "").startswith(rel + "/")]
            if not match:
                fail("%s: %s is not among the items %r of volume %s" % (what, path, [i.get("path") for i in items], vname))
                return
            key = match[0]["key"]
        obj_name = body.get("secretName") if kind == "secret" else body.get("name")
        obj = by_name.get(("Secret" if kind == "secret" else "ConfigMap", obj_name))
        if obj is not None and key not in (obj.get("data") or {}) and key not in (obj.get("stringData") or {}):
            fail("%s: %s is key %s of %s %s, which has no such key" % (what, path, key, kind, obj_name))

    check_file("config policy", config.get("policy"), False)
    tls = config.get("tls") or {}
    check_file("config tls.certFile", tls.get("certFile"), True)
    check_file("config tls.keyFile", tls.get("keyFile"), True)
    if tls.get("clientCAFile"):
        check_file("config tls.clientCAFile", tls["clientCAFile"], False)
    reg = config.get("registry") or {}
    for f in reg.get("caFiles") or []:
        check_file("config registry.caFiles", f, False)
    for host, files in (reg.get("registryCAFiles") or {}).items():
        for f in files or []:
            check_file("config registry.registryCAFiles[%s]" % host, f, False)
    for f in reg.get("dockerConfigFiles") or []:
        check_file("config registry.dockerConfigFiles", f, True)
    if config.get("apiListen") or config.get("apiTokenFile"):
        check_file("config apiTokenFile", config.get("apiTokenFile"), True)

    pol = None
    pol_path = config.get("policy", "")
    for vname, m in mounts.items():
        if pol_path.startswith(m["mountPath"].rstrip("/") + "/"):
            cm = by_name.get(("ConfigMap", ((volumes.get(vname) or {}).get("configMap") or {}).get("name")))
            if cm:
                pol = yaml.safe_load((cm.get("data") or {}).get(pol_path[len(m["mountPath"].rstrip("/")) + 1:]) or "null")
    for anchor, key, path in policy_files(pol):
        # Notation's trust policy and certificates are public: a ConfigMap will do. Its trust store is a directory.
        notation = key in ("trustPolicy", "trustStore")
        check_file("policy trust anchor %s %s" % (anchor, key), path, not notation, directory=key == "trustStore")

    # Flags the kubelet expands from env, and the store they may set.
    cargs = c.get("args") or []
    env = {e["name"]: e for e in c.get("env") or []}
    for a in cargs:
        for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", a):
            if var not in env:
                fail("container args use $(%s), which env does not define" % var)
    for e in env.values():
        if "value" in e and re.search(r"redis://|PRIVATE KEY|password", str(e["value"]), re.I):
            fail("env %s carries a secret in plain text" % e["name"])
    store = str(config.get("store") or "")
    spec = dep["spec"]
    if store.startswith("sqlite:"):
        path = store[len("sqlite:"):]
        vol = None
        for vname, m in mounts.items():
            if path.startswith(m["mountPath"].rstrip("/") + "/"):
                vol = (m, volumes.get(vname) or {})
        if vol is None or "persistentVolumeClaim" not in vol[1]:
            fail("sqlite store %s is not on a PersistentVolumeClaim volume" % path)
        else:
            if vol[0].get("readOnly"):
                fail("sqlite store %s is on a read-only mount" % path)
            claim = vol[1]["persistentVolumeClaim"].get("claimName")
            if ("PersistentVolumeClaim", claim) not in by_name and not args.existing_claim:
                fail("PersistentVolumeClaim %r is not rendered" % claim)
        if spec.get("replicas") != 1:
            fail("sqlite store with %r replicas (one file on one volume: want 1)" % spec.get("replicas"))
        if (spec.get("strategy") or {}).get("type") != "Recreate":
            fail("sqlite store: a RollingUpdate would need the ReadWriteOnce volume twice; want Recreate")
    elif store and not store.startswith("redis://") and not re.fullmatch(r"\$\([A-Za-z_][A-Za-z0-9_]*\)", store):
        fail("store %r is neither sqlite:PATH nor redis://" % store)
    if config.get("apiListen") and not store:
        fail("apiListen without a store: the server would write into its read-only root file system")

    markers = list(SECRET_MARKERS) + list(args.secret)
    for o in objs:
        if o.get("kind") != "ConfigMap":
            continue
        for k, v in (o.get("data") or {}).items():
            for mark in markers:
                if mark in str(v):
                    fail("ConfigMap %s key %s holds a secret (%s...)" % (o["metadata"]["name"], k, mark[:12]))
            if re.search(r"(?m)^\s*(rw|ro):\S{8,}\s*$", str(v)):
                fail("ConfigMap %s key %s holds API token lines" % (o["metadata"]["name"], k))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--replicas", type=int, default=3)
    p.add_argument("--failure-policy", default="Fail")
    p.add_argument("--timeout", type=int, default=10)
    p.add_argument("--mutating", action="store_true", help="the default: one MutatingWebhookConfiguration")
    p.add_argument("--no-mutating", action="store_true", help="mutatingWebhook.enabled=false: none")
    p.add_argument("--mutating-failure-policy", default="Fail")
    p.add_argument("--mutating-timeout", type=int, default=10)
    p.add_argument("--no-inventory-webhook", action="store_true",
                   help="inventory.trackDeletions=false: no %s webhook" % INVENTORY_WEBHOOK)
    p.add_argument("--tls", choices=["secret", "cert-manager", "existing"], default="secret")
    p.add_argument("--no-pre-delete-hook", action="store_true")
    p.add_argument("--no-test-hook", action="store_true")
    p.add_argument("--existing-claim", action="store_true", help="the sqlite volume's claim is not rendered")
    p.add_argument("--secret", action="append", default=[], help="a value that must not appear in a ConfigMap")
    p.add_argument("file")
    args = p.parse_args()
    text = sys.stdin.read() if args.file == "-" else open(args.file).read()
    objs = [o for o in yaml.safe_load_all(text) if o]
    hooks = [o for o in objs if is_hook(o)]
    objs = [o for o in objs if not is_hook(o)]

    for o in objs:
        if o.get("kind") in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
            fail("unexpected RBAC object %s %s" % (o["kind"], o["metadata"]["name"]))
    dep = one(objs, "Deployment")
    svc = one(objs, "Service")
    sa = one(objs, "ServiceAccount")
    pdb = one(objs, "PodDisruptionBudget")
    netpol = one(objs, "NetworkPolicy")
    vwc = one(objs, "ValidatingWebhookConfiguration")
    mwcs = [o for o in objs if o.get("kind") == "MutatingWebhookConfiguration"]
    if None in (dep, svc, sa, pdb, netpol, vwc):
        return report()
    ns = dep["metadata"]["namespace"]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"].get("labels") or {}
    if not selects(spec["selector"], labels):
        fail("Deployment selector does not select its own pod template")
    if spec.get("replicas") != args.replicas:
        fail("Deployment replicas %r, want %d" % (spec.get("replicas"), args.replicas))
    anti = ((pod.get("affinity") or {}).get("podAntiAffinity") or {})
    terms = [t.get("podAffinityTerm", t) for t in
             (anti.get("preferredDuringSchedulingIgnoredDuringExecution") or [])
             + (anti.get("requiredDuringSchedulingIgnoredDuringExecution") or [])]
    if not any(selects(t.get("labelSelector"), labels) for t in terms):
        fail("no pod anti-affinity term selecting the pods")
    if not any(selects(t.get("labelSelector"), labels) for t in pod.get("topologySpreadConstraints") or []):
        fail("no topology spread constraint selecting the pods")
    if sa["metadata"]["name"] != pod.get("serviceAccountName"):
        fail("pod does not run as the chart's ServiceAccount")
    if sa.get("automountServiceAccountToken") is not False or pod.get("automountServiceAccountToken") is not False:
        fail("automountServiceAccountToken must be false on the ServiceAccount and the pod")
    psc = pod.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True:
        fail("pod securityContext.runAsNonRoot is not true")
    if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        fail("pod seccompProfile is not RuntimeDefault")
    containers = pod.get("containers") or []
    if len(containers) != 1:
        fail("want one container, found %d" % len(containers))
        return report()
    c = containers[0]
    csc = c.get("securityContext") or {}
    if csc.get("readOnlyRootFilesystem") is not True:
        fail("container readOnlyRootFilesystem is not true")
    if csc.get("allowPrivilegeEscalation") is not False:
        fail("container allowPrivilegeEscalation is not false")
    if (csc.get("capabilities") or {}).get("drop") != ["ALL"] or (csc.get("capabilities") or {}).get("add"):
        fail("container capabilities: want drop [ALL] and nothing added")
    if csc.get("privileged"):
        fail("container is privileged")
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        if not (res.get(part) or {}).get("memory"):
            fail("container resources.%s.memory is not set" % part)
    if not (res.get("requests") or {}).get("cpu"):
        fail("container resources.requests.cpu is not set")
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
    for probe, want in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        g = (c.get(probe) or {}).get("httpGet") or {}
        port = g.get("port")
        port = ports.get(port, port)
        if g.get("path") != want or g.get("scheme") != "HTTPS" or port not in ports.values():
            fail("%s: want HTTPS GET %s on the serving port, got %r" % (probe, want, g))

    # Server config: the file named by --config, from a ConfigMap volume.
    mounts = {m["name"]: m for m in c.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    cargs = c.get("args") or []
    config = None
    if "--config" in cargs:
        cfg_path = cargs[cargs.index("--config") + 1]
        for vname, m in mounts.items():
            if cfg_path.startswith(m["mountPath"].rstrip("/") + "/"):
                cm_name = (volumes[vname].get("configMap") or {}).get("name")
                cm = by_name.get(("ConfigMap", cm_name))
                key = cfg_path[len(m["mountPath"].rstrip("/")) + 1:]
                if cm and key in (cm.get("data") or {}):
                    config = yaml.safe_load(cm["data"][key])
    if config is None:
        fail("container args %r: no --config file found in a rendered ConfigMap" % cargs)
        return report()
    apply_flags(config, cargs)

    def mount_for(path, kind):
        for vname, m in mounts.items():
            if path.startswith(m["mountPath"].rstrip("/") + "/"):
                if m.get("subPath"):
                    fail("%s mounted with subPath: no live reload" % path)
                src = volumes.get(vname) or {}
                if kind not in src:
                    fail("%s is not on a %s volume" % (path, kind))
                return src.get(kind) or {}, path[len(m["mountPath"].rstrip("/")) + 1:]
        fail("%s is on no volume" % path)
        return {}, None

    pol_src, pol_key = mount_for(config.get("policy", ""), "configMap")
    pol_cm = by_name.get(("ConfigMap", pol_src.get("name")))
    if pol_cm is None:
        fail("policy ConfigMap %r not rendered" % pol_src.get("name"))
    else:
        doc = yaml.safe_load((pol_cm.get("data") or {}).get(pol_key) or "null")
        if not isinstance(doc, dict) or doc.get("kind") != "ImagePolicy":
            fail("policy ConfigMap key %s does not hold an ImagePolicy" % pol_key)
    tls = config.get("tls") or {}
    cert_src, cert_key = mount_for(tls.get("certFile", ""), "secret")
    key_src, _ = mount_for(tls.get("keyFile", ""), "secret")
    if cert_src.get("secretName") != key_src.get("secretName"):
        fail("certFile and keyFile come from different Secrets")
    listen_port = int(str(config.get("listen", ":8443")).rsplit(":", 1)[1])
    if listen_port not in ports.values():
        fail("server listens on %d, container ports are %r" % (listen_port, ports))
    grace = parse_duration_seconds(config.get("gracePeriod", "10s"))
    sleep = (((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds", 0)
    tgps = pod.get("terminationGracePeriodSeconds", 30)
    if not tgps > grace + sleep:
        fail("terminationGracePeriodSeconds %s is not longer than gracePeriod %ss + preStop %ss" % (tgps, grace, sleep))

    # Service, PDB, NetworkPolicy.
    if not selects({"matchLabels": svc["spec"].get("selector")}, labels):
        fail("Service does not select the pods")
    svc_ports = svc["spec"].get("ports") or []
    by_target = {ports.get(p.get("targetPort"), p.get("targetPort")): p["port"] for p in svc_ports}
    if listen_port not in by_target:
        fail("no Service port targets the serving port %d" % listen_port)
        return report()
    svc_port = by_target[listen_port]
    expected_ports = 1
    if not selects(pdb["spec"].get("selector"), labels):
        fail("PodDisruptionBudget does not select the pods")
    if not selects(netpol["spec"].get("podSelector"), labels):
        fail("NetworkPolicy does not select the pods")
    allowed = [p.get("port") for rule in netpol["spec"].get("ingress") or [] for p in rule.get("ports") or []]
    if listen_port not in [ports.get(a, a) for a in allowed]:
        fail("NetworkPolicy does not admit the serving port")

    check_files(objs, by_name, dep, c, mounts, volumes, config, args)
    # Second and third listeners (the verdict API; /metrics over plain HTTP): each its own container port,
    # exposed by the Service and admitted by the NetworkPolicy.
    used = {listen_port: "the webhook"}
    for key, what in (("apiListen", "the verdict API"), ("metricsListen", "the plain-HTTP metrics")):
        if not config.get(key):
            continue
        port = int(str(config[key]).rsplit(":", 1)[1])
        expected_ports += 1
        if port in used:
            fail("%s shares port %d with %s" % (key, port, used[port]))
        used[port] = what
        if port not in ports.values():
            fail("%s port %d is not a container port (%r)" % (key, port, ports))
        if port not in by_target:
            fail("no Service port targets %s port %d" % (what, port))
        if port not in [ports.get(a, a) for a in allowed]:
            fail("NetworkPolicy does not admit %s port %d" % (what, port))
    if len(svc_ports) != expected_ports:
        fail("Service: want %d port(s), found %d" % (expected_ports, len(svc_ports)))

    check_webhooks(vwc, "ValidatingWebhookConfiguration", "/validate", svc, svc_port, args)
    if not args.no_mutating:
        if len(mwcs) != 1:
            fail("expected one MutatingWebhookConfiguration, found %d" % len(mwcs))
        else:
            check_webhooks(mwcs[0], "MutatingWebhookConfiguration", "/mutate", svc, svc_port, args)
    elif mwcs:
        fail("MutatingWebhookConfiguration rendered but not expected")

    check_hooks(hooks, args, svc, svc_port, [vwc] + mwcs, cert_src.get("secretName"))

    # TLS.
    san = "%s.%s.svc" % (svc["metadata"]["name"], ns)
    secret_name = cert_src.get("secretName")
    configs = [vwc] + mwcs
    if args.tls == "existing":
        for kind in ("Secret", "Certificate"):
            if any(o.get("kind") == kind and (o["metadata"]["name"] == secret_name or
                                              (o.get("spec") or {}).get("secretName") == secret_name) for o in objs):
                fail("bring-your-own TLS Secret %r, but the render makes a %s for it" % (secret_name, kind))
        for cfg in configs:
            for h in cfg.get("webhooks") or []:
                if not (h.get("clientConfig") or {}).get("caBundle"):
                    fail("%s %s: no caBundle with an existing TLS Secret" % (cfg["kind"], h.get("name")))
    elif args.tls == "secret":
        secret = by_name.get(("Secret", secret_name))
        if secret is None:
            fail("TLS Secret %r not rendered" % secret_name)
            return report()
        data = secret.get("data") or {}
        with tempfile.TemporaryDirectory() as d:
            def put(name, b64):
                path = os.path.join(d, name)
                with open(path, "wb") as f:
                    f.write(base64.b64decode(b64 or ""))
                return path
            crt = put("tls.crt", data.get(cert_key))
            ca = put("ca.crt", data.get("ca.crt"))
            r = openssl("x509", "-in", crt, "-noout", "-checkhost", san)
            if r.returncode != 0 or "does match" not in r.stdout:
                fail("serving certificate does not carry the SAN %s: %s%s" % (san, r.stdout, r.stderr))
            r = openssl("verify", "-CAfile", ca, crt)
            if r.returncode != 0:
                fail("serving certificate does not verify against the Secret's ca.crt: %s" % r.stdout + r.stderr)
            for cfg in configs:
                for h in cfg.get("webhooks") or []:
                    bundle = put("bundle.crt", (h.get("clientConfig") or {}).get("caBundle"))
                    r = openssl("verify", "-CAfile", bundle, crt)
                    if r.returncode != 0:
                        fail("%s %s: the serving certificate does not verify against caBundle: %s" % (
                            cfg["kind"], h.get("name"), (r.stdout + r.stderr).strip()))
    else:
        certs = [o for o in objs if o.get("kind") == "Certificate"
                 and o["spec"].get("secretName") == secret_name]
        if len(certs) != 1:
            fail("want one cert-manager Certificate writing Secret %r" % secret_name)
            return report()
        cert = certs[0]
        if san not in (cert["spec"].get("dnsNames") or []):
            fail("Certificate dnsNames %r lack %s" % (cert["spec"].get("dnsNames"), san))
        want = "%s/%s" % (cert["metadata"]["namespace"], cert["metadata"]["name"])
        for cfg in configs:
            if (cfg["metadata"].get("annotations") or {}).get("cert-manager.io/inject-ca-from") != want:
                fail("%s lacks cert-manager.io/inject-ca-from: %s" % (cfg["kind"], want))
        ref = cert["spec"].get("issuerRef") or {}
        if ref.get("kind", "Issuer") == "Issuer" and ("Issuer", ref.get("name")) not in by_name:
            fail("Certificate's Issuer %r not rendered" % ref.get("name"))
    return report()


def is_hook(o):
    return "helm.sh/hook" in ((o.get("metadata") or {}).get("annotations") or {})


def hook_of(o):
    return o["metadata"]["annotations"]["helm.sh/hook"]


def check_restricted(pod, where):
    psc = pod.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True or (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        fail("%s: pod not runAsNonRoot with seccomp RuntimeDefault" % where)
    for c in pod.get("containers") or []:
        csc = c.get("securityContext") or {}
        if (csc.get("allowPrivilegeEscalation") is not False or csc.get("readOnlyRootFilesystem") is not True
                or (csc.get("capabilities") or {}).get("drop") != ["ALL"]):
            fail("%s: container %s not restricted" % (where, c.get("name")))


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env") or []}


def check_hooks(hooks, args, svc, svc_port, configs, tls_secret):
    if ((svc["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by")) != "Helm":
        if hooks:
            fail("Helm hook objects in a render that is not Helm's")
        return
    by_kind = {}
    for o in hooks:
        by_kind.setdefault((hook_of(o), o["kind"]), []).append(o)
        if o["kind"] in ("Job", "Pod"):
            pod = o["spec"]["template"]["spec"] if o["kind"] == "Job" else o["spec"]
            labels = (o["spec"]["template"]["metadata"] if o["kind"] == "Job" else o["metadata"]).get("labels") or {}
            if selects(svc["spec"].get("selector") and {"matchLabels": svc["spec"]["selector"]}, labels):
                fail("hook %s %s is selected by the Service" % (o["kind"], o["metadata"]["name"]))
            check_restricted(pod, "hook %s %s" % (o["kind"], o["metadata"]["name"]))
    ns = svc["metadata"]["namespace"]
    owned = sorted("%s/%s" % ({"ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
                               "MutatingWebhookConfiguration": "mutatingwebhookconfigurations"}[c["kind"]],
                              c["metadata"]["name"]) for c in configs)
    jobs = by_kind.get(("pre-delete", "Pod"), []) + by_kind.get(("pre-delete", "Job"), [])
    if args.no_pre_delete_hook:
        if [o for o in hooks if hook_of(o) == "pre-delete"]:
            fail("pre-delete hook objects rendered but not expected")
    elif len(jobs) != 1:
        fail("want one pre-delete Pod or Job (removes the webhook configurations on uninstall), found %d" % len(jobs))
    else:
        job = jobs[0]
        pod = job["spec"]["template"]["spec"] if job["kind"] == "Job" else job["spec"]
        sa_name = pod.get("serviceAccountName")
        if not sa_name or sa_name == "default":
            fail("pre-delete hook: runs as %r, want its own ServiceAccount" % sa_name)
        sas = [o for o in by_kind.get(("pre-delete", "ServiceAccount"), []) if o["metadata"]["name"] == sa_name]
        if len(sas) != 1:
            fail("pre-delete hook: its ServiceAccount %r is not a pre-delete hook object" % sa_name)
        weight = int(job["metadata"]["annotations"].get("helm.sh/hook-weight", "0"))
        for o in [o for o in hooks if hook_of(o) == "pre-delete" and o is not job]:
            if int(o["metadata"]["annotations"].get("helm.sh/hook-weight", "0")) >= weight:
                fail("pre-delete %s %s is not created before the hook pod (hook weight)" % (o["kind"], o["metadata"]["name"]))
        for o in [o for o in hooks if hook_of(o) == "pre-delete"]:
            if "hook-succeeded" not in o["metadata"]["annotations"].get("helm.sh/hook-delete-policy", ""):
                fail("pre-delete %s %s is left behind (hook-delete-policy)" % (o["kind"], o["metadata"]["name"]))
        bindings = [b for b in by_kind.get(("pre-delete", "ClusterRoleBinding"), [])
                    if {"kind": "ServiceAccount", "name": sa_name, "namespace": ns} in (b.get("subjects") or [])]
        roles = {r["metadata"]["name"]: r for r in by_kind.get(("pre-delete", "ClusterRole"), [])}
        allowed = set()
        for b in bindings:
            role = roles.get(b["roleRef"]["name"])
            if b["roleRef"].get("kind") != "ClusterRole" or role is None:
                fail("pre-delete binding %s: role %r not rendered" % (b["metadata"]["name"], b["roleRef"]))
                continue
            for r in role.get("rules") or []:
                if r.get("verbs") != ["delete"] or r.get("apiGroups") != ["admissionregistration.k8s.io"]:
                    fail("pre-delete ClusterRole %s allows %r on %r: only delete on admissionregistration.k8s.io" % (
                        role["metadata"]["name"], r.get("verbs"), r.get("apiGroups")))
                if not r.get("resourceNames"):
                    fail("pre-delete ClusterRole %s: a rule without resourceNames (any webhook configuration)" %
                         role["metadata"]["name"])
                for res in r.get("resources") or []:
                    for name in r.get("resourceNames") or []:
                        allowed.add("%s/%s" % (res, name))
        others = [b for b in hooks if b["kind"] in ("RoleBinding", "ClusterRoleBinding") and b not in bindings]
        if others:
            fail("pre-delete: other bindings %r" % [b["metadata"]["name"] for b in others])
        if sorted(allowed) != owned:
            fail("pre-delete RBAC allows deleting %r, want exactly the webhook configurations %r" % (sorted(allowed), owned))
        env = env_of(pod["containers"][0])
        if sorted((env.get("WEBHOOKS") or "").split()) != owned:
            fail("pre-delete hook deletes %r, want %r" % (env.get("WEBHOOKS"), owned))
        if pod.get("automountServiceAccountToken") is not True:
            fail("pre-delete hook: no ServiceAccount token mounted (it needs one to call the API server)")
    tests = by_kind.get(("test", "Pod"), [])
    if args.no_test_hook:
        if tests:
            fail("helm test pod rendered but not expected")
        return
    if len(tests) != 1:
        fail("want one `helm test` pod, found %d" % len(tests))
        return
    pod = tests[0]["spec"]
    c = pod["containers"][0]
    env = env_of(c)
    want_url = "https://%s.%s.svc:%d/validate" % (svc["metadata"]["name"], ns, svc_port)
    if env.get("WEBHOOK_URL") != want_url:
        fail("helm test posts to %r, want %s" % (env.get("WEBHOOK_URL"), want_url))
    try:
        review = json.loads(env.get("REVIEW") or "")
        if review.get("kind") != "AdmissionReview" or review["request"]["uid"] != env.get("REVIEW_UID"):
            fail("helm test: REVIEW is not an AdmissionReview with uid %r" % env.get("REVIEW_UID"))
    except (ValueError, KeyError, TypeError) as e:
        fail("helm test: REVIEW is not JSON: %s" % e)
    ca_dir = os.path.dirname(env.get("CA_FILE") or "")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
    vol = {v["name"]: v for v in pod.get("volumes") or []}.get(mounts.get(ca_dir))
    if vol is None:
        fail("helm test: CA_FILE %r is on no volume" % env.get("CA_FILE"))
    elif "secret" in vol and vol["secret"].get("secretName") != tls_secret:
        fail("helm test: the CA comes from Secret %r, not the serving Secret %r" % (vol["secret"].get("secretName"), tls_secret))
    elif "configMap" in vol and not any(h["kind"] == "ConfigMap" and h["metadata"]["name"] == vol["configMap"]["name"]
                                        for h in hooks):
        fail("helm test: the CA ConfigMap %r is not rendered" % vol["configMap"]["name"])


def report():
    for e in errors:
        print("RULE FAILED: " + e)
    print("check_rules: %d failures" % len(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
