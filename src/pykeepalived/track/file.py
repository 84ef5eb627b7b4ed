"""track_file: watch a file holding an integer and report the value (inotify, no polling).

Facts followed: the value is read with C ``strtol(buf, NULL, 0)`` semantics from the first
127 bytes (leading blanks, optional sign, ``0x`` hex / leading-0 octal, stops at the first
non-digit; no digits = 0); a missing or unreadable file counts as 0; a deleted or moved-away
file counts as 0. The directory is watched for ``IN_CLOSE_WRITE | IN_DELETE | IN_MOVE``, so a
writer that closes the file (``echo 5 > f``) or renames a new file over it is seen at once.
``init_file [VAL] [overwrite]``: create the file with VAL (default 0) when it does not exist;
with ``overwrite``, write VAL even when it exists (not on reload).

What the value does to priority (value × weight, FAULT below -253, weight 0 = non-zero is FAULT)
is the router's business; this module reports ``TrackerChanged(FILE, name, value == 0, value)``.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import re
import struct
from collections.abc import Callable, Sequence

from pykeepalived.config.model import TrackFile
from pykeepalived.track.events import TrackerChanged, TrackerKind

log = logging.getLogger("pykeepalived.track")

IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_DELETE = 0x00000200
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")

_INT_RE = re.compile(rb"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def parse_value(data: bytes) -> int | None:
    """C ``strtol(data, NULL, 0)`` on the file's first bytes; None when out of int range.

    Empty or non-numeric content is 0, like strtol.
    """
    m = _INT_RE.match(data[:127])
    if not m:
        return 0
    sign, digits = m.group(1), m.group(2)
    if digits[:2] in (b"0x", b"0X"):
        val = int(digits[2:], 16)
    elif len(digits) > 1 and digits[0:1] == b"0":
        val = int(digits, 8)
    else:
        val = int(digits)
    if sign == b"-":
        val = -val
    if val < _INT_MIN or val > _INT_MAX:
        return None
    return val


def read_value(path: str) -> int | None:
    """The value the file holds now (0 if missing/unreadable); None = invalid, keep the old one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return 0
    try:
        data = os.read(fd, 127)
    except OSError:
        return 0
    finally:
        os.close(fd)
    return parse_value(data)


def init_track_file(tf: TrackFile, *, reload: bool = False) -> None:
    """Apply ``init_file``: create (or with ``overwrite`` rewrite) the file with its init value."""
    if not tf.init_file:
        return
    exists = os.path.exists(tf.path)
    if exists:
        if not tf.init_overwrite or reload:
            return
        if not os.path.isfile(tf.path):
            log.warning("Cannot initialise track file %s - it is not a regular file", tf.name)
            return
    try:
        with open(tf.path, "w") as f:
            f.write(f"{tf.init_value}\n")
    except OSError as exc:
        log.warning("Unable to initialise track file %s: %s", tf.name, exc)


class _Inotify:
    """Minimal inotify over ctypes (the stdlib has none)."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self.fd: int = fd

    def add_watch(self, path: str, mask: int) -> int:
        wd = int(self._add(self.fd, os.fsencode(path), mask))
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
        return wd

    def read_events(self) -> list[tuple[int, int, str]]:
        """(wd, mask, name) of every queued event; [] when none."""
        try:
            buf = os.read(self.fd, 65536)
        except BlockingIOError:
            return []
        out: list[tuple[int, int, str]] = []
        off = 0
        while off + _EVENT.size <= len(buf):
            wd, mask, _cookie, length = _EVENT.unpack_from(buf, off)
            raw = buf[off + _EVENT.size : off + _EVENT.size + length]
            out.append((wd, mask, os.fsdecode(raw.rstrip(b"\0"))))
            off += _EVENT.size + length
        return out

    def close(self) -> None:
        os.close(self.fd)


class TrackFileWatcher:
    """Watches every configured track_file with one inotify descriptor on the event loop.

    ``start()`` applies init_file, reads every file once and returns the initial events (one
    per file, so the router starts from the right value); afterwards ``on_change`` is called
    only when a file's value changes.
    """

    def __init__(self, files: Sequence[TrackFile],
                 on_change: Callable[[TrackerChanged], None]) -> None:
        self.files = list(files)
        self._on_change = on_change
        self.values: dict[str, int] = {}
        self._ino: _Inotify | None = None
        self._watch: dict[int, list[tuple[str, str, TrackFile]]] = {}  # wd -> [(base, path, tf)]
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, *, reload: bool = False) -> list[TrackerChanged]:
        initial: list[TrackerChanged] = []
        self._loop = asyncio.get_running_loop()
        try:
            self._ino = _Inotify()
        except OSError as exc:
            log.error("Unable to monitor track files: %s", exc)
            self._ino = None
        dirs: dict[str, int] = {}
        for tf in self.files:
            init_track_file(tf, reload=reload)
            path = os.path.realpath(tf.path)
            d, base = os.path.split(path)
            if not os.path.isdir(d):
                log.error("Track file directory for %s does not exist - removing", tf.name)
                continue
            if self._ino is not None:
                if d not in dirs:
                    try:
                        dirs[d] = self._ino.add_watch(
                            d, IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
                    except OSError as exc:
                        log.error("track file %s is not accessible - ignoring (%s)", tf.name, exc)
                        continue
                self._watch.setdefault(dirs[d], []).append((base, path, tf))
            val = read_value(path)
            self.values[tf.name] = 0 if val is None else val
            initial.append(self._event(tf.name))
        if self._ino is not None:
            self._loop.add_reader(self._ino.fd, self._readable)
        return initial

    def stop(self) -> None:
        if self._ino is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._ino.fd)
            self._ino.close()
            self._ino = None

    def _event(self, name: str) -> TrackerChanged:
        v = self.values[name]
        return TrackerChanged(TrackerKind.FILE, name, v == 0, v)

    def _readable(self) -> None:
        assert self._ino is not None
        for wd, mask, name in self._ino.read_events():
            if mask & IN_ISDIR:
                continue
            for base, path, tf in self._watch.get(wd, []):
                if base != name:
                    continue
                if mask & (IN_DELETE | IN_MOVED_FROM):
                    new: int | None = 0
                else:
                    new = read_value(path)
                    if new is None:
                        log.info("Invalid number read from %s - ignoring", tf.path)
                        continue
                if new is not None and new != self.values.get(tf.name):
                    self.values[tf.name] = new
                    try:
                        self._on_change(self._event(tf.name))
                    except Exception:
                        log.exception("tracker callback failed for %s", tf.name)
