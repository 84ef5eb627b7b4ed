"""Health checking: asyncio probes (TCP, HTTP/SSL, MISC, SMTP, DNS, UDP, PING, FILE) and the
sans-IO virtual-server pool logic that turns check results into the desired LVS table
(``check.table``). The pool logic does no I/O; the probes are the only I/O here.
"""
