"""Kernel shells for VRRP: raw advert sockets, addresses/routes/rules over netlink (pyroute2),
gratuitous ARP and unsolicited NA, link monitoring, VMAC macvlans and strict-mode nftables.
No protocol decisions are made here; see docs/net.md for the API and the kernel facts behind it.

``sockets`` (raw VRRP sockets), ``addresses`` (netlink addresses/routes/rules), ``arp`` (GARP/NA),
``links`` (interface facts, netlink monitor), ``vmac`` (macvlan VMACs), ``firewall`` (nftables
no_accept table), ``netns`` (enter a namespace to create sockets there; tests and the lab).
Imported by ``daemon``; never by the sans-IO cores.
"""
