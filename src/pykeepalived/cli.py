"""Entry point ``pykeepalived``: dispatch on keepalived's flags to the config test, genhash,
the signal-number query or the daemon. Each mode lives in its own module; this file only routes.
"""

from __future__ import annotations

import signal
import sys

from pykeepalived import KEEPALIVED_COMPAT_VERSION, __version__
from pykeepalived.options import parse

SIGNAL_NAMES: dict[str, int] = {
    "STOP": int(signal.SIGTERM),
    "RELOAD": int(signal.SIGHUP),
    "DATA": int(signal.SIGUSR1),
    "STATS": int(signal.SIGUSR2),
    "STATS_CLEAR": int(signal.SIGRTMAX) - 1,
    "JSON": int(signal.SIGRTMIN) + 2,
}


def version_text() -> str:
    """``-v``: keepalived's shape (on stderr, ``Keepalived vX.Y.Z`` first: exporters parse it
    and look for ``--enable-json`` to know the JSON dump exists), naming both versions."""
    return "\n".join([
        f"Keepalived v{KEEPALIVED_COMPAT_VERSION} (pykeepalived v{__version__})",
        "",
        f"pykeepalived v{__version__}: a Python reimplementation of keepalived, following "
        f"keepalived {KEEPALIVED_COMPAT_VERSION}'s configuration, flags, signals and files.",
        f"Running on Python {sys.version.split()[0]}",
        "",
        "Equivalent configure options: --enable-json --enable-vrrp-auth --enable-regex",
        "",
    ])


def signum(name: str) -> int:
    """``--signum``: keepalived 2.2.7 knows STOP, RELOAD, DATA, STATS, STATS_CLEAR and JSON
    (exact case); anything else is ``Unknown sigfunc NAME`` on stderr and exit 1."""
    num = SIGNAL_NAMES.get(name)
    if num is None:
        print(f"Unknown sigfunc {name}", file=sys.stderr)
        return 1
    print(num)
    return 0


def genhash_entry() -> int:
    """The ``genhash`` console script (keepalived's separate program of that name)."""
    from pykeepalived.check.genhash import main as genhash_main

    return genhash_main(sys.argv[1:])


def main(argv: list[str] | None = None) -> int:
    from pykeepalived.daemon.signals import block_handled, unblock_all

    block_handled()  # the console script's first moment (``python -m`` did it already)
    args = list(sys.argv[1:] if argv is None else argv)
    opts, want_version = None, False
    if not args or args[0] not in ("-T", "--genhash", "status"):
        opts, want_version = parse(args)
    if opts is None or want_version or opts.signum is not None or opts.install_unit \
            is not None or opts.install_command or opts.config_test or opts.verify_config:
        unblock_all()  # not the daemon: the signals act as usual again
    if opts is None:
        return _tool(args)
    if want_version:
        print(version_text(), file=sys.stderr, end="")
        return 0
    if opts.signum is not None:
        return signum(opts.signum)
    if opts.install_unit is not None or opts.install_command:
        from pykeepalived.deploy.install import main as install_main

        return install_main(hardened=opts.install_unit == "hardened",
                            command=opts.install_command)
    if opts.config_test or opts.verify_config:
        from pykeepalived.config.configtest import run_config_test

        return run_config_test(opts)
    from pykeepalived.daemon.main import run_daemon

    return run_daemon(opts)


def _tool(args: list[str]) -> int:
    """``-T``/``--genhash`` and ``status``: the helper programs behind the same command."""
    if args[0] == "status":
        from pykeepalived.observe.cli import main as status_main

        return status_main(args[1:])
    from pykeepalived.check.genhash import main as genhash_main

    return genhash_main(args[1:])

if __name__ == "__main__":
    sys.exit(main())
