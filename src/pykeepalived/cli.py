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
    "TDUMP": int(signal.SIGRTMAX),
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-T", "--genhash"):
        from pykeepalived.check.genhash import main as genhash_main

        return genhash_main(args[1:])
    if args and args[0] == "status":
        from pykeepalived.observe.cli import main as status_main

        return status_main(args[1:])
    opts, want_version = parse(args)
    if want_version:
        print(f"pykeepalived v{__version__} (keepalived {KEEPALIVED_COMPAT_VERSION} compatible)")
        return 0
    if opts.signum is not None:
        num = SIGNAL_NAMES.get(opts.signum.upper())
        if num is None:
            print(f"Unknown signal name '{opts.signum}'", file=sys.stderr)
            return 1
        print(num)
        return 0
    if opts.config_test:
        from pykeepalived.config.configtest import run_config_test

        return run_config_test(opts)
    from pykeepalived.daemon.main import run_daemon

    return run_daemon(opts)


if __name__ == "__main__":
    sys.exit(main())
