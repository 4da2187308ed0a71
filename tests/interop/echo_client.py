#!/usr/bin/python3
"""Interop check: an independent WebSocket client (python3-websockets) against
`wspushd --mode echo --max-message 64M`.

Usage: echo_client.py PORT

Prints one "<step> ok ..." line per exchange and exits 0 when every echo matches.
On a mismatch it prints "FAIL <step>: ..." and exits 1; when the websockets module is
missing it exits 3. The whole run is bounded (TOTAL_TIMEOUT seconds).
"""

import asyncio
import sys

TOTAL_TIMEOUT = 40
STEP_TIMEOUT = 20

try:
    import websockets
except ImportError:
    print("FAIL setup: the websockets module is missing (Debian package python3-websockets)")
    sys.exit(3)


class Mismatch(Exception):
    pass


def check(step, condition, detail):
    if not condition:
        raise Mismatch(f"{step}: {detail}")


async def echo(ws, step, message, expected=None):
    """Sends message (str, bytes or an iterable of fragments) and checks the echo."""
    expected = message if expected is None else expected
    await asyncio.wait_for(ws.send(message), STEP_TIMEOUT)
    got = await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
    check(step, type(got) is type(expected), f"echo is {type(got).__name__}, want {type(expected).__name__}")
    if got != expected:
        at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        raise Mismatch(f"{step}: echo of {len(got)} differs from the {len(expected)} sent at index {at}")
    return got


async def fragments(parts):
    for part in parts:
        yield part


async def run(port):
    uri = f"ws://127.0.0.1:{port}/interop"
    # The client offers permessage-deflate by default; the server must decline it. Pings
    # are sent by hand, so the client's own keepalive is off.
    async with websockets.connect(uri, max_size=64 * 1024 * 1024, ping_interval=None, open_timeout=STEP_TIMEOUT,
                                  close_timeout=STEP_TIMEOUT) as ws:
        check("handshake", not ws.extensions, f"server accepted extensions {ws.extensions}")
        check("handshake", ws.subprotocol is None, f"server chose subprotocol {ws.subprotocol}")
        print("handshake ok no-extensions")

        await echo(ws, "text", "Hello, wspushd")
        await echo(ws, "text", "\u03ba\u1f79\u03c3\u03bc\u03b5 \U0001d11e \U0010ffff")
        await echo(ws, "text", "")
        print("text ok")

        await echo(ws, "binary", bytes(range(256)))
        await echo(ws, "binary", b"")
        print("binary ok")

        await echo(ws, "fragmented", ["frag", "ment", "", "ed \u03ba\u1f79\u03c3\u03bc\u03b5"], "fragmented \u03ba\u1f79\u03c3\u03bc\u03b5")
        await echo(ws, "fragmented", [b"\x00\x01", b"\x02" * 70000, b"\xff"], b"\x00\x01" + b"\x02" * 70000 + b"\xff")
        await echo(ws, "fragmented", fragments([b"async ", b"iterator"]), b"async iterator")
        print("fragmented ok")

        large = bytes(range(256)) * (16 * 1024 * 1024 // 256)
        await echo(ws, "large", large)
        large_text = "\u03ba\u1f79\u03c3\u03bc\u03b5 \U0001d11e ascii " * (16 * 1024 * 1024 // 24)
        await echo(ws, "large", large_text)
        print(f"large ok {len(large)} bytes, {len(large_text.encode())} text bytes")

        waiter = await ws.ping(b"interop ping")
        await asyncio.wait_for(waiter, STEP_TIMEOUT)
        # Ten pings in a row: every one gets its own pong.
        waiters = [await ws.ping(f"ping {i}".encode()) for i in range(10)]
        await asyncio.wait_for(asyncio.gather(*waiters), STEP_TIMEOUT)
        await echo(ws, "ping", "after pings")
        print("ping ok")

        await asyncio.wait_for(ws.close(code=4000, reason="bye for now"), STEP_TIMEOUT)
        check("close", ws.close_code == 4000, f"server answered close code {ws.close_code}")
        check("close", not ws.close_rcvd_then_sent, "server sent its Close before ours")
        print(f"close ok code={ws.close_code} reason={ws.close_reason!r}")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    try:
        asyncio.run(asyncio.wait_for(run(int(sys.argv[1])), TOTAL_TIMEOUT))
    except Mismatch as e:
        print(f"FAIL {e}")
        return 1
    except (asyncio.TimeoutError, OSError, websockets.exceptions.WebSocketException) as e:
        print(f"FAIL {type(e).__name__}: {e}")
        return 1
    print("all ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
