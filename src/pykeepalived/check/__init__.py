"""Health checking: asyncio probes (TCP, HTTP/SSL, MISC, SMTP, DNS, UDP, PING, FILE) and the
sans-IO virtual-server pool logic that turns check results into the desired LVS table.

* ``virtual_server``: ``Pool``, the pool logic (no I/O, no clock: callers pass ``now``). Pure.
* ``probes`` (+ ``tcp``, ``http``, ``misc``, ``smtp``, ``dns``, ``udp``, ``ping``, ``file``,
  ``connect``): the only I/O here, driven by ``daemon.check_process``.
* ``genhash``: ``pykeepalived -T``.

The pure modules import only ``config`` and ``lvs.table`` (the desired-table contract); nothing
here imports the rest of ``lvs``, ``daemon`` or ``net``. ``probes``/``misc`` use ``script`` for
MISC_CHECK's run-as and script security. Imported by ``daemon`` and ``cli``.
"""
