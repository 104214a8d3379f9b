#!/usr/bin/env python3
"""The fault matrix's driver (tests/e2e/fault_matrix_test.sh): sends one AdmissionReview per column at once
to a running `imagegate serve`, judges each answer, and prints the table docs/security.md records.

Columns are namespaces the test policy maps to one rule each: failurePolicy closed/open x mode
enforce/warn. A row is a fault the test has set up; its class says what the docs promise:
  ok           every column admits, with no warning (the fault is recovered from, or does not matter)
  unavailable  a check could not complete: closed+enforce denies; closed+warn, open+enforce and open+warn
               admit with a warning naming the check
  failure      a check failed for certain (the registry lied): enforce denies, warn admits with a warning
Every cell must be answered within the review's ?timeout= (the API server's timeoutSeconds), its decision
log line (reasons or diagnostics) must name REASON (a regular expression) for a non-ok class, a denial must
carry the logged reasons, and the server must answer /healthz afterwards.

  matrix.py row --port P --ca F --log DECISIONS --results TSV --timeout S NAME CLASS REASON IMAGE
  matrix.py table --results TSV     the markdown table; exit 1 when a cell failed
"""
import argparse
import http.client
import json
import re
import ssl
import sys
import threading
import time

COLUMNS = [("closed", "enforce"), ("closed", "warn"), ("open", "enforce"), ("open", "warn")]


def expected(klass, failure_policy, mode):
    if klass == "ok":
        return "allowed"
    if klass == "failure":
        return "denied" if mode == "enforce" else "warned"
    return "denied" if (failure_policy, mode) == ("closed", "enforce") else "warned"


def review(uid, namespace, image):
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": namespace,
        "operation": "CREATE", "userInfo": {"username": "fault-matrix"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": namespace},
                   "spec": {"containers": [{"name": "c", "image": image}]}}}}).encode()


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False  # the certificate names 127.0.0.1 or localhost; the CA is what matters here
    return ctx


def send(port, ctx, path, body, timeout):
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    try:
        if body is None:
            conn.request("GET", path)
        else:
            conn.request("POST", path, body, {"Content-Type": "application/json"})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def decision_line(log, uid, wait=5.0):
    """The decision log line of `uid` (the log is written asynchronously: wait for it)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with open(log, encoding="utf-8") as fh:
                for line in fh:
                    if f'"{uid}"' not in line:
                        continue
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if entry.get("uid") == uid:
                        return entry
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def run_cell(args, ctx, fp, mode, out):
    column = f"{fp}-{mode}"
    uid = f"{args.name}/{column}"
    start = time.monotonic()
    cell = {"column": column, "problems": []}
    try:
        status, body = send(args.port, ctx, f"/validate?timeout={args.timeout}s", review(uid, column, args.image),
                            args.timeout + 5)
    except Exception as e:  # noqa: BLE001 - any failure to answer is the finding
        cell.update(seconds=time.monotonic() - start, decision="no answer")
        cell["problems"].append(f"no answer: {e}")
        out[column] = cell
        return
    cell["seconds"] = time.monotonic() - start
    if cell["seconds"] >= args.timeout:
        cell["problems"].append(f"answered after the deadline ({cell['seconds']:.2f}s >= {args.timeout}s)")
    try:
        response = json.loads(body)["response"]
        if response.get("uid") != uid:
            cell["problems"].append(f"answer for uid {response.get('uid')!r}")
        allowed = response["allowed"]
        warnings = response.get("warnings") or []
        cell["decision"] = "denied" if not allowed else ("warned" if warnings else "allowed")
        cell["message"] = response.get("status", {}).get("message", "") or " ".join(warnings)
    except (ValueError, KeyError, TypeError):
        cell["decision"] = f"HTTP {status}"
        cell["problems"].append(f"not an AdmissionReview answer: HTTP {status} {body[:200]!r}")
        out[column] = cell
        return
    want = expected(args.klass, fp, mode)
    if cell["decision"] != want:
        cell["problems"].append(f"expected {want}, got {cell['decision']}: {cell['message'][:300]}")
    if args.klass != "ok":
        entry = decision_line(args.log, uid)
        # The answer says what failed; the decision log's diagnostics keep the socket-level detail.
        reasons = [r for image in (entry or {}).get("images", [])
                   for r in image.get("reasons", []) + image.get("diagnostics", [])]
        if entry is None:
            cell["problems"].append("no decision log line")
        elif not any(re.search(args.reason, r) for r in reasons):
            cell["problems"].append(f"no reason matching /{args.reason}/ in the decision log: {reasons}")
        # The answer names the reason (socket-level detail stays in the log's diagnostics).
        named = [r for image in (entry or {}).get("images", []) for r in image.get("reasons", [])]
        if cell["decision"] == "denied" and not any(r in cell["message"] for r in named):
            cell["problems"].append(f"the denial names none of the reasons {named}: {cell['message'][:300]}")
    out[column] = cell


def row(args):
    ctx = tls_context(args.ca)
    cells = {}
    threads = [threading.Thread(target=run_cell, args=(args, ctx, fp, mode, cells)) for fp, mode in COLUMNS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    healthy = ""
    try:
        status, _ = send(args.port, ctx, "/healthz", None, 5)
        if status != 200:
            healthy = f"/healthz answered {status}"
    except Exception as e:  # noqa: BLE001
        healthy = f"/healthz: {e}"
    with open(args.results, "a", encoding="utf-8") as fh:
        for fp, mode in COLUMNS:
            cell = cells[f"{fp}-{mode}"]
            problems = cell["problems"] + ([healthy] if healthy else [])
            fh.write("\t".join([args.name, args.klass, cell["column"], cell["decision"],
                                f"{cell['seconds']:.2f}", " | ".join(problems)]) + "\n")
            verdict = "ok  " if not problems else "FAIL"
            print(f"{verdict} {args.name} [{cell['column']}]: {cell['decision']} in {cell['seconds']:.2f}s"
                  + (f": {'; '.join(problems)}" if problems else ""))
    return 0


def table(args):
    rows, failed = {}, 0
    with open(args.results, encoding="utf-8") as fh:
        for line in fh:
            name, klass, column, decision, seconds, problems = line.rstrip("\n").split("\t")
            rows.setdefault((name, klass), {})[column] = (decision, seconds, problems)
            failed += bool(problems)
    columns = [f"{fp}-{mode}" for fp, mode in COLUMNS]
    print("| fault | promise | " + " | ".join(f"`{c}`" for c in columns) + " |")
    print("| --- | --- |" + " --- |" * len(columns))
    for (name, klass), cells in rows.items():
        out = []
        for c in columns:
            decision, seconds, problems = cells.get(c, ("missing", "-", "missing"))
            out.append(f"{decision} {seconds} s" + (" **FAIL**" if problems else ""))
        print(f"| {name} | {klass} | " + " | ".join(out) + " |")
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("row")
    for flag in ("--ca", "--log", "--results"):
        r.add_argument(flag, required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--timeout", type=int, default=3)
    r.add_argument("name")
    r.add_argument("klass", choices=["ok", "unavailable", "failure"])
    r.add_argument("reason")
    r.add_argument("image")
    t = sub.add_parser("table")
    t.add_argument("--results", required=True)
    args = parser.parse_args()
    return row(args) if args.command == "row" else table(args)


if __name__ == "__main__":
    sys.exit(main())
