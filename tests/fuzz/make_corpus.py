#!/usr/bin/env python3
"""Writes the seed inputs of the new fuzz targets into tests/fuzz/corpus/<target>/ (run from
the repository root; deterministic, so a rerun changes nothing). One seed per case family:
real upgrade requests and the handshake's refusals; client frames for every category of
tests/ws/frame_parser_test.cpp and tests/conformance (framing, ping/pong, reserved bits,
opcodes, fragmentation, UTF-8, limits, close); UTF-8 edge cases; the README's control
commands and upgrade URLs; Redis replies of every RESP type; the frames between the
parent and its workers (src/cluster/wire.h). The layout of each input is the
one its target reads (see the first lines of tests/fuzz/<target>_fuzz.cpp)."""
import os
import re
import struct

ROOT = os.path.join("tests", "fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- request: option byte (bit 0: protocols, bit 1: origins), then the head -------------

def captured_chromium():
    text = open("tests/http/captured_requests.h").read()
    body = text[text.index("kChromium =") :].split(";", 1)[0]
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body)).encode().decode("unicode_escape")


REQUESTS = {
    "chromium": captured_chromium(),
    # What Firefox 128 sends (keep-alive in Connection, its own header order).
    "firefox": "GET /ws/news?id=anna HTTP/1.1\r\nHost: gw.local:8080\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n"
    "Sec-WebSocket-Version: 13\r\nOrigin: http://gw.local\r\n"
    "Sec-WebSocket-Protocol: wspush.v1\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: keep-alive, Upgrade\r\n"
    "Sec-Fetch-Dest: empty\r\nSec-Fetch-Mode: websocket\r\nSec-Fetch-Site: same-origin\r\n"
    "Pragma: no-cache\r\nCache-Control: no-cache\r\nUpgrade: websocket\r\n\r\n",
    # What Safari 17 sends.
    "safari": "GET /ws/alerts?ch=news&since=alerts:9f2c1a7700000001.42 HTTP/1.1\r\n"
    "Upgrade: websocket\r\nConnection: Upgrade\r\nHost: gw.local\r\n"
    "Origin: https://gw.local\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n"
    "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Safari/605.1.15\r\n\r\n",
    # curl 7.88 --include -H ... (a hand-made upgrade, bare minimum).
    "curl": "GET /ws/demo HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: SGVsbG8sIHdvcmxkIQ==\r\n\r\n",
    "bare_lf": "GET /ws/a HTTP/1.1\nHost: x\nUpgrade: websocket\nConnection: upgrade\n"
    "Sec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n\n",
    "frames_after_head": "GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
    "version_8": "GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    "post_with_body": "POST /robot/send?access_token=abc HTTP/1.1\r\nHost: x\r\n"
    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    "http2_preface": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "obs_fold": "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
    "space_before_colon": "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
    "bare_cr": "GET / HTTP/1.1\rHost: x\r\n\r\n",
    "tls_hello": "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    "content_length_upgrade": "GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Content-Length: 5\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
}


def requests():
    for name, head in REQUESTS.items():
        write("request", name, b"\x03" + head.encode("latin-1"))


# ---- frame: max_message selector byte, then client frames --------------------------------

KEY = b"\x37\xfa\x21\x3d"


def frame(op, payload=b"", fin=True, rsv=0, masked=True, length=None):
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv | op
    m = 0x80 if masked else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n <= 0xFFFF:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    return head + KEY + bytes(c ^ KEY[i % 4] for i, c in enumerate(payload))


def close(code=None, reason=b""):
    return frame(8, b"" if code is None else struct.pack(">H", code) + reason)


FRAMES = {
    # framing
    "text_small": frame(1, "Hello"),
    "binary_all_bytes": frame(2, bytes(range(256))),
    "text_125": frame(1, "a" * 125),
    "text_126": frame(1, "a" * 126),
    "binary_65536_partial": frame(2, b"\x00" * 65536)[:200],  # the 64-bit length form
    "several_in_one": frame(1, "one") + frame(2, b"\x00\xff") + frame(1) + frame(2) + frame(1, "five"),
    "unmasked": frame(1, "x", masked=False),
    "non_minimal_16": bytes([0x81, 0xFE, 0x00, 0x05]) + KEY + b"abcde",
    "non_minimal_64": bytes([0x82, 0xFF]) + struct.pack(">Q", 200) + KEY,
    "length_top_bit": bytes([0x82, 0xFF, 0x80]) + b"\x00" * 7 + KEY,
    # ping/pong
    "ping_pong": frame(9, "ping") + frame(10, "pong") + frame(9) + frame(10, b"\xff" * 125),
    "ping_126": frame(9, "a" * 126),
    "ping_fragmented": frame(9, "x", fin=False),
    # reserved bits and opcodes
    "rsv1": frame(1, "x", rsv=0x40),
    "rsv3": frame(1, "x", rsv=0x10),
    "opcode_3": frame(3, "x"),
    "opcode_b": frame(0xB, "x"),
    # fragmentation
    "fragments": frame(1, "fra", fin=False) + frame(0, "gme", fin=False) + frame(0, "nts"),
    "fragments_ping_between": frame(2, b"\x01", fin=False) + frame(9, "p") + frame(0, b"\x02"),
    "continuation_first": frame(0, "x"),
    "text_inside_text": frame(1, "a", fin=False) + frame(1, "b"),
    "empty_fragments": frame(1, fin=False) + frame(0, fin=False) + frame(0),
    # UTF-8
    "utf8_valid": frame(1, "κόσμε 𝄞 €"),
    "utf8_split_codepoint": frame(1, b"\xf0\x9d", fin=False) + frame(0, b"\x84\x9e"),
    "utf8_overlong": frame(1, b"\xc0\xaf"),
    "utf8_surrogate": frame(1, b"\xed\xa0\x80"),
    "utf8_too_big": frame(1, b"\xf4\x90\x80\x80"),
    "utf8_truncated_end": frame(1, b"a\xe2\x82"),
    "utf8_bad_after_good_fragment": frame(1, "good", fin=False) + frame(0, b"\xff"),
    # limits (selector byte 2: max_message 200)
    "limit_exact": frame(2, b"x" * 200),
    "limit_over": frame(2, b"x" * 201),
    "limit_over_fragments": frame(2, b"x" * 150, fin=False) + frame(0, b"x" * 51),
    # close
    "close_empty": close(),
    "close_1000_reason": close(1000, b"bye"),
    "close_one_byte": frame(8, b"\x03"),
    "close_1005": close(1005),
    "close_999": close(999),
    "close_4999": close(4999),
    "close_bad_reason": close(1000, b"\xff"),
    "close_then_more": close(1001) + frame(1, "after"),
}


def frames():
    for name, wire in FRAMES.items():
        write("frame", name, (b"\x02" if name.startswith("limit") else b"\x00") + wire)


# ---- frame_codec: FuzzedDataProvider bytes; a few fixed patterns to start from -----------

def frame_codec():
    write("frame_codec", "zeros", b"\x00" * 64)
    write("frame_codec", "ramp", bytes(range(256)))
    write("frame_codec", "mixed", bytes((i * 37 + 11) & 0xFF for i in range(512)))


# ---- utf8: raw bytes -----------------------------------------------------------------------

UTF8 = {
    "ascii": b"Hello, world",
    "multilingual": "κόσμε Ελληνικά 中文 日本語 한국어 𝄞 😀 €".encode(),
    "boundaries": "\u007f\u0080\u07ff\u0800\uffff\U00010000\U0010ffff".encode(),
    "overlong_2": b"\xc0\x80",
    "overlong_3": b"\xe0\x80\xaf",
    "overlong_4": b"\xf0\x80\x80\xaf",
    "surrogate_low": b"\xed\xbf\xbf",
    "above_10ffff": b"\xf4\x90\x80\x80",
    "f5_ff": b"\xf5\xfe\xff",
    "lone_continuation": b"a\x80b",
    "truncated": b"\xe2\x82",
    "long_ascii_then_bad": b"x" * 100 + b"\xc3\x28",
}


def utf8():
    for name, data in UTF8.items():
        write("utf8", name, data)


# ---- command: max_payload selector byte (bit 0: 1 MiB, else 16), then the client's bytes --

def commands():
    lines = {
        "pub": "PUB demo hello from the shell\n",
        "pubb": "PUBB demo 5\nab\ncdSTATS\n",
        "pubb_empty": "PUBB demo 0\nQUIT\n",
        "send_broadcast": "SEND anna only for you\r\nBROADCAST to everyone\n",
        "stats_metrics": "STATS\nMETRICS\nCLIENTS\nCLIENTS demo\nCHANNELS\n",
        "kick": "KICK anna\nKICK anna 4000 go away\nKICK anna 1005\n",
        "tail_help_quit": "TAIL\nHELP\nQUIT\nPUB after quit\n",
        "lower_case": "pub demo x\nstats\n",
        "errors": "\nFOO\nPUB bad/name x\nPUBB demo x\nCLIENTS a b\nPUB demo \xff\n",
        "no_final_lf": "PUB demo a\nPUB demo b",
    }
    for name, text in lines.items():
        write("command", name, b"\x01" + text.encode("latin-1"))
    write("command", "line_too_long", b"\x00PUB demo " + b"x" * 300 + b"\nSTATS\n")


# ---- query: a request-target ----------------------------------------------------------------

def queries():
    targets = {
        "join": "/ws/alerts",
        "join_several": "/ws/alerts?ch=news&ch=sensors.kitchen&id=anna",
        "since_epoch": "/ws/alerts?since=9f2c1a7700000001.42",
        "since_channels": "/ws/alerts?ch=news&since=alerts:9f2c1a7700000001.7&since=news:3",
        "since_legacy": "/ws/alerts?since=5",
        "reserved_id": "/ws/alerts?id=c42",
        "unknown_param": "/ws/alerts?foo=bar",
        "robot": "/robot/send?access_token=abc%2Bdef&timestamp=1700000000000&sign=a%2Bb%3D",
        "double_encoded": "/robot/send?access_token=abc%252B",
        "bad_escape": "/x?a=%zz&b=%4",
        "plus_and_fragment": "/push/demo?a=b+c&&=x#frag",
        "stats": "/stats",
    }
    for name, t in targets.items():
        write("query", name, t)


# ---- resp: limits byte (even: small limits, odd: the defaults), then replies a server sends ---

def resps():
    streams = {
        "resp2_types": "+OK\r\n-ERR unknown command 'FOO'\r\n:1000\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n"
        "*3\r\n:1\r\n$3\r\nfoo\r\n+bar\r\n*2\r\n*1\r\n:1\r\n*0\r\n",
        "resp3_types": "_\r\n#t\r\n#f\r\n,3.14\r\n,-inf\r\n,nan\r\n,1.5e-10\r\n(3492890328409238509324850943850943825024385\r\n"
        "!21\r\nSYNTAX invalid syntax\r\n=15\r\ntxt:Some string\r\n~2\r\n+a\r\n#t\r\n",
        "hello3": "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"
        "$2\r\nid\r\n:5\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
        "pubsub_resp3": ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n+PONG\r\n",
        "pubsub_resp2": "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
        "*2\r\n$4\r\npong\r\n$0\r\n\r\n",
        "attributes": "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n"
        "*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n|0\r\n+OK\r\n",
        "nested_map": "%2\r\n+first\r\n*2\r\n%1\r\n~1\r\n#f\r\n>1\r\n_\r\n:2\r\n+second\r\n:2\r\n",
        "errors_and_streams": "-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair\r\n$?\r\n",
        "garbage": "+OK\r\n:12a\r\n",
    }
    for name, s in streams.items():
        write("resp", name + "_small", b"\x00" + s.encode())
        write("resp", name, b"\x01" + s.encode())
    deep = "*1\r\n" * 20 + ":1\r\n"
    write("resp", "deep_small", b"\x00" + deep.encode())
    big = "$100\r\n" + "x" * 100 + "\r\n*9\r\n" + ":1\r\n" * 9
    write("resp", "over_bounds_small", b"\x00" + big.encode())


# ---- cluster_wire: limit byte (even: 32-byte payloads, odd: the default), then frames ------

def cluster_frame(kind, fields):
    body = bytes([kind]) + fields
    return struct.pack("<I", len(body)) + body


def cluster_name(name):
    return bytes([len(name)]) + name


def cluster_wires():
    publish = cluster_frame(1, struct.pack("<QB", 7, 1) + cluster_name(b"news") + b"hello")
    published = cluster_frame(2, struct.pack("<QQQIB", 0x9E3779B900000001, 1, 7, 0, 1)
                              + cluster_name(b"news") + b"hello")
    idle = cluster_frame(3, struct.pack("<QQ", 0x9E3779B900000001, 1) + cluster_name(b"news"))
    query = cluster_frame(4, struct.pack("<Q", 3))
    stats = cluster_frame(5, struct.pack("<QB", 3, 4) + struct.pack("<4Q", 10, 20, 0, 2**64 - 1))
    binary = cluster_frame(1, struct.pack("<QB", 8, 2) + cluster_name(b"c" * 64) + bytes(range(40)))
    write("cluster_wire", "publish_flow", b"\x01" + publish + published + idle)
    write("cluster_wire", "stats", b"\x01" + query + stats)
    write("cluster_wire", "binary_small", b"\x00" + binary + publish)
    write("cluster_wire", "garbage", b"\x01" + publish + cluster_frame(9, b"") + published)
    write("cluster_wire", "cut", b"\x01" + published + publish[:7])


if __name__ == "__main__":
    requests()
    frames()
    frame_codec()
    utf8()
    commands()
    queries()
    resps()
    cluster_wires()
