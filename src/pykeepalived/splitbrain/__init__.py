"""Split-brain guards: pykeepalived extensions that keep two nodes from holding one VIP.

Each guard is a sans-IO core (events and ``now`` in, actions out; unit-tested on a virtual
clock) driven by a thin asyncio shell (ARP/ND probes and sniffing, etcd over its HTTP/JSON
gateway). A guard talks to the VRRP router only through the router's explicit inputs: claim
blocks (``vrrp.claim``), guard faults with a reason, and "yield the role". Nothing here runs
unless its keywords are configured (see docs/split-brain.md).

* ``refgate``  reference-address gate: a node that reaches none of its reference addresses
               (the gateway) stops claiming, and a master releases its VIPs (FAULT, with why).
* ``conflict`` conflict watch: another holder of our VIPs is noticed (ARP, adverts under
               another VRID, our VRID with another address list) and resolved by rank.
* ``paths``    redundant heartbeat paths: one instance's adverts on several interfaces or
               unicast paths; duplicates dropped, a silent path reported.
* ``lease``    lease arbiter (a "smart lock" in etcd): claiming needs the instance's key; a
               master that cannot renew in time releases its VIPs itself (when configured).
"""
