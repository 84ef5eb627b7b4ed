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
from collections.abc import Hashable, Iterator
from typing import NamedTuple

MAX_FILE_BYTES = 64 << 20  # one file (keepalived has no limit; the largest real one is ~1 MB)
PIECE_BYTES = 1 << 20  # what a stream reads at a time (a piece then runs on to a line end)


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


def _open_regular(path: str) -> tuple[int, os.stat_result] | Unreadable:
    """``path`` opened for reading without blocking, with its stat, once it is known to be a
    regular file within the size limit; fd -1 for /dev/null (read as empty, never opened);
    else why it cannot be read."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Unreadable("does not exist", missing=True)
    except (OSError, ValueError) as e:
        return Unreadable(f"cannot be read ({_reason(e)})")
    if path == os.devnull or (stat.S_ISCHR(st.st_mode) and os.path.realpath(path)
                              == os.devnull):
        return -1, st
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
    except OSError as e:
        os.close(fd)
        return Unreadable(f"cannot be read ({_reason(e)})")
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return _not_regular(st.st_mode)
    return fd, st


class FileStream:
    """A file read piece by piece, each piece a run of whole lines (the last may lack its line
    end), so that a large file is never held whole. ``size`` is what the file held when it was
    opened; ``key`` as ``FileText.key``. A read that fails after the first piece sets ``error``
    (the pieces stop there): the caller reports it as fatal, the configuration being cut."""

    def __init__(self, pieces: Iterator[str], key: Hashable, size: int) -> None:
        self.pieces = pieces
        self.key = key
        self.size = size
        self.error: Unreadable | None = None

    def __iter__(self) -> Iterator[str]:
        return self.pieces

    def close(self) -> None:
        """Release the file (a reader that stops early calls it; iterating to the end does)."""
        close = getattr(self.pieces, "close", None)
        if close is not None:
            close()

    @staticmethod
    def of_text(text: str, key: Hashable) -> FileStream:
        """Text already in memory as a stream of one piece."""
        return FileStream(iter((text,) if text else ()), key, len(text))


class Files:
    """The file-system questions the lexer asks."""

    piece_bytes = PIECE_BYTES

    def load(self, path: str) -> FileText | Unreadable:
        """``path`` read whole, or why not. Never blocks: the file is opened non-blocking and
        checked to be a regular file (or /dev/null) before a byte is read."""
        opened = _open_regular(path)
        if isinstance(opened, Unreadable):
            return opened
        fd, st = opened
        if fd < 0:
            return FileText("", (st.st_dev, st.st_ino))
        try:
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

    def stream(self, path: str) -> FileStream | Unreadable:
        """``path`` as a stream of pieces (``FileStream``), or why it cannot be read, with
        ``load``'s checks: nothing is read from what is not a regular file (or /dev/null), a
        file over the limit is refused before a byte is read, and the first piece is read
        here, so a file whose very first read fails is refused as ``load`` refuses it."""
        opened = _open_regular(path)
        if isinstance(opened, Unreadable):
            return opened
        fd, st = opened
        if fd < 0:
            return FileStream.of_text("", (st.st_dev, st.st_ino))
        try:
            first = os.read(fd, self.piece_bytes)
        except OSError as e:
            os.close(fd)
            return Unreadable(f"cannot be read ({_reason(e)})")
        fs = FileStream(iter(()), (st.st_dev, st.st_ino), st.st_size)
        fs.pieces = self._pieces(fd, first, fs)
        return fs

    def _pieces(self, fd: int, data: bytes, fs: FileStream) -> Iterator[str]:
        """The pieces of the open file ``fd`` whose first read gave ``data``; closes ``fd``.
        A piece ends at a line end (a UTF-8 sequence never holds one), so decoding piece by
        piece gives the text decoding the whole file would."""
        size = len(data)
        buf = bytearray()
        try:
            while data:
                buf += data
                del data
                cut = buf.rfind(b"\n") + 1
                if cut:
                    piece = buf[:cut].decode("utf-8", errors="replace")
                    del buf[:cut]
                    yield piece
                    del piece
                data = os.read(fd, self.piece_bytes)
                size += len(data)
                if size > MAX_FILE_BYTES:  # it grew past the limit while being read
                    fs.error = _too_large(size)
                    return
            if buf:
                yield buf.decode("utf-8", errors="replace")
        except OSError as e:
            fs.error = Unreadable(f"cannot be read ({_reason(e)})")
        finally:
            os.close(fd)

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

    def stream(self, path: str) -> FileStream | Unreadable:
        got = self.load(path)
        if isinstance(got, Unreadable):
            return got
        if len(got.text) <= self.piece_bytes:
            return FileStream.of_text(got.text, got.key)
        return FileStream(_text_pieces(got.text, self.piece_bytes), got.key, len(got.text))

    def exists(self, path: str) -> bool:
        return os.path.normpath(path) in self.files

    def key(self, path: str) -> Hashable:
        return os.path.normpath(path)

    def glob(self, pattern: str) -> list[str]:
        pat = os.path.normpath(pattern)
        return sorted(p for p in self.files if fnmatch.fnmatch(p, pat))

    def readable(self, path: str) -> bool:
        return os.path.normpath(path) in self.files


def _text_pieces(text: str, size: int) -> Iterator[str]:
    """``text`` in pieces of about ``size`` characters, each ending at a line end."""
    pos, n = 0, len(text)
    while pos < n:
        cut = text.find("\n", pos + size - 1)
        end = n if cut < 0 else cut + 1
        yield text[pos:end]
        pos = end
