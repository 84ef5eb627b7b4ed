"""The metrics listen address: ``[ADDR:]PORT`` (``127.0.0.1:9650``, ``[::1]:9650``, ``9650``).

An address left out is 127.0.0.1: metrics are served to the box unless an address says
otherwise, since keepalived state is not for the whole network by default.
"""

from __future__ import annotations

import ipaddress

DEFAULT_ADDRESS = "127.0.0.1"


def parse_listen(text: str) -> tuple[str, int]:
    """``(address, port)``; raises ``ValueError`` with the reason."""
    t = text.strip()
    if not t:
        raise ValueError("empty listen address")
    if t.startswith("["):
        host, sep, port = t[1:].partition("]:")
        if not sep:
            raise ValueError(f"'{text}': expected [IPv6]:PORT")
    elif t.count(":") == 1:
        host, port = t.split(":")
    elif ":" in t:
        raise ValueError(f"'{text}': write an IPv6 address as [ADDR]:PORT")
    else:
        host, port = "", t
    host = host or DEFAULT_ADDRESS
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"'{host}' is not an IP address") from None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"port '{port}' must be 1..65535")
    return host, int(port)


def format_listen(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
