#!/usr/bin/env python3
"""Checks the layout rules of README.md's "Layout" section on every source file:

- dependencies point one way: webhook/ -> policy/ -> verifier/ -> common/; nothing includes upward;
- policy/ includes from verifier/ only the rooms it links (ALLOWED_FROM_POLICY): the offline policy
  library links no OpenSSL, SQLite, hiredis or sockets;
- a header whose opening comment says "internal to FOLDER/" is included only from FOLDER/ (and the tests
  of FOLDER/);
- every folder under the four floors says what lives there (a README.md), and no source file of theirs is
  over MAX_LINES lines.

Prints every violation as `file:line: message` and exits 1 when there is one. Run by ctest (layout.includes).
"""
import pathlib
import re
import sys

FLOORS = ["common", "verifier", "policy", "webhook"]  # each may include itself and the ones before it
ALLOWED_FROM_POLICY = ("verifier/image/", "verifier/signature/anchor/")
MAX_LINES = 600
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
INTERNAL = re.compile(r"internal to ((?:[a-z_]+/)+)", re.IGNORECASE)


def opening_comment(path):
    lines = []
    for line in path.read_text(errors="replace").splitlines()[:20]:
        if not line.startswith("//") and not line.startswith("#pragma") and line.strip():
            break
        lines.append(line)
    return "\n".join(lines)


def internal_scopes(root):
    scopes = {}
    for floor in FLOORS:
        for header in (root / floor).rglob("*.h"):
            m = INTERNAL.search(opening_comment(header))
            if m:
                scopes[str(header.relative_to(root))] = m.group(1)
    return scopes


def check(root):
    problems = []
    scopes = internal_scopes(root)
    for floor in FLOORS:
        for src in sorted((root / floor).rglob("*")):
            if src.suffix not in (".h", ".cc"):
                continue
            rel = str(src.relative_to(root))
            lines = src.read_text(errors="replace").count("\n")
            if lines > MAX_LINES:
                problems.append(f"{rel}: {lines} lines, over {MAX_LINES}: split it by concern")
            for number, line in enumerate(src.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                target_floor = target.split("/", 1)[0]
                if target_floor not in FLOORS:
                    continue
                where = f"{rel}:{number}"
                if FLOORS.index(target_floor) > FLOORS.index(floor):
                    problems.append(f"{where}: {floor}/ includes upward: {target}")
                if floor == "policy" and target_floor == "verifier" and not target.startswith(ALLOWED_FROM_POLICY):
                    problems.append(f"{where}: policy/ may include from verifier/ only {', '.join(ALLOWED_FROM_POLICY)}: {target}")
                if floor == "verifier" and rel.startswith("verifier/image/") and not target.startswith(("common/", "verifier/image/")):
                    problems.append(f"{where}: verifier/image/ (linked by policy/) includes {target}")
                scope = scopes.get(target)
                if scope and not rel.startswith(scope):
                    problems.append(f"{where}: {target} is internal to {scope}")
    for floor in FLOORS:
        for folder in [root / floor, *sorted(p for p in (root / floor).rglob("*") if p.is_dir())]:
            if not (folder / "README.md").is_file():
                problems.append(f"{folder.relative_to(root)}/: no README.md saying what lives here")
    # Tests of one floor may use that floor's internal headers, not another floor's.
    for test in sorted((root / "tests").rglob("*")):
        if test.suffix not in (".h", ".cc") or "fuzz" in test.parts:
            continue
        rel = str(test.relative_to(root))
        for number, line in enumerate(test.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if m and m.group(1) in scopes and not rel.startswith("tests/" + scopes[m.group(1)]):
                problems.append(f"{rel}:{number}: {m.group(1)} is internal to {scopes[m.group(1)]}")
    return problems


if __name__ == "__main__":
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    found = check(root)
    for problem in found:
        print(problem)
    print(f"layout: {len(found)} problem(s)" if found else "layout: every include points down and stays in scope")
    sys.exit(1 if found else 0)
