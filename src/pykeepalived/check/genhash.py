"""``pykeepalived -T`` / ``--genhash``: print the MD5 digest of a URL's body like keepalived's
genhash, for pasting into a ``digest`` line. Same flags, same request bytes, same output line.

genhash quirks kept on purpose: a failed connection prints ``Connection failed`` and still exits
0; a missing mandatory option exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from pykeepalived.check.connect import Target
from pykeepalived.check.http import fetch, make_ssl_context

USAGE = """Usage: genhash COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genhash", add_help=False)
    a = p.add_argument
    a("-S", "--use-ssl", action="store_true")
    a("-I", "--use-sni", action="store_true")
    a("-s", "--server")
    a("-p", "--port", type=int)
    a("-u", "--url")
    a("-V", "--use-virtualhost", dest="vhost")
    a("-v", "--verbose", action="store_true")
    a("-h", "--help", action="store_true")
    a("-m", "--fwmark", type=int)
    a("-P", "--protocol", default="1.0", choices=["1.0", "1.0c", "1.0C", "1.1"])
    a("-t", "--timeout", type=float, default=5.0)
    return p


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit:
        print(USAGE, end="")
        return 1
    if args.help or not argv:
        print(USAGE, end="")
        return 0
    if not args.server or args.port is None or not args.url:
        print("genhash: -s server, -p port and -u url are required", file=sys.stderr)
        return 1
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    t = Target(host=args.server, port=args.port, timeout=args.timeout, fwmark=args.fwmark)
    ctx = make_ssl_context(None) if args.use_ssl else None
    sni = args.vhost if args.use_ssl and args.use_sni else None
    res = await fetch(t, args.url, args.vhost or t.host_port(), args.protocol.upper(),
                      ctx, sni, tls_compliant=True)
    if res.error:
        print("Connection failed")
        if args.verbose:
            print(res.error, file=sys.stderr)
        return 0
    if args.verbose:
        print(f"-----------------------[    HTTP Header    ]-----------------------\n"
              f"{res.headers.decode('latin-1')}\n"
              f"-----------------------[ HTML hash final resulting ]-----------------------")
    print(res.digest)
    if args.verbose:
        print(f"\nGlobal response time for [{args.url}] = {int(res.elapsed * 1e6)} usecs")
    return 0
