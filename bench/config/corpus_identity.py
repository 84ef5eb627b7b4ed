"""Does a change to the config front end leave its output alone? Run once per source tree,
then compare the two JSON files.

    python bench/config/corpus_identity.py SRC_DIR OUT.json [CORPUS_DIR]
    python bench/config/corpus_identity.py --compare OLD.json NEW.json

    git worktree add /tmp/old <commit>
    PYTHONDONTWRITEBYTECODE=1 python bench/config/corpus_identity.py /tmp/old/src /tmp/old.json
    python bench/config/corpus_identity.py src /tmp/new.json
    python bench/config/corpus_identity.py --compare /tmp/old.json /tmp/new.json

CORPUS_DIR (default ``tests/fixtures/corpus``) holds ``field/`` and ``samples/``. Per corpus
file: the config-test exit code, every message, and hashes of the expanded text
and of the parsed model's repr, with ``${_RANDOM}`` seeded so both runs draw the same numbers,
and the number of statements the lexer made. Works with the front end before and after it
streamed (``loader.FrontEnd``). ``--compare`` lists the files whose record differs, and what
differs (exit 1 if any).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

FIELDS = ("exit", "messages", "expanded text", "model", "statements")


def compare(old_path: str, new_path: str) -> int:
    with open(old_path, encoding="utf-8") as f:
        old = json.load(f)
    with open(new_path, encoding="utf-8") as f:
        new = json.load(f)
    differ = 0
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if a == b:
            continue
        differ += 1
        if a is None or b is None:
            print(f"{k}: only in {'new' if a is None else 'old'}")
            continue
        for name, x, y in zip(FIELDS, a, b, strict=False):
            if x == y:
                continue
            if name == "messages":
                print(f"{k}: messages")
                for m in x:
                    if m not in y:
                        print(f"    - {m}")
                for m in y:
                    if m not in x:
                        print(f"    + {m}")
            else:
                print(f"{k}: {name} {x} -> {y}")
    print(f"{len(old)} / {len(new)} files, {differ} differ")
    return 1 if differ else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 1)[1])
    ap.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    ap.add_argument("src", nargs="?", help="the src directory of the tree to run")
    ap.add_argument("out", nargs="?", help="the JSON file to write")
    ap.add_argument("corpus", nargs="?", help="default tests/fixtures/corpus")
    args = ap.parse_args()
    if args.compare:
        return compare(*args.compare)
    if not args.src or not args.out:
        ap.error("SRC_DIR and OUT.json are needed (or --compare OLD NEW)")
    sys.path.insert(0, os.path.abspath(args.src))
    from pykeepalived.config import loader
    from pykeepalived.config.environment import SystemEnvironment
    from pykeepalived.config.lexer import Files, Lexer
    from pykeepalived.config.model import Severity

    corpus = os.path.abspath(args.corpus or os.path.join(
        os.path.dirname(__file__), "..", "..", "tests", "fixtures", "corpus"))
    out_path = os.path.abspath(args.out)
    out: dict[str, object] = {}
    for sub in ("field", "samples"):
        d = os.path.abspath(os.path.join(corpus, sub))
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if not os.path.isfile(path) or name.endswith(".tsv"):
                continue
            os.chdir(d)
            if hasattr(loader, "FrontEnd"):  # the streaming front end
                front = loader.FrontEnd(SystemEnvironment(), "h")
                lx = front.lexer(Files(), seed=7)
            else:
                lx = Lexer(config_id="h", files=Files(), seed=7)
            try:
                lx.run_file(path)
            except RecursionError:
                lx.report(None, "deep", Severity.FATAL)
            if hasattr(loader, "FrontEnd"):
                statements = lx.statement_count
                res = front.result(lx)
            else:
                statements = len(lx.stmts)  # (before _parse, which may consume them)
                res = loader._parse(lx, SystemEnvironment(), "h")
            out[f"{sub}/{name}"] = [
                res.exit_code_for_test(), [m.format() for m in res.messages],
                hashlib.sha1(res.expanded_text.encode()).hexdigest(),
                hashlib.sha1(repr(res.config).encode()).hexdigest(), statements]
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f)
    print(f"{len(out)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
