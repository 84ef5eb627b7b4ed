"""Observability: live status and Prometheus metrics served from what the daemon knows.

Each child keeps cheap in-process meters (``meters``: histograms, the loop stall meter, advert
receive timing) and answers ``status`` requests on a root-only unix socket (``control``) with
one JSON document built in a single loop iteration (``vrrp_view``, ``lvs_view``), so data and
counters always come from the same instant. The ``observe`` child (``server``), started only
when metrics are configured, asks both children, caches the answer briefly and serves
``/metrics`` (``metrics``, Prometheus text through ``prometheus_client``) and ``/status`` over
HTTP; ``pykeepalived status`` (``cli``) asks the children's sockets directly, so it works with
the HTTP listener off. Adverts never wait on a scrape: the VRRP loop only ever serves the one
observe process, at most once per cache period, and a bounded number of local clients.
"""
