"""Extract keepalived's configuration keywords from its source, for
``tests/fixtures/keepalived-keywords.tsv``.

    python scripts/keepalived_keywords.py GIT_DIR > tests/fixtures/keepalived-keywords.tsv

GIT_DIR is a clone (bare or not) of https://github.com/acassen/keepalived holding
the tags v2.2.7 and v2.4.3. keepalived builds its keyword tree at start-up by calling
``install_keyword_root`` / ``install_keyword`` / ``install_sublevel`` / ``install_sublevel_end``
from a handful of ``init_*_keywords`` functions, some through helpers that take arguments
(``install_checker_common_keywords(false)``, ``install_http_ssl_check_keyword("SSL_GET")``).
This script reads those functions and walks them as keepalived would: calls are followed with
their arguments bound, conditions on those arguments are decided, other conditions take both
branches, and ``#ifdef`` blocks all count (a full build). Each keyword is printed with the
section it belongs to (the chain of block keywords above it, ``/``-separated; empty for a
top-level keyword) and the first of the two releases that has it.
"""

from __future__ import annotations

import re
import subprocess
import sys

TAGS = ("v2.2.7", "v2.4.3")
ENTRY_POINTS = ("init_global_keywords", "init_vrrp_keywords", "init_check_keywords",
                "init_bfd_keywords", "add_track_file_keywords")
_FUNC = re.compile(r"^(\w+)\(([^)]*)\)\s*\n\{\n(.*?)\n\}", re.M | re.S)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_PREPROC = re.compile(r"^[ \t]*#[^\n]*", re.M)
_CALL = re.compile(r"(?:\w+\s*=\s*)?(\w+)\s*\((.*)\)\s*$", re.S)

Value = str | bool | None


def _git(gitdir: str, *args: str) -> str:
    return subprocess.run(["git", "-C", gitdir, *args], check=True,
                          capture_output=True, text=True).stdout


def _split_args(text: str) -> list[str]:
    out, depth, cur, quote = [], 0, [], False
    for ch in text:
        if ch == '"':
            quote = not quote
        if not quote and ch in "([":
            depth += 1
        elif not quote and ch in ")]":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


class Function:
    def __init__(self, params: str, body: str) -> None:
        self.params = [p.split()[-1].lstrip("*") for p in params.split(",")
                       if p.strip() and p.strip() != "void"]
        self.body = _PREPROC.sub("", _COMMENT.sub("", body))


class Walker:
    """Runs the keyword-installing functions of one release, collecting (keyword, section)."""

    def __init__(self, funcs: dict[str, Function]) -> None:
        self.funcs = funcs
        self.path: list[str] = []
        self.last = ""
        self.found: dict[tuple[str, str], None] = {}

    def call(self, name: str, args: list[Value]) -> None:
        f = self.funcs[name]
        self.block(f.body, dict(zip(f.params, args, strict=False)))

    def block(self, text: str, env: dict[str, Value]) -> None:
        i = 0
        while i < len(text):
            i = self.statement(text, i, env)

    def statement(self, text: str, i: int, env: dict[str, Value]) -> int:
        while i < len(text) and text[i] in " \t\n;":
            i += 1
        if i >= len(text):
            return i
        if text[i] == "{":
            end = _matching(text, i, "{", "}")
            self.block(text[i + 1:end], env)
            return end + 1
        m = re.compile(r"(if|else if|else)\b\s*").match(text, i)
        if m and m.group(1) != "else":
            start = text.index("(", m.end() - 1)
            end = _matching(text, start, "(", ")")
            verdict = _decide(text[start + 1:end], env)
            return self.branches(text, end + 1, env, verdict)
        end = text.find(";", i)
        end = len(text) if end < 0 else end
        self.simple(text[i:end].strip(), env)
        return end + 1

    def branches(self, text: str, i: int, env: dict[str, Value], verdict: bool | None) -> int:
        """The statement after an ``if (...)`` and any ``else`` chain that follows."""
        after = self.skip(text, i)
        if verdict is not False:
            self.statement(text, i, env)
        m = re.compile(r"\s*else\b\s*").match(text, after)
        if not m:
            return after
        rest = m.end()
        if verdict is True:
            return self.skip(text, rest)
        return self.statement(text, rest, env)

    def skip(self, text: str, i: int) -> int:
        """Index just past the statement starting at ``i`` (without running it)."""
        while text[i] in " \t\n":
            i += 1
        if text[i] == "{":
            return _matching(text, i, "{", "}") + 1
        m = re.compile(r"(if|else if)\b\s*").match(text, i)
        if m:
            start = text.index("(", m.end() - 1)
            end = _matching(text, start, "(", ")")
            after = self.skip(text, end + 1)
            e = re.compile(r"\s*else\b\s*").match(text, after)
            return self.skip(text, e.end()) if e else after
        return text.index(";", i) + 1

    def simple(self, stmt: str, env: dict[str, Value]) -> None:
        m = _CALL.match(stmt)
        if not m:
            return
        name, args = m.group(1), [_value(a, env) for a in _split_args(m.group(2))]
        if name.startswith("install_keyword"):
            kw = args[0]
            if isinstance(kw, str):
                if name == "install_keyword_root":
                    self.path, self.last = [], kw
                    self.found[(kw, "")] = None
                    self.path = [kw]
                else:
                    self.found[(kw, "/".join(self.path))] = None
                    self.last = kw
        elif name == "install_sublevel":
            self.path.append(self.last)
        elif name == "install_sublevel_end":
            self.last = self.path.pop()
        elif name in self.funcs:
            self.call(name, args)


def _matching(text: str, i: int, open_: str, close: str) -> int:
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_:
            depth += 1
        elif text[j] == close:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"unbalanced {open_}")


def _value(arg: str, env: dict[str, Value]) -> Value:
    arg = arg.strip().lstrip("&")
    if arg.startswith('"') and arg.endswith('"'):
        return arg[1:-1]
    if arg in ("true", "false"):
        return arg == "true"
    return env.get(arg)


def _decide(cond: str, env: dict[str, Value]) -> bool | None:
    """True/False when the condition only tests bound arguments, else None (both branches)."""
    cond = cond.strip()
    neg = cond.startswith("!")
    inner = cond[1:].strip() if neg else cond
    m = re.fullmatch(r"strcmp\s*\(\s*(\w+)\s*,\s*\"([^\"]*)\"\s*\)", inner)
    if m and isinstance(env.get(m.group(1)), str):
        differs = env[m.group(1)] != m.group(2)
        return not differs if neg else differs
    if re.fullmatch(r"\w+", inner) and isinstance(env.get(inner), bool):
        return not env[inner] if neg else bool(env[inner])
    return None


def keywords(gitdir: str, tag: str) -> dict[tuple[str, str], None]:
    files = [f for f in _git(gitdir, "ls-tree", "-r", "--name-only", tag, "keepalived",
                             "lib").split() if f.endswith(".c")]
    funcs: dict[str, Function] = {}
    for f in files:
        text = _git(gitdir, "show", f"{tag}:{f}")
        if "install_" not in text:
            continue
        for m in _FUNC.finditer(text):
            funcs.setdefault(m.group(1), Function(m.group(2), m.group(3)))
    w = Walker(funcs)
    for entry in ENTRY_POINTS:
        w.call(entry, [True])
    return w.found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    per_tag = {t: keywords(argv[1], t) for t in TAGS}
    print("# keepalived's configuration keywords (its parser tables: install_keyword* and")
    print("# install_sublevel* calls), extracted from the keepalived source, GPL-2.0-or-later,")
    print("# https://github.com/acassen/keepalived, tags v2.2.7 and v2.4.3, by")
    print("# scripts/keepalived_keywords.py.")
    print("# keyword<TAB>section ('/'-separated block keywords; empty = top level)<TAB>"
          "first release of the two that has it ('2.2.7 only': gone in 2.4.3)")
    rows: dict[tuple[str, str], list[str]] = {}
    for t in TAGS:
        for key in per_tag[t]:
            rows.setdefault(key, []).append(t[1:])
    for (kw, section), tags in rows.items():
        first = tags[0] if tags[-1] == TAGS[-1][1:] else f"{tags[0]} only"
        print(f"{kw}\t{section}\t{first}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
