"""Does a change to the config front end leave its output alone? Run once per source tree,
then compare the two JSON files.

    python bench/config/corpus_identity.py SRC_DIR OUT.json [CORPUS_DIR]
    git worktree add /tmp/old <commit>
    python bench/config/corpus_identity.py /tmp/old/src /tmp/old.json
    python bench/config/corpus_identity.py src /tmp/new.json
    python -c "import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); \
print([k for k in a if a[k] != b.get(k)])" /tmp/old.json /tmp/new.json

CORPUS_DIR (default ``tests/fixtures/corpus``) holds ``field/`` and ``samples/``. Per corpus
file: the config-test exit code, every message, and hashes of the expanded text
and of the parsed model's repr, with ``${_RANDOM}`` seeded so both runs draw the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys


def main() -> int:
    sys.path.insert(0, os.path.abspath(sys.argv[1]))
    from pykeepalived.config import loader
    from pykeepalived.config.environment import SystemEnvironment
    from pykeepalived.config.lexer import Files, Lexer
    from pykeepalived.config.model import Severity

    corpus = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        os.path.dirname(__file__), "..", "..", "tests", "fixtures", "corpus")
    out: dict[str, object] = {}
    for sub in ("field", "samples"):
        d = os.path.abspath(os.path.join(corpus, sub))
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if not os.path.isfile(path) or name.endswith(".tsv"):
                continue
            os.chdir(d)
            lx = Lexer(config_id="h", files=Files(), seed=7)
            try:
                lx.run_file(path)
            except RecursionError:
                lx.report(None, "deep", Severity.FATAL)
            statements = len(lx.stmts)  # (before _parse, which may consume them)
            res = loader._parse(lx, SystemEnvironment(), "h")
            out[f"{sub}/{name}"] = [
                res.exit_code_for_test(), [m.format() for m in res.messages],
                hashlib.sha1(res.expanded_text.encode()).hexdigest(),
                hashlib.sha1(repr(res.config).encode()).hexdigest(), statements]
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f)
    print(f"{len(out)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
