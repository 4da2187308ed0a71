#include "support/webhook_support.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace wspush::testing {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& ch : out) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    return out;
}

std::string shell_quote(std::string_view s) {
    std::string out = "'";
    for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return out + "'";
}

}  // namespace

std::string HttpReply::header(std::string_view name) const {
    const std::string want = lower(name) + ":";
    size_t at = 0;
    while ((at = head.find("\r\n", at)) != std::string::npos) {
        at += 2;
        if (lower(std::string_view(head).substr(at, want.size())) != want) continue;
        size_t end = head.find("\r\n", at);
        std::string v = head.substr(at + want.size(), end - at - want.size());
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        return v;
    }
    return "";
}

long long HttpReply::errcode() const {
    const Json* e = json ? json->get("errcode") : nullptr;
    return e && e->kind == Json::Kind::kNumber ? std::atoll(e->text.c_str()) : -1;
}

std::string HttpReply::errmsg() const {
    const Json* e = json ? json->get("errmsg") : nullptr;
    return e ? e->text : "";
}

HttpReply parse_reply(const std::string& raw) {
    HttpReply r;
    size_t end = raw.find("\r\n\r\n");
    if (raw.size() < 12 || end == std::string::npos) return r;
    r.status = std::atoi(raw.c_str() + 9);
    r.head = raw.substr(0, end + 2);
    r.body = raw.substr(end + 4);
    if (!r.body.empty() && (r.body[0] == '{' || r.body[0] == '[')) r.json = parse_json(r.body);
    return r;
}

std::string post_request(std::string_view target, std::string_view body, std::string_view content_type,
                         std::string_view headers) {
    std::string req = "POST " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!content_type.empty()) req += "Content-Type: " + std::string(content_type) + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += headers;
    req += "\r\n";
    req += body;
    return req;
}

HttpReply post(RawClient& c, std::string_view target, std::string_view body, std::string_view content_type,
               std::string_view headers) {
    if (!c.send_all(post_request(target, body, content_type, headers))) return {};
    return parse_reply(c.read_http());
}

bool curl_available() { return access("/usr/bin/curl", X_OK) == 0; }

HttpReply curl_post(uint16_t port, std::string_view target, std::string_view body,
                    const std::vector<std::string>& headers) {
    char path[] = "/tmp/wspush-curl-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return {};
    close(fd);
    std::ofstream(path, std::ios::binary) << body;
    std::string cmd = "curl -sS -i --max-time 10 -X POST --data-binary @" + std::string(path);
    for (const std::string& h : headers) cmd += " -H " + shell_quote(h);
    cmd += " " + shell_quote("http://127.0.0.1:" + std::to_string(port) + std::string(target));
    std::string out = run_command(cmd);
    unlink(path);
    // curl -i prints every response head, interim 100 Continue included: keep the last.
    while (out.rfind("HTTP/1.1 100", 0) == 0) {
        size_t end = out.find("\r\n\r\n");
        if (end == std::string::npos) break;
        out.erase(0, end + 4);
    }
    return parse_reply(out);
}

}  // namespace wspush::testing
