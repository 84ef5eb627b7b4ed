"""Choosing the data plane: the ``global_defs`` keyword ``lvs_dataplane ipvs|nftables|auto``.

``auto`` takes IPVS when the kernel has it, else nftables with one warning line; an explicit
choice that cannot work is an error the caller reports. The implementations (``lvs.ipvs``,
``lvs.nft``) are imported only once chosen, so the unchosen one costs nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from pykeepalived.lvs.backend import Backend, LvsSettings

log = logging.getLogger("pykeepalived.lvs")


class DataplaneUnavailable(RuntimeError):
    """The requested data plane cannot run on this host (no IPVS in the kernel, no nft)."""


def ipvs_available(try_modprobe: bool = True) -> bool:
    """True when the kernel has IPVS (loading ``ip_vs`` if it is a module not yet loaded).

    ``/proc/net/ip_vs`` follows the caller's network namespace and exists as soon as the module
    is loaded; a kernel without ``CONFIG_IP_VS`` never has it.
    """
    proc = Path("/proc/net/ip_vs")
    if proc.exists():
        return True
    if try_modprobe and shutil.which("modprobe"):
        subprocess.run(["modprobe", "-q", "ip_vs"], capture_output=True, check=False)
    return proc.exists()


def nft_available() -> bool:
    return shutil.which("nft") is not None and os.geteuid() == 0


def _dataplane_name(choice: Any) -> str:
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        return choice.strip().lower()
    value = getattr(choice, "value", None)  # config.model.LvsDataplane
    if isinstance(value, str):
        return value.lower()
    dp = getattr(choice, "lvs_dataplane", None)  # config.model.GlobalDefs
    if dp is not None:
        return _dataplane_name(dp)
    raise TypeError(f"cannot read an lvs_dataplane choice from {choice!r}")


def select_backend(global_defs: Any = None, *, settings: LvsSettings | None = None,
                   netns: str | None = None, nft_table: str = "pykeepalived") -> Backend:
    """The backend for ``lvs_dataplane`` (``"ipvs"``, ``"nftables"``, ``"auto"``, an
    ``LvsDataplane``, or a ``GlobalDefs`` carrying one; None = auto).

    ``auto`` = IPVS when the kernel has it, else nftables with one warning line. An explicit
    choice that cannot work raises ``DataplaneUnavailable`` (the caller logs it and decides).
    ``settings`` default to the ones of ``global_defs`` when it is a ``GlobalDefs``. ``netns``
    runs the data plane in that named network namespace (tests, labs).
    """
    choice = _dataplane_name(global_defs)
    if settings is None:
        settings = (LvsSettings.from_global_defs(global_defs)
                    if hasattr(global_defs, "lvs_flush") else LvsSettings())
    if choice not in ("ipvs", "nftables", "nft", "auto"):
        raise ValueError(f"lvs_dataplane must be ipvs, nftables or auto, not {choice!r}")
    have_ipvs = _ipvs_in(netns)
    if choice == "ipvs" or (choice == "auto" and have_ipvs):
        if not have_ipvs:
            raise DataplaneUnavailable(
                "lvs_dataplane ipvs: the kernel has no IPVS (no /proc/net/ip_vs, modprobe "
                "ip_vs failed)")
        from pykeepalived.lvs.ipvs import IpvsBackend

        return IpvsBackend(settings=settings, netns=netns)
    if not nft_available():
        raise DataplaneUnavailable("the nftables data plane needs root and the nft command")
    if choice == "auto":
        log.warning("IPVS is not available in this kernel: virtual servers use the nftables "
                    "data plane (DNAT; no lc/wlc/TUN, stateless DR; see docs/lvs.md)")
    from pykeepalived.lvs.nft import NftBackend

    return NftBackend(settings=settings, netns=netns, table=nft_table)


def _ipvs_in(netns: str | None) -> bool:
    if netns is None:
        return ipvs_available()
    if shutil.which("modprobe"):
        subprocess.run(["modprobe", "-q", "ip_vs"], capture_output=True, check=False)
    p = subprocess.run(["ip", "netns", "exec", netns, "test", "-e", "/proc/net/ip_vs"],
                       capture_output=True, check=False)
    return p.returncode == 0
