"""pykeepalived: a keepalived-compatible VRRP, health-check and LVS daemon.

Sans-IO protocol cores live in ``config``, ``vrrp`` and ``check``; thin asyncio shells that
touch the kernel live in ``net``, ``lvs``, ``track``, ``notify`` and ``daemon``. Cores never
import shells.
"""

__version__ = "0.1.0"
KEEPALIVED_COMPAT_VERSION = "2.2.7"
