"""Which children a configuration needs, and where the metrics child listens.

Both the supervisor (``daemon.main``: what to start) and the metrics child
(``daemon.observe_process``: which status sockets to ask) read this, so it lives apart from
either of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pykeepalived.config.model import GlobalDefs, KeepalivedConfig
    from pykeepalived.options import Options


def child_kinds(opts: Options, cfg: KeepalivedConfig) -> list[str]:
    """The children that do the work for ``cfg``: VRRP when there are instances or static
    addresses/routes/rules, the checker when there are virtual servers (``--all``, ``-P`` and
    ``-C`` as keepalived). The ``observe`` child is added by the caller when metrics are on."""
    kinds: list[str] = []
    if not opts.check_only and (opts.all_subsystems or cfg.vrrp_instances
                                or cfg.static_addresses or cfg.static_routes
                                or cfg.static_rules):
        kinds.append("vrrp")
    if not opts.vrrp_only and (opts.all_subsystems or cfg.virtual_servers):
        kinds.append("checker")
    return kinds


def metrics_listen(opts: Options, gd: GlobalDefs) -> str | None:
    """The HTTP listen address: ``--metrics-listen``, else ``pykeepalived_metrics_listen``."""
    return opts.metrics_listen or gd.metrics_listen
