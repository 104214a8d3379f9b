#!/usr/bin/python3
"""A small Go text/template + Sprig interpreter, enough to render charts/imagegate without Helm (no Helm
binary exists on these machines). It is NOT Helm: it implements the template language (actions, trim
markers, comments, if/else if/else, range, with, define/include, variables, pipelines, parentheses) and the
functions the chart uses; anything else is an error, so a template using a construct it does not know
fails loudly instead of rendering wrong. Differences from Helm that matter for the tests:
- genCA/genSignedCert are real (openssl): RSA 2048 CA and a serving certificate with the given SANs;
- lookup answers from --lookup FILE (YAML stream of "existing cluster objects"), else an empty map, like
  `helm template`;
- values are merged like Helm (maps deep-merged, everything else replaced) and validated by the caller;
- numbers print as Go prints float64 (integral values without a decimal point).

Usage: helm_render.py CHART [--values FILE]... [--set path=json]... [--set-file path=FILE]... [--name R] [--namespace NS]
                            [--lookup FILE] [--notes]
Prints the rendered manifests (one YAML stream, `# Source:` comments) or, with --notes, NOTES.txt.
Also importable: parse_template(text) for the static checks.
"""
import argparse
import base64
import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml


class TemplateError(Exception):
    pass


# ---------------------------------------------------------------------------------------------- lexing --

ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


def lex(text, name):
    """Splits into ('text', s) and ('action', s, line) items, applying trim markers."""
    items = []
    pos = 0
    for m in ACTION.finditer(text):
        chunk = text[pos:m.start()]
        if m.group(1):
            chunk = chunk.rstrip(" \t\r\n")
        items.append(["text", chunk])
        body = m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        items.append(["action", body.strip(), line, bool(m.group(3))])
        pos = m.end()
    items.append(["text", text[pos:]])
    # Right trims apply to the following text.
    for i, it in enumerate(items):
        if it[0] == "action" and it[3] and i + 1 < len(items):
            items[i + 1][1] = items[i + 1][1].lstrip(" \t\r\n")
    for it in items:
        if it[0] == "action" and "{{" in it[1]:
            raise TemplateError("%s:%d: unbalanced {{ in action" % (name, it[2]))
    rest = ACTION.sub("", text)
    if "{{" in rest or "}}" in rest:
        line = text.count("\n", 0, text.find("{{") if "{{" in rest else text.find("}}")) + 1
        raise TemplateError("%s: unbalanced braces near line %d" % (name, line))
    return items


TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<comma>,)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
""", re.X)


def tokenize(src, where):
    toks = []
    pos = 0
    spaced = True
    while pos < len(src):
        m = TOKEN.match(src, pos)
        if not m:
            raise TemplateError("%s: cannot parse action at %r" % (where, src[pos:pos + 20]))
        kind = m.lastgroup
        if kind != "ws":
            toks.append((kind, m.group(), spaced))
        spaced = kind == "ws"
        pos = m.end()
    return toks


# ---------------------------------------------------------------------------------------------- parsing --

class Parser:
    def __init__(self, toks, where):
        self.toks = toks
        self.i = 0
        self.where = where

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None, True)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def pipeline(self):
        decl = None
        # $a := / $a, $b := / $a =
        j = self.i
        names = []
        while j < len(self.toks) and self.toks[j][0] == "var" and "." not in self.toks[j][1]:
            names.append(self.toks[j][1])
            if j + 1 < len(self.toks) and self.toks[j + 1][0] == "comma":
                j += 2
                continue
            j += 1
            break
        if names and j < len(self.toks) and self.toks[j][0] in ("decl", "assign"):
            decl = (self.toks[j][0], names)
            self.i = j + 1
        cmds = [self.command()]
        while self.peek()[0] == "pipe":
            self.take()
            cmds.append(self.command())
        return ("pipeline", decl, cmds)

    def command(self):
        args = []
        while self.peek()[0] not in (None, "pipe", "rp"):
            args.append(self.operand())
        if not args:
            raise TemplateError("%s: empty command" % self.where)
        return args

    def operand(self):
        kind, val, _ = self.take()
        if kind == "str":
            return ("lit", json.loads(val))
        if kind == "raw":
            return ("lit", val[1:-1])
        if kind == "num":
            return ("lit", float(val) if "." in val else int(val))
        if kind == "lp":
            p = self.pipeline()
            if self.take()[0] != "rp":
                raise TemplateError("%s: missing )" % self.where)
            # (pipeline).Field
            if self.peek()[0] == "field" and self.peek()[1] != "." and not self.peek()[2]:
                return ("chain", p, self.take()[1].split(".")[1:])
            return p
        if kind == "var":
            parts = val.split(".")
            return ("var", parts[0], parts[1:])
        if kind == "field":
            return ("field", [] if val == "." else val.split(".")[1:])
        if kind == "ident":
            if val in ("true", "false"):
                return ("lit", val == "true")
            if val == "nil":
                return ("lit", None)
            if "." in val:
                raise TemplateError("%s: unexpected %s" % (self.where, val))
            return ("func", val)
        raise TemplateError("%s: unexpected token %r" % (self.where, val))


def parse_expr(src, where):
    toks = tokenize(src, where)
    p = Parser(toks, where)
    pipe = p.pipeline()
    if p.i != len(toks):
        raise TemplateError("%s: trailing tokens in %r" % (where, src))
    return pipe


KEYWORDS = ("if", "else", "end", "range", "with", "define", "template", "block", "break", "continue")


def parse_template(text, name="template"):
    """Parses into a node list; returns (nodes, defines). Raises TemplateError when unbalanced."""
    items = lex(text, name)
    defines = {}
    # Stack of (kind, node, current_list)
    root = []
    stack = [("root", None, root)]

    def cur():
        return stack[-1][2]

    for it in items:
        if it[0] == "text":
            if it[1]:
                cur().append(("text", it[1]))
            continue
        body, line = it[1], it[2]
        where = "%s:%d" % (name, line)
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError("%s: unterminated comment" % where)
            continue
        word = body.split(None, 1)[0] if body else ""
        rest = body[len(word):].strip()
        if word in ("if", "with", "range"):
            node = {"kind": word, "pipe": parse_expr(rest, where), "body": [], "else": [], "line": line}
            cur().append(node)
            stack.append((word, node, node["body"]))
        elif word == "else":
            if stack[-1][0] not in ("if", "with", "range"):
                raise TemplateError("%s: else without if/with/range" % where)
            kind, node, _ = stack[-1]
            if rest:
                sub_word = rest.split(None, 1)[0]
                if sub_word not in ("if", "with"):
                    raise TemplateError("%s: bad else %s" % (where, rest))
                sub = {"kind": sub_word, "pipe": parse_expr(rest[len(sub_word):].strip(), where), "body": [],
                       "else": [], "line": line, "chained": True}
                node["else"].append(sub)
                stack[-1] = (kind, node, None)  # closed by the chained node's end
                stack.append((sub_word, sub, sub["body"]))
            else:
                stack[-1] = (kind, node, node["else"])
        elif word == "end":
            if len(stack) == 1:
                raise TemplateError("%s: end without a block" % where)
            kind, node, _ = stack.pop()
            while node is not None and isinstance(node, dict) and node.get("chained"):
                kind, node, _ = stack.pop()
            if kind == "define":
                defines[node["name"]] = node["body"]
        elif word == "define":
            dname = json.loads(rest)
            node = {"kind": "define", "name": dname, "body": []}
            stack.append(("define", node, node["body"]))
        elif word in ("template", "block", "break", "continue"):
            raise TemplateError("%s: %s is not supported by this renderer" % (where, word))
        else:
            cur().append(("action", parse_expr(body, where), where))
    if len(stack) != 1:
        raise TemplateError("%s: %d block(s) not closed (started at line %s)" % (
            name, len(stack) - 1, stack[-1][1].get("line", "?") if stack[-1][1] else "?"))
    return root, defines


# ------------------------------------------------------------------------------------------- evaluation --

def truthy(v):
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, (str, list, dict, tuple)):
        return len(v) > 0
    return True


def go_str(v):
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v)) if abs(v) < 1e6 else "%g" % v
    if isinstance(v, (dict, list)):
        return "map[...]" if isinstance(v, dict) else "[" + " ".join(go_str(x) for x in v) + "]"
    return str(v)


def to_yaml(v):
    if v is None:
        return "null"
    return yaml.safe_dump(v, default_flow_style=False, sort_keys=True, width=1 << 30).rstrip("\n")


def indent(n, s):
    pad = " " * int(n)
    return pad + s.replace("\n", "\n" + pad)


def go_printf(fmt, *args):
    out = []
    ai = 0
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        verb = fmt[i + 1]
        i += 2
        if verb == "%":
            out.append("%")
            continue
        a = args[ai]
        ai += 1
        if verb == "s" or verb == "v":
            out.append(go_str(a))
        elif verb == "d":
            out.append(str(int(a)))
        elif verb == "q":
            out.append(json.dumps(go_str(a)))
        else:
            raise TemplateError("printf verb %%%s not supported" % verb)
    return "".join(out)


def openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise TemplateError("openssl %s failed: %s" % (args[0], r.stderr))
    return r.stdout


def gen_ca(cn, days):
    with tempfile.TemporaryDirectory() as d:
        key, crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt, "-days",
                str(int(days)), "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,digitalSignature,keyEncipherment")
        return {"Cert": open(crt).read(), "Key": open(key).read()}


def gen_signed_cert(cn, ips, alt_names, days, ca):
    with tempfile.TemporaryDirectory() as d:
        for name in ("ca.crt", "ca.key"):
            with open(os.path.join(d, name), "w") as f:
                f.write(ca["Cert"] if name == "ca.crt" else ca["Key"])
        sans = ["DNS:" + n for n in (alt_names or [])] + ["IP:" + ip for ip in (ips or [])]
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n" + ("subjectAltName=" + ",".join(sans) + "\n" if sans else ""))
        key, csr, crt = (os.path.join(d, n) for n in ("tls.key", "tls.csr", "tls.crt"))
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn)
        openssl("x509", "-req", "-in", csr, "-CA", os.path.join(d, "ca.crt"), "-CAkey", os.path.join(d, "ca.key"),
                "-CAcreateserial", "-days", str(int(days)), "-extfile", os.path.join(d, "ext.cnf"), "-out", crt)
        return {"Cert": open(crt).read(), "Key": open(key).read()}


class Renderer:
    def __init__(self, root_ctx, defines, lookup_objects=()):
        self.root = root_ctx
        self.defines = defines
        self.lookup_objects = list(lookup_objects)
        f = self.funcs = {}
        f["include"] = self.include
        f["toYaml"] = to_yaml
        f["toJson"] = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"))
        f["nindent"] = lambda n, s: "\n" + indent(n, go_str(s))
        f["indent"] = lambda n, s: indent(n, go_str(s))
        f["quote"] = lambda *a: " ".join(json.dumps(go_str(x)) for x in a)
        f["squote"] = lambda *a: " ".join("'" + go_str(x) + "'" for x in a)
        f["default"] = lambda d, *v: v[0] if v and truthy(v[0]) else d
        f["required"] = self.required
        f["fail"] = self.fail
        f["printf"] = go_printf
        f["print"] = lambda *a: "".join(go_str(x) for x in a)
        f["trunc"] = lambda n, s: s[:int(n)] if n >= 0 else s[int(n):]
        f["trimSuffix"] = lambda suf, s: s[:-len(suf)] if suf and s.endswith(suf) else s
        f["trimPrefix"] = lambda pre, s: s[len(pre):] if pre and s.startswith(pre) else s
        f["trim"] = lambda s: s.strip()
        f["contains"] = lambda sub, s: sub in s
        f["hasPrefix"] = lambda pre, s: s.startswith(pre)
        f["replace"] = lambda old, new, s: s.replace(old, new)
        f["lower"] = lambda s: s.lower()
        f["upper"] = lambda s: s.upper()
        f["eq"] = lambda a, *bs: any(a == b for b in bs)
        f["ne"] = lambda a, b: a != b
        f["lt"] = lambda a, b: a < b
        f["le"] = lambda a, b: a <= b
        f["gt"] = lambda a, b: a > b
        f["ge"] = lambda a, b: a >= b
        f["not"] = lambda a: not truthy(a)
        f["and"] = lambda *a: next((x for x in a if not truthy(x)), a[-1])
        f["or"] = lambda *a: next((x for x in a if truthy(x)), a[-1])
        f["empty"] = lambda a: not truthy(a)
        f["int"] = lambda a: int(float(a)) if a not in (None, "") else 0
        f["add"] = lambda *a: sum(int(float(x)) for x in a)
        f["toString"] = go_str
        f["b64enc"] = lambda s: base64.b64encode(s.encode()).decode()
        f["b64dec"] = lambda s: base64.b64decode(s).decode()
        f["sha256sum"] = lambda s: hashlib.sha256(s.encode()).hexdigest()
        f["list"] = lambda *a: list(a)
        f["append"] = lambda l, v: list(l or []) + [v]
        f["concat"] = lambda *ls: [x for l in ls for x in (l or [])]
        f["uniq"] = lambda l: [x for i, x in enumerate(l) if x not in l[:i]]
        f["join"] = lambda sep, l: sep.join(go_str(x) for x in l)
        f["dict"] = lambda *a: {a[i]: a[i + 1] for i in range(0, len(a), 2)}
        f["hasKey"] = lambda m, k: isinstance(m, dict) and k in m
        f["keys"] = lambda *ms: [k for m in ms for k in (m or {})]
        f["sortAlpha"] = lambda l: sorted(go_str(x) for x in l)
        f["index"] = self.index
        f["get"] = lambda m, k: (m or {}).get(k, "")
        f["ternary"] = lambda a, b, c: a if truthy(c) else b
        f["kindIs"] = self.kind_is
        f["genCA"] = gen_ca
        f["genSignedCert"] = gen_signed_cert
        f["lookup"] = self.lookup

    # -- functions needing state
    def include(self, name, data):
        if name not in self.defines:
            raise TemplateError("include: no template %r" % name)
        return self.exec_list(self.defines[name], data, [{"$": data}])

    @staticmethod
    def required(msg, v):
        if v is None or v == "":
            raise TemplateError("required: " + msg)
        return v

    @staticmethod
    def fail(msg):
        raise TemplateError("fail: " + msg)

    @staticmethod
    def index(m, *keys):
        for k in keys:
            if m is None:
                return None
            m = m[int(k)] if isinstance(m, list) else m.get(k)
        return m

    @staticmethod
    def kind_is(kind, v):
        names = {"map": dict, "slice": list, "string": str, "bool": bool}
        if kind in ("int", "float64"):
            return isinstance(v, (int, float)) and not isinstance(v, bool)
        return isinstance(v, names[kind])

    def lookup(self, api_version, kind, namespace, name):
        for o in self.lookup_objects:
            m = o.get("metadata") or {}
            if (o.get("apiVersion"), o.get("kind"), m.get("namespace", ""), m.get("name")) == (
                    api_version, kind, namespace, name):
                return copy.deepcopy(o)
        return {}

    # -- evaluation
    @staticmethod
    def field(v, names, where):
        for n in names:
            if v is None:
                raise TemplateError("%s: nil pointer evaluating .%s" % (where, n))
            if isinstance(v, dict):
                v = v.get(n)
            else:
                raise TemplateError("%s: can't evaluate field %s in %s" % (where, n, type(v).__name__))
        return v

    def lookup_var(self, scopes, name, where):
        for s in reversed(scopes):
            if name in s:
                return s[name]
        raise TemplateError("%s: undefined variable %s" % (where, name))

    def eval_operand(self, op, dot, scopes, where):
        kind = op[0]
        if kind == "lit":
            return op[1]
        if kind == "field":
            return self.field(dot, op[1], where)
        if kind == "var":
            return self.field(self.lookup_var(scopes, op[1], where), op[2], where)
        if kind == "pipeline":
            return self.eval_pipeline(op, dot, scopes, where)
        if kind == "chain":
            return self.field(self.eval_pipeline(op[1], dot, scopes, where), op[2], where)
        raise TemplateError("%s: bad operand %r" % (where, op))

    def eval_command(self, cmd, dot, scopes, where, piped, has_pipe):
        first = cmd[0]
        if first[0] == "func":
            fn = self.funcs.get(first[1])
            if fn is None:
                raise TemplateError("%s: function %r not defined (not supported by this renderer)" % (where, first[1]))
            args = [self.eval_operand(a, dot, scopes, where) for a in cmd[1:]]
            if has_pipe:
                args.append(piped)
            try:
                return fn(*args)
            except TemplateError:
                raise
            except Exception as e:  # wrong arity or types: a template error, as in Go
                raise TemplateError("%s: %s: %s" % (where, first[1], e))
        value = self.eval_operand(first, dot, scopes, where)
        if callable(value):  # a method such as .Files.Get
            args = [self.eval_operand(a, dot, scopes, where) for a in cmd[1:]]
            if has_pipe:
                args.append(piped)
            return value(*args)
        if len(cmd) > 1 or has_pipe:
            raise TemplateError("%s: can't give arguments to a non-function" % where)
        return value

    def eval_pipeline(self, pipe, dot, scopes, where):
        _, decl, cmds = pipe
        value = None
        for i, cmd in enumerate(cmds):
            value = self.eval_command(cmd, dot, scopes, where, value, i > 0)
        if decl:
            kind, names = decl
            if kind == "decl":
                scopes[-1][names[-1]] = value
            else:
                for s in reversed(scopes):
                    if names[-1] in s:
                        s[names[-1]] = value
                        break
                else:
                    raise TemplateError("%s: assignment to undeclared %s" % (where, names[-1]))
        return value

    def exec_list(self, nodes, dot, scopes):
        out = []
        for n in nodes:
            if isinstance(n, tuple):
                if n[0] == "text":
                    out.append(n[1])
                else:
                    v = self.eval_pipeline(n[1], dot, scopes, n[2])
                    if not n[1][1]:  # declarations print nothing
                        out.append(go_str(v))
                continue
            where = "line %d" % n.get("line", 0)
            scopes.append({})
            try:
                if n["kind"] == "if":
                    v = self.eval_pipeline(n["pipe"], dot, scopes, where)
                    out.append(self.exec_list(n["body"] if truthy(v) else n["else"], dot, scopes))
                elif n["kind"] == "with":
                    v = self.eval_pipeline(n["pipe"], dot, scopes, where)
                    out.append(self.exec_list(n["body"], v, scopes) if truthy(v)
                               else self.exec_list(n["else"], dot, scopes))
                elif n["kind"] == "range":
                    _, decl, cmds = n["pipe"]
                    coll = self.eval_pipeline(("pipeline", None, cmds), dot, scopes, where)
                    pairs = (sorted(coll.items()) if isinstance(coll, dict)
                             else list(enumerate(coll or [])))
                    if not pairs:
                        out.append(self.exec_list(n["else"], dot, scopes))
                    for k, v in pairs:
                        if decl:
                            names = decl[1]
                            if len(names) == 2:
                                scopes[-1][names[0]] = k
                            scopes[-1][names[-1]] = v
                        out.append(self.exec_list(n["body"], v, scopes))
            finally:
                scopes.pop()
        return "".join(out)


def deep_merge(base, over):
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        elif v is None:
            base.pop(k, None)
        else:
            base[k] = v
    return base


def set_path(values, path, value):
    keys = path.split(".")
    node = values
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value


def load_chart(chart):
    meta = yaml.safe_load(open(os.path.join(chart, "Chart.yaml")))
    tdir = os.path.join(chart, "templates")
    files = {}
    for dirpath, _, names in os.walk(tdir):  # like Helm: templates/tests/ and other subfolders too
        for name in names:
            rel = os.path.relpath(os.path.join(dirpath, name), tdir)
            files[rel] = open(os.path.join(dirpath, name)).read()
    return meta, dict(sorted(files.items()))


def render(chart, values_overrides=(), sets=(), name="imagegate", namespace="imagegate-system",
           lookup_objects=(), notes=False):
    meta, files = load_chart(chart)
    values = yaml.safe_load(open(os.path.join(chart, "values.yaml"))) or {}
    for extra in values_overrides:
        deep_merge(values, extra)
    for path, value in sets:
        set_path(values, path, value)
    parsed = {}
    defines = {}
    for fname, text in files.items():
        nodes, d = parse_template(text, fname)
        parsed[fname] = nodes
        defines.update(d)

    def files_get(path):
        p = os.path.join(chart, path)
        return open(p).read() if os.path.isfile(p) else ""

    ctx = {
        "Values": values,
        "Release": {"Name": name, "Namespace": namespace, "Service": "Helm", "IsInstall": True,
                    "IsUpgrade": False, "Revision": 1},
        "Chart": {"Name": meta["name"], "Version": meta["version"], "AppVersion": meta.get("appVersion", "")},
        "Files": {"Get": files_get},
        "Capabilities": {"KubeVersion": {"Version": "v1.33.0"}},
    }
    r = Renderer(ctx, defines, lookup_objects)
    out = []
    for fname, nodes in parsed.items():
        if os.path.basename(fname).startswith("_"):
            continue
        if (fname == "NOTES.txt") != notes:
            continue
        text = r.exec_list(nodes, ctx, [{"$": ctx}])
        if notes:
            return text
        for doc in re.split(r"(?m)^---\s*$", text):
            if yaml.safe_load(doc) is None:
                continue
            out.append("# Source: %s/templates/%s\n%s" % (meta["name"], fname, doc.strip("\n")))
    return "---\n" + "\n---\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("chart")
    p.add_argument("--values", action="append", default=[])
    p.add_argument("--set", action="append", default=[], help="path=VALUE (JSON, else a string)")
    p.add_argument("--set-file", action="append", default=[], help="path=FILE (the file's text)")
    p.add_argument("--name", default="imagegate")
    p.add_argument("--namespace", default="imagegate-system")
    p.add_argument("--lookup")
    p.add_argument("--notes", action="store_true")
    a = p.parse_args()
    overrides = [yaml.safe_load(open(f)) or {} for f in a.values]
    sets = []
    for s in a.set:
        k, v = s.split("=", 1)
        try:
            sets.append((k, json.loads(v)))
        except ValueError:  # like helm --set: a bare word is a string
            sets.append((k, v))
    for s in a.set_file:
        k, f = s.split("=", 1)
        sets.append((k, open(f).read()))
    lookup_objects = [o for o in yaml.safe_load_all(open(a.lookup)) if o] if a.lookup else []
    try:
        sys.stdout.write(render(a.chart, overrides, sets, a.name, a.namespace, lookup_objects, a.notes))
    except TemplateError as e:
        print("helm_render: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
