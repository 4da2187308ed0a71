// Test support: headless Chromium driven over the Chrome DevTools Protocol (CDP).
// The protocol runs over --remote-debugging-pipe (fds 3 and 4 of the browser, one JSON
// message per NUL-terminated record), so no port has to be found and nothing listens.
// Every call is bounded in time; the browser and its profile directory go away with the
// object, on every path.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace wspush::testing {

struct Json;  // support/push_support.h

// Where Debian (and the CI image) installs Chromium.
inline constexpr char kChromiumPath[] = "/usr/bin/chromium";

// True if kChromiumPath exists and is executable.
bool chromium_available();

// `s` as a JSON string literal (quotes included, control characters escaped), which is also
// a JavaScript string literal: for CDP parameters and for text spliced into an expression.
std::string js_quote(std::string_view s);

class Browser {
public:
    Browser() = default;
    ~Browser();
    Browser(const Browser&) = delete;
    Browser& operator=(const Browser&) = delete;

    // Starts headless Chromium with a fresh profile under /tmp in its own process group and
    // waits (bounded) until it answers a first command. False, with error() saying why, on
    // failure.
    bool start(int timeout_ms = 20000);
    // Opens `url` in a new page and attaches to it; later calls act on that page.
    bool open(const std::string& url, int timeout_ms = 10000);
    // Evaluates a JavaScript expression in the page and returns String(value). nullopt if it
    // threw, on timeout, or if the browser went away (error() tells).
    std::optional<std::string> eval(const std::string& expression, int timeout_ms = 5000);
    // Polls eval(expression) every few milliseconds until it yields "true"; false once
    // timeout_ms passed. This waits on a condition the page makes observable, not for time.
    bool wait_true(const std::string& expression, int timeout_ms);
    // The page as PNG bytes (Page.captureScreenshot); empty on failure.
    std::string screenshot(int timeout_ms = 10000);
    // Kills the browser's process group and removes the profile directory. Idempotent.
    void close();

    [[nodiscard]] const std::string& error() const { return error_; }
    // What the browser wrote to stdout/stderr so far (kept in the profile directory).
    [[nodiscard]] std::string log() const;

private:
    // Sends a CDP command (params: JSON object text) to the attached page, or to the browser
    // when on_page is false, and waits for its reply. True with *result set to the reply's
    // "result"; false with error_ set on an error reply, timeout or a dead browser.
    bool call(const std::string& method, const std::string& params, int timeout_ms, Json* result,
              bool on_page = true);
    bool read_message(std::string& out, int timeout_ms);

    pid_t pid_ = -1;
    int fd_ = -1;  // our end of the socketpair behind the browser's fds 3 and 4
    int next_id_ = 1;
    std::string dir_;
    std::string session_;
    std::string buf_;
    std::string error_;
};

}  // namespace wspush::testing
