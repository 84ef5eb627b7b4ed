"""Run one checker of one real server: config objects in, ``CheckOutcome`` out.

The only place that maps a ``config.model`` checker to a probe. Any unexpected exception in a
probe becomes a failed outcome, so one bad check can never stop the checker loop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from pykeepalived.check.connect import RawConnect, Target
from pykeepalived.check.file import file_outcome, read_value
from pykeepalived.check.http import http_check, make_ssl_context, start_http_get
from pykeepalived.check.misc import misc_check
from pykeepalived.check.ping import ping_check
from pykeepalived.check.smtp import smtp_check
from pykeepalived.check.tcp import TcpConnect, tcp_check
from pykeepalived.check.udp import udp_check
from pykeepalived.check.virtual_server import CheckOutcome
from pykeepalived.config.model import (
    Checker,
    DnsCheck,
    FileCheck,
    HttpGet,
    KeepalivedConfig,
    MiscCheck,
    PingCheck,
    RealServer,
    SmtpCheck,
    SslGet,
    TcpCheck,
    UdpCheck,
    VirtualServer,
)
from pykeepalived.script.runner import RunAs
from pykeepalived.script.security import ScriptVerdict, check_script, resolve_run_as

log = logging.getLogger("pykeepalived.check")


def target_for(rs: RealServer, chk: Checker, default_port: int = 0, vs_port: int = 0) -> Target:
    return Target(host=chk.connect_ip or rs.ip,
                  port=chk.connect_port or rs.port or vs_port or default_port,
                  timeout=chk.connect_timeout, bindto=chk.bindto, bind_port=chk.bind_port,
                  bind_if=chk.bind_if, fwmark=chk.fwmark)


def _nothing() -> None:
    pass


class Prober:
    """Holds what probes share (the SSL context, the config for track files)."""

    def __init__(self, cfg: KeepalivedConfig) -> None:
        self.cfg = cfg
        self._ssl: ssl.SSLContext | None = None
        self._warned: set[str] = set()
        self._misc_ok: dict[tuple[str, ...], tuple[RunAs, bool]] = {}

    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = make_ssl_context(self.cfg.ssl)
        return self._ssl

    async def run(self, vs: VirtualServer, rs: RealServer, chk: Checker) -> CheckOutcome:
        try:
            return await self._run(vs, rs, chk)
        except Exception as e:  # never let one probe kill the loop
            log.exception("probe %s on %s crashed", chk.kind, rs.ip)
            return CheckOutcome(False, detail=f"probe error: {e!r}")

    def start(self, vs: VirtualServer, rs: RealServer, chk: Checker,
              on_done: Callable[[CheckOutcome], None]) -> Callable[[], None] | None:
        """Start a plain HTTP_GET or a TCP_CHECK on loop callbacks alone (no task: the hot
        path of a checker with thousands of servers); ``on_done`` gets the outcome once.
        Returns what aborts the probe, or None when ``chk`` needs ``run`` instead."""
        probe: RawConnect | None = None
        try:
            if isinstance(chk, HttpGet) and not isinstance(chk, SslGet):
                probe = start_http_get(chk, target_for(rs, chk, 80, vs.port),
                                       rs.virtualhost or vs.virtualhost, on_done)
            elif isinstance(chk, TcpCheck):
                probe = TcpConnect(target_for(rs, chk, 0, vs.port), asyncio.get_running_loop(),
                                   on_done)
                probe.start()
        except Exception as e:  # never let one probe kill the loop
            log.exception("probe %s on %s crashed", chk.kind, rs.ip)
            on_done(CheckOutcome(False, detail=f"probe error: {e!r}"))
            return _nothing
        return None if probe is None else probe.close

    async def _misc(self, chk: MiscCheck) -> CheckOutcome:
        """keepalived checks each misc script once (run-as user, path security); a script it
        cannot run is disabled: logged once and, like a removed checker, counted as up."""
        argv = chk.script.argv if chk.script is not None else ()
        if chk.script is None or not argv:
            return await misc_check(chk)
        key = (*argv, chk.script.user or "", chk.script.group or "")
        if key not in self._misc_ok:
            gd = self.cfg.global_defs
            run_as, warning = resolve_run_as(chk.script.user, chk.script.group, gd)
            if warning:
                log.warning("%s", warning)
            verdict = check_script(argv, run_as, enable_script_security=gd.enable_script_security,
                                   use_symlink_paths=gd.use_symlink_paths)
            if verdict.verdict is ScriptVerdict.DISABLED:
                log.warning("Disabling misc script %s due to insecure", argv[0])
            elif not verdict.runnable:
                log.warning("Disabling misc script %s since not found/accessible", argv[0])
            elif verdict.message:
                log.warning("%s", verdict.message)
            self._misc_ok[key] = (run_as, verdict.runnable)
        run_as, runnable = self._misc_ok[key]
        if not runnable:
            return CheckOutcome(True)
        return await misc_check(chk, run_as)

    async def _run(self, vs: VirtualServer, rs: RealServer, chk: Checker) -> CheckOutcome:
        if isinstance(chk, SslGet):
            return await http_check(chk, target_for(rs, chk, 443, vs.port), use_ssl=True,
                                    ssl_ctx=self.ssl_context(),
                                    rs_virtualhost=rs.virtualhost or vs.virtualhost)
        if isinstance(chk, HttpGet):
            return await http_check(chk, target_for(rs, chk, 80, vs.port), use_ssl=False,
                                    rs_virtualhost=rs.virtualhost or vs.virtualhost)
        if isinstance(chk, TcpCheck):
            return await tcp_check(target_for(rs, chk, 0, vs.port))
        if isinstance(chk, MiscCheck):
            return await self._misc(chk)
        if isinstance(chk, SmtpCheck):
            return await smtp_check(target_for(rs, chk, 25, vs.port), chk.helo_name)
        if isinstance(chk, DnsCheck):
            from pykeepalived.check.dns import dns_check  # dnspython only for DNS_CHECK

            return await dns_check(target_for(rs, chk, 53, vs.port), chk.type, chk.name)
        if isinstance(chk, UdpCheck):
            return await udp_check(target_for(rs, chk, 0, vs.port), chk.payload, chk.require_reply,
                                   chk.min_reply_length, chk.max_reply_length)
        if isinstance(chk, PingCheck):
            return await ping_check(target_for(rs, chk, 0, vs.port))
        if isinstance(chk, FileCheck):
            tf = next((f for f in self.cfg.track_files if f.name == chk.track_file), None)
            if tf is None:
                return CheckOutcome(False, detail=f"unknown track_file {chk.track_file}")
            weight = chk.weight if chk.weight is not None else tf.weight
            reverse = chk.weight_reverse if chk.weight is not None else tf.weight_reverse
            return file_outcome(read_value(tf.path), weight, reverse, rs.weight)
        # BFD_CHECK needs a BFD process we do not have: count it as passing (and say so once)
        # rather than pulling every such real server out of the pool.
        if chk.kind not in self._warned:
            self._warned.add(chk.kind)
            log.warning("%s is not supported by pykeepalived: treated as always up", chk.kind)
        return CheckOutcome(True)
