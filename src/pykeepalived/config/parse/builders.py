"""What a block accumulates while its lines are read, before its finisher turns it into the frozen
model.

Every builder has ``values``: the value of each keyword given, keyed by the name of the model
field it fills (``priority`` -> ``VrrpInstance.priority``), exactly as the line said it (the
finisher applies defaults, inheritance and cross-field rules). What is not a model field (state
one keyword leaves for another, or for the finisher) is a typed attribute of the builder.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

from pykeepalived.config.model import HmacKey, UrlSpec, VirtualServer
from pykeepalived.config.parse.tree import Node

_T = TypeVar("_T")


@dataclass(slots=True)
class Values:
    """A block whose keywords only fill model fields (vrrp_script, track_file, url, ...)."""

    values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TopBuilder:
    """Top-level keywords (``net_namespace``, ``instance``, ...): ``KeepalivedConfig`` fields."""

    values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class GlobalBuilder:
    """``global_defs``: ``GlobalDefs`` fields."""

    values: dict[str, Any] = field(default_factory=dict)
    # keywords kept as given (GlobalDefs.other): nothing reads them yet
    other: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    # every keyword given, valid or not (keepalived falls back to eth0 only when
    # default_interface was never given)
    seen: set[str] = field(default_factory=set)


@dataclass(slots=True)
class InstanceBuilder:
    """``vrrp_instance``: ``VrrpInstance`` fields, with ``advert_int`` as configured (the
    finisher rounds it once the version is known)."""

    name: str
    file: str
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    # the last line of each keyword: finishing messages point at it
    nodes: dict[str, Node] = field(default_factory=dict)
    # a unicast-only keyword was given (keepalived warns when no peer follows)
    unicast_keyword: bool = False
    # the address family fixed by the first VIP, source address or peer
    family: int | None = None
    # accept / no_accept was given (strict mode reports an explicit accept)
    accept_given: bool = False
    # the split-brain guard keywords' values (config.splitbrain), SplitBrainGuards fields
    split_brain: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class BfdBuilder:
    """``bfd_instance``: ``BfdInstance`` fields; ``only`` holds ``vrrp`` / ``checker`` when
    the instance is restricted to those processes."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    only: set[str] = field(default_factory=set)


@dataclass(slots=True)
class GarpGroupBuilder:
    """``garp_group``: ``GarpGroup`` fields and the interfaces in order, each with the line
    that named it."""

    values: dict[str, Any] = field(default_factory=dict)
    interfaces: list[tuple[str, Node]] = field(default_factory=list)


@dataclass(slots=True)
class HmacBuilder:
    """``auth_hmac``: ``AuthHmac`` fields and the keys in order."""

    values: dict[str, Any] = field(default_factory=dict)
    keys: list[HmacKey] = field(default_factory=list)


@dataclass(slots=True)
class RealServerBuilder:
    """``real_server``: ``RealServer`` fields; the timing values its checkers inherit (not
    RealServer fields), and the checker blocks, built once the virtual server is complete."""

    values: dict[str, Any]
    port_set: bool = False
    checkers: list[Node] = field(default_factory=list)
    vs_has_dr: bool = False
    delay_loop: float | None = None
    connect_timeout: float | None = None
    delay_before_retry: float | None = None
    warmup: float | None = None
    retry: int | None = None

    def sets_timing(self) -> bool:
        """Whether any value its checkers inherit is its own (else the virtual server's)."""
        return (self.delay_loop is not None or self.connect_timeout is not None
                or self.delay_before_retry is not None or self.warmup is not None
                or self.retry is not None or "alpha" in self.values)


@dataclass(slots=True)
class VirtualServerBuilder:
    """``virtual_server``: ``VirtualServer`` fields and what the finisher combines."""

    values: dict[str, Any]
    # sorry_server: address, port (0 = the virtual server's), its line
    sorry: tuple[str, int, Node] | None = None
    sorry_method: str | None = None
    sorry_inhibit: bool = False
    ip_family: int | None = None
    real_servers: list[tuple[Node, RealServerBuilder]] = field(default_factory=list)


@dataclass(slots=True)
class CheckerBuilder:
    """A checker block: the checker's fields, starting from what it inherits, and the real
    and virtual server it belongs to."""

    values: dict[str, Any]
    rs: RealServerBuilder
    vs: VirtualServer
    urls: list[UrlSpec] = field(default_factory=list)
    kind: str = ""  # TCP_CHECK, HTTP_GET, ...
    # MISC_CHECK ``user``: applies to a misc_path given after it
    user: str | None = None
    group: str | None = None


# ---------------------------------------------------------------- the frozen model, fast


_FieldInfo = tuple[frozenset[str], frozenset[str], dict[str, Any] | None]
_FIELD_INFO: dict[type[Any], _FieldInfo] = {}


def _field_info(cls: type[Any]) -> _FieldInfo:
    """A frozen dataclass's field names, required names and, when no field has a
    default_factory and there is no __post_init__, the defaults (else None: use __init__)."""
    info = _FIELD_INFO.get(cls)
    if info is not None:
        return info
    names = frozenset(f.name for f in fields(cls))
    required = frozenset(f.name for f in fields(cls)
                         if f.default is MISSING and f.default_factory is MISSING)
    defaults: dict[str, Any] | None = {}
    if hasattr(cls, "__post_init__"):
        defaults = None
    for f in fields(cls):
        if defaults is None or f.default_factory is not MISSING:
            defaults = None
            break
        if f.default is not MISSING:
            if getattr(cls, f.name, MISSING) is not f.default:  # (build relies on it)
                defaults = None
                break
            defaults[f.name] = f.default
    info = _FIELD_INFO[cls] = (names, required, defaults)
    return info


def build(cls: type[_T], vals: dict[str, Any]) -> _T:
    """``cls(**vals)`` for the frozen dataclasses made once per real server / checker: a
    frozen __init__ sets each field through object.__setattr__, a real cost in big configs.
    Only the given fields go into the instance: a dataclass keeps each plain default as a
    class attribute, which reads of an unset field find (40 000 real servers with their
    checkers are 30 MiB smaller so). Anything unusual (an unknown or missing name, a
    default_factory, a __post_init__) goes through the real __init__."""
    names, required, defaults = _field_info(cls)
    if defaults is None or not names.issuperset(vals) or not vals.keys() >= required:
        return cls(**vals)
    obj = object.__new__(cls)
    obj.__dict__.update(vals)
    return obj
