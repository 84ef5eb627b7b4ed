"""The host questions a config check asks (interfaces, users, scripts, host names).

keepalived's ``-t`` answers them against the running system; the parser asks through this
protocol so unit tests can pass a ``FakeEnvironment`` and stay pure.
"""

from __future__ import annotations

import fcntl
import grp
import ipaddress
import os
import pwd
import socket
import struct
from dataclasses import dataclass, field
from typing import Protocol

from pykeepalived.config.rttables import DEFAULT_TABLES, table_number

SIOCGIFFLAGS = 0x8913
IFF_LOOPBACK = 0x8
IFF_MULTICAST = 0x1000


class Environment(Protocol):
    def interface_exists(self, name: str) -> bool: ...
    def interface_flags(self, name: str) -> int: ...
    def routing_table(self, name: str, etc_dir: str | None, usr_dir: str | None
                      ) -> int | None: ...
    def user_uid(self, name: str) -> int | None: ...
    def group_exists(self, name: str) -> bool: ...
    def find_script(self, path: str) -> str | None: ...
    def resolvable(self, host: str) -> bool: ...


class SystemEnvironment:
    """Answers from the running system (the current network namespace)."""

    def interface_exists(self, name: str) -> bool:
        try:
            socket.if_nametoindex(name)
        except (OSError, ValueError):
            return False
        return True

    def interface_flags(self, name: str) -> int:
        """``IFF_*`` of an interface of this network namespace (whatever /sys shows); 0 for
        none."""
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                req = struct.pack("16sH14x", name.encode()[:15], 0)
                return int(struct.unpack_from("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1])
        except (OSError, ValueError):
            return 0

    def routing_table(self, name: str, etc_dir: str | None, usr_dir: str | None
                      ) -> int | None:
        return table_number(name, etc_dir, usr_dir)

    def user_uid(self, name: str) -> int | None:
        try:
            return pwd.getpwnam(name).pw_uid
        except (KeyError, ValueError):
            if name.isdigit():
                return int(name)
            return None

    def group_exists(self, name: str) -> bool:
        try:
            grp.getgrnam(name)
        except (KeyError, ValueError):
            return name.isdigit()
        return True

    def find_script(self, path: str) -> str | None:
        """Resolve like execvp: a name without '/' is searched in PATH; must be executable."""
        if not path:
            return None
        if "/" in path:
            return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
        for d in os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"):
            cand = os.path.join(d or ".", path)
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                return cand
        return None

    def resolvable(self, host: str) -> bool:
        try:
            ipaddress.ip_address(host)
            return True
        except ValueError:
            pass
        try:
            socket.getaddrinfo(host, None)
        except (OSError, UnicodeError):
            return False
        return True


@dataclass
class FakeEnvironment:
    """A host described by data (unit tests)."""

    interfaces: set[str] = field(default_factory=lambda: {"lo", "eth0", "eth1"})
    users: dict[str, int] = field(default_factory=lambda: {"root": 0, "nobody": 65534})
    groups: set[str] = field(default_factory=lambda: {"root", "nogroup"})
    scripts: set[str] = field(default_factory=lambda: {"/bin/true", "/bin/false"})
    hosts: set[str] = field(default_factory=lambda: {"localhost"})
    tables: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_TABLES))

    def interface_exists(self, name: str) -> bool:
        return name in self.interfaces

    def interface_flags(self, name: str) -> int:
        if name not in self.interfaces:
            return 0
        return IFF_LOOPBACK if name == "lo" else IFF_MULTICAST

    def routing_table(self, name: str, etc_dir: str | None, usr_dir: str | None
                      ) -> int | None:
        return int(name) if name.isdigit() else self.tables.get(name)

    def user_uid(self, name: str) -> int | None:
        return self.users.get(name)

    def group_exists(self, name: str) -> bool:
        return name in self.groups

    def find_script(self, path: str) -> str | None:
        if path in self.scripts:
            return path
        return next((s for s in self.scripts if s.rsplit("/", 1)[-1] == path), None)

    def resolvable(self, host: str) -> bool:
        try:
            ipaddress.ip_address(host)
            return True
        except ValueError:
            return host in self.hosts
