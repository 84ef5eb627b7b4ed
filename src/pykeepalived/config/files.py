"""Reading configuration files: whole or not at all, never blocking, with a named reason.

A configuration file is read completely or refused with a reason that says what the path is
(a directory, a FIFO, a device, too large, unreadable): it is never cut short, a FIFO is never
opened for reading in a way that could block, and a device such as ``/dev/zero`` is never read
(``/dev/null`` is an empty file, as it is to keepalived). ``Files`` is the disk; ``MemoryFiles``
the same questions answered from a dict (tests, reload from an expanded copy). The limits are
documented in docs/configuration.md ("Limits and large files").
"""

from __future__ import annotations

import fnmatch
import glob as _glob
import os
import stat
from collections.abc import Hashable
from typing import NamedTuple

MAX_FILE_BYTES = 64 << 20  # one file (keepalived has no limit; the largest real one is ~1 MB)


class FileText(NamedTuple):
    """A file read whole. ``key`` identifies the file itself (device and inode on disk), so
    that an include cycle is found however the path was spelt."""

    text: str
    key: Hashable


class Unreadable(NamedTuple):
    """Why a path was not read: ``why`` completes "Configuration file 'X' ..."; ``missing``
    when there is nothing at the path (a missing include is only reported, as keepalived
    does), ``too_large`` when refusing it leaves the configuration incomplete."""

    why: str
    missing: bool = False
    too_large: bool = False


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _not_regular(mode: int) -> Unreadable:
    kind = next((name for test, name in _KINDS if test(mode)), None)
    return Unreadable(f"is {kind}, not a regular file" if kind else "is not a regular file")


def _too_large(size: int) -> Unreadable:
    return Unreadable(f"is larger than {MAX_FILE_BYTES >> 20} MiB ({size} bytes)",
                      too_large=True)


def decode(data: bytes) -> str:
    """Config bytes as text: invalid UTF-8 becomes U+FFFD, never an exception."""
    return data.decode("utf-8", errors="replace")


class Files:
    """The file-system questions the lexer asks."""

    def load(self, path: str) -> FileText | Unreadable:
        """``path`` read whole, or why not. Never blocks: the file is opened non-blocking and
        checked to be a regular file (or /dev/null) before a byte is read."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return Unreadable("does not exist", missing=True)
        except (OSError, ValueError) as e:
            return Unreadable(f"cannot be read ({_reason(e)})")
        if path == os.devnull or (stat.S_ISCHR(st.st_mode) and os.path.realpath(path)
                                  == os.devnull):
            return FileText("", (st.st_dev, st.st_ino))
        if not stat.S_ISREG(st.st_mode):
            return _not_regular(st.st_mode)
        if st.st_size > MAX_FILE_BYTES:
            return _too_large(st.st_size)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
        except OSError as e:
            return Unreadable(f"cannot be read ({_reason(e)})")
        try:
            st = os.fstat(fd)  # what was opened (the path may have changed since the stat)
            if not stat.S_ISREG(st.st_mode):
                return _not_regular(st.st_mode)
            chunks: list[bytes] = []
            size = 0
            while True:  # to the end, however the file grew since the stat
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    return _too_large(size)
                chunks.append(chunk)
        except OSError as e:
            return Unreadable(f"cannot be read ({_reason(e)})")
        finally:
            os.close(fd)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        del chunks
        return FileText(decode(data), (st.st_dev, st.st_ino))

    def read(self, path: str) -> str | None:
        """The text, or None when ``load`` refuses it."""
        got = self.load(path)
        return got.text if isinstance(got, FileText) else None

    def exists(self, path: str) -> bool:
        """Something is at ``path`` (an include that names it is not "missing")."""
        return os.path.exists(path)

    def key(self, path: str) -> Hashable:
        """What identifies the file at ``path`` (as ``FileText.key``), None if nothing is."""
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        return (st.st_dev, st.st_ino)

    def glob(self, pattern: str) -> list[str]:
        return sorted(_glob.glob(pattern))

    def readable(self, path: str) -> bool:
        return os.access(path, os.R_OK)


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.errno is not None:
        return os.strerror(e.errno)
    return str(e) or type(e).__name__


class MemoryFiles(Files):
    """Files held in a dict (unit tests, reload from an expanded copy)."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = {os.path.normpath(k): v for k, v in files.items()}

    def load(self, path: str) -> FileText | Unreadable:
        key = os.path.normpath(path)
        text = self.files.get(key)
        if text is None:
            return Unreadable("does not exist", missing=True)
        if len(text) > MAX_FILE_BYTES:  # (characters: a bound on what a test may hold)
            return _too_large(len(text))
        return FileText(text, key)

    def exists(self, path: str) -> bool:
        return os.path.normpath(path) in self.files

    def key(self, path: str) -> Hashable:
        return os.path.normpath(path)

    def glob(self, pattern: str) -> list[str]:
        pat = os.path.normpath(pattern)
        return sorted(p for p in self.files if fnmatch.fnmatch(p, pat))

    def readable(self, path: str) -> bool:
        return os.path.normpath(path) in self.files
