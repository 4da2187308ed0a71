// Test support for the webhook: HTTP requests over a kept-alive RawClient or through
// Debian's curl, and their replies parsed. Every wait is bounded.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/push_support.h"
#include "support/test_server.h"

namespace wspush::testing {

struct HttpReply {
    int status = 0;     // 0: no reply in time
    std::string head;   // status line and headers
    std::string body;
    std::optional<Json> json;  // the body, when it is JSON

    // A header's value (case-insensitive name); empty when absent.
    [[nodiscard]] std::string header(std::string_view name) const;
    // The JSON body's errcode; -1 when there is none.
    [[nodiscard]] long long errcode() const;
    [[nodiscard]] std::string errmsg() const;
};

// Parses a response as read_http() returns it.
[[nodiscard]] HttpReply parse_reply(const std::string& raw);

// A request with Content-Length (and `headers`, each "Name: value\r\n"); HTTP/1.1, Host set.
[[nodiscard]] std::string post_request(std::string_view target, std::string_view body,
                                       std::string_view content_type = "application/json",
                                       std::string_view headers = {});

// Sends post_request(...) on c (connected, kept alive) and reads the reply.
HttpReply post(RawClient& c, std::string_view target, std::string_view body,
               std::string_view content_type = "application/json", std::string_view headers = {});

// POSTs `body` with curl (-H for each header, as curl spells it) to 127.0.0.1:port + target.
HttpReply curl_post(uint16_t port, std::string_view target, std::string_view body,
                    const std::vector<std::string>& headers = {"Content-Type: application/json"});

// Whether curl is installed (tools/install-deps.sh installs it).
bool curl_available();

}  // namespace wspush::testing
