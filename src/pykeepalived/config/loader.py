"""Entry points: read a file (includes resolved), parse it, apply the host checks keepalived's
config test makes, and return a ``ParseResult``. Nothing here raises on bad input."""

from __future__ import annotations

import contextlib
import gc
import os
import socket
from collections.abc import Iterator

from pykeepalived.config.environment import Environment, SystemEnvironment
from pykeepalived.config.lexer import Files, Item, Lexer, MemoryFiles
from pykeepalived.config.messages import MessageLog, in_file_order
from pykeepalived.config.model import (
    ConfigMessage,
    KeepalivedConfig,
    MiscCheck,
    NotifyScript,
    ParseResult,
    Severity,
)
from pykeepalived.config.parser import ParseState, TopParser, TreeBuilder, finish

DEFAULT_SCRIPT_USER = "keepalived_script"


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic GC while a config is read: it builds hundreds of thousands of acyclic
    objects (generated configs), and the collector re-scanning them took a third of the time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _hostname() -> str:
    return socket.gethostname().split(".", 1)[0]


def load(path: str, *, config_id: str, all_config: bool = False,
         env: Environment | None = None, files: Files | None = None,
         keep_text: bool = True, seed: int | None = None) -> ParseResult:
    """Parse ``path`` as keepalived would with ``-i config_id`` (and ``-e`` if all_config).
    ``keep_text``: False when the caller has no use for ``expanded_text`` (``-t``); ``seed``
    seeds ``${_RANDOM}`` (tests, comparisons)."""
    with _gc_paused():
        front = FrontEnd(env or SystemEnvironment(), config_id)
        lx = front.lexer(files or Files(), all_config=all_config, keep_text=keep_text,
                         seed=seed)
        try:
            lx.run_file(path)
        except RecursionError:
            lx.report(None, "Configuration nests too deeply - giving up", Severity.FATAL)
        return front.result(lx)


def load_text(text: str, *, config_id: str = "", filename: str = "keepalived.conf",
              env: Environment | None = None, files: dict[str, str] | None = None
              ) -> ParseResult:
    """Parse config text held in memory (tests, reload from an expanded copy)."""
    with _gc_paused():
        front = FrontEnd(env or SystemEnvironment(), config_id)
        lx = front.lexer(MemoryFiles(files or {}))
        try:
            lx.run_text(text, filename)
        except RecursionError:
            lx.report(None, "Configuration nests too deeply - giving up", Severity.FATAL)
        return front.result(lx)


class FrontEnd:
    """The parse, fed as the lexer reads: statements into the block tree, each complete
    top-level block into the parse state, so that neither the statements nor the whole tree
    of a large configuration are held. Messages are kept per stage (lexer, tree, the top
    level's stray blocks, blocks) and ordered at the end as one pass over the whole tree
    would have made them."""

    def __init__(self, env: Environment, config_id: str) -> None:
        self.env = env
        self.config_id = config_id
        self.tree_log = MessageLog()
        self.flat_log = MessageLog()
        self.st = ParseState(messages=MessageLog(), env=env, config_id=config_id)
        self.top = TopParser(self.st, self.flat_log)
        self.tree = TreeBuilder(self.tree_log, self.top.item)
        self.failed: Exception | None = None

    def lexer(self, files: Files, *, all_config: bool = False, keep_text: bool = True,
              seed: int | None = None) -> Lexer:
        return Lexer(config_id=self.config_id, files=files, all_config=all_config,
                     seed=seed, sink=self.feed, runs=True, keep_text=keep_text)

    def feed(self, stmts: list[Item]) -> None:
        if self.failed is None:
            try:
                self.tree.feed(stmts)
            except Exception as e:  # a bug is a message (see result), never a traceback
                self.failed = e

    def result(self, lx: Lexer) -> ParseResult:
        """The parse of what ``lx`` read."""
        lx.flush()
        expanded_text = "\n".join(lx.expanded) + "\n" if lx.keep_text else ""
        lx.expanded = []
        st, messages = self.st, self.st.messages
        cfg = KeepalivedConfig()
        if self.failed is None:
            try:
                self.tree.finish()
                self.top.end()
                cfg = finish(st, self.config_id, _hostname())
                _script_security(cfg, st, self.env, messages)
            except Exception as e:  # last line of defence, as in feed
                self.failed = e
        bug = self.failed
        if bug is not None:
            messages.append(ConfigMessage("", 0, Severity.ERROR,
                                          f"Internal error while parsing: {type(bug).__name__}: "
                                          f"{bug}"))
            cfg = KeepalivedConfig()
        return ParseResult(config=cfg, messages=in_file_order(
            [lx.messages, self.tree_log, self.flat_log, messages], dict(self.tree.files)),
                           expanded_text=expanded_text)


def _vrrp_scripts(cfg: KeepalivedConfig, disabled: set[str]) -> list[NotifyScript]:
    out: list[NotifyScript] = []
    if not cfg.vrrp_instances:
        return out  # no VRRP process would run: keepalived checks none of its scripts
    for s in cfg.vrrp_scripts:
        if s.name not in disabled:
            out.append(NotifyScript(s.argv, s.user, s.group, s.line))
    for i in cfg.vrrp_instances:
        out.extend(x for x in (i.notify_master, i.notify_backup, i.notify_fault,
                               i.notify_stop, i.notify_deleted, i.notify,
                               i.notify_master_rx_lower_pri) if x is not None)
    for g in cfg.sync_groups:
        out.extend(x for x in (g.notify_master, g.notify_backup, g.notify_fault,
                               g.notify_stop, g.notify) if x is not None)
    gd = cfg.global_defs
    for fifo in (gd.notify_fifo, gd.vrrp_notify_fifo):
        if fifo is not None and fifo.script is not None:
            out.append(fifo.script)
    return out


def _check_scripts(cfg: KeepalivedConfig) -> list[NotifyScript]:
    out: list[NotifyScript] = []
    for vs in cfg.virtual_servers:
        out.extend(x for x in (vs.quorum_up, vs.quorum_down) if x is not None)
        for rs in vs.real_servers:
            if rs.notify_up is not None:
                out.append(rs.notify_up)
            if rs.notify_down is not None:
                out.append(rs.notify_down)
            for c in rs.checkers:
                if isinstance(c, MiscCheck) and c.script is not None:
                    out.append(c.script)
    fifo = cfg.global_defs.lvs_notify_fifo
    if fifo is not None and fifo.script is not None:
        out.append(fifo.script)
    return out


def _script_security(cfg: KeepalivedConfig, st: ParseState, env: Environment,
                     messages: list[ConfigMessage]) -> None:
    """keepalived's rule: a script with no user runs as script_user, else keepalived_script,
    else root; root scripts without enable_script_security are a security violation."""
    gd = cfg.global_defs
    disabled = {m.text.split()[3] for m in messages
                if m.text.startswith("Disabling track script ")}
    default_uid: int | None
    if gd.script_user is not None:
        default_uid = env.user_uid(gd.script_user)
        default_known = True  # a bad script_user was already reported
    else:
        default_uid = env.user_uid(DEFAULT_SCRIPT_USER)
        default_known = default_uid is not None
    gdefs = cfg.global_defs
    parent = [x for x in (gdefs.startup_script, gdefs.shutdown_script) if x is not None]
    for scripts, label in ((_vrrp_scripts(cfg, disabled), "scripts"),
                           (_check_scripts(cfg), "check scripts"),
                           (parent, "start/shutdown scripts")):
        if not scripts:
            continue
        as_root = False
        for s in scripts:
            if s.user is None and not default_known and gd.enable_script_security:
                messages.append(ConfigMessage(
                    "", s.line, Severity.WARNING,
                    f"Unable to set default user {DEFAULT_SCRIPT_USER} for script"))
                break
            if env.find_script(s.path) is None:
                continue  # keepalived disables a script it cannot find; it never runs
            uid = env.user_uid(s.user) if s.user is not None else (
                default_uid if default_known else 0)
            if uid == 0:
                as_root = True
        if as_root and not gd.enable_script_security:
            messages.append(ConfigMessage(
                "", 0, Severity.SECURITY,
                f"SECURITY VIOLATION - {label} are being executed but script_security not "
                "enabled."))


def expanded_config_text(path: str, *, config_id: str) -> str:
    """The config with includes, conditionals and parameters resolved (for children/reload)."""
    lx = Lexer(config_id=config_id)
    lx.run_file(os.path.abspath(path))
    return "\n".join(lx.expanded) + "\n"
