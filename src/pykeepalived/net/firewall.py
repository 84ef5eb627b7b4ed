"""``vrrp_strict`` / ``no_accept``: drop inbound traffic to VIPs we must not accept.

One nftables table (``inet keepalived`` by default, the ``nftables [TABLE]`` keyword changes
the name) holds two sets, ``vips`` (ipv4_addr) and ``vips6`` (ipv6_addr), an ``in`` chain
(hook input, priority -1) dropping packets to a listed address and an ``out`` chain (hook
output, priority -1) dropping packets from one, as keepalived's own table does; IPv6 neighbour
discovery is let through both ways (the address must stay resolvable at layer 2). The daemon
adds a VIP to the set when the core says it must not accept traffic for it (keepalived: a
non-owner MASTER without accept mode) and removes it when that ends; ``teardown`` deletes the
table at exit.

Changes are nft scripts, each applied as one atomic transaction: through libnftables
(``libnftables.so.1``, shipped with Debian's nftables, called with ctypes; well under a
millisecond, which matters on the way to MASTER) when it loads, else through the ``nft`` CLI
(``nft -f -``; several milliseconds per process). Reads use ``nft -j``. Failures are logged and
returned as ``NetResult`` values.
"""

from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import json
import logging
from collections.abc import Iterable
from typing import Any

from pykeepalived.net.addresses import NetResult
from pykeepalived.net.netns import in_netns, netns_cmd

log = logging.getLogger("pykeepalived.net.firewall")

DEFAULT_TABLE = "keepalived"


def _valid_table(name: str) -> str:
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"bad nftables table name {name!r}")
    return name


def setup_script(table: str, priority: int = -1) -> str:
    """nft script creating the table, sets and input chain (idempotent: add, then flush)."""
    t = _valid_table(table)
    return "\n".join([
        f"add table inet {t}",
        f"add set inet {t} vips {{ type ipv4_addr ; }}",
        f"add set inet {t} vips6 {{ type ipv6_addr ; }}",
        f"add chain inet {t} in {{ type filter hook input priority {priority} ; "
        "policy accept ; }",
        f"flush chain inet {t} in",
        f"add rule inet {t} in ip daddr @vips drop",
        f"add rule inet {t} in icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept",
        f"add rule inet {t} in ip6 daddr @vips6 drop",
        f"add chain inet {t} out {{ type filter hook output priority {priority} ; "
        "policy accept ; }",
        f"flush chain inet {t} out",
        f"add rule inet {t} out ip saddr @vips drop",
        f"add rule inet {t} out icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} "
        "accept",
        f"add rule inet {t} out ip6 saddr @vips6 drop",
        "",
    ])


def elements_script(table: str, ips: Iterable[str], add: bool) -> str:
    """nft script adding (or deleting) ``ips`` to/from the sets."""
    t = _valid_table(table)
    v4: list[str] = []
    v6: list[str] = []
    for ip in ips:
        a = ipaddress.ip_address(ip)
        (v6 if a.version == 6 else v4).append(str(a))
    verb = "add" if add else "delete"
    lines = []
    for name, items in (("vips", v4), ("vips6", v6)):
        if items:
            lines.append(f"{verb} element inet {t} {name} {{ {', '.join(items)} }}")
    return "\n".join(lines) + "\n"


class LibNft:
    """A libnftables context (its netlink socket lives in the namespace it was created in)."""

    _lib: Any = None

    @classmethod
    def _load(cls) -> Any:
        if cls._lib is None:
            lib = ctypes.CDLL("libnftables.so.1")
            lib.nft_ctx_new.restype = ctypes.c_void_p
            lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
            for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
                getattr(lib, name).argtypes = [ctypes.c_void_p]
                getattr(lib, name).restype = ctypes.c_int
            for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
                getattr(lib, name).argtypes = [ctypes.c_void_p]
                getattr(lib, name).restype = ctypes.c_char_p
            lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
            lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_free.restype = None
            cls._lib = lib
        return cls._lib

    def __init__(self, netns: str | None = None) -> None:
        lib = self._load()
        with in_netns(netns):
            ctx = lib.nft_ctx_new(0)
        if not ctx:
            raise OSError("nft_ctx_new failed")
        self.ctx: int | None = ctx
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)

    def run(self, script: str) -> tuple[int, str, str]:
        """Apply ``script`` (blocking, but a local netlink round trip)."""
        lib = self._lib
        rc = int(lib.nft_run_cmd_from_buffer(self.ctx, script.encode()))
        out = (lib.nft_ctx_get_output_buffer(self.ctx) or b"").decode()
        err = (lib.nft_ctx_get_error_buffer(self.ctx) or b"").decode()
        return rc, out, err

    def close(self) -> None:
        if self.ctx:
            self._lib.nft_ctx_free(self.ctx)
            self.ctx = None


class Firewall:
    """The ``no_accept`` drop table in one namespace. Create, then ``await setup()``.

    ``backend``: ``"auto"`` (libnftables when it loads, else the CLI), ``"lib"`` or ``"cli"``.
    """

    def __init__(self, table: str = DEFAULT_TABLE, netns: str | None = None,
                 priority: int = -1, backend: str = "auto") -> None:
        self.table = _valid_table(table)
        self.netns = netns
        self.priority = priority
        self.blocked: set[str] = set()
        self.ready = False
        self.lib: LibNft | None = None
        if backend in ("auto", "lib"):
            try:
                self.lib = LibNft(netns)
            except OSError as e:
                if backend == "lib":
                    raise
                log.debug("libnftables unavailable (%s); using the nft CLI", e)
        self.backend = "lib" if self.lib is not None else "cli"

    async def _nft(self, args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            *netns_cmd(self.netns, ["nft", *args]),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
        return proc.returncode or 0, out.decode(), err.decode()

    async def _apply(self, op: str, target: str, script: str) -> NetResult:
        try:
            if self.lib is not None:
                rc, _out, err = self.lib.run(script)
            else:
                rc, _out, err = await self._nft(["-f", "-"], script)
        except OSError as e:
            log.warning("nft %s: %s", op, e)
            return NetResult(False, op, target, errno=e.errno or 0, error=str(e))
        if rc != 0:
            log.warning("nft %s %s failed: %s", op, target, err.strip())
            return NetResult(False, op, target, errno=rc, error=err.strip())
        return NetResult(True, op, target)

    async def setup(self) -> NetResult:
        """Create (or reset the chain of) the table; existing set elements are kept."""
        res = await self._apply("setup", self.table, setup_script(self.table, self.priority))
        self.ready = res.ok
        return res

    async def block(self, ips: Iterable[str]) -> NetResult:
        """Drop inbound traffic to ``ips`` (already blocked ones are skipped)."""
        new = [str(ipaddress.ip_address(i)) for i in ips]
        new = [i for i in dict.fromkeys(new) if i not in self.blocked]
        if not new:
            return NetResult(True, "block", "", changed=False)
        if not self.ready:
            res = await self.setup()
            if not res.ok:
                return res
        res = await self._apply("block", " ".join(new), elements_script(self.table, new, True))
        if res.ok:
            self.blocked.update(new)
        return res

    async def unblock(self, ips: Iterable[str]) -> NetResult:
        """Accept traffic to ``ips`` again (unknown ones are skipped)."""
        gone = [str(ipaddress.ip_address(i)) for i in ips]
        gone = [i for i in dict.fromkeys(gone) if i in self.blocked]
        if not gone:
            return NetResult(True, "unblock", "", changed=False)
        res = await self._apply("unblock", " ".join(gone),
                                elements_script(self.table, gone, False))
        if res.ok:
            self.blocked.difference_update(gone)
        return res

    async def listed(self) -> set[str]:
        """The addresses currently in the kernel's sets (read back with ``nft -j``)."""
        out: set[str] = set()
        for name in ("vips", "vips6"):
            rc, text, _err = await self._nft(["-j", "list", "set", "inet", self.table, name])
            if rc != 0:
                continue
            for item in json.loads(text).get("nftables", []):
                for elem in item.get("set", {}).get("elem", []):
                    if isinstance(elem, str):
                        out.add(elem)
        return out

    async def teardown(self) -> NetResult:
        """Delete the whole table (at exit). Absent table counts as success."""
        self.blocked.clear()
        self.ready = False
        if self.lib is not None:
            rc, _out, err = self.lib.run(f"delete table inet {self.table}\n")
        else:
            rc, _out, err = await self._nft(["delete", "table", "inet", self.table])
        if rc != 0 and "No such file" not in err:
            log.warning("nft delete table %s failed: %s", self.table, err.strip())
            return NetResult(False, "teardown", self.table, errno=rc, error=err.strip())
        return NetResult(True, "teardown", self.table, changed=rc == 0)

    def close(self) -> None:
        """Release the libnftables context (the table itself stays; see ``teardown``)."""
        if self.lib is not None:
            self.lib.close()
            self.lib = None
            self.backend = "cli"
