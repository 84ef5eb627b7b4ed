"""Health checking: asyncio probes (TCP, HTTP/SSL, MISC, SMTP, DNS, UDP, PING, FILE) and the
sans-IO virtual-server pool logic that turns check results into the desired LVS table.

* ``table``: the desired-table contract shared with ``lvs/`` (``LvsTable``, ``diff``). Pure.
* ``virtual_server``: ``Pool``, the pool logic (no I/O, no clock: callers pass ``now``). Pure.
* ``probes`` (+ ``tcp``, ``http``, ``misc``, ``smtp``, ``dns``, ``udp``, ``ping``, ``file``,
  ``connect``): the only I/O here, driven by ``daemon.check_process``.
* ``genhash``: ``pykeepalived -T``.

The pure modules import only ``config`` and each other; nothing here imports ``lvs``/``daemon``/
``net``. ``probes``/``misc`` use ``track.security`` and ``notify.runner.RunAs`` for script
run-as rules.
"""
