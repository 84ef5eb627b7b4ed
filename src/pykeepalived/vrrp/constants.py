"""VRRP's numbers on the wire, defined once for the codec, the sockets and the config defaults.

A module without imports: the config model (for its ``vrrp_mcast_group4/6`` defaults) and the
socket shell read these without pulling in the codec.
"""

from __future__ import annotations

from typing import Final

PROTO_VRRP: Final = 112  # IP protocol number of VRRP (RFC 3768/5798)
PROTO_AH: Final = 51  # IPsec-AH, keepalived's ``auth_type AH``
MCAST_GROUP4: Final = "224.0.0.18"  # the IPv4 VRRP multicast group
MCAST_GROUP6: Final = "ff02::12"  # the IPv6 VRRP multicast group
VRRP_TTL: Final = 255  # sent with TTL/hop limit 255, checked on receive (multicast)
TOS_NETWORK_CONTROL: Final = 0xC0  # keepalived sets IP precedence "internetwork control"
