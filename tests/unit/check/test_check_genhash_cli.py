"""``pykeepalived -T`` / ``--genhash`` through the real command line (cli dispatch), against a
local HTTP server: the printed digest is the body's MD5, as Debian's genhash prints it."""

from __future__ import annotations

import hashlib
import http.server
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

BODY = b"<html>pykeepalived genhash cli</html>\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


def digest_line(out: str) -> str:
    """Without -v both print only the digest (and a newline)."""
    assert re.fullmatch(r"[0-9a-f]{32}\n", out), out
    return out.strip()


@pytest.mark.parametrize("flag", ["-T", "--genhash"])
def test_cli_genhash_prints_the_body_md5(port: int, flag: str) -> None:
    argv = ["-s", "127.0.0.1", "-p", str(port), "-u", "/index.html"]
    p = subprocess.run([sys.executable, "-m", "pykeepalived", flag, *argv],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    ours = digest_line(p.stdout)
    assert ours == hashlib.md5(BODY).hexdigest()
    if shutil.which("genhash"):
        ref = subprocess.run(["genhash", *argv], capture_output=True, text=True, timeout=30)
        assert digest_line(ref.stdout) == ours
