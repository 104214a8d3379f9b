#!/usr/bin/python3
"""Docs cannot drift from the CLI: every `imagegate ...` command line and every `--flag` in README.md and
docs/*.md (fenced code blocks and inline code) must parse.

Usage: doc_flags_test.py IMAGEGATE_BINARY SOURCE_DIR

- The command tree and each command's flags come from the binary itself: `imagegate --help`, then
  `imagegate CMD [SUB] --help` for every subcommand listed (CLI11's "Subcommands:" and "Options:" blocks).
- A command line is `imagegate` (or `kubectl imagegate`, `build/imagegate`, `./imagegate`...) at the start of
  a line of code, of an inline code span, or after `|`, `&&`, `;`, `$(`, `$ `; backslash continuations are
  joined. Its words name a subcommand path (the first word must be a real subcommand), and every flag after
  them (`-f`, `--policy`, `--policy=FILE`) must be listed by that subcommand's --help.
- A flag on its own in inline code (`--max-budget`) must be known to some imagegate command, unless it is
  another tool's flag listed in FOREIGN (with the tool, so the list stays honest: an entry no doc uses, or
  one imagegate knows, is an error too).
- `serve --help` shows the defaults and the endpoints (what operators look for first).
Every problem is printed as file:line: message; exit 1 if any.
"""
import difflib
import glob
import os
import re
import subprocess
import sys
import tempfile

# Flags of other tools that docs show in inline code on their own (flag -> the tool it belongs to).
FOREIGN = {
    "--set": "helm",
    "--set-file": "helm",
    "--service": "scripts/gen-webhook-cert.sh",
    "--children": "perf report",
    "-DCMAKE_CXX_COMPILER": "cmake",
    "-DIMAGEGATE_FUZZ": "cmake",
    "-DIMAGEGATE_SANITIZE": "cmake",
    "-DIMAGEGATE_WERROR": "cmake",
    "-march": "the compiler",
    "-O0": "the compiler",
    "-O2": "the compiler",
    "-fno-sanitize-recover": "the compiler",
    "--new-bundle-format": "cosign attest",
    "-runs": "libFuzzer",
    "-seed": "libFuzzer",
    "-entropic": "libFuzzer",
}

# Where an imagegate command starts inside a line of code.
COMMAND = re.compile(r"(?:^|[|;&]\s*|\$\(\s*|^\$\s+|\bkubectl\s+)(?:[\w./-]*/)?imagegate(?=\s|$)")
FLAG = re.compile(r"^--?[A-Za-z][\w-]*$")


def help_text(binary, path):
    r = subprocess.run([binary, *path, "--help"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("%s --help exited %d: %s" % (" ".join(["imagegate", *path]), r.returncode, r.stderr))
    return r.stdout


def parse_help(text):
    """(subcommand names, flags) of one --help page."""
    subs, flags = [], set()
    section = None
    for line in text.split("\n"):
        if re.match(r"^[A-Z][A-Za-z ]*:\s*$", line):
            section = line.strip()[:-1]
            continue
        if section == "Subcommands":
            m = re.match(r"^  ([a-z][\w-]*)(\s|$)", line)
            if m:
                subs.append(m.group(1))
        elif section == "Options":
            m = re.match(r"^  (-[^\s]+)", line)
            if m:
                flags |= {f for f in m.group(1).split(",") if f.startswith("-")}
    return subs, flags


def command_tree(binary):
    """{(path...): flags} for the root and every subcommand."""
    tree = {}
    todo = [()]
    while todo:
        path = todo.pop()
        subs, flags = parse_help(help_text(binary, path))
        tree[path] = {"flags": flags, "subs": set(subs)}
        todo += [path + (s,) for s in subs]
    return tree


def code_lines(text):
    """Yields (line number, code text, inline) for every line of a fenced block and every inline span;
    backslash continuations in blocks are joined (reported at their first line)."""
    in_fence = False
    pending, pending_line = "", 0
    for n, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            if pending:
                pending += " " + line.strip()
            else:
                pending, pending_line = line.strip(), n
            if pending.endswith("\\"):
                pending = pending[:-1]
                continue
            yield pending_line, pending, False
            pending = ""
            continue
        for span in re.findall(r"``?([^`]+)``?", line):
            yield n, span.strip(), True


def split_words(command):
    """The words of one command, up to a pipe, a redirect, `&&`, `;` or a comment."""
    words = []
    for w in re.findall(r"'[^']*'|\"[^\"]*\"|\S+", command):
        if w in ("|", "||", "&&", ";") or w.startswith(("#", ">", "2>", "<", "|")):
            break
        words.append(w.rstrip(";"))
    return words


def check_command(tree, words, where, problems):
    """words: what follows `imagegate`."""
    path = ()
    i = 0
    while i < len(words) and words[i] in tree[path]["subs"]:
        path += (words[i],)
        i += 1
    if not path:
        if not words or not words[0].startswith("-"):
            # A message such as "imagegate denied 2 of 3 containers" is prose; a word with flags after it, or
            # one close to a subcommand's name, is a command that does not exist (any more).
            first = words[0] if words else ""
            with_flags = any(FLAG.match(w.split("=", 1)[0]) for w in words[1:])
            close = difflib.get_close_matches(first, tree[()]["subs"], n=1, cutoff=0.75)
            if re.fullmatch(r"[a-z][\w-]*", first) and (with_flags or close):
                problems.append("%s: `imagegate %s`: no such subcommand (known: %s)" % (
                    where, first, ", ".join(sorted(tree[()]["subs"]))))
            return 0
    known = tree[path]["flags"]
    checked = 0
    for w in words[i:]:
        if w == "--":
            break
        flag = w.split("=", 1)[0]
        if not FLAG.match(flag):
            continue
        checked += 1
        if flag not in known:
            problems.append("%s: `imagegate %s` has no flag %s (its --help lists %s)" % (
                where, " ".join(path), flag, ", ".join(sorted(known))))
    return checked


def check_file(tree, all_flags, path, rel, problems, used_foreign):
    commands = flags = 0
    for n, code, inline in code_lines(open(path, encoding="utf-8").read()):
        where = "%s:%d" % (rel, n)
        starts = list(COMMAND.finditer(code))
        for m in starts:
            words = split_words(code[m.end():])
            commands += 1
            flags += check_command(tree, words, where, problems)
        if inline and not starts:
            for w in re.findall(r"(?:^|\s)(--?[A-Za-z][\w-]*)(?==|\s|$)", code):
                if not code.startswith(w):
                    continue  # a flag inside some other tool's command line
                if w in FOREIGN:
                    used_foreign.add(w)
                elif w not in all_flags:
                    problems.append("%s: `%s` is no flag of any imagegate command" % (where, w))
                flags += 1
    return commands, flags


# The checker's own negative cases (line -> what must be reported) and controls (no report).
SELF_TEST = """# doc
```sh
imagegate test --policy p.yaml --no-such-flag -f x.yaml
imagegate polcy lint p.yaml
imagegate frobnicate --policy p.yaml
kubectl get deploy -o yaml | kubectl imagegate test -p p.yaml -f - --bogus=1
imagegate serve --config c.yaml \\
  --listen :8443 --tls-sert t.pem
imagegate test --policy p.yaml -f x.yaml
imagegate denied 2 of 3 containers: app
```
Run `imagegate verify img --key k.pub --keyy k2.pub`, or `--not-a-real-flag`, but `--max-budget` and `--set` are fine.
"""
SELF_TEST_EXPECT = {3: "has no flag --no-such-flag", 4: "`imagegate polcy`: no such subcommand",
                    5: "`imagegate frobnicate`: no such subcommand", 6: "has no flag --bogus", 7: "has no flag --tls-sert",
                    12: "has no flag --keyy"}


def self_test(tree, all_flags, tmp):
    path = os.path.join(tmp, "self.md")
    with open(path, "w") as f:
        f.write(SELF_TEST)
    problems = []
    check_file(tree, all_flags, path, "self.md", problems, set())
    bad = []
    for line, want in SELF_TEST_EXPECT.items():
        if not any(p.startswith("self.md:%d: " % line) and want in p for p in problems):
            bad.append("self-test: self.md:%d should report %r" % (line, want))
    if not any("`--not-a-real-flag` is no flag" in p for p in problems):
        bad.append("self-test: an unknown inline flag is not reported")
    expected = len(SELF_TEST_EXPECT) + 1
    if len(problems) != expected:
        bad.append("self-test: %d problems, expected %d (controls reported?): %s" % (len(problems), expected, problems))
    return bad


def main():
    binary, src = sys.argv[1], sys.argv[2]
    tree = command_tree(binary)
    all_flags = set().union(*(t["flags"] for t in tree.values()))
    with tempfile.TemporaryDirectory() as tmp:
        problems = self_test(tree, all_flags, tmp)
    used_foreign = set()
    docs = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
    commands = flags = 0
    for path in docs:
        c, f = check_file(tree, all_flags, path, os.path.relpath(path, src), problems, used_foreign)
        commands += c
        flags += f
    for flag, tool in sorted(FOREIGN.items()):
        if flag in all_flags:
            problems.append("FOREIGN lists %s (%s), but imagegate knows it: remove it from the list" % (flag, tool))
        elif flag not in used_foreign:
            problems.append("FOREIGN lists %s (%s), which no doc uses any more: remove it" % (flag, tool))
    serve = help_text(binary, ("serve",))
    for want in ("/validate", "/mutate", "/healthz", "/readyz", "/metrics", "/api/v1/verdicts", "default 0.0.0.0:8443",
                 "default 10s", "default 25s", "default 1024"):
        if want not in serve:
            problems.append("imagegate serve --help does not show %s" % want)
    for p in problems:
        print(p)
    print("doc_flags: %d command lines, %d flags in %d files checked against %d commands; %d problems" % (
        commands, flags, len(docs), len(tree), len(problems)))
    if commands < 50 or flags < 100:
        print("doc_flags: found too few command lines or flags: the scanner is broken")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
