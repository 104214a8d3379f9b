#!/usr/bin/env python3
"""Judges a testssl.sh flat JSON report (--jsonfile) against imagegate's TLS promise (docs/security.md):
only TLS 1.2 and 1.3 offered, only AEAD cipher suites with forward secrecy, and nothing testssl flags as a
weakness (any finding of severity LOW or worse, or a vulnerability check that did not say "not vulnerable").

Usage: testssl_check.py REPORT.json   prints one line per problem; exit 0 when there is none, 1 otherwise.
"""
import json
import sys

OFFERED_PROTOCOLS = {"TLS1_2", "TLS1_3"}
REFUSED_PROTOCOLS = {"SSLv2", "SSLv3", "TLS1", "TLS1_1"}
AEAD = {"AESGCM", "ChaCha20", "AESCCM"}
# Vulnerability checks run by -U: each must be present and judged OK (testssl says "not vulnerable").
VULNERABILITIES = {"heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_client_renego", "CRIME_TLS",
                   "POODLE_SSL", "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST",
                   "LUCKY13", "RC4"}
WEAK = {"LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN", "FATAL"}


def problems(findings):
    by_id = {f["id"]: f for f in findings}
    out = []
    for f in findings:
        if f.get("severity") in WEAK:
            out.append(f"{f['id']}: {f['severity']}: {f.get('finding', '')}")
    for p in sorted(REFUSED_PROTOCOLS):
        finding = by_id.get(p, {}).get("finding", "missing from the report")
        if not finding.startswith("not offered"):
            out.append(f"{p}: expected not offered, got: {finding}")
    for p in sorted(OFFERED_PROTOCOLS):
        finding = by_id.get(p, {}).get("finding", "missing from the report")
        if not finding.startswith("offered"):
            out.append(f"{p}: expected offered, got: {finding}")
    for v in sorted(VULNERABILITIES):
        f = by_id.get(v)
        if f is None:
            out.append(f"{v}: check missing from the report")
        elif f.get("severity") != "OK":
            out.append(f"{v}: {f.get('severity')}: {f.get('finding', '')}")
    ciphers = [f for f in findings if f["id"].startswith("cipher-tls") or f["id"].startswith("cipher-ssl")]
    if not ciphers:
        out.append("no cipher suites in the report (was -E run?)")
    for f in ciphers:
        # "TLS 1.2   xc02c   ECDHE-ECDSA-AES256-GCM-SHA384     ECDH 253   AESGCM      256      TLS_..."
        words = f.get("finding", "").split()
        try:
            proto = words[0] + " " + words[1]
            name, kx, enc = words[3], words[4], words[6] if words[5].isdigit() else words[5]
        except IndexError:
            out.append(f"{f['id']}: cannot read the cipher line: {f.get('finding', '')}")
            continue
        if proto not in ("TLS 1.2", "TLS 1.3"):
            out.append(f"{f['id']}: {name} offered over {proto}")
        if kx not in ("ECDH", "DH"):
            out.append(f"{f['id']}: {name} has no forward secrecy (key exchange {kx})")
        if enc not in AEAD:
            out.append(f"{f['id']}: {name} is not an AEAD suite ({enc})")
    return out


def main():
    with open(sys.argv[1], encoding="utf-8") as fh:
        findings = json.load(fh)
    found = problems(findings)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
