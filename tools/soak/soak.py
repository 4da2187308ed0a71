#!/usr/bin/python3
"""Soak: one wspushd in relay mode, everything at once, for SOAK_SECONDS (default 300).

    tools/soak/soak.py --server build/wspushd --seconds 300 --out build/soak [--sanitized]

Driver: Python 3 asyncio in one process (Debian's /usr/bin/python3 with python3-websockets for
the well-behaved clients; raw sockets for everything hostile). At these rates (about 5,000
deliveries/s, a few hundred connections) one core is plenty; every client reads as it goes
(nothing is allowed to back up into the server's send buffer unless that is the point), and
the progress line shows the delivery rate, so a stalled driver shows.

The server: --mode relay, a control socket, robots for POST /push/<channel> (pattern soak.*)
and /robot/send (channel soak.c7), --send-buffer 64K (slow consumers are found fast),
--max-message 64K, --history 200 per channel within --history-bytes 16M (about 6 MiB is used, so
the budget never evicts: STATS history_evicted stays 0). History fills within
the warm-up (channels get about 25 messages/s), so memory can settle before it is judged, and a
churning client is away well under a second (at most ~25 messages), far inside 200: a gap
notice to a well-behaved client is therefore always a failure.

What runs, all against that one server:
  - 96 well-behaved clients (wspush.v1) on 1-3 of the channels soak.c0..c7 (a few also on
    soak.bulk, 4 KiB messages), churning: connected 0.5-4 s, then a clean close or an abort,
    and back with since=<channel>:<epoch>.<seq> for each channel; now and then one retires
    and a new identity joins mid-run. Every envelope is checked: per channel one epoch,
    sequence numbers contiguous from the first received, nothing twice, nothing out of order,
    the same payload every client saw for that (channel, seq), and every publication sent
    after a client's first join is received by it (its first seq is at most the first seq
    published after it joined). No gap notices, no server-initiated close.
  - Publishers: the control socket (PUB and PUBB, every OK seq= recorded), POST /push/<ch>
    over keep-alive HTTP (text and binary; reply JSON errcode 0 with seq), POST /robot/send
    text cards, and relay clients sending on the channels. At the end every sequence number
    1..last_seq (CHANNELS) of every channel must be accounted for and match what was sent,
    every relay message and card must have been delivered, and every connected client must
    hold every message up to last_seq.
  - Hostile: slow consumers (SO_RCVBUF 4 KiB, reading 2 KiB per 100 ms from soak.flood, 16 KiB x 40/s) that
    must be closed with Close 1008 "slow consumer" on a frame boundary; clients that vanish
    mid-frame, mid-handshake or mid-write (RST by SO_LINGER 0); Ping floods (the last Ping's
    Pong must come back, then a clean close); a TAIL reader (every line well formed; every
    relay message seen unless DROPPED says how many were not); oversized messages (Close
    1009), malformed frames (1002, 1007) and handshakes (400, 405, 410, 426, 431); webhook
    refusals (401, 415); garbage control commands (ERR ..., ERR line too long).
  - Every second: VmRSS and RssAnon (/proc/PID/status), open descriptors (/proc/PID/fd) and
    STATS, written to OUT/samples.csv; OUT/soak.svg is drawn from it by tools/soak/plot.py.

Verdict rule: the run is cut into windows of W = SOAK_SECONDS / 5 (60 s of 300). The first is
warm-up. Memory passes if the median VmRSS of the last window is at most the median of the
second window x 1.05 + 256 KiB (the server's whole RSS is about 2 MB, so 5 % alone is ~100 KiB,
below the allocator's page-level noise); descriptors pass if the last window's median is at most
the second window's x 1.05 + 4 (the load is the same throughout, so the number of connections
is too; a leak of one descriptor per connection closed would be thousands). After the load,
once every client has gone, the server must hold no more descriptors than before the first
client came. Any missing, duplicated or reordered delivery, any failed check above, a crash,
or an exit status other than 0 after SIGTERM is a FAIL. With --sanitized (the ASan + UBSan
build) memory is reported, not judged (the sanitizer's quarantine grows), and the server's
stderr must hold no sanitizer report. Runs shorter than 60 s do not judge memory either (the
warm-up must cover history filling up, about 10 s).

Bounded: every network wait has a timeout; the load stops at SOAK_SECONDS, the final drain has
30 s, and a watchdog ends the run (FAIL, server killed) at SOAK_SECONDS + 150 s whatever hangs.
"""
import argparse
import asyncio
import base64
import csv
import ctypes
import json
import os
import random
import signal
import socket
import statistics
import struct
import sys
import threading
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import plot  # noqa: E402  (tools/soak/plot.py)

CHANNELS = [f"soak.c{i}" for i in range(8)]
BULK = "soak.bulk"
FLOOD = "soak.flood"    # untracked: 16 KiB x 40/s, for the slow consumers
HOSTILE = "soak.h"
PUSH_TOKEN = "soakPushToken01"
CARD_TOKEN = "soakCardToken01"
CARD_CHANNEL = "soak.c7"
N_TRACKED = 96
N_RELAY = 4
N_SLOW = 2
PUB_RATE = 150          # control socket publications/s over soak.c0..c7
PUBB_EVERY = 10         # one in this many is binary (PUBB)
BULK_RATE = 20          # 4 KiB publications/s on soak.bulk
FLOOD_RATE = 40         # 16 KiB publications/s on soak.flood
HOOK_RATE = 20          # POST /push/<channel>/s
CARD_RATE = 2           # POST /robot/send/s
RELAY_RATE = 5          # messages/s per relay client
OP_TIMEOUT = 10         # seconds any single network exchange may take
DRAIN_TIMEOUT = 30
WATCHDOG_MARGIN = 150
TEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-éß漢字"


def now():
    return time.monotonic()


def filler(lo, hi):
    return "".join(random.choices(TEXT, k=random.randint(lo, hi)))


class Soak:
    """Shared state: the server, the truth about every channel, counters and failures."""

    def __init__(self, args):
        self.args = args
        self.out = args.out
        self.stop = asyncio.Event()      # load phase over
        self.relays_done = asyncio.Event()
        self.failures = []
        self.truth = {ch: {} for ch in CHANNELS + [BULK]}   # seq -> (binary, data)
        self.epochs = {}
        self.pubs = {ch: [] for ch in CHANNELS + [BULK]}     # (t_sent, seq) acked
        self.sent_only = []              # (kind, channel, marker, t_sent): relay, card
        self.marker_seq = {}             # (channel, marker) -> seq, from what clients saw
        self.deliveries = 0
        self.tracked = []
        self.tail_relay = set()
        self.tail_dropped = 0
        self.tail_lines = 0
        self.hostile = {}                # what -> count done
        self.slow_closed = 0
        self.slow_drain = (0.0, 0.0)     # longest drain after a verdict: seconds, MB
        self.samples = []
        self.stats = {}

    def fail(self, msg):
        if len(self.failures) < 1000:
            self.failures.append(msg)
        if len(self.failures) <= 5:
            print(f"soak: failure: {msg}", flush=True)

    def count(self, what):
        self.hostile[what] = self.hostile.get(what, 0) + 1

    def observe(self, ch, seq, epoch, binary, data):
        """A client saw (ch, seq): every client must see the same thing there."""
        if self.epochs.setdefault(ch, epoch) != epoch:
            self.fail(f"{ch}: epoch {epoch} after {self.epochs[ch]} (no restart happened)")
        t = self.truth[ch]
        known = t.get(seq)
        if known is None:
            t[seq] = (binary, data)
            if data.startswith("r:"):
                self.marker_seq[(ch, data)] = seq
            elif data.startswith('{"msgtype"'):
                try:
                    self.marker_seq[(ch, json.loads(data)["text"]["content"])] = seq
                except (ValueError, KeyError, TypeError):
                    self.fail(f"{ch} seq {seq}: card is not the JSON expected: {data[:80]}")
        elif known != (binary, data):
            self.fail(f"{ch} seq {seq}: two clients saw different payloads")

    def acked(self, ch, seq, t_sent, binary, data):
        """A publisher was told seq for what it sent."""
        self.pubs[ch].append((t_sent, seq))
        known = self.truth[ch].setdefault(seq, (binary, data))
        if known != (binary, data):
            self.fail(f"{ch} seq {seq}: clients saw another payload than the one published")


# ---------------------------------------------------------------------------------------------
# Raw WebSocket and HTTP, for hostile clients

def ws_frame(opcode, payload, fin=True, mask=True, rsv=0, length=None):
    """One client frame; `length` overrides the declared payload length."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def parse_frames(buf):
    """Server frames in buf: list of (opcode, payload) and the bytes left over."""
    frames, i = [], 0
    while len(buf) - i >= 2:
        op, n = buf[i] & 0x0F, buf[i + 1] & 0x7F
        j = i + 2
        if n == 126:
            if len(buf) - j < 2:
                break
            n, j = struct.unpack_from("!H", buf, j)[0], j + 2
        elif n == 127:
            if len(buf) - j < 8:
                break
            n, j = struct.unpack_from("!Q", buf, j)[0], j + 8
        if len(buf) - j < n:
            break
        frames.append((op, bytes(buf[j:j + n])))
        i = j + n
    return frames, bytes(buf[i:])


def close_code(payload):
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


def upgrade_request(port, target, extra="", key="dGhlIHNhbXBsZSBub25jZQ==", method="GET"):
    return (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{extra}\r\n").encode()


async def open_tcp(port, rcvbuf=None, limit=1 << 20):
    """A TCP connection; asyncio stops reading the socket once 2 x limit bytes are unread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock, limit=limit)


async def read_http(reader):
    """Status and body of one HTTP response (Content-Length framed)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for h in lines[1:]:
        if h.lower().startswith("content-length:"):
            length = int(h.split(":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


def reset(writer):
    """Vanish: RST instead of FIN (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def raw_ws(port, target, rcvbuf=None, limit=1 << 20):
    reader, writer = await open_tcp(port, rcvbuf, limit)
    writer.write(upgrade_request(port, target))
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        writer.close()
        raise RuntimeError(f"upgrade to {target} refused: {head[:40]!r}")
    return reader, writer


async def await_close(reader):
    """Read until the server's Close frame; its code (None at EOF without one)."""
    buf = b""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return None
        frames, buf = parse_frames(buf + chunk)
        for op, payload in frames:
            if op == 8:
                return close_code(payload)


# ---------------------------------------------------------------------------------------------
# Control socket

class Control:
    """One control connection; commands are sent in order and answered in order."""

    def __init__(self, path):
        self.path = path
        self.lock = asyncio.Lock()

    async def open(self):
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_unix_connection(self.path, limit=1 << 22), OP_TIMEOUT)
        return self

    async def ask(self, line):
        async with self.lock:
            self.writer.write(line if isinstance(line, bytes) else line.encode() + b"\n")
            try:
                reply = await asyncio.wait_for(self.reader.readline(), OP_TIMEOUT)
            except asyncio.TimeoutError:
                raise RuntimeError(f"control socket: no reply to {(line if isinstance(line, bytes) else line.encode())[:20]!r} in {OP_TIMEOUT} s "
                                   "(server hung?)") from None
            return reply.decode().rstrip("\n")

    def close(self):
        self.writer.close()


# ---------------------------------------------------------------------------------------------
# Well-behaved clients

class Tracked:
    """A client that must receive every message of its channels once, in order, across churn."""

    def __init__(self, soak, ident, channels):
        self.soak, self.ident, self.channels = soak, ident, channels
        self.t_join = None
        self.first = {}
        self.last = {ch: 0 for ch in channels}
        self.missing = {ch: set() for ch in channels}
        self.dup = self.reordered = self.gaps = 0
        self.retired = False
        self.target = None
        self.caught_up = asyncio.Event()

    def url(self):
        q = [f"ch={c}" for c in self.channels[1:]] + [f"id={self.ident}"]
        if self.t_join is not None:
            ep = self.soak.epochs
            if len(self.channels) == 1:
                q.append(f"since={ep[self.channels[0]]}.{self.last[self.channels[0]]}")
            else:
                q += [f"since={c}:{ep[c]}.{self.last[c]}" for c in self.channels]
        return f"ws://127.0.0.1:{self.soak.port}/ws/{self.channels[0]}?" + "&".join(q)

    def on_message(self, text):
        m = json.loads(text)
        if m.get("type") != "msg":
            self.gaps += m.get("type") == "gap"
            self.soak.fail(f"{self.ident}: unexpected {text[:120]}")
            return
        ch, seq = m["channel"], m["seq"]
        self.soak.observe(ch, seq, m["epoch"], m.get("binary", False), m["data"])
        self.soak.deliveries += 1
        last = self.last[ch]
        if seq == last + 1 or (last == 0 and ch not in self.first):
            self.first.setdefault(ch, seq)
        elif seq > last + 1:
            self.missing[ch].update(range(last + 1, seq))
        elif seq in self.missing[ch]:
            self.missing[ch].discard(seq)
            self.reordered += 1
            return
        else:
            self.dup += 1
            return
        self.last[ch] = seq
        if self.target and all(self.last[c] >= self.target[c] for c in self.channels):
            self.caught_up.set()

    async def consume(self, ws):
        try:
            async for text in ws:
                self.on_message(text)
        except websockets.ConnectionClosed:
            pass

    async def session(self, draining):
        """One connection: join or resume, read for a while (or until caught up), leave."""
        ws = await websockets.connect(self.url(), subprotocols=["wspush.v1"], open_timeout=OP_TIMEOUT,
                                      close_timeout=OP_TIMEOUT, ping_interval=None, max_size=1 << 20,
                                      max_queue=None)
        if self.t_join is None:
            self.t_join = now()
        if ws.subprotocol != "wspush.v1":
            self.soak.fail(f"{self.ident}: subprotocol {ws.subprotocol!r}")
        reader = asyncio.create_task(self.consume(ws))
        if draining:
            caught = asyncio.create_task(self.caught_up.wait())
            await asyncio.wait([reader, caught], timeout=DRAIN_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            caught.cancel()
        else:
            # Stay until every channel has given a message (resume needs an epoch), then for a
            # random while: leaving is what is being tested.
            stay = now() + random.uniform(0.5, 4.0)
            stop = asyncio.create_task(self.soak.stop.wait())
            while not reader.done() and not self.soak.stop.is_set():
                left = stay - now()
                if left <= 0 and all(c in self.first for c in self.channels):
                    break
                await asyncio.wait([reader, stop], timeout=max(left, 0.1), return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
        if reader.done():
            self.soak.fail(f"{self.ident}: closed by the server (code {ws.close_code} {ws.close_reason!r})")
        elif draining or random.random() < 0.8:
            await ws.close()
        else:
            ws.transport.abort()
        await asyncio.wait_for(reader, OP_TIMEOUT)

    async def run(self):
        try:
            while not self.soak.stop.is_set():
                await self.session(False)
                if random.random() < 0.01 and now() < self.soak.load_end - 5:
                    self.retired = True
                    self.soak.spawn_tracked()
                    return
                await asyncio.sleep(random.uniform(0, 0.2))   # pacing: reconnect backoff
        except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as e:
            self.soak.fail(f"{self.ident}: {type(e).__name__} {e}")
            self.retired = True

    async def drain(self, target):
        """After the load: reconnect if away and read up to `target` (channel -> last seq)."""
        self.target = {c: target[c] for c in self.channels}
        if all(self.last[c] >= self.target[c] for c in self.channels):
            self.caught_up.set()
        try:
            await self.session(True)
        except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as e:
            self.soak.fail(f"{self.ident}: drain: {type(e).__name__} {e}")


# ---------------------------------------------------------------------------------------------
# Publishers

async def paced(soak, rate, step):
    """Calls step(i) `rate` times a second until the load stops; 20 ms pacing ticks."""
    start, i = now(), 0
    while not soak.stop.is_set():
        due = int((now() - start) * rate)
        while i < due and not soak.stop.is_set():
            await step(i)
            i += 1
        await asyncio.sleep(0.02)


async def control_publisher(soak):
    ctl = await Control(soak.ctl_path).open()

    async def pub_one(i):
        ch = CHANNELS[i % len(CHANNELS)]
        if i % PUBB_EVERY == 0:
            raw = os.urandom(random.randint(1, 300))
            t = now()
            reply = await ctl.ask(f"PUBB {ch} {len(raw)}\n".encode() + raw)
            binary, data = True, base64.b64encode(raw).decode()
        else:
            data = f"p:{i}:{filler(0, 200)}".rstrip()
            t = now()
            reply = await ctl.ask(f"PUB {ch} {data}")
            binary = False
        if not reply.startswith("OK seq="):
            soak.fail(f"PUB {ch}: {reply}")
            return
        soak.acked(ch, int(reply.split()[1][4:]), t, binary, data)

    async def bulk_one(i):
        data = f"b:{i}:" + "x" * 4000
        t = now()
        reply = await ctl.ask(f"PUB {BULK} {data}")
        if not reply.startswith("OK seq="):
            soak.fail(f"PUB {BULK}: {reply}")
        else:
            soak.acked(BULK, int(reply.split()[1][4:]), t, False, data)

    async def flood_one(i):
        reply = await ctl.ask(f"PUB {FLOOD} f:{i}:" + "y" * 16384)
        if not reply.startswith("OK seq="):
            soak.fail(f"PUB {FLOOD}: {reply}")

    await asyncio.gather(paced(soak, PUB_RATE, pub_one), paced(soak, BULK_RATE, bulk_one),
                         paced(soak, FLOOD_RATE, flood_one))
    ctl.close()


def http_post(port, target, headers, body):
    return (f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def webhook_publisher(soak):
    reader, writer = await open_tcp(soak.port)

    async def push_one(i):
        ch = CHANNELS[(i * 3) % len(CHANNELS)]
        binary = i % 5 == 0
        raw = os.urandom(random.randint(1, 200)) if binary else f"w:{i}:{filler(0, 200)}".encode()
        ctype = "application/octet-stream" if binary else "text/plain; charset=utf-8"
        t = now()
        writer.write(http_post(soak.port, f"/push/{ch}",
                               f"Authorization: Bearer {PUSH_TOKEN}\r\nContent-Type: {ctype}\r\n", raw))
        status, body = await asyncio.wait_for(read_http(reader), OP_TIMEOUT)
        reply = json.loads(body)
        if status != 200 or reply.get("errcode") != 0:
            soak.fail(f"POST /push/{ch}: {status} {body[:100]!r}")
            return
        data = base64.b64encode(raw).decode() if binary else raw.decode()
        soak.acked(ch, reply["seq"], t, binary, data)

    async def card_one(i):
        marker = f"card:{i}"
        body = json.dumps({"msgtype": "text", "text": {"content": marker}}).encode()
        t = now()
        writer.write(http_post(soak.port, f"/robot/send?access_token={CARD_TOKEN}",
                               "Content-Type: application/json\r\n", body))
        status, reply = await asyncio.wait_for(read_http(reader), OP_TIMEOUT)
        if status != 200 or json.loads(reply) != {"errcode": 0, "errmsg": "ok"}:
            soak.fail(f"POST /robot/send: {status} {reply[:100]!r}")
            return
        soak.sent_only.append(("card", CARD_CHANNEL, marker, t))

    lock = asyncio.Lock()     # one keep-alive connection, one request at a time

    def locked(f):
        async def g(i):
            async with lock:
                await f(i)
        return g

    await asyncio.gather(paced(soak, HOOK_RATE, locked(push_one)), paced(soak, CARD_RATE, locked(card_one)))
    writer.close()


async def relay_client(soak, n):
    """Sends on one channel (relay mode publishes it), reads and discards, reconnects now and then."""
    ch, k = CHANNELS[n % len(CHANNELS)], 0
    url = f"ws://127.0.0.1:{soak.port}/ws/{ch}?id=relay-{n}"
    while not soak.stop.is_set():
        async with websockets.connect(url, open_timeout=OP_TIMEOUT, close_timeout=OP_TIMEOUT,
                                      ping_interval=None, max_queue=None) as ws:
            drain = asyncio.create_task(discard(ws))
            until = now() + random.uniform(2, 8)
            while now() < until and not soak.stop.is_set() and not drain.done():
                data = f"r:{n}:{k}:{filler(0, 100)}"
                t = now()
                await asyncio.wait_for(ws.send(data), OP_TIMEOUT)
                soak.sent_only.append(("relay", ch, data, t))
                k += 1
                await asyncio.sleep(1 / RELAY_RATE)
            if drain.done():
                soak.fail(f"relay-{n}: closed by the server ({ws.close_code})")
        await asyncio.wait_for(drain, OP_TIMEOUT)


async def discard(ws):
    try:
        async for _ in ws:
            pass
    except websockets.ConnectionClosed:
        pass


# ---------------------------------------------------------------------------------------------
# Hostile clients

def tail_unseen(soak):
    """Relay messages sent that the TAIL reader has not seen."""
    return sum(m not in soak.tail_relay for k, _, m, _ in soak.sent_only if k == "relay")


async def tail_reader(soak):
    """Reads TAIL until the relay clients are done (soak.relays_done) and it has seen every
    relay message they sent, or been told by DROPPED how many it missed."""
    ctl = await Control(soak.ctl_path).open()
    ctl.writer.write(b"TAIL\n")
    r = ctl.reader
    if (await asyncio.wait_for(r.readline(), OP_TIMEOUT)) != b"OK\n":
        soak.fail("TAIL: no OK")
        return
    done = asyncio.create_task(soak.relays_done.wait())
    while True:
        if done.done() and tail_unseen(soak) <= soak.tail_dropped:
            break
        line = asyncio.create_task(r.readline())
        await asyncio.wait([line, done], return_when=asyncio.FIRST_COMPLETED)
        if not line.done() and tail_unseen(soak) > soak.tail_dropped:
            await asyncio.wait([line], timeout=OP_TIMEOUT)
        if not line.done():
            line.cancel()
            if tail_unseen(soak) > soak.tail_dropped:
                soak.fail(f"TAIL: {tail_unseen(soak)} relay messages not seen {OP_TIMEOUT} s after the last was sent")
            break
        parts = line.result().rstrip(b"\n").split(b" ", 2)
        soak.tail_lines += 1
        if parts[0] == b"MSG" and len(parts) == 3:
            if parts[1].startswith(b"relay-"):
                soak.tail_relay.add(parts[2].decode())
        elif parts[0] in (b"MSGT", b"MSGB") and len(parts) == 3 and parts[2].isdigit():
            await asyncio.wait_for(r.readexactly(int(parts[2]) + 1), OP_TIMEOUT)
        elif parts[0] == b"DROPPED" and len(parts) == 2 and parts[1].isdigit():
            soak.tail_dropped += int(parts[1])
        else:
            soak.fail(f"TAIL: malformed line {line.result()[:80]!r}")
            break
    ctl.close()


async def slow_consumer(soak, n, ctl):
    """Reads 2 KiB per 100 ms from soak.flood (16 KiB x 40/s) until the server gives up on it
    (it leaves CLIENTS), then reads all it can and must find Close 1008 "slow consumer" on a
    frame boundary. The server lingers 2 s for it after deciding, and by then megabytes sit in
    the kernel's buffers ahead of the Close: a plain socket (no stream buffer) and a poll every
    100 ms leave that drain most of the 2 s."""
    ident = f"slow-{n}"
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", soak.port))
        await loop.sock_sendall(sock, upgrade_request(soak.port, f"/ws/{FLOOD}?id={ident}"))
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), OP_TIMEOUT)
            if not chunk:
                raise RuntimeError(f"{ident}: upgrade answered with EOF")
            buf += chunk
        if not buf.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"{ident}: upgrade refused: {bytes(buf[:40])!r}")
        del buf[:buf.index(b"\r\n\r\n") + 4]
        listed_at = now()
        deadline = now() + 60
        while True:
            if now() > deadline or soak.stop.is_set():
                if not soak.stop.is_set():
                    soak.fail(f"{ident}: never closed as a slow consumer in 60 s")
                return
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 2048), OP_TIMEOUT)
            buf += chunk
            await asyncio.sleep(0.1)          # pacing: this client is slow on purpose
            # Its upgrade was answered, so it was a member: once CLIENTS (open connections
            # only) leaves it out, the server has closed it.
            if not chunk or f'"id":"{ident}"' not in await ctl.ask(f"CLIENTS {FLOOD}"):
                break
            listed_at = now()
        noticed, before, t = now() - listed_at, len(buf), now()
        # Reading again, as a client whose stall is over does: with a full-size window. The
        # server's kernel buffer (autotuned, megabytes) is ahead of the Close; through a 4 KiB
        # window it could not all pass within the 2 s linger on a loaded machine.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        while chunk := await asyncio.wait_for(loop.sock_recv(sock, 1 << 20), OP_TIMEOUT):
            buf += chunk
        drained = f"{(len(buf) - before) / 1e6:.1f} MB drained in {now() - t:.2f} s"
        soak.slow_drain = max(soak.slow_drain, (now() - t, (len(buf) - before) / 1e6))
    finally:
        sock.close()
    frames, rest = parse_frames(buf)
    if 8 not in [op for op, _ in frames]:
        soak.fail(f"{ident}: closed without a Close frame ({len(frames)} frames, {len(rest)} bytes "
                  f"left; the drain began {noticed:.2f} s after it was last listed; {drained})")
    elif frames[-1][0] != 8 or rest or close_code(frames[-1][1]) != 1008 or frames[-1][1][2:] != b"slow consumer":
        soak.fail(f"{ident}: ended with {frames[-1][1][:20]!r}, {len(rest)} stray bytes")
    else:
        soak.slow_closed += 1


async def vanish(soak, i):
    """Leaves without a word (RST): mid-frame, mid-handshake, or while being written to."""
    kind = i % 3
    if kind == 1:
        reader, writer = await open_tcp(soak.port)
        req = upgrade_request(soak.port, f"/ws/{CHANNELS[i % 8]}")
        writer.write(req[:len(req) // 2])
        await writer.drain()
        reset(writer)
        soak.count("vanished mid-handshake")
        return
    reader, writer = await raw_ws(soak.port, f"/ws/{CHANNELS[i % 8]}?ch={FLOOD}", rcvbuf=4096, limit=2048)
    if kind == 0:
        writer.write(ws_frame(1, b"x" * 1000)[:300])
        await writer.drain()
        soak.count("vanished mid-frame")
    else:
        await asyncio.sleep(0.3)          # let the server start writing to it
        soak.count("vanished mid-write")
    reset(writer)


async def ping_flood(soak, i):
    reader, writer = await raw_ws(soak.port, f"/ws/{HOSTILE}")
    for burst in range(4):
        writer.write(b"".join(ws_frame(9, struct.pack("!II", burst, k)) for k in range(250)))
        await writer.drain()
    last, buf, pongs = struct.pack("!II", 3, 249), b"", 0
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            soak.fail("ping flood: connection closed before the last Pong")
            return
        frames, buf = parse_frames(buf + chunk)
        pongs += sum(op == 10 for op, _ in frames)
        if any(op == 10 and p == last for op, p in frames):
            break
    writer.write(ws_frame(8, struct.pack("!H", 1000)))
    code = await await_close(reader)
    writer.close()
    if code != 1000:
        soak.fail(f"ping flood: Close answered with {code}")
    soak.count("ping floods (1000 Pings)")


# (name, request or frames to send after an upgrade, expected status or close code)
BAD_FRAMES = [
    ("unmasked frame", lambda: ws_frame(1, b"hi", mask=False), 1002),
    ("RSV1 set", lambda: ws_frame(1, b"hi", rsv=4), 1002),
    ("reserved opcode", lambda: ws_frame(3, b"hi"), 1002),
    ("invalid UTF-8", lambda: ws_frame(1, b"ok \xc3\x28 no"), 1007),
    ("Ping over 125 bytes", lambda: ws_frame(9, b"p" * 126), 1002),
    ("continuation first", lambda: ws_frame(0, b"hi"), 1002),
    ("oversized message", lambda: ws_frame(2, b"", length=65537), 1009),
    ("oversized in fragments", lambda: ws_frame(2, b"z" * 40000, fin=False) + ws_frame(0, b"z" * 40000), 1009),
]


def bad_requests(port):
    up = lambda target, **kw: upgrade_request(port, target, **kw)  # noqa: E731
    return [
        ("bad Sec-WebSocket-Key", up(f"/ws/{HOSTILE}", key="short"), 400),
        ("bad channel name", up("/ws/bad$name"), 400),
        ("reserved id", up(f"/ws/{HOSTILE}?id=c123"), 400),
        ("malformed since", up(f"/ws/{HOSTILE}?since=x.y"), 400),
        ("unknown parameter", up(f"/ws/{HOSTILE}?colour=red"), 400),
        ("upgrade not GET", up(f"/ws/{HOSTILE}", method="POST"), 405),
        ("since beyond last, no envelope", up(f"/ws/{CHANNELS[0]}?since=999999999"), 410),
        ("WebSocket version 8", up(f"/ws/{HOSTILE}").replace(b"Version: 13", b"Version: 8"), 426),
        ("head over 8 KiB", up(f"/ws/{HOSTILE}", extra="X-Pad: " + "a" * 9000 + "\r\n"), 431),
        ("webhook, unknown token", http_post(port, f"/push/{CHANNELS[0]}",
                                             "Authorization: Bearer nosuchtoken1\r\nContent-Type: text/plain\r\n"
                                             "Connection: close\r\n", b"x"), 401),
        ("webhook, wrong type", http_post(port, f"/push/{CHANNELS[0]}",
                                          f"Authorization: Bearer {PUSH_TOKEN}\r\nContent-Type: image/png\r\n"
                                          "Connection: close\r\n", b"x"), 415),
    ]


async def malformed(soak, i):
    if i % 2:
        name, make, want = BAD_FRAMES[(i // 2) % len(BAD_FRAMES)]
        reader, writer = await raw_ws(soak.port, f"/ws/{HOSTILE}")
        writer.write(make())
        got = await await_close(reader)
    else:
        reqs = bad_requests(soak.port)
        name, req, want = reqs[(i // 2) % len(reqs)]
        reader, writer = await open_tcp(soak.port)
        writer.write(req)
        got, _ = await read_http(reader)
    writer.close()
    if got != want:
        soak.fail(f"{name}: got {got}, documented {want}")
    soak.count(f"{name} -> {want}")


GARBAGE = [b"FOO bar\n", b"PUB\n", b"PUB bad/name hi\n", b"PUBB soak.c0 x\n", b"SEND\n", b"KICK\n",
           b"\x01\x02\xff garbage\n", b"CLIENTS bad/name\n"]


async def garbage_control(soak, i):
    ctl = await Control(soak.ctl_path).open()
    try:
        for line in GARBAGE:
            reply = await ctl.ask(line)
            if not reply.startswith("ERR "):
                soak.fail(f"control {line!r}: {reply!r}, not ERR")
        if i % 10 == 0:
            reply = await ctl.ask(b"PUB soak.h " + b"L" * 70000 + b"\n")
            if reply != "ERR line too long":
                soak.fail(f"control line of 70,000 bytes: {reply!r}")
        if await ctl.ask("QUIT") != "OK bye":
            soak.fail("control QUIT: no OK bye")
    finally:
        ctl.close()
    soak.count("garbage control sessions")


async def repeat(soak, name, every, op):
    """op(soak, i) every `every` seconds until the load stops, each bounded by OP_TIMEOUT."""
    i = 0
    while not soak.stop.is_set():
        try:
            await asyncio.wait_for(op(soak, i), OP_TIMEOUT)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                RuntimeError, ValueError) as e:
            soak.fail(f"{name}: {type(e).__name__} {e}")
        i += 1
        await asyncio.sleep(every)        # pacing


async def slow_consumers(soak, n):
    ctl = await Control(soak.ctl_path).open()
    i = 0
    while not soak.stop.is_set():
        try:
            await asyncio.wait_for(slow_consumer(soak, n * 1000 + i, ctl), 90)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, RuntimeError) as e:
            if not soak.stop.is_set():
                soak.fail(f"slow consumer: {type(e).__name__} {e}")
        i += 1
    ctl.close()


# ---------------------------------------------------------------------------------------------
# Sampling

STAT_COLUMNS = ["connections", "sockets", "control_clients", "channels", "messages_in", "messages_out",
                "published", "history_bytes", "history_evicted", "tail_dropped", "out_of_memory",
                "memory_trims", "drops.slow_consumer", "drops.protocol_error", "drops.http_error",
                "drops.idle_timeout", "webhook.requests", "webhook.errors"]
COLUMNS = ["t_s", "rss_kib", "rss_anon_kib", "fds"] + STAT_COLUMNS + ["deliveries_checked"]


def proc_sample(pid):
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon"):
                vals[k] = int(v.split()[0])
    return vals["VmRSS"], vals["RssAnon"], len(os.listdir(f"/proc/{pid}/fd"))


def fd_targets(pid):
    """What each open descriptor is (socket:[inode] and the like), for a failure message."""
    fds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            fds[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return dict(sorted(fds.items()))


def flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


async def stats(ctl):
    reply = await ctl.ask("STATS")
    if not reply.startswith("OK {"):
        raise RuntimeError(f"STATS: {reply[:80]}")
    return flat(json.loads(reply[3:]))


async def sampler(soak):
    ctl = await Control(soak.ctl_path).open()
    t0 = now()
    tick = 0
    while not soak.stop.is_set():
        if soak.server.proc.returncode is not None:
            raise RuntimeError(f"the server exited with status {soak.server.proc.returncode} during the load "
                               "(see server.log)")
        rss, anon, fds = proc_sample(soak.pid)
        st = await stats(ctl)
        soak.stats = st
        row = [round(now() - t0, 1), rss, anon, fds] + [st.get(c, 0) for c in STAT_COLUMNS] + [soak.deliveries]
        soak.samples.append(dict(zip(COLUMNS, row)))
        if tick % 10 == 0:
            print(f"soak: {row[0]:5.0f} s  deliveries {soak.deliveries:,}  RSS {rss:,} KiB  fds {fds}  "
                  f"connections {st['connections']}  slow consumers closed {soak.slow_closed}  "
                  f"failures {len(soak.failures)}", flush=True)
        tick += 1
        await asyncio.sleep(max(0.0, t0 + tick - now()))   # 1 s sampling period
    ctl.close()


# ---------------------------------------------------------------------------------------------
# The run

def die_with_parent():
    """In the server's child before exec: SIGTERM it if this driver dies (PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class Server:
    def __init__(self, soak):
        self.soak = soak

    async def start(self):
        a = self.soak.args
        ctl = os.path.join(a.out, "wspushd.sock")
        self.log = open(os.path.join(a.out, "server.log"), "wb", buffering=0)
        self.proc = await asyncio.create_subprocess_exec(
            a.server, "--listen", "127.0.0.1:0", "--mode", "relay", "--control", ctl,
            "--send-buffer", "64K", "--max-message", "64K", "--history", "200", "--history-bytes", "16M",
            "--robot", f"{PUSH_TOKEN} soak.* name=push rate=1000/1s throttle=0",
            "--robot", f"{CARD_TOKEN} {CARD_CHANNEL} name=cards rate=1000/1s throttle=0",
            stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL, preexec_fn=die_with_parent)
        self.soak.pid, self.soak.ctl_path = self.proc.pid, ctl
        while True:
            line = await asyncio.wait_for(self.proc.stderr.readline(), OP_TIMEOUT)
            if not line:
                raise RuntimeError("server exited at start-up (see server.log)")
            self.log.write(line)
            if b"listening on 127.0.0.1:" in line:
                self.soak.port = int(line.split(b"127.0.0.1:")[1].split()[0])
                break
        self.copier = asyncio.create_task(self.copy_log())

    async def copy_log(self):
        while line := await self.proc.stderr.readline():
            self.log.write(line)

    async def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 30)
        await asyncio.wait_for(self.copier, OP_TIMEOUT)
        self.log.close()
        return code


async def wait_rest(soak, ctl):
    """Waits (1 s samples, bounded) until the server holds no client socket and no control
    client but ours; then its descriptors."""
    for _ in range(20):
        st = await stats(ctl)
        if st["sockets"] == 0 and st["control_clients"] == 1:
            soak.fds_after = fd_targets(soak.pid)
            return proc_sample(soak.pid)[2]
        await asyncio.sleep(1)
    soak.fail(f"20 s after every client left: {st['sockets']} sockets, {st['control_clients']} control clients")
    return proc_sample(soak.pid)[2]


def spawn_tracked(soak):
    n = len(soak.tracked)
    chans = random.sample(CHANNELS, random.randint(1, 3))
    chans[0] = CHANNELS[n % len(CHANNELS)]              # every channel has members
    chans = list(dict.fromkeys(chans))
    if n % 12 == 0:
        chans.append(BULK)
    t = Tracked(soak, f"wb-{n}", chans)
    soak.tracked.append(t)
    soak.tasks.append(asyncio.create_task(t.run()))


async def run(soak):
    server = soak.server = Server(soak)
    await server.start()
    ctl = await Control(soak.ctl_path).open()
    await stats(ctl)                      # answered: the server has accepted ctl
    rest_before = proc_sample(soak.pid)[2]
    soak.fds_before = fd_targets(soak.pid)
    soak.tasks = []
    soak.spawn_tracked = lambda: spawn_tracked(soak)
    for _ in range(N_TRACKED):
        spawn_tracked(soak)
    tail = asyncio.create_task(tail_reader(soak))
    load = [sampler(soak), control_publisher(soak), webhook_publisher(soak)]
    load += [relay_client(soak, n) for n in range(N_RELAY)]
    load += [slow_consumers(soak, n) for n in range(N_SLOW)]
    load += [repeat(soak, "vanish", 0.1, vanish), repeat(soak, "ping flood", 1.0, ping_flood),
             repeat(soak, "malformed", 0.1, malformed), repeat(soak, "garbage control", 1.0, garbage_control)]
    load = [asyncio.create_task(c) for c in load]
    t0 = now()
    soak.load_end = t0 + soak.args.seconds
    done, _ = await asyncio.wait(load, timeout=soak.args.seconds, return_when=asyncio.FIRST_EXCEPTION)
    for d in done:
        if d.exception():
            soak.fail(f"load task ended: {type(d.exception()).__name__} {d.exception()}")
    soak.load_s = now() - t0
    soak.stop.set()
    ended = await asyncio.wait_for(asyncio.gather(*load, *soak.tasks, return_exceptions=True), 60)
    for e in ended:
        if isinstance(e, BaseException) and not any(e is d.exception() for d in done):
            soak.fail(f"task ended: {type(e).__name__} {e}")
    # The relay clients have closed, so the server has read all they sent: TAIL has it queued.
    soak.relays_done.set()
    try:
        await asyncio.wait_for(tail, 2 * OP_TIMEOUT)
    except (OSError, RuntimeError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        soak.fail(f"TAIL reader: {type(e).__name__} {e}")

    # Drain: every channel's last seq, and every client present reads up to it.
    final = {}
    for c in json.loads((await ctl.ask("CHANNELS"))[3:]):
        final[c["name"]] = c["last_seq"]
    live = [t for t in soak.tracked if not t.retired]
    await asyncio.wait_for(asyncio.gather(*(t.drain(final) for t in live)), DRAIN_TIMEOUT + 2 * OP_TIMEOUT)
    soak.final_stats = await stats(ctl)
    rest_after = await wait_rest(soak, ctl)
    ctl.close()
    code = await server.stop()
    return final, rest_before, rest_after, code


def check(soak, final):
    """Counts missing/duplicated/reordered deliveries and accounts for every publication."""
    missing = dup = reordered = 0
    for ch in CHANNELS + [BULK]:
        last = final.get(ch, 0)
        lost = [s for s in range(1, last + 1) if s not in soak.truth[ch]]
        if lost:
            soak.fail(f"{ch}: {len(lost)} of seq 1..{last} neither acked nor seen (first {lost[:5]})")
        if any(s > last for s in soak.truth[ch]):
            soak.fail(f"{ch}: a seq beyond CHANNELS last_seq {last}")
    for kind, ch, marker, t in soak.sent_only:
        seq = soak.marker_seq.get((ch, marker))
        if seq is None:
            soak.fail(f"{kind} message on {ch} never delivered: {marker[:40]}")
        else:
            soak.pubs[ch].append((t, seq))
    owed_from = {}
    for ch, pubs in soak.pubs.items():
        pubs.sort()
        owed_from[ch] = pubs
    for t in soak.tracked:
        dup += t.dup
        reordered += t.reordered
        for ch in t.channels:
            m = len(t.missing[ch])
            if not t.retired:
                m += max(0, final.get(ch, 0) - t.last[ch])
            first = t.first.get(ch)
            owed = [s for ts, s in owed_from[ch] if t.t_join is not None and ts > t.t_join]
            if owed and first is None and t.retired:
                pass     # retired before anything of ch reached it: nothing to compare
            elif owed and first is not None and first > min(owed):
                m += first - min(owed)
                soak.fail(f"{t.ident}: first {ch} seq {first}, owed from {min(owed)}")
            missing += m
            if m:
                soak.fail(f"{t.ident}: {m} of {ch} missing (last {t.last[ch]} of {final.get(ch)})")
        if t.dup or t.reordered:
            soak.fail(f"{t.ident}: {t.dup} duplicated, {t.reordered} reordered")
    unseen = tail_unseen(soak)
    if unseen > soak.tail_dropped:
        soak.fail(f"TAIL missed {unseen} relay messages but reported {soak.tail_dropped} DROPPED")
    return missing, dup, reordered


def median_in(samples, col, a, b):
    vs = [s[col] for s in samples if a <= s["t_s"] < b]
    return statistics.median(vs) if vs else None


def judged_memory(args):
    """Memory is judged on the plain build over at least 60 s (a 12 s warm-up fills history)."""
    return not args.sanitized and args.seconds >= 60


def judge(soak, rest_before, rest_after):
    """The trend rule (module docstring). Returns the figures for the verdict line."""
    T = soak.args.seconds
    W = T / 5
    s = soak.samples
    rss2, rss_last = median_in(s, "rss_kib", W, 2 * W), median_in(s, "rss_kib", T - W, T + 1)
    fd2, fd_last = median_in(s, "fds", W, 2 * W), median_in(s, "fds", T - W, T + 1)
    if None in (rss2, rss_last, fd2, fd_last):
        soak.fail("too few samples to judge")
        return 0, 0, 0, 0
    if judged_memory(soak.args) and rss_last > rss2 * 1.05 + 256:
        soak.fail(f"RSS grew: median {rss_last:,.0f} KiB in the last {W:.0f} s, {rss2:,.0f} KiB in the second")
    if fd_last > fd2 * 1.05 + 4:
        soak.fail(f"descriptors grew: median {fd_last} in the last {W:.0f} s, {fd2} in the second")
    if rest_after > rest_before:
        soak.fail(f"descriptors at rest: {rest_before} before the load, {rest_after} after it "
                  f"({soak.fds_before} -> {getattr(soak, 'fds_after', None)})")
    return rss2, rss_last, fd2, fd_last


def sanitizer_reports(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return [line for line in text.splitlines()
            if "ERROR: AddressSanitizer" in line or "ERROR: LeakSanitizer" in line or "runtime error:" in line]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 300)))
    ap.add_argument("--out", default="build/soak")
    ap.add_argument("--sanitized", action="store_true", help="ASan/UBSan build: memory not judged")
    args = ap.parse_args()
    if args.seconds < 20:
        sys.exit("soak: --seconds must be at least 20")
    os.makedirs(args.out, exist_ok=True)
    soak = Soak(args)
    started = now()

    def watchdog():
        print(f"soak: FAIL: not finished {args.seconds + WATCHDOG_MARGIN:.0f} s after start; server killed",
              flush=True)
        if getattr(soak, "pid", None):
            os.kill(soak.pid, signal.SIGKILL)
        os._exit(3)
    dog = threading.Timer(args.seconds + WATCHDOG_MARGIN, watchdog)
    dog.daemon = True
    dog.start()

    final, rest_before, rest_after, code = {}, 0, 0, None
    try:
        final, rest_before, rest_after, code = asyncio.run(
            asyncio.wait_for(run(soak), args.seconds + WATCHDOG_MARGIN - 10))
    except (OSError, RuntimeError, asyncio.TimeoutError, ValueError) as e:
        soak.fail(f"run aborted: {type(e).__name__} {e}")
    if getattr(soak, "pid", None) and code is None:
        try:
            os.kill(soak.pid, signal.SIGKILL)
            soak.fail("the server did not exit after SIGTERM; killed")
        except ProcessLookupError:
            pass
    if code not in (0, None):
        soak.fail(f"server exit status {code} after SIGTERM")
    missing, dup, reordered = check(soak, final) if final else (0, 0, 0)
    if soak.samples:
        with open(os.path.join(args.out, "samples.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, COLUMNS)
            w.writeheader()
            w.writerows(soak.samples)
    rss2, rss_last, fd2, fd_last = judge(soak, rest_before, rest_after) if soak.samples else (0, 0, 0, 0)
    if args.sanitized:
        reports = sanitizer_reports(os.path.join(args.out, "server.log"))
        if reports:
            soak.fail(f"sanitizer: {reports[0]} ({len(reports)} report lines, see server.log)")
    W = args.seconds / 5
    if soak.samples:
        plot.draw(os.path.join(args.out, "samples.csv"), os.path.join(args.out, "soak.svg"), W,
                  f"wspushd soak, {args.seconds:.0f} s{' (ASan)' if args.sanitized else ''}: "
                  f"medians of the second and last {W:.0f} s compared")
    st = getattr(soak, "final_stats", soak.stats)
    print(f"soak: hostile: {', '.join(f'{v:,} {k}' for k, v in sorted(soak.hostile.items()))}; "
          f"{soak.slow_closed} slow consumers closed with 1008 (STATS slow_consumer "
          f"{st.get('drops.slow_consumer', 0)}; longest drain of the kernel's backlog ahead of the Close "
          f"{soak.slow_drain[1]:.1f} MB in {soak.slow_drain[0]:.2f} s); connections accepted "
          f"{st.get('connections_total', 0):,}; TAIL {soak.tail_lines:,} lines, {soak.tail_dropped} dropped; "
          f"published {st.get('published', 0):,}, history evicted {st.get('history_evicted', 0):,}; "
          f"driver CPU {sum(os.times()[:2]) / (now() - started) * 100:.0f} % of a core")
    pct = (rss_last / rss2 - 1) * 100 if rss2 else 0
    mem = (f"RSS {rss2 / 1024:.1f} MiB -> {rss_last / 1024:.1f} MiB ({pct:+.1f} %"
           f"{'' if judged_memory(args) else ', not judged: ASan or under 60 s'})")
    verdict = "FAIL" if soak.failures else "PASS"
    print(f"soak: {verdict} {args.seconds:.0f} s{' ASan' if args.sanitized else ''}, {soak.deliveries:,} deliveries "
          f"checked ({missing} missing, {dup} duplicated, {reordered} reordered), {mem}, "
          f"fds {fd2:.0f} -> {fd_last:.0f} (rest {rest_before} -> {rest_after}); rule: median of the last "
          f"{W:.0f} s <= second {W:.0f} s x 1.05 + 256 KiB (fds + 4); wall {now() - started:.0f} s"
          + (f"; {len(soak.failures)} failures, first: {soak.failures[0]}" if soak.failures else ""), flush=True)
    sys.exit(1 if soak.failures else 0)


if __name__ == "__main__":
    main()
