#!/usr/bin/python3
"""Checks that the chart (rendered with default values, release "imagegate" in namespace imagegate-system)
and the kustomize install (manifests/) agree on what matters at runtime.

Usage: compare_installs.py [--effective] CHART_RENDER.yaml KUSTOMIZE_RENDER.yaml

With --effective (chart values vs kustomize components, which pass files and the verdict settings as
`serve` flags instead of config keys): the config compared is the file with the container's flags applied
as the server applies them (check_rules.apply_flags), and the args themselves are not compared.

Compared exactly (after removing what legitimately differs: caBundle, labels and label selectors -- the
chart adds helm/instance labels --, generated names with a kustomize hash suffix, the chart's checksum
annotation):
- the ValidatingWebhookConfiguration's and the MutatingWebhookConfiguration's webhooks (name, rules,
  namespaceSelector, failurePolicy, timeoutSeconds, sideEffects, admissionReviewVersions, matchPolicy,
  reinvocationPolicy, clientConfig.service): digest pinning is on by default in both;
- the Deployment's replicas, strategy, pod security context, grace period, affinity/topology keys, and the
  container's image name (repository), args, ports, probes, lifecycle, resources, security context and
  volume mounts;
- the server config file and the policy (parsed YAML);
- Service ports, PDB spec, NetworkPolicy ingress/policyTypes, ServiceAccount token setting.
"""
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_rules import apply_flags  # noqa: E402


def load(path):
    """The objects of a render, without Helm hooks (pre-delete Job, `helm test` pod): kustomize has none."""
    return [o for o in yaml.safe_load_all(open(path)) if o
            and "helm.sh/hook" not in ((o.get("metadata") or {}).get("annotations") or {})]


def one(objs, kind):
    found = [o for o in objs if o.get("kind") == kind]
    if len(found) != 1:
        raise SystemExit("expected one %s in the render, found %d" % (kind, len(found)))
    return found[0]


def strip(node):
    """Drops labels, label selectors, caBundle: what differs by design."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items()
                if k not in ("labelSelector", "caBundle", "labels", "matchLabels", "selector")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def cm_data(objs, prefix, key):
    for o in objs:
        if o.get("kind") == "ConfigMap" and o["metadata"]["name"].startswith(prefix) and key in (o.get("data") or {}):
            return yaml.safe_load(o["data"][key])
    raise SystemExit("no ConfigMap %s* with key %s" % (prefix, key))


def main():
    effective = "--effective" in sys.argv[1:]
    paths = [a for a in sys.argv[1:] if a != "--effective"]
    chart, kust = load(paths[0]), load(paths[1])
    diffs = []

    def same(what, a, b):
        if a != b:
            diffs.append("%s differs:\n  chart:     %r\n  kustomize: %r" % (what, a, b))
        else:
            print("same: " + what)

    vc, vk = one(chart, "ValidatingWebhookConfiguration"), one(kust, "ValidatingWebhookConfiguration")
    same("ValidatingWebhookConfiguration webhooks", strip(vc["webhooks"]), strip(vk["webhooks"]))
    mc, mk = one(chart, "MutatingWebhookConfiguration"), one(kust, "MutatingWebhookConfiguration")
    same("MutatingWebhookConfiguration webhooks", strip(mc["webhooks"]), strip(mk["webhooks"]))

    dc, dk = one(chart, "Deployment")["spec"], one(kust, "Deployment")["spec"]
    for key in ("replicas", "strategy"):
        same("Deployment spec." + key, dc.get(key), dk.get(key))
    pc, pk = dc["template"]["spec"], dk["template"]["spec"]
    for key in ("securityContext", "terminationGracePeriodSeconds", "automountServiceAccountToken",
                "affinity", "topologySpreadConstraints"):
        same("pod spec." + key, strip(pc.get(key)), strip(pk.get(key)))
    cc, ck = pc["containers"][0], pk["containers"][0]
    same("container image repository", cc["image"].rsplit(":", 1)[0], ck["image"].rsplit(":", 1)[0])
    for key in (() if effective else ("args",)) + ("env", "ports", "readinessProbe", "livenessProbe", "lifecycle", "resources", "securityContext",
                "volumeMounts"):
        same("container " + key, cc.get(key), ck.get(key))
    vol_c = {v["name"]: sorted(k for k in v if k != "name") for v in pc["volumes"]}
    vol_k = {v["name"]: sorted(k for k in v if k != "name") for v in pk["volumes"]}
    same("volume names and sources", vol_c, vol_k)

    cfg_c, cfg_k = cm_data(chart, "imagegate-config", "config.yaml"), cm_data(kust, "imagegate-config", "config.yaml")
    if effective:
        apply_flags(cfg_c, cc.get("args") or [])
        apply_flags(cfg_k, ck.get("args") or [])
    same("server config (config.yaml%s)" % (" + flags" if effective else ""), cfg_c, cfg_k)
    same("policy (policy.yaml)", cm_data(chart, "imagegate-policy", "policy.yaml"),
         cm_data(kust, "imagegate-policy", "policy.yaml"))
    same("Service ports", one(chart, "Service")["spec"]["ports"], one(kust, "Service")["spec"]["ports"])
    same("PodDisruptionBudget spec", strip(one(chart, "PodDisruptionBudget")["spec"]),
         strip(one(kust, "PodDisruptionBudget")["spec"]))
    nc, nk = one(chart, "NetworkPolicy")["spec"], one(kust, "NetworkPolicy")["spec"]
    same("NetworkPolicy ingress", nc.get("ingress"), nk.get("ingress"))
    same("NetworkPolicy policyTypes", nc.get("policyTypes"), nk.get("policyTypes"))
    same("ServiceAccount automountServiceAccountToken", one(chart, "ServiceAccount").get("automountServiceAccountToken"),
         one(kust, "ServiceAccount").get("automountServiceAccountToken"))

    for d in diffs:
        print("DIFFERS: " + d)
    print("compare_installs: %d differences" % len(diffs))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
