"""LVS data planes: make the kernel hold the desired table, as a diff.

* ``table``: the desired-table contract (``LvsTable``, ``diff``, ``apply_ops``), pure; the
  pool logic in ``check.virtual_server`` produces it.
* ``backend``: the ``Backend`` protocol, ``LvsSettings``, errors and statistics; the interface
  only, importing no implementation.
* ``dataplane``: ``select_backend`` for ``lvs_dataplane ipvs|nftables|auto``.
* ``ipvs`` (IPVS over generic netlink, via the standard-library client in ``genl``), ``nft``
  (the same table as nftables DNAT, or stateless DR, for kernels without IPVS) and ``syncd``
  (the IPVS sync daemon following VRRP).

Imports ``config`` only. ``table`` may be imported by the pure ``check`` modules; the rest by
the daemon processes (``daemon``), never by the sans-IO cores. See docs/lvs.md.
"""
