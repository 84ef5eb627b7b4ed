"""``pykeepalived -t``: keepalived 2.2.7's config-test contract.

Exit 0 clean; 4 cannot run (missing file, fatal); 5 other errors and warnings; 6 scripts would
run as root without ``enable_script_security``. keepalived 2.2.7 with a ``net_namespace``
configured reports the problems of its first parse but exits 0 (the test is re-run inside a
namespace that does not exist); we mirror that so the verdicts agree (docs/configuration.md).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator

from pykeepalived.config.dump import format_config
from pykeepalived.config.loader import load
from pykeepalived.config.model import ParseResult, Severity
from pykeepalived.options import Options


def config_test_result(opts: Options) -> tuple[ParseResult, int]:
    path = opts.config_file
    res = load(path, config_id=opts.config_id, all_config=opts.all_config, keep_text=False)
    code = res.exit_code_for_test()
    if res.config.net_namespace and code in (4, 5, 6):
        code = 0
    return res, code


def run_config_test(opts: Options) -> int:
    # a file that cannot be read (missing, a directory, a FIFO, a device, too large) is a
    # fatal message from the lexer: exit 4, where keepalived 2.2.7 exits 0 (6 with -e), see
    # docs/configuration.md
    res, code = config_test_result(opts)
    _emit(res, opts)
    if opts.dump_conf:
        print(format_config(res.config))
    if opts.verify_config:
        return verify_exit_code(res)
    return code


def verify_exit_code(res: ParseResult) -> int:
    """``--verify-config`` (a unit's ExecStartPre): 1 when the file has errors the daemon
    would start with parts of the configuration dropped, 0 when only warnings, notes or
    script-security findings remain (keepalived runs with those; ``-t`` exits 5 or 6)."""
    bad = bool(res.severities() & {Severity.ERROR, Severity.FATAL})
    return 1 if bad else 0


def _formatted(res: ParseResult) -> Iterator[str]:
    fmt = getattr(res.messages, "formatted", None)
    return fmt() if fmt is not None else (m.format() for m in res.messages)


def _emit(res: ParseResult, opts: Options) -> None:
    """The messages on stderr (and appended to the ``-t=LOGFILE`` log), written a batch of
    lines at a time: a file can make millions of them."""
    log = None
    if opts.config_test_log:
        try:
            log = open(opts.config_test_log, "a", encoding="utf-8")  # noqa: SIM115
        except OSError as e:
            print(f"Unable to write config test log {opts.config_test_log}: {e}",
                  file=sys.stderr)
    try:
        lines = _formatted(res)
        while batch := list(itertools.islice(lines, 4096)):
            text = "\n".join(batch) + "\n"
            sys.stderr.write(text)
            if log is not None:
                log.write(text)
        sys.stderr.flush()
    finally:
        if log is not None:
            log.close()
