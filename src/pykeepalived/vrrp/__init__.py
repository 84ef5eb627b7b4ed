"""VRRP v2/v3 protocol core, sans-IO: packet codec, authentication, the router state machine,
sync groups and priority tracking. No sockets, no asyncio, no clock: callers pass ``now``.
Imports only ``config`` (for types); never ``net``, ``daemon``, ``notify`` or ``lvs``.
"""
