"""Kernel shells for VRRP: raw advert sockets, addresses/routes/rules over netlink (pyroute2),
gratuitous ARP and unsolicited NA, link monitoring, VMAC macvlans and strict-mode nftables.
No protocol decisions are made here.
"""
