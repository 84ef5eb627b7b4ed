"""The guest harness's pure parts: the newc cpio writer, .modinfo parsing, module ordering."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

from pykeepalived.lab import ipvs_vm


def read_newc(data: bytes) -> list[tuple[str, int, bytes]]:
    """An independent newc reader: (name, mode, data) per entry, trailer excluded."""
    out, off = [], 0
    while True:
        assert data[off:off + 6] == b"070701"
        f = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = f[1], f[6], f[11]
        name_end = off + 110 + namesize
        name = data[off + 110: name_end - 1].decode()
        off = (name_end + 3) & ~3
        body = data[off: off + size]
        off = (off + size + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out.append((name, mode, body))


def test_cpio_entries_round_trip() -> None:
    c = ipvs_vm.CpioWriter()
    c.dir("bin")
    c.file("bin/busybox", b"\x7fELF" + b"x" * 5, 0o755)
    c.symlink("bin/sh", "busybox")
    c.chardev("dev/console", 5, 1)
    entries = read_newc(c.finish())
    assert [(n, m) for n, m, _ in entries] == [
        ("bin", 0o040755), ("bin/busybox", 0o100755), ("bin/sh", 0o120777),
        ("dev/console", 0o020600)]
    assert entries[1][2] == b"\x7fELFxxxxx" and entries[2][2] == b"busybox"


def fake_module(name: str, depends: str) -> bytes:
    """A minimal ELF64 LE file with .shstrtab and .modinfo sections."""
    modinfo = f"license=GPL\0depends={depends}\0name={name}\0".encode()
    shstr = b"\0.shstrtab\0.modinfo\0"
    body_off = 64
    shstr_off = body_off
    modinfo_off = shstr_off + len(shstr)
    shoff = (modinfo_off + len(modinfo) + 7) & ~7
    header = bytearray(64)
    header[:5] = b"\x7fELF\x02"
    struct.pack_into("<Q", header, 0x28, shoff)
    struct.pack_into("<HHH", header, 0x3A, 64, 3, 1)

    def sh(name_off: int, off: int, size: int) -> bytes:
        s = bytearray(64)
        struct.pack_into("<I", s, 0, name_off)
        struct.pack_into("<QQ", s, 24, off, size)
        return bytes(s)

    data = bytes(header) + shstr + modinfo
    data += b"\0" * (shoff - len(data))
    return data + sh(0, 0, 0) + sh(1, shstr_off, len(shstr)) + sh(11, modinfo_off, len(modinfo))


def test_modinfo_and_dependency_order(tmp_path: Path) -> None:
    k = tmp_path / "kernel" / "net"
    k.mkdir(parents=True)
    (k / "ip_vs.ko").write_bytes(fake_module("ip_vs", "nf_conntrack,libcrc32c"))
    (k / "ip_vs_rr.ko").write_bytes(fake_module("ip_vs_rr", "ip_vs"))
    (k / "nf_conntrack.ko").write_bytes(fake_module("nf_conntrack", "nf_defrag_ipv4"))
    (k / "nf_defrag_ipv4.ko").write_bytes(fake_module("nf_defrag_ipv4", ""))
    (k / "libcrc32c.ko").write_bytes(fake_module("libcrc32c", ""))
    assert ipvs_vm.modinfo(fake_module("x", "a,b"))["depends"] == "a,b"
    order, missing = ipvs_vm.module_closure(tmp_path, ["ip_vs_rr", "ip-vs", "nope"])
    names = [p.name for p in order]
    assert missing == ["nope"]
    assert names.index("nf_defrag_ipv4.ko") < names.index("nf_conntrack.ko") \
        < names.index("ip_vs.ko") < names.index("ip_vs_rr.ko")
    assert names.index("libcrc32c.ko") < names.index("ip_vs.ko")
    assert len(names) == len(set(names)) == 5


def test_initramfs_holds_init_busybox_and_ordered_modules(tmp_path: Path) -> None:
    k = tmp_path / "kernel"
    k.mkdir()
    (k / "a.ko").write_bytes(fake_module("a", "b"))
    (k / "b.ko").write_bytes(fake_module("b", ""))
    bb = tmp_path / "busybox"
    bb.write_bytes(b"BB")
    entries = {n: (m, d) for n, m, d in read_newc(gzip.decompress(
        ipvs_vm.build_initramfs(bb, tmp_path, ["a"])))}
    assert entries["modules.load"][1] == b"b.ko\na.ko\n"
    assert entries["init"][0] == 0o100755 and b"chroot /host" in entries["init"][1]
    assert entries["bin/busybox"][1] == b"BB"
    assert "lib/modules/a.ko" in entries and "dev/console" in entries


def test_guest_mounts_back_what_its_tmpfs_would_hide() -> None:
    """A checkout (or virtualenv) under /tmp, /run or /var/tmp stays visible in the guest."""
    kept = ipvs_vm.kept_paths([Path("/tmp/clone"), Path("/tmp/clone/.venv"), Path("/root/co"),
                               Path("/run/user/co"), Path("/var/tmpx/co"), Path("/tmp")])
    assert kept == [Path("/run/user/co"), Path("/tmp/clone")]
    init = ipvs_vm._INIT
    assert "for d in /tmp /run /var/tmp; do mount -t tmpfs" in init
    # set aside before the tmpfs is mounted, mounted back after
    assert init.index('mount -o bind "/host$p"') < init.index("mount -t tmpfs") \
        < init.index('mount -o bind "/keep/$i" "/host$p"')
