"""A throw-away qemu guest whose kernel has IPVS, for testing the IPVS data plane.

The CI kernel is built without ``CONFIG_IP_VS``, and ``/dev/kvm`` there cannot run a stock kernel,
so the IPVS backend is proven inside a software-emulated (TCG) guest booting Debian's own kernel
package, which ships ``ip_vs`` and its schedulers as modules. The guest has no network to the
outside (``-nic none``). The host's ``/`` is shared read-only over 9p, so the guest runs the very
same Python, virtualenv and tools; a directory (by default the repository) is shared read-write
at the same path so a test can write results back. The guest gets fresh tmpfs mounts on ``/tmp``,
``/run`` and ``/var/tmp`` (the host's are read-only there and hold the host's sockets and locks);
the checkout and the virtualenv are mounted back at their own paths when they live under one of
them, so a clone in ``/tmp`` works like one in ``/root``. Boot once per test file: a boot costs
several seconds.

``ensure_assets()`` fetches the kernel and busybox with ``apt-get download`` into a cache
(``/var/cache/pykeepalived-vm``, or ``$PYKEEPALIVED_VM_CACHE``) and builds an initramfs holding
busybox, the needed modules (with their dependencies, loaded in dependency order) and a small
``/init``. ``run_in_guest(cmd)`` boots, runs ``cmd`` with ``/bin/sh`` chrooted into the host root
and returns ``(exit code, output)``.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CACHE = Path("/var/cache/pykeepalived-vm")
REPO = Path(__file__).resolve().parents[3]

# Modules loaded at boot (their dependencies are added and ordered automatically). Missing ones
# are reported on the console and skipped: a test that needs one fails on its own terms.
BASE_MODULES = ("crc32c_generic", "virtio_pci", "virtio_console", "9pnet_virtio", "9p")
LAB_MODULES = (
    "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc", "ip_vs_lblcr",
    "ip_vs_dh", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq", "ip_vs_fo", "ip_vs_ovf", "ip_vs_mh",
    "ip_vs_twos", "ip_vs_pe_sip", "nf_conntrack", "nf_nat", "veth", "bridge", "dummy",
    "macvlan", "nf_tables", "nft_ct", "nft_nat", "nft_chain_nat", "nft_numgen", "nft_hash",
    "nft_masq", "ipip", "ip6_tunnel", "af_packet",
)

_RC_MARK = "PKLVM_RC="
_BEGIN_MARK = "PKLVM_BEGIN"
_INIT_VERSION = "5"  # bump when _INIT changes so cached initramfs images are rebuilt
# Fresh tmpfs in the guest: the host's copies would be read-only and hold its sockets and locks.
GUEST_TMPFS = ("/tmp", "/run", "/var/tmp")

_INIT = """#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do
    insmod "/lib/modules/$m" 2>/tmp/insmod.err || {
        grep -q "File exists" /tmp/insmod.err || echo "pklvm: insmod $m: $(cat /tmp/insmod.err)"; }
done < /modules.load
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose hostroot /host || {
    echo "pklvm: cannot mount the host root"; poweroff -f; }
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts 2>/dev/null
mount -t devpts devpts /host/dev/pts 2>/dev/null
# Host paths the command needs under the directories that get a tmpfs (a checkout in /tmp, its
# virtualenv) are set aside first, then mounted back at their own paths over the tmpfs.
i=0
while IFS= read -r p; do
    i=$((i+1)); mkdir -p "/keep/$i"
    mount -o bind "/host$p" "/keep/$i" || echo "pklvm: cannot keep $p visible"
done < /keep.paths
for d in @GUEST_TMPFS@; do mount -t tmpfs tmpfs "/host$d"; done
i=0
while IFS= read -r p; do
    i=$((i+1)); mkdir -p "/host$p"
    mount -o bind "/keep/$i" "/host$p" || echo "pklvm: cannot mount $p back"
done < /keep.paths
SHARE=$(cat /share.path)
mkdir -p "/host$SHARE" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,rw,msize=524288 share "/host$SHARE" || {
    echo "pklvm: cannot mount the share $SHARE"; poweroff -f; }
mkdir -p /host/run/netns
cp /cmd /host/tmp/.pklvm_cmd
echo PKLVM_BEGIN
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \\
    PYKEEPALIVED_IN_GUEST=1 PYTHONDONTWRITEBYTECODE=1 \\
    /bin/chroot /host /bin/sh -c "cd '$SHARE' && . /tmp/.pklvm_cmd" </dev/null 2>&1
echo "PKLVM_RC=$?"
poweroff -f
""".replace("@GUEST_TMPFS@", " ".join(GUEST_TMPFS))


class VmError(RuntimeError):
    """The guest could not be prepared or did not report a result."""


@dataclass(frozen=True)
class VmAssets:
    kernel: Path
    initramfs: Path
    kernel_version: str


def cache_dir() -> Path:
    return Path(os.environ.get("PYKEEPALIVED_VM_CACHE", str(DEFAULT_CACHE)))


def in_guest() -> bool:
    """True inside the guest started by ``run_in_guest``."""
    return os.environ.get("PYKEEPALIVED_IN_GUEST") == "1"


def _run(argv: Sequence[str], cwd: Path | None = None, timeout: float = 600) -> str:
    p = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise VmError(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()[-800:]}")
    return p.stdout


def _kernel_package() -> str:
    """The package ``linux-image-amd64`` depends on, e.g. ``linux-image-6.1.0-56-amd64``."""

    def resolve() -> str | None:
        p = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True,
                           text=True)
        m = re.search(r"Depends:\s*(linux-image-\d\S*)", p.stdout)
        return m.group(1) if m else None

    pkg = resolve()
    if pkg is None:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)
        pkg = resolve()
    if pkg is None:
        raise VmError("cannot resolve linux-image-amd64 with apt-cache (no Debian registry?)")
    return pkg


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[None]:
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _download_extract(package: str, dest: Path) -> None:
    """``apt-get download`` one package and unpack it (``dpkg-deb -x``) into ``dest``."""
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        os.chmod(tmp, 0o755)  # apt's _apt sandbox user must be able to write here
        _run(["apt-get", "download", "-q", package], cwd=Path(tmp))
        debs = list(Path(tmp).glob("*.deb"))
        if not debs:
            raise VmError(f"apt-get download {package} produced no .deb")
        part = Path(tmp) / "x"
        _run(["dpkg-deb", "-x", str(debs[0]), str(part)])
        if dest.exists():
            shutil.rmtree(dest)
        part.rename(dest)


def _find_cached_kernel(cache: Path) -> Path | None:
    for d in sorted(cache.glob("linux-image-*"), reverse=True):
        if list(d.glob("boot/vmlinuz-*")):
            return d
    return None


def ensure_assets() -> VmAssets:
    """Fetch (once) the Debian kernel and busybox and build the initramfs; idempotent."""
    cache = cache_dir()
    with _locked(cache):
        try:
            pkg = _kernel_package()
            kdir = cache / pkg
        except VmError:
            cached = _find_cached_kernel(cache)
            if cached is None:
                raise
            kdir = cached
        if not list(kdir.glob("boot/vmlinuz-*")):
            _download_extract(kdir.name, kdir)
        bbdir = cache / "busybox-static"
        if not (bbdir / "bin" / "busybox").exists():
            _download_extract("busybox-static", bbdir)
        vmlinuz = sorted(kdir.glob("boot/vmlinuz-*"))[0]
        kver = vmlinuz.name.removeprefix("vmlinuz-")
        moddir = kdir / "lib" / "modules" / kver
        wanted = BASE_MODULES + LAB_MODULES
        digest = hashlib.sha256(
            "\n".join([_INIT_VERSION, _INIT, kver, *wanted]).encode()).hexdigest()[:16]
        initramfs = cache / f"initramfs-{kver}-{digest}.cpio.gz"
        if not initramfs.exists():
            data = build_initramfs(bbdir / "bin" / "busybox", moddir, wanted)
            tmp = initramfs.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.rename(initramfs)
            for old in cache.glob("initramfs-*.cpio.gz"):
                if old != initramfs:
                    old.unlink()
        return VmAssets(vmlinuz, initramfs, kver)


# ------------------------------------------------------------------------------ initramfs


def modinfo(data: bytes) -> dict[str, str]:
    """The ``.modinfo`` section of a kernel module (ELF64 little-endian) as a dict."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise VmError("not an ELF64 kernel module")
    shoff = int.from_bytes(data[0x28:0x30], "little")
    shentsize = int.from_bytes(data[0x3A:0x3C], "little")
    shnum = int.from_bytes(data[0x3C:0x3E], "little")
    shstrndx = int.from_bytes(data[0x3E:0x40], "little")

    def section(i: int) -> tuple[int, int, int]:
        h = data[shoff + i * shentsize: shoff + (i + 1) * shentsize]
        return (int.from_bytes(h[0:4], "little"), int.from_bytes(h[24:32], "little"),
                int.from_bytes(h[32:40], "little"))

    _, stroff, _ = section(shstrndx)
    for i in range(shnum):
        name_off, off, size = section(i)
        end = data.index(b"\0", stroff + name_off)
        if data[stroff + name_off:end] == b".modinfo":
            info: dict[str, str] = {}
            for item in data[off:off + size].split(b"\0"):
                k, sep, v = item.decode(errors="replace").partition("=")
                if sep:
                    info.setdefault(k, v)
            return info
    return {}


def _modname(path: Path) -> str:
    return path.name.split(".ko")[0].replace("-", "_")


def module_closure(moddir: Path, wanted: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Module files to insmod, dependencies first (from each ``.modinfo`` ``depends=``), and
    the wanted names that are not modules of this kernel (missing or built in)."""
    byname = {_modname(p): p for p in (moddir / "kernel").rglob("*.ko*")}
    order: list[Path] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        path = byname[name]
        deps = modinfo(_module_bytes(path)).get("depends", "")
        for d in filter(None, deps.split(",")):
            if d.replace("-", "_") in byname:
                visit(d.replace("-", "_"))
        order.append(path)

    missing: list[str] = []
    for w in wanted:
        n = w.replace("-", "_")
        if n in byname:
            visit(n)
        else:
            missing.append(w)
    return order, missing


class CpioWriter:
    """A minimal ``newc`` cpio archive writer (what the kernel unpacks as an initramfs)."""

    def __init__(self) -> None:
        self._buf = io.BytesIO()
        self._ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0),
               nlink: int = 1) -> None:
        raw = name.encode() + b"\0"
        fields = (self._ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(raw), 0)
        self._ino += 1
        head = b"070701" + b"".join(f"{f:08X}".encode() for f in fields)
        out = self._buf
        out.write(head + raw)
        out.write(b"\0" * (-(len(head) + len(raw)) % 4))
        out.write(data)
        out.write(b"\0" * (-len(data) % 4))

    def dir(self, name: str) -> None:
        self._entry(name, 0o040755, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, 0o120777, target.encode())

    def chardev(self, name: str, major: int, minor: int) -> None:
        self._entry(name, 0o020600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return self._buf.getvalue()


def _module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    return data


def build_initramfs(busybox: Path, moddir: Path, wanted: Sequence[str]) -> bytes:
    """The guest's initramfs (gzip'd cpio): busybox, the module closure, /init."""
    order, _missing = module_closure(moddir, wanted)
    cpio = CpioWriter()
    for d in ("bin", "dev", "proc", "sys", "tmp", "host", "lib", "lib/modules"):
        cpio.dir(d)
    cpio.chardev("dev/console", 5, 1)
    cpio.file("bin/busybox", busybox.read_bytes(), 0o755)
    for applet in ("sh", "mount", "mkdir", "insmod", "chroot", "poweroff", "cat", "cp", "echo",
                   "grep", "env", "sleep", "ls"):
        cpio.symlink(f"bin/{applet}", "busybox")
    names: list[str] = []
    for path in order:
        name = _modname(path) + ".ko"
        cpio.file(f"lib/modules/{name}", _module_bytes(path))
        names.append(name)
    cpio.file("modules.load", ("\n".join(names) + "\n").encode())
    cpio.file("init", _INIT.encode(), 0o755)
    return gzip.compress(cpio.finish(), compresslevel=1)


def kept_paths(paths: Sequence[Path]) -> list[Path]:
    """Of ``paths``, those under a directory the guest mounts a tmpfs on, outermost only: the
    guest mounts them back over the tmpfs (a checkout in /tmp would otherwise vanish)."""
    under = [p.resolve() for p in paths
             if any(Path(d) in p.resolve().parents for d in GUEST_TMPFS)]
    return sorted({p for p in under if not any(q in p.parents for q in under)})


def _extra_cpio(cmd: str, share: Path, keep: Sequence[Path]) -> bytes:
    cpio = CpioWriter()
    cpio.file("cmd", (cmd + "\n").encode())
    cpio.file("share.path", (str(share) + "\n").encode())
    cpio.file("keep.paths", "".join(f"{p}\n" for p in keep).encode())
    return gzip.compress(cpio.finish(), compresslevel=1)


# ------------------------------------------------------------------------------ boot


@dataclass(frozen=True)
class GuestResult:
    rc: int
    output: str
    console: str
    seconds: float


def run_in_guest_full(cmd: str, timeout: float = 300, share: Path | None = None,
                      memory_mib: int = 1024, cpus: int = 2,
                      cpio: Callable[[str, Path, Sequence[Path]], bytes] | None = None
                      ) -> GuestResult:
    """Boot the guest, run ``cmd`` (a shell snippet, cwd = ``share``), power off.

    ``share`` (default: the repository) is mounted read-write at the same path; the repository
    and the running virtualenv stay visible (read-only) wherever they are. Raises ``VmError``
    when the guest does not report an exit code (boot failure, timeout).
    """
    assets = ensure_assets()
    share = (share or REPO).resolve()
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        raise VmError("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pklvm-") as tmp:
        initrd = Path(tmp) / "initrd.gz"
        keep = kept_paths([REPO, Path(sys.prefix)])
        initrd.write_bytes(assets.initramfs.read_bytes() + (cpio or _extra_cpio)(cmd, share, keep))
        console = Path(tmp) / "console.log"
        argv = [
            qemu, "-accel", "tcg,thread=multi", "-cpu", "max", "-m", str(memory_mib),
            "-smp", str(cpus), "-display", "none", "-monitor", "none", "-no-reboot",
            "-nic", "none", "-chardev", f"file,id=con,path={console}", "-serial", "chardev:con",
            "-kernel", str(assets.kernel), "-initrd", str(initrd),
            "-append", "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init",
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,"
                       "multidevs=remap",
            "-virtfs", f"local,path={share},mount_tag=share,security_model=none,multidevs=remap",
        ]
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=timeout)
            qemu_err = p.stderr
        except subprocess.TimeoutExpired:
            qemu_err = f"timeout after {timeout} s"
        text = console.read_text(errors="replace") if console.exists() else ""
    elapsed = time.monotonic() - start
    text = text.replace("\r\n", "\n")
    m = list(re.finditer(rf"^{_RC_MARK}(\d+)$", text, re.M))
    if not m:
        raise VmError(f"the guest reported no exit code ({qemu_err.strip()});"
                      f" console:\n{text[-4000:]}")
    begin = text.find(_BEGIN_MARK + "\n")
    body = text[begin + len(_BEGIN_MARK) + 1 if begin >= 0 else 0:m[-1].start()]
    return GuestResult(int(m[-1].group(1)), body, text, elapsed)


def run_in_guest(cmd: str, timeout: float = 300, share: Path | None = None) -> tuple[int, str]:
    """Boot the guest once, run ``cmd`` there; return (exit code, its output)."""
    r = run_in_guest_full(cmd, timeout=timeout, share=share)
    return r.rc, r.output


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pykeepalived.lab.ipvs_vm [CMD...]``: fetch assets, or run CMD in the guest."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        a = ensure_assets()
        print(f"kernel {a.kernel_version}: {a.kernel}\ninitramfs: {a.initramfs}")
        return 0
    r = run_in_guest_full(" ".join(args))
    sys.stdout.write(r.output)
    print(f"[guest rc={r.rc}, {r.seconds:.1f} s]", file=sys.stderr)
    return r.rc


if __name__ == "__main__":
    raise SystemExit(main())


# ------------------------------------------------------------------------------ systemd boot
# The same guest with Debian's systemd as PID 1 (the host's /lib/systemd/systemd), for testing
# pykeepalived as a service: /init mounts the host root and the share as above, then hands over
# to systemd with switch_root instead of running the command itself. The command runs as the
# oneshot ``pklvm-run.service`` that ``pklvm.target`` (the default unit) pulls in; its end
# powers the guest off. Writable places a service manager and the tests need are tmpfs:
# /run, /tmp, /var/tmp, /var/log, /var/lib/systemd, /etc/keepalived, and /etc/systemd/system
# (empty: the host's enabled units stay out of the guest).

_SYSTEMD_INIT_TAIL = """
for d in /etc/systemd/system /etc/keepalived /var/log /var/lib/systemd; do
    mkdir -p "/host$d" 2>/dev/null
    mount -t tmpfs -o mode=755 tmpfs "/host$d"
done
mkdir -p /host/run/systemd/system /host/run/systemd/system-generators /host/run/pklvm
# Generators only describe the host (fstab, gettys, sysv scripts...) and each costs seconds of
# emulated CPU at boot and on every daemon-reload: masked.
for g in /host/lib/systemd/system-generators/*; do
    ln -s /dev/null "/host/run/systemd/system-generators/${g##*/}"
done
cp /cmd /host/run/pklvm/cmd
cp /pklvm.target /pklvm-run.service /host/run/systemd/system/
umount /host/dev/pts 2>/dev/null
exec switch_root /host /lib/systemd/systemd --unit=pklvm.target --show-status=0
"""

_PKLVM_TARGET = """[Unit]
Description=pykeepalived guest test run
DefaultDependencies=no
Requires=pklvm-run.service
Wants=systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket
"""

_PKLVM_RUN = """[Unit]
Description=pykeepalived guest test command
DefaultDependencies=no
After=systemd-journald.socket systemd-journald-dev-log.socket systemd-journald.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
TimeoutStartSec=infinity
Environment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp
Environment=PYKEEPALIVED_IN_GUEST=1 PYTHONDONTWRITEBYTECODE=1
StandardInput=null
StandardOutput=file:/dev/ttyS0
StandardError=inherit
ExecStart=/bin/sh -c 'echo {begin}; cd "{share}" && . /run/pklvm/cmd; echo "{rc}$?"'
"""


def _systemd_init() -> str:
    """``_INIT`` up to (and including) the share's mount, then the hand-over to systemd."""
    head = _INIT.split("mkdir -p /host/run/netns", 1)[0]
    return head + "mkdir -p /host/run/netns\n" + _SYSTEMD_INIT_TAIL


def _systemd_cpio(cmd: str, share: Path, keep: Sequence[Path]) -> bytes:
    cpio = CpioWriter()
    cpio.file("cmd", (cmd + "\n").encode())
    cpio.file("share.path", (str(share) + "\n").encode())
    cpio.file("keep.paths", "".join(f"{p}\n" for p in keep).encode())
    cpio.file("init", _systemd_init().encode(), 0o755)  # replaces the base image's /init
    cpio.symlink("bin/switch_root", "busybox")
    cpio.symlink("bin/umount", "busybox")
    cpio.symlink("bin/ln", "busybox")
    cpio.file("pklvm.target", _PKLVM_TARGET.encode())
    cpio.file("pklvm-run.service", _PKLVM_RUN.format(
        begin=_BEGIN_MARK, share=share, rc=_RC_MARK).encode())
    return gzip.compress(cpio.finish(), compresslevel=1)


def systemd_available() -> bool:
    return Path("/lib/systemd/systemd").exists()


def run_in_systemd_guest(cmd: str, timeout: float = 600, share: Path | None = None,
                         memory_mib: int = 1024, cpus: int = 2) -> GuestResult:
    """Boot the guest with systemd as PID 1 and run ``cmd`` as a service (cwd = ``share``);
    the same contract as :func:`run_in_guest_full`."""
    if not systemd_available():
        raise VmError("/lib/systemd/systemd is not installed (Debian package systemd)")
    return run_in_guest_full(cmd, timeout=timeout, share=share, memory_mib=memory_mib,
                             cpus=cpus, cpio=_systemd_cpio)


def guest_report(script: Path, timeout: float = 800, systemd: bool = False) -> dict[str, Any]:
    """Boot once, run ``python SCRIPT REPORT.json`` in the guest (plain or with systemd as PID
    1) and return the JSON report it wrote, with ``_guest`` (exit code, seconds, output)
    added: the shape of the guest check scripts under tests/vm."""
    import json
    import sys

    run = run_in_systemd_guest if systemd else run_in_guest_full
    with tempfile.TemporaryDirectory(prefix="pklvm-share-") as share:
        out = Path(share) / "report.json"
        r = run(f"{sys.executable} {script} {out}", timeout=timeout, share=Path(share))
        print(f"guest: rc={r.rc}, {r.seconds:.1f} s\n{r.output}")
        if not out.exists():
            raise VmError(f"the guest wrote no report (rc={r.rc}):\n{r.console[-6000:]}")
        data: dict[str, Any] = json.loads(out.read_text())
    data["_guest"] = {"rc": r.rc, "seconds": r.seconds, "output": r.output}
    return data
