#!/usr/bin/env python3
"""Rewrite the old top-level import names `pipeline` and `dashboard` to `csqa.pipeline` and `csqa.dashboard`.

csqa installs its repository folders pipeline/, dashboard/ and sql/ as the subpackages csqa.pipeline,
csqa.dashboard and csqa.sql (pyproject.toml), so that no other distribution's `pipeline` or `dashboard`
can shadow them. This script is the mechanical part of that rename, kept so that it can be re-run after
merging a branch that was written against the old names:

    python3 scripts/rename_imports.py           # rewrite in place, list the files changed
    python3 scripts/rename_imports.py --check   # change nothing; exit 1 if a file still uses the old names

It is idempotent (a second run changes nothing). What it rewrites, in every file git knows about
(tracked or untracked-but-not-ignored) with a text suffix it handles:

- in Python files and Markdown code blocks: `from pipeline…` / `from dashboard…` and
  `import pipeline[.x] as y` statements; bare `import pipeline` becomes `from csqa import pipeline`,
  and in a list (`import os, pipeline`) `csqa.pipeline as pipeline`;
- module names in quotes or backticks: "pipeline.cli:main", "pipeline.cli", `dashboard.data`, …;
- `-m pipeline.cli` (and `-m pipeline`) in commands, f-strings and docs;
- the same statements quoted (backticks, a code string such as `python -c "…"`) or in a comment;
- in Python files, `import pipeline.nightly` (no `as`, alone, in a list or in a code string) becomes
  `import csqa.pipeline.nightly`, and that file's uses `pipeline.nightly…` become `csqa.pipeline.nightly…`.

A Python line the rename pushes over the line length (120, pyproject.toml) is wrapped after its last
", " that fits, the rest aligned under the innermost open bracket (the project's continuation style).

Paths such as `dashboard/app.py` or `streamlit run dashboard/app.py` are left alone: the folders keep
their names, so those paths stay true in a checkout.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = {".py", ".toml", ".md", ".sh", ".cfg", ".ini", ".txt", ".service", ".yml", ".yaml", ""}
OLD = r"(pipeline|dashboard)"
FILE_SUFFIXES = r"(?:py|pyc|toml|md|txt|json|jsonl|csv|parquet|sql|log|sh|service|timer|duckdb|lock|yml|yaml)"

PROMPT = r"(?:>>> |\.\.\. )?"
ITEM = r"[\w.]+(?:[ \t]+as[ \t]+\w+)?"
# where an import statement can start: a line (in Python, or a Markdown code block), or anywhere after a quote,
# a backtick, a `;` or a `#` (code in a string, in prose, in a comment)
STATEMENT_START = rf"(?:^[ \t]*{PROMPT}|[\"'`;][ \t]*|#[ \t]*)"
QUOTED_START = r"(?:[\"'`;][ \t]*|#[ \t]*)"


def _import_list(m: re.Match) -> str:
    """import os, pipeline.load as L, dashboard  ->  import os, csqa.pipeline.load as L, csqa.dashboard as dashboard"""
    items = []
    for raw in re.split(r"([ \t]*,[ \t]*)", m.group("names")):
        name = re.fullmatch(rf"{OLD}((?:\.\w+)*)([ \t]+as[ \t]+\w+)?", raw)
        if name and not name.group(2) and not name.group(3):
            raw = f"csqa.{name.group(1)} as {name.group(1)}"  # keeps the bound name `pipeline`
        elif name:
            raw = "csqa." + raw  # `as` binds its own name; a dotted name's uses are rewritten file-wide
        items.append(raw)
    return m.group("pre") + "import " + "".join(items)


# the first three (statements at the start of a line) apply to Python files and to fenced code blocks in
# Markdown; the others to every file
RULES: list[tuple[re.Pattern, str]] = [
    # from pipeline.x import y / from dashboard import data   (also after a `>>> ` prompt)
    (re.compile(rf"^([ \t]*{PROMPT})from {OLD}(?=(?:\.\w+)*[ \t]+import\b)", re.M), r"\1from csqa.\2"),
    # import pipeline  /  import pipeline as p   (alone on its line)
    (re.compile(rf"^([ \t]*{PROMPT})import {OLD}([ \t]+as[ \t]+\w+)?(?=[ \t]*(?:$|#))", re.M),
     r"\1from csqa import \2\3"),
    # any other import statement: import os, pipeline.load as L
    (re.compile(rf"(?P<pre>^[ \t]*{PROMPT})import[ \t]+(?P<names>{ITEM}(?:[ \t]*,[ \t]*{ITEM})*)", re.M),
     _import_list),
    # the same quoted or in a comment: "import os, pipeline.load as L\n"
    (re.compile(rf"(?P<pre>{QUOTED_START})import[ \t]+(?P<names>{ITEM}(?:[ \t]*,[ \t]*{ITEM})*)"), _import_list),
    # from pipeline… import quoted or in a comment: `from pipeline import connect`, "…; from pipeline.cli import main"
    (re.compile(rf"({QUOTED_START})from {OLD}((?:\.\w+)* import\b)"), r"\1from csqa.\2\3"),
    # "pipeline.cli:main", 'pipeline.load', `dashboard.data` (not file names such as `dashboard.py`)
    (re.compile(rf"([\"'`]){OLD}\.(?=[A-Za-z_])(?!{FILE_SUFFIXES}\b)"), r"\1csqa.\2."),
    # python -m pipeline.cli  /  -m pipeline
    (re.compile(rf"(-m\s+){OLD}\b(?![/-])"), r"\1csqa.\2"),
]
N_STATEMENT_RULES = 3
# import pipeline.nightly (no `as`, alone or in a list, also in a code string): the file's uses of that module
DOTTED_IMPORT = re.compile(
    rf"{STATEMENT_START}import[ \t]+(?:{ITEM}[ \t]*,[ \t]*)*{OLD}((?:\.\w+)+)(?![\w.]|[ \t]+as\b)", re.M)
LINE_LENGTH = 120


def wrap(line: str, limit: int = LINE_LENGTH) -> list[str]:
    """Split a too-long Python line after the last ", " (outside strings, inside brackets) that fits."""
    out = []
    while len(line) > limit:
        stack, quote, cut = [], None, None
        for i, ch in enumerate(line[:limit]):
            if quote:
                if ch == quote and line[i - 1] != "\\":
                    quote = None
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch in "([{":
                stack.append(i)
            elif ch in ")]}" and stack:
                stack.pop()
            elif ch == "," and stack and line[i + 1:i + 2] == " ":
                cut = (i, stack[-1])
        if cut is None:
            break  # nothing safe to split at: left as it is (ruff will say so)
        i, bracket = cut
        out.append(line[:i + 1])
        line = " " * (bracket + 1) + line[i + 2:]
    return [*out, line]


def files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    me = Path(__file__).resolve()
    paths = []
    for name in out:
        p = ROOT / name
        if p.resolve() == me or not p.is_file() or p.suffix not in SUFFIXES:
            continue
        if p.suffix == "" and p.parent.name not in {".ci", "scripts"}:
            continue  # extension-less files: only the CI and helper scripts
        paths.append(p)
    return sorted(paths)


def rewrite_dotted_imports(text: str) -> str:
    """`import pipeline.nightly` binds `pipeline`: rewrite every `pipeline.nightly…` in the file, the import too."""
    for pkg, mod in sorted({(m.group(1), m.group(2)) for m in DOTTED_IMPORT.finditer(text)}):
        text = re.sub(rf"(?<![\w.\"'`/]){pkg}{re.escape(mod)}\b", f"csqa.{pkg}{mod}", text)
    return text


def rewrite(text: str, python: bool = False, markdown: bool = False) -> str:
    if python:
        text = rewrite_dotted_imports(text)
    lines, fenced = [], False
    for line in text.splitlines(keepends=True):
        if markdown and line.lstrip().startswith("```"):
            fenced = not fenced
        new = line
        for pattern, repl in RULES if python or (markdown and fenced) else RULES[N_STATEMENT_RULES:]:
            new = pattern.sub(repl, new)
        if python and new != line and len(new.rstrip("\n")) > LINE_LENGTH:
            end = "\n" if new.endswith("\n") else ""
            new = "\n".join(wrap(new.rstrip("\n"))) + end
        lines.append(new)
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    args = ap.parse_args(argv)
    changed = []
    for p in files():
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite(text, python=p.suffix == ".py", markdown=p.suffix == ".md")
        if new != text:
            changed.append(p.relative_to(ROOT))
            if not args.check:
                p.write_text(new, encoding="utf-8")
    verb = "would rewrite" if args.check else "rewrote"
    for p in changed:
        print(f"{verb} {p}")
    print(f"{len(changed)} file(s) {verb}", file=sys.stderr)
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
