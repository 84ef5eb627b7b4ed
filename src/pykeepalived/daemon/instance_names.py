"""``net_namespace``, ``instance`` and ``use_pid_dir``: where keepalived 2.2.7 puts its pid files
and how it names itself in syslog when several keepalived run on one host.

* ``net_namespace NAME`` (or ``-s NAME``, which overrides it): the parent joins
  ``/run/netns/NAME`` before starting its children; pid files go to ``/run/keepalived/NAME/``
  (keepalived bind-mounts that directory over ``/run/keepalived`` in a private mount
  namespace; the files are at the same host path). A namespace that does not exist is
  ``Failed to open /run/netns/NAME`` / ``Unable to set network namespace NAME - exiting``, exit 0.
* ``instance NAME``: pid files ``keepalived_NAME.pid``, ``vrrp_NAME.pid``,
  ``checkers_NAME.pid`` in ``/run/keepalived/``.
* either of them, or ``use_pid_dir``: the pid files live in ``/run/keepalived/``; and (not
  ``use_pid_dir`` alone) the syslog ident gains ``_NAMESPACE`` and ``_INSTANCE``.

Pid files given on the command line (``-p``/``-r``/``-c``) are kept, as keepalived keeps them.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from pykeepalived.options import (
    DEFAULT_BFD_PID,
    DEFAULT_CHECKERS_PID,
    DEFAULT_PID,
    DEFAULT_VRRP_PID,
    Options,
)

PID_DIR = "/run/keepalived"


@dataclass(frozen=True)
class Naming:
    """The three top-level keywords as the config has them."""

    net_namespace: str | None = None
    instance: str | None = None
    use_pid_dir: bool = False


def ident_suffix(namespace: str | None, instance: str | None) -> str:
    """keepalived's make_syslog_ident(): ``Keepalived`` + ``_NS`` + ``_INSTANCE``."""
    return "".join(f"_{x}" for x in (namespace, instance) if x)


def pid_paths(opts: Options, namespace: str | None, instance: str | None,
              use_pid_dir: bool) -> Options:
    """``opts`` with the pid files keepalived would use (only those left at their default)."""
    if not (use_pid_dir or namespace or instance):
        return opts
    base = os.path.join(PID_DIR, namespace) if namespace else PID_DIR
    tail = f"_{instance}" if instance else ""

    def pick(current: str, default: str, stem: str) -> str:
        return current if current != default else os.path.join(base, f"{stem}{tail}.pid")

    return dataclasses.replace(
        opts,
        pid_file=pick(opts.pid_file, DEFAULT_PID, "keepalived"),
        vrrp_pid_file=pick(opts.vrrp_pid_file, DEFAULT_VRRP_PID, "vrrp"),
        checkers_pid_file=pick(opts.checkers_pid_file, DEFAULT_CHECKERS_PID, "checkers"),
        bfd_pid_file=pick(opts.bfd_pid_file, DEFAULT_BFD_PID, "bfd"),
    )
