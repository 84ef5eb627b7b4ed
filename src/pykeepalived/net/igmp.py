"""``disable_local_igmp``: no IGMP reports for link-local groups (224.0.0.0/24, among them
VRRP's 224.0.0.18), through the network namespace's
``net.ipv4.igmp_link_local_mcast_reports`` sysctl, as keepalived does.

keepalived's VRRP process turns the sysctl off at start (not at a reload) when it was on, and
turns it back on when it stops; a switch doing IGMP snooping then never sees the routers join
the VRRP group. The words logged when the file cannot be used are keepalived's.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("pykeepalived.net.igmp")

LINK_LOCAL_REPORTS = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports"


def disable_link_local_reports(path: str = LINK_LOCAL_REPORTS) -> bool:
    """Turn the reports off; True when they were on (so ``restore`` turns them on again)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as e:
        log.info("Unable to open %s - errno %d", path, e.errno)
        return False
    try:
        try:
            was = os.read(fd, 1)
        except OSError as e:
            log.info("Unable to read %s - errno %d", path, e.errno)
            return False
        if was != b"1":
            return False
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, b"0")
        except OSError as e:
            log.info("Unable to write %s - errno %d", path, e.errno)
            return False
        return True
    finally:
        os.close(fd)


def restore_link_local_reports(path: str = LINK_LOCAL_REPORTS) -> None:
    """Turn the reports back on (after ``disable_link_local_reports`` returned True)."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as e:
        log.info("Unable to write %s - errno %d", path, e.errno)
        return
    try:
        os.write(fd, b"1")
    except OSError as e:
        log.info("Unable to write %s - errno %d", path, e.errno)
    finally:
        os.close(fd)
