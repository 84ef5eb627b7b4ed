"""The etcd gateway client's reply parsing: what a kept-alive connection may deliver."""

from __future__ import annotations

import asyncio

import pytest

from pykeepalived.splitbrain.etcd import _read_body


def parse(data: bytes) -> tuple[int, bytes]:
    async def go() -> tuple[int, bytes]:
        r = asyncio.StreamReader()
        r.feed_data(data)
        r.feed_eof()
        return await _read_body(r)
    return asyncio.run(go())


def test_an_empty_line_left_before_the_status_line_is_skipped() -> None:
    """Field replay: a stray CRLF after a chunked reply made the next reply's parse raise
    IndexError, which killed the Acquire task and left its key never asked for again."""
    assert parse(b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}") == (200, b"{}")


def test_a_garbled_status_line_is_a_value_error_the_client_handles() -> None:
    with pytest.raises(ValueError):
        parse(b"garbage\r\n\r\n")
