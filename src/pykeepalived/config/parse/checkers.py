"""Health checkers (``TCP_CHECK`` ... ``BFD_CHECK``, with ``url`` and SMTP's ``host``) and the
top-level ``SSL`` block: one keyword table per checker, composed from the shared connection
and timing rows, and the checker's finishing (inheritance from the real and virtual server)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from pykeepalived.config.model import (
    BfdCheck,
    Checker,
    DnsCheck,
    FileCheck,
    HttpGet,
    MiscCheck,
    PingCheck,
    Severity,
    SmtpCheck,
    SslConfig,
    SslGet,
    TcpCheck,
    UdpCheck,
    UrlSpec,
    VirtualServer,
)
from pykeepalived.config.parse.builders import CheckerBuilder, RealServerBuilder, Values, build
from pykeepalived.config.parse.context import Parser
from pykeepalived.config.parse.table import (
    Kind,
    Kw,
    Section,
    Status,
    StopBlock,
    run,
    run_block,
    weight_reverse,
)
from pykeepalived.config.parse.tree import Node, flatten
from pykeepalived.config.values import ip_family, parse_int

ACTS, PARTIAL, NO_EFFECT = Status.ACTS, Status.PARTIAL, Status.NO_EFFECT
I32 = 2147483647
T_MAX = 4294.967295


# ---------------------------------------------------------------- shared rows


def _address(field: str, what: str) -> Kw:
    def apply(p: Parser, n: Node, b: CheckerBuilder) -> None:
        if n.args and ip_family(n.args[0]) is not None:
            b.values[field] = n.args[0]
        else:
            p.rep(f"Invalid {what} '{n.args[0] if n.args else ''}'")
    return Kw(field, Kind.ADDRESS, fn=apply, to=field)


CONNECTION = (
    _address("connect_ip", "connect_ip"),
    Kw("connect_port", Kind.INT, to="connect_port", lo=0, hi=65535,
       default="the real server's port"),
    _address("bindto", "bindto address"),
    Kw("bind_port", Kind.INT, to="bind_port", lo=0, hi=65535),
    Kw("bind_if", Kind.STR, to="bind_if", missing="ignore"),
    Kw("fwmark", Kind.INT, to="fwmark", lo=0, hi=4294967295),
    Kw("connect_timeout", Kind.TIMER, to="connect_timeout", lo=0.000001, hi=T_MAX,
       default="the real server's, else the virtual server's (5)"),
)
RETRY = Kw("retry", Kind.INT, to="retry", lo=0, hi=I32,
           default="the real / virtual server's, else 1 (DNS 3, MISC 0)")
# keepalived knows the deprecated nb_get_retry in HTTP_GET and SSL_GET only; elsewhere it is
# an unknown keyword and the retry count stays what it was
RETRY_HTTP = replace(RETRY, old=("nb_get_retry",))
TIMING = (
    RETRY,
    Kw("delay_before_retry", Kind.TIMER, to="delay_before_retry", lo=0.000001, hi=T_MAX,
       default="the real / virtual server's, else 1 (HTTP, SSL 3; DNS delay_loop)"),
    Kw("delay_loop", Kind.TIMER, to="delay_loop", lo=0.000001, hi=T_MAX,
       default="the real / virtual server's (60)"),
    Kw("warmup", Kind.TIMER, to="warmup", lo=0.0, hi=T_MAX,
       default="the real / virtual server's, else random up to delay_loop"),
    Kw("alpha", Kind.BOOL, to="alpha", default="the real / virtual server's"),
    Kw("log_all_failures", Kind.BOOL, to="log_all_failures",
       default="checker_log_all_failures"),
)


def _bool_or_off(p: Parser, n: Node, b: CheckerBuilder) -> None:
    """A boolean that an invalid word turns off."""
    b.values[n.kw] = bool(p.bool_arg(n))


# ---------------------------------------------------------------- HTTP_GET / SSL_GET, url


def _http_protocol(p: Parser, n: Node, b: CheckerBuilder) -> None:
    a = n.args
    if a and a[0] in ("1.0", "1.0C", "1.0c", "1.1"):
        b.values["http_protocol"] = a[0].upper()
    else:
        p.rep(f"Invalid http_protocol version {a[0] if a else ''}")


def _url(p: Parser, n: Node, b: CheckerBuilder) -> None:
    u = Values()
    if not run_block(p, n, URL, u):
        return
    if "path" not in u.values:
        p.at(n, "url has no path - ignoring")
        return
    if u.values.get("tls_compliant") and b.kind == "HTTP_GET":
        p.at(n, "tls_compliant is accepted but has no effect: HTTP_GET does not use TLS",
             Severity.INFO)
    b.urls.append(UrlSpec(**u.values))


def _digest(p: Parser, n: Node, u: Values) -> None:
    if not n.args:
        p.unknown(n)
        return
    d = n.args[0].lower()
    if len(d) != 32 or any(ch not in "0123456789abcdef" for ch in d):
        p.rep(f"digest '{n.args[0]}' character length should be 32 rather than {len(d)}")
    else:
        u.values["digest"] = d


def _status_code(p: Parser, n: Node, u: Values) -> None:
    ranges: list[tuple[int, int]] = []
    for tok in n.args:
        lo_s, _, hi_s = tok.partition("-")
        lo = parse_int(lo_s, 100, 599, p.rep)
        hi = parse_int(hi_s, 100, 599, p.rep) if hi_s else lo
        if lo is not None and hi is not None:
            ranges.append((lo, hi))
    if ranges:
        u.values["status_codes"] = tuple(ranges)


def _regex_options(p: Parser, n: Node, u: Values) -> None:
    u.values["regex_options"] = tuple(n.args)


URL_ROWS = (
    Kw("path", Kind.STR, to="path", missing="unknown"),
    Kw("digest", Kind.STR, fn=_digest, to="digest", syntax="32 hex digits"),
    Kw("status_code", Kind.WORDS, fn=_status_code, to="status_codes",
       syntax="CODE or FIRST-LAST (100..599), several", default="200-299"),
    Kw("virtualhost", Kind.STR, to="virtualhost", missing="unknown",
       default="the checker's"),
    Kw("regex", Kind.STR, to="regex", missing="unknown"),
    Kw("regex_no_match", Kind.FLAG, to="regex_no_match"),
    Kw("regex_options", Kind.WORDS, fn=_regex_options, to="regex_options"),
    Kw("regex_min_offset", Kind.INT, to="regex_min_offset", lo=0, hi=I32),
    Kw("regex_max_offset", Kind.INT, to="regex_max_offset", lo=0, hi=I32),
    Kw("regex_stack", Kind.IGNORE, status=NO_EFFECT,
       why="Python's regular expressions have no PCRE2 match stack to size"),
)
URL = Section("virtual_server/real_server/HTTP_GET/url", [
    *URL_ROWS,
    Kw("tls_compliant", Kind.BOOL, to="tls_compliant",
       syntax="send close_notify when closing the TLS connection (otherwise a quiet close)",
       ours="keepalived: SSL_GET's url only; under HTTP_GET a note says it has no effect"),
], model=UrlSpec, builder=Values, braces="all",
    aliases=("virtual_server/real_server/SSL_GET/url",))

HTTP_ROWS = (
    Kw("http_protocol", Kind.ENUM, fn=_http_protocol, to="http_protocol",
       choices=("1.0", "1.0C", "1.1"), default="1.0"),
    Kw("virtualhost", Kind.STR, to="virtualhost", missing="ignore",
       default="the real server's, else the virtual server's"),
    Kw("fast_recovery", Kind.BOOL, fn=_bool_or_off, to="fast_recovery"),
    Kw("url", Kind.BLOCK, fn=_url, to="urls"),
)
NO_TLS = "HTTP_GET does not use TLS"
TLS_ROWS = (
    Kw("sni_name", Kind.STR, to="sni_name", missing="ignore",
       ours="not a keepalived keyword: the TLS server name"),
    Kw("enable_sni", Kind.BOOL, fn=_bool_or_off, to="enable_sni"),
    Kw("tls_compliant", Kind.BOOL, fn=_bool_or_off, to="tls_compliant",
       syntax="send close_notify when closing the TLS connection (otherwise a quiet close)"),
)


# ---------------------------------------------------------------- the other checkers


def _misc_path(p: Parser, n: Node, b: CheckerBuilder) -> None:
    s = p.script_arg(n)
    if s is not None:
        b.values["script"] = replace(s, user=b.user, group=b.group) if b.user else s


def _misc_user(p: Parser, n: Node, b: CheckerBuilder) -> None:
    """The script's user and group, before or after misc_path (keepalived's order-free
    reading)."""
    u = p.user_arg(n)
    b.user, b.group = (u[0], u[1]) if u is not None else (None, None)
    s = b.values.get("script")
    if s is not None and b.user:
        b.values["script"] = replace(s, user=b.user, group=b.group)


def _smtp_host(p: Parser, n: Node, b: CheckerBuilder) -> None:
    """The legacy ``host`` sub-block: its connect_ip / connect_port apply to the checker;
    its other lines are ignored without a word (the line reported against is the host's)."""
    get = SMTP_HOST.dispatch.get
    for h in flatten(n.children or [], p):
        e = get(h.kw)
        if e is not None:
            e.apply(p, h, b)


def _host_connect_ip(p: Parser, n: Node, b: CheckerBuilder) -> None:
    if n.args:
        b.values["connect_ip"] = n.args[0]


def _host_connect_port(p: Parser, n: Node, b: CheckerBuilder) -> None:
    if n.args:
        b.values["connect_port"] = parse_int(n.args[0], 0, 65535, p.rep) or 0


HOST_IGNORED = "ignored inside host"
SMTP_HOST = Section("virtual_server/real_server/SMTP_CHECK/host", [
    Kw("connect_ip", Kind.ADDRESS, fn=_host_connect_ip, to="connect_ip"),
    Kw("connect_port", Kind.INT, fn=_host_connect_port, to="connect_port", lo=0, hi=65535),
    *(Kw(r.name, Kind.IGNORE, status=NO_EFFECT, why=HOST_IGNORED) for r in (*CONNECTION,
                                                                               *TIMING)
      if r.name not in ("connect_ip", "connect_port")),
], model=SmtpCheck, builder=CheckerBuilder, braces="none")


def _dns_type(p: Parser, n: Node, b: CheckerBuilder) -> None:
    t = (n.args[0] if n.args else "").upper()
    if t in DNS_TYPES:
        b.values["type"] = t
    else:
        p.rep(f"Unknown DNS check type '{n.args[0] if n.args else ''}'")


def _payload(p: Parser, n: Node, b: CheckerBuilder) -> None:
    try:
        b.values["payload"] = bytes.fromhex("".join(n.args))
    except ValueError:
        p.rep("Invalid UDP_CHECK payload")


def _require_reply(p: Parser, n: Node, b: CheckerBuilder) -> None:
    b.values["require_reply"] = "".join(n.args)


def _file_track_file(p: Parser, n: Node, b: CheckerBuilder) -> None:
    a = n.args
    if a and a[0] in p.st.track_file_names:
        b.values["track_file"] = a[0]
    elif a:
        p.rep(f"track_file {a[0]} not found")


def _bfd_name(p: Parser, n: Node, b: CheckerBuilder) -> None:
    """A BFD instance defined in the file; naming another drops the whole checker."""
    a = n.args
    if a and a[0] in p.st.bfd_names:
        b.values["name"] = a[0]
    elif a:
        r = b.rs.values
        p.rep(f"([{r['ip']}]:{b.vs.protocol.lower()}:{r.get('port', 0)}) BFD_CHECK - BFD "
              f"{a[0]} not configured")
        raise StopBlock


DNS_TYPES = ("A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA")
NO_BFD = "BFD is not supported: no BFD session runs"


def _checker(kind: str, model: type, rows: tuple[Kw, ...], *, connection: bool = True,
             timing: bool = True, quiet: bool = False) -> Section:
    """A checker's table: the connection rows (not for MISC, FILE, BFD), the timing rows
    (not for FILE, BFD; HTTP_GET's and SSL_GET's retry also read as nb_get_retry), then its
    own."""
    times = TIMING if kind not in ("HTTP_GET", "SSL_GET") else (RETRY_HTTP, *TIMING[1:])
    return Section(f"virtual_server/real_server/{kind}",
                   [*(CONNECTION if connection else ()), *(times if timing else ()), *rows],
                   model=model, builder=CheckerBuilder, braces="all", quiet=quiet)


TCP_CHECK = _checker("TCP_CHECK", TcpCheck, ())
HTTP_GET = _checker("HTTP_GET", HttpGet, (
    *HTTP_ROWS,
    *(replace(r, status=NO_EFFECT, why=NO_TLS, ours=r.ours or (
        "keepalived: SSL_GET only" if r.name == "tls_compliant" else "")) for r in TLS_ROWS),
))
SSL_GET = _checker("SSL_GET", SslGet, (*HTTP_ROWS, *TLS_ROWS))
MISC_CHECK = _checker("MISC_CHECK", MiscCheck, (
    Kw("misc_path", Kind.SCRIPT, fn=_misc_path, to="script",
       syntax='"command args" (its own user is replaced by a user line before it)'),
    Kw("misc_timeout", Kind.TIMER, to="misc_timeout", lo=0.000001, hi=T_MAX,
       default="delay_loop"),
    Kw("misc_dynamic", Kind.FLAG, to="misc_dynamic"),
    Kw("user", Kind.WORDS, fn=_misc_user, to="user", syntax="USER [[:]GROUP]"),
), connection=False)
SMTP_CHECK = _checker("SMTP_CHECK", SmtpCheck, (
    Kw("helo_name", Kind.STR, to="helo_name", missing="ignore",
       default="smtpchecker.keepalived.org"),
    Kw("host", Kind.BLOCK, fn=_smtp_host, status=PARTIAL,
       why="only its connect_ip and connect_port are used; it does not add a host"),
))
DNS_CHECK = _checker("DNS_CHECK", DnsCheck, (
    Kw("type", Kind.ENUM, fn=_dns_type, to="type", choices=DNS_TYPES, default="SOA"),
    Kw("name", Kind.STR, to="name", missing="ignore", default="."),
))
UDP_CHECK = _checker("UDP_CHECK", UdpCheck, (
    Kw("payload", Kind.WORDS, fn=_payload, to="payload", syntax="hex digits"),
    Kw("require_reply", Kind.WORDS, fn=_require_reply, to="require_reply",
       syntax="hex digits, X = any"),
    Kw("min_reply_length", Kind.INT, to="min_reply_length", lo=0, hi=65535, default="0"),
    Kw("max_reply_length", Kind.INT, to="max_reply_length", lo=0, hi=65535, default="255"),
))
PING_CHECK = _checker("PING_CHECK", PingCheck, ())
FILE_CHECK = _checker("FILE_CHECK", FileCheck, (
    Kw("track_file", Kind.STR, fn=_file_track_file, to="track_file", syntax="track_file NAME"),
    Kw("weight", Kind.INT, fn=weight_reverse(-I32, I32), to="weight", lo=-I32, hi=I32,
       syntax="then [reverse]", default="the track_file's"),
), connection=False, timing=False)
BFD_CHECK = _checker("BFD_CHECK", BfdCheck, (
    Kw("name", Kind.STR, fn=_bfd_name, to="name", syntax="bfd_instance NAME", status=NO_EFFECT,
       why=NO_BFD),
    Kw("alpha", Kind.BOOL, fn=_bool_or_off, to="alpha", status=NO_EFFECT, why=NO_BFD),
), connection=False, timing=False, quiet=True)

CHECKERS: dict[str, Section] = {
    "TCP_CHECK": TCP_CHECK, "HTTP_GET": HTTP_GET, "SSL_GET": SSL_GET, "MISC_CHECK": MISC_CHECK,
    "SMTP_CHECK": SMTP_CHECK, "DNS_CHECK": DNS_CHECK, "UDP_CHECK": UDP_CHECK,
    "PING_CHECK": PING_CHECK, "FILE_CHECK": FILE_CHECK,
    "BFD_CHECK": BFD_CHECK,
}
_MODELS = {k: cast(type[Checker], sec.model) for k, sec in CHECKERS.items()}
# real_server's checker keywords
CHECKER_ROWS = (
    *(Kw(k, Kind.BLOCK, to="checkers") for k in (
        "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK",
        "UDP_CHECK")),
    Kw("PING_CHECK", Kind.BLOCK, to="checkers"),
    Kw("FILE_CHECK", Kind.BLOCK, to="checkers"),
    Kw("BFD_CHECK", Kind.BLOCK, to="checkers", status=PARTIAL,
       why="BFD is not supported: the checker always passes"),
)


# ---------------------------------------------------------------- building a checker


def checker(p: Parser, n: Node, r: RealServerBuilder, vs: VirtualServer) -> Checker | None:
    """A checker block of real server ``r``: checker value, else real server's, else
    virtual server's, else the checker's default."""
    kind = n.kw
    sec = CHECKERS[kind]
    b = CheckerBuilder(_inherited(p, kind, r, vs), r, vs, kind=kind)
    v = b.values
    v["connect_ip"] = r.values["ip"]
    v["connect_port"] = r.values.get("port", 0)
    v["line"] = n.line
    if n.children is not None:
        body = p.need_block(n)
        if body and not run(p, sec, body, b):
            return None
    if kind in ("HTTP_GET", "SSL_GET"):
        if v.get("virtualhost") is None:
            v["virtualhost"] = r.values.get("virtualhost") or vs.virtualhost
        v["urls"] = tuple(b.urls)
        if not b.urls:
            p.at(n, "HTTP/SSL_GET checker has no urls specified - ignoring")
    elif kind == "MISC_CHECK" and "script" not in v:
        p.at(n, "MISC_CHECK has no misc_path specified - ignoring")
        return None
    elif kind == "UDP_CHECK":
        lo, hi = v.get("min_reply_length", 0), v.get("max_reply_length", 255)
        if lo > hi:
            # keepalived keeps the checker and says why it can never succeed
            p.at(n, f"UDP_CHECK min_reply length {lo} > max_reply_length {hi} - will "
                 "always fail")
    elif kind == "FILE_CHECK" and not v.get("track_file"):
        p.at(n, "FILE_CHECK has no track_file specified - ignoring")
        return None
    try:
        return build(_MODELS[kind], v)
    except TypeError as e:
        p.at(n, f"Invalid {kind} configuration: {e}")
        return None


_DEFAULT_RETRY = {"DNS_CHECK": 3, "MISC_CHECK": 0}
_DEFAULT_DBR = {"HTTP_GET": 3.0, "SSL_GET": 3.0}


def _inherited(p: Parser, kind: str, r: RealServerBuilder, vs: VirtualServer
               ) -> dict[str, Any]:
    """A checker's inherited timing values (a fresh dict). Those of a real server that sets
    none of them are the virtual server's, worked out once per kind of checker."""
    own = r.sets_timing()
    if not own:
        hit = p.checker_memo.get(kind)
        if hit is not None and hit[0] is vs:
            return dict(hit[1])
    delay_loop = r.delay_loop if r.delay_loop is not None else vs.delay_loop
    dbr = (r.delay_before_retry if r.delay_before_retry is not None else
           vs.delay_before_retry if vs.delay_before_retry is not None else
           delay_loop if kind == "DNS_CHECK" else _DEFAULT_DBR.get(kind, 1.0))
    d: dict[str, Any] = {
        "connect_timeout": (r.connect_timeout if r.connect_timeout is not None
                            else vs.connect_timeout),
        "retry": (r.retry if r.retry is not None else
                  vs.retry if vs.retry is not None else _DEFAULT_RETRY.get(kind, 1)),
        "delay_before_retry": dbr,
        "delay_loop": delay_loop,
        "warmup": r.warmup if r.warmup is not None else vs.warmup,
        "alpha": r.values.get("alpha", vs.alpha),
        "log_all_failures": bool(p.st.glob.values.get("checker_log_all_failures", False)),
    }
    if not own:
        p.checker_memo[kind] = (vs, d)
        return dict(d)
    return d


# ---------------------------------------------------------------- SSL


def ssl_block(p: Parser, n: Node) -> None:
    b = Values()
    if not run_block(p, n, SSL, b):
        return
    p.st.ssl = SslConfig(**b.values)


SSL = Section("SSL", [
    Kw("password", Kind.STR, to="password", missing="unknown"),
    Kw("ca", Kind.STR, to="ca", missing="unknown"),
    Kw("certificate", Kind.STR, to="certificate", missing="unknown"),
    Kw("key", Kind.STR, to="key", missing="unknown"),
], model=SslConfig, builder=Values, braces="none")

SECTIONS = (TCP_CHECK, HTTP_GET, SSL_GET, URL, MISC_CHECK, SMTP_CHECK, SMTP_HOST, DNS_CHECK,
            UDP_CHECK, PING_CHECK, FILE_CHECK, BFD_CHECK, SSL)
