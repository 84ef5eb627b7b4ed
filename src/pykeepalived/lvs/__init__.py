"""LVS data planes: apply the desired table from ``check.table`` to the kernel as a diff.
``ipvs`` speaks IPVS generic netlink; ``nft`` realises the same table with nftables DNAT maps.
"""
