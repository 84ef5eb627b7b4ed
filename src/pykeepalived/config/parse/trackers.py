"""The tracked objects: ``vrrp_script``, ``track_file`` (``vrrp_track_file``),
``vrrp_track_process``, ``track_group`` and ``bfd_instance``: keyword tables and handlers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pykeepalived.config.model import (
    BfdInstance,
    Severity,
    TrackFile,
    TrackGroup,
    TrackProcess,
    VrrpScript,
)
from pykeepalived.config.parse.builders import BfdBuilder, Values
from pykeepalived.config.parse.context import Parser
from pykeepalived.config.parse.table import Kind, Kw, Section, Status, run_block, weight_reverse
from pykeepalived.config.parse.tree import Node, value_lines
from pykeepalived.config.values import ip_family, parse_float, parse_int, silent

ACTS, PARTIAL, NO_EFFECT = Status.ACTS, Status.PARTIAL, Status.NO_EFFECT
I32 = 2147483647
T_MAX = 4294.967295
NO_BFD = "BFD is not supported: no BFD session runs"


# ---------------------------------------------------------------- vrrp_script


def vrrp_script(p: Parser, n: Node) -> None:
    name = n.args[0] if n.args else ""
    if not name:
        p.at(n, "vrrp_script requires a name")
    b = Values()
    if not run_block(p, n, VRRP_SCRIPT, b):
        return
    v = b.values
    if "argv" not in v:
        p.at(n, f"No script set for vrrp_script {name} - removing", Severity.WARNING)
        return
    if name in {s.name for s in p.st.scripts}:
        # keepalived 2.2.7 says nothing; the first definition is the one tracked
        p.at(n, f"vrrp_script {name} already defined - ignoring", Severity.INFO)
        return
    v.setdefault("timeout", v.get("interval", 1.0))
    p.st.scripts.append(VrrpScript(name=name, file=n.file, line=n.line, **v))


def _script(p: Parser, n: Node, b: Values) -> None:
    s = p.script_arg(n)
    if s is not None:
        b.values["argv"] = s.argv


def _user(p: Parser, n: Node, b: Values) -> None:
    u = p.user_arg(n)
    if u is not None:
        b.values["user"], b.values["group"] = u[0], u[1]


VRRP_SCRIPT = Section("vrrp_script", [
    Kw("script", Kind.SCRIPT, fn=_script, to="argv", syntax='"command args"'),
    Kw("interval", Kind.TIMER, to="interval", lo=0.001, hi=T_MAX, default="1"),
    Kw("timeout", Kind.TIMER, to="timeout", lo=0.001, hi=T_MAX, default="interval"),
    Kw("weight", Kind.INT, fn=weight_reverse(-253, 253), to="weight", lo=-253, hi=253,
       syntax="then [reverse]", default="0"),
    Kw("rise", Kind.INT, to="rise", lo=1, hi=I32, default="1"),
    Kw("fall", Kind.INT, to="fall", lo=1, hi=I32, default="1"),
    Kw("user", Kind.WORDS, fn=_user, to="user", syntax="USER [[:]GROUP]",
       default="script_user"),
    Kw("init_fail", Kind.FLAG, to="init_fail"),
], model=VrrpScript, builder=Values, braces="all")


# ---------------------------------------------------------------- track_file


def track_file(p: Parser, n: Node) -> None:
    name = n.args[0] if n.args else ""
    b = Values()
    if not run_block(p, n, TRACK_FILE, b):
        return
    if "path" not in b.values:
        p.at(n, f"No file set for track_file {name} - ignoring", Severity.WARNING)
        return
    p.st.track_files.append(TrackFile(name=name, file=n.file, line=n.line, **b.values))


def _init_file(p: Parser, n: Node, b: Values) -> None:
    """``[VALUE] [overwrite]``: create the file (with VALUE) when it does not exist."""
    b.values["init_file"] = True
    rest = list(n.args)
    if rest and rest[0] != "overwrite":
        iv = parse_int(rest.pop(0), -I32, I32, p.rep)
        b.values["init_value"] = iv or 0
    if rest and rest[0] == "overwrite":
        b.values["init_overwrite"] = True


TRACK_FILE = Section("track_file", [
    Kw("file", Kind.STR, to="path", missing="ignore", syntax="PATH"),
    Kw("weight", Kind.INT, fn=weight_reverse(-I32, I32), to="weight", lo=-I32, hi=I32,
       syntax="then [reverse]", default="1"),
    Kw("init_file", Kind.WORDS, fn=_init_file, to="init_file", syntax="[VALUE] [overwrite]"),
], model=TrackFile, builder=Values, braces="all", aliases=("vrrp_track_file",))


# ---------------------------------------------------------------- vrrp_track_process


def track_process(p: Parser, n: Node) -> None:
    name = n.args[0] if n.args else ""
    b = Values()
    if not run_block(p, n, VRRP_TRACK_PROCESS, b):
        return
    if "process" not in b.values:
        p.at(n, f"No process specified for track_process {name} - ignoring", Severity.WARNING)
        return
    p.st.track_processes.append(TrackProcess(name=name, file=n.file, line=n.line, **b.values))


def _process(p: Parser, n: Node, b: Values) -> None:
    if n.args:
        b.values["process"] = n.args[0]
        b.values["params"] = tuple(n.args[1:])


def _param_match(p: Parser, n: Node, b: Values) -> None:
    if n.args and n.args[0] in ("initial", "partial"):
        b.values["param_match"] = n.args[0]
    else:
        p.rep(f"Invalid param_match '{' '.join(n.args)}'")


def _delay(p: Parser, n: Node, b: Values) -> None:
    d = p.timer_arg(n, 0.0, T_MAX)
    if d is not None:
        b.values["fork_delay"] = b.values["terminate_delay"] = d


VRRP_TRACK_PROCESS = Section("vrrp_track_process", [
    Kw("process", Kind.WORDS, fn=_process, to="process", syntax="NAME [PARAMETERS...]"),
    Kw("param_match", Kind.ENUM, fn=_param_match, to="param_match",
       choices=("initial", "partial"), default="exact"),
    Kw("weight", Kind.INT, fn=weight_reverse(-254, 254), to="weight", lo=-254, hi=254,
       syntax="then [reverse]", default="0"),
    Kw("quorum", Kind.INT, to="quorum", lo=0, hi=65535, default="1"),
    Kw("quorum_max", Kind.INT, to="quorum_max", lo=0, hi=65535),
    Kw("delay", Kind.TIMER, fn=_delay, lo=0.0, hi=T_MAX, to="fork_delay",
       syntax="sets fork_delay and terminate_delay"),
    Kw("terminate_delay", Kind.TIMER, to="terminate_delay", lo=0.0, hi=T_MAX, default="0"),
    Kw("fork_delay", Kind.TIMER, to="fork_delay", lo=0.0, hi=T_MAX, default="0"),
    Kw("full_command", Kind.FLAG, to="full_command"),
], model=TrackProcess, builder=Values, braces="all")


# ---------------------------------------------------------------- track_group


def track_group(p: Parser, n: Node) -> None:
    name = n.args[0] if n.args else ""
    b = Values({"instances": ()})
    if not run_block(p, n, TRACK_GROUP, b):
        return
    p.st.track_groups.append(TrackGroup(name, b.values["instances"], n.file, n.line))


def _group(p: Parser, n: Node, b: Values) -> None:
    b.values["instances"] += tuple(t for x in value_lines(n, p) for t in x.tokens)


TRACK_GROUP = Section("track_group", [
    Kw("group", Kind.LINES, fn=_group, to="instances", syntax="instance names"),
], model=TrackGroup, builder=Values, braces="none")


# ---------------------------------------------------------------- bfd_instance


def bfd_instance(p: Parser, n: Node) -> None:
    name = n.args[0] if n.args else ""
    b = BfdBuilder(name)
    if not run_block(p, n, BFD_INSTANCE, b):
        return
    if b.only:
        b.values["vrrp"] = "vrrp" in b.only
        b.values["checker"] = "checker" in b.only
    if "neighbor_ip" not in b.values:
        p.at(n, f"Configuration error: BFD instance {name} has no neighbor address set, "
             "disabling instance")
        return
    src, nbr = b.values.get("source_ip"), b.values["neighbor_ip"]
    if src is not None and ip_family(src) != ip_family(nbr):
        p.at(n, f"Configuration error: BFD instance {name} source address {src} and neighbor "
             f"address {nbr} are not of the same family, disabling instance")
        return
    if name in {x.name for x in p.st.bfds}:
        p.at(n, f"BFD instance {name} already defined - ignoring")
        return
    p.st.bfds.append(BfdInstance(name=name, file=n.file, line=n.line, **b.values))


def _bfd_address(field: str) -> Kw:
    def apply(p: Parser, n: Node, b: BfdBuilder) -> None:
        if n.args and ip_family(n.args[0]) is not None:
            b.values[field] = n.args[0]
        else:
            p.rep(f"Configuration error: BFD instance {b.name} has invalid {n.kw} "
                  f"'{' '.join(n.args)}'")
    return Kw(field, Kind.ADDRESS, fn=apply, to=field, status=NO_EFFECT, why=NO_BFD,
              synonyms=("neighbour_ip",) if field == "neighbor_ip" else ())


def _bfd_ms(lo: int, default: str) -> Kw:
    """min_rx / min_tx / idle_tx: milliseconds to the microsecond, lo .. 4294967 (keepalived's
    range: what fits in 32 bits of µs); above 10 s it is only noted."""
    def apply(p: Parser, n: Node, b: BfdBuilder) -> None:
        v = parse_float(n.args[0], lo, 4294967, silent, places=3) if n.args else None
        if v is None:
            p.rep(f"Configuration error: BFD instance {b.name} {n.kw} value "
                  f"{n.args[0] if n.args else ''} is not valid (must be in range "
                  f"[{lo}-4294967]), ignoring")
            return
        b.values[n.kw] = v
        if v > 10000:
            p.rep(f"Configuration warning: BFD instance {b.name} {n.kw} value {n.args[0]} is "
                  "larger than max sensible (10000)", Severity.INFO)
    return Kw("", Kind.TIMER, fn=apply, lo=lo, hi=4294967, syntax="ms (0.001 steps)",
              default=default, status=NO_EFFECT, why=NO_BFD)


def _only(p: Parser, n: Node, b: BfdBuilder) -> None:
    b.only.add(n.kw)


def _i(name: str, lo: int, hi: int, to: str = "", **kw: Any) -> Kw:
    return Kw(name, Kind.INT, to=to or name, lo=lo, hi=hi, status=NO_EFFECT, why=NO_BFD, **kw)


BFD_INSTANCE = Section("bfd_instance", [
    _bfd_address("neighbor_ip"),
    _bfd_address("source_ip"),
    replace(_bfd_ms(1, "10 (ms)"), name="min_rx", to="min_rx"),
    replace(_bfd_ms(1, "10 (ms)"), name="min_tx", to="min_tx"),
    replace(_bfd_ms(1000, "1000 (ms)"), name="idle_tx", to="idle_tx"),
    _i("multiplier", 1, 255, default="5"),
    Kw("passive", Kind.BOOL, to="passive", status=NO_EFFECT, why=NO_BFD),
    Kw("ttl", Kind.INT, to="ttl", lo=1, hi=255, synonyms=("hoplimit",), status=NO_EFFECT,
       why=NO_BFD, default="255 (IPv4) / 64 (IPv6)"),
    _i("max_hops", 0, 255, default="0"),
    Kw("multihop", Kind.BOOL, to="multihop", status=NO_EFFECT, why=NO_BFD),
    Kw("weight", Kind.INT, fn=weight_reverse(-253, 253), to="weight", lo=-253, hi=253,
       syntax="then [reverse]", default="0", status=PARTIAL,
       why="BFD is not supported: track_bfd applies this weight as if the instance were up"),
    Kw("vrrp", Kind.FLAG, fn=_only, to="vrrp", status=NO_EFFECT, why=NO_BFD,
       syntax="only the VRRP process tracks it"),
    Kw("checker", Kind.FLAG, fn=_only, to="checker", status=NO_EFFECT, why=NO_BFD,
       syntax="only the checker process tracks it"),
], model=BfdInstance, builder=BfdBuilder, braces="all", quiet=True)

SECTIONS = (VRRP_SCRIPT, TRACK_FILE, VRRP_TRACK_PROCESS, TRACK_GROUP, BFD_INSTANCE)
