"""Receive-buffer sizes asked for by the configuration (``*_rcv_bufs``, ``*_rcv_bufs_force``).

keepalived's netlink sockets take their size from ``global_defs``: ``SO_RCVBUF`` (which the
kernel caps at ``net.core.rmem_max``), or with ``_force`` ``SO_RCVBUFFORCE`` (any size, needs
CAP_NET_ADMIN). The kernel doubles the value for its own bookkeeping, so ``SO_RCVBUF`` reads back
twice what was set.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("pykeepalived.net")

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


@dataclass(frozen=True)
class RcvBuf:
    """A requested size: ``nbytes`` (0 = leave the socket's own), forced past rmem_max."""

    nbytes: int = 0
    force: bool = False


def apply_rcvbuf(sock: Any, want: RcvBuf | None, what: str) -> None:
    """Set ``sock``'s receive buffer as ``want`` says (nothing for None or 0); a refusal is
    logged, the socket is used as it is."""
    if want is None or not want.nbytes:
        return
    opt = SO_RCVBUFFORCE if want.force else socket.SO_RCVBUF
    try:
        sock.setsockopt(socket.SOL_SOCKET, opt, want.nbytes)
    except OSError as e:
        log.warning("Cannot set the %s receive buffer to %d bytes: %s", what, want.nbytes, e)
