"""LVS data planes: make the kernel hold the desired table from ``check.table``, as a diff.

``backend`` (the ``Backend`` protocol, settings, ``select_backend`` for ``lvs_dataplane``),
``ipvs`` (IPVS over generic netlink, via the standard-library client in ``genl``) and ``nft``
(the same table as nftables DNAT, or stateless DR, for kernels without IPVS). Imported by the
checker process (``daemon``); never by the sans-IO cores. See docs/lvs.md.
"""
