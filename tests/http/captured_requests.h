// Upgrade requests captured from real clients, shared by the handshake tests and the HTTP
// benchmark (bench/ builds with -Itests).
#pragma once
#include <string_view>

namespace wspush::http::captured {

// Chromium 156 on Linux over loopback (new WebSocket("ws://127.0.0.1:18766/ws/news") on a
// page served from port 18767); 504 bytes.
constexpr std::string_view kChromium =
    "GET /ws/news HTTP/1.1\r\n"
    "Host: 127.0.0.1:18766\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/156.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://127.0.0.1:18767\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: KTz//8Mkv2SXba515wu6fQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

}  // namespace wspush::http::captured
