// The built-in demo page (GET /) in a real browser: headless Chromium, driven over the
// DevTools protocol, shows pushed messages live, reconnects after the server drops it, and
// resumes with ?since= so a message pushed meanwhile shows up once, in order.
// Set WSPUSH_SCREENSHOT=<file.png> to keep a picture of the page at the end of the first test.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "support/browser.h"
#include "support/push_support.h"
#include "support/test_server.h"

namespace wspush::testing {
namespace {

constexpr int kWaitMs = 10000;  // any one observable step; the reconnect backoff is <= 1 s here

const std::string kState = "document.getElementById('state').textContent";

// One line of the page's message list.
struct Item {
    std::string kind;  // the li's class: msg, binary, direct, broadcast, gap
    std::string tag;   // "<time>  #<seq>" and the like
    std::string text;  // the payload as shown
};

std::vector<Item> items(Browser& b) {
    auto text = b.eval(
        "JSON.stringify([...document.querySelectorAll('#messages li')].map("
        "li => [li.className, li.firstChild.textContent, li.lastChild.textContent]))");
    std::vector<Item> out;
    auto json = parse_json(text.value_or("[]"));
    if (!json) return out;
    for (const Json& li : json->items)
        if (li.items.size() == 3) out.push_back({li.items[0].text, li.items[1].text, li.items[2].text});
    return out;
}

std::vector<std::string> states(Browser& b) {
    std::vector<std::string> out;
    auto json = parse_json(b.eval("JSON.stringify(window.__states)").value_or("[]"));
    if (json)
        for (const Json& s : json->items) out.push_back(s.text);
    return out;
}

// Index of the only item showing `text`; -1 if none, -2 if shown more than once.
int find_once(const std::vector<Item>& list, std::string_view text) {
    int at = -1;
    for (size_t i = 0; i < list.size(); ++i) {
        if (list[i].text != text) continue;
        if (at >= 0) return -2;
        at = static_cast<int>(i);
    }
    return at;
}

// A JS condition: some list item's payload equals `text`.
std::string shows(std::string_view text) {
    return "[...document.querySelectorAll('#messages li')].some(li => li.lastChild.textContent === " +
           js_quote(text) + ")";
}

std::string dump(Browser& b) {
    std::string s = "state: " + b.eval(kState).value_or("?") + "\nstates:";
    for (auto& st : states(b)) s += " [" + st + "]";
    s += "\nitems:";
    for (auto& it : items(b)) s += "\n  " + it.kind + " | " + it.tag + " | " + it.text;
    return s + "\nbrowser error: " + b.error();
}

// The page's connection id, from CLIENTS <channel> (the only client there).
std::string client_id(ControlConn& ctl, const std::string& channel) {
    auto line = ctl.command("CLIENTS " + channel).value_or("");
    if (line.rfind("OK ", 0) != 0) return {};
    auto json = parse_json(line.substr(3));
    if (!json || json->items.size() != 1) return {};
    const Json* id = json->items[0].get("id");
    return id ? id->text : std::string();
}

class BrowserDemo : public ::testing::Test {
protected:
    void SetUp() override {
        if (!chromium_available())
            GTEST_SKIP() << kChromiumPath << " is not installed; the demo page test needs Chromium";
    }

    // Starts the server with `args`, the browser, and opens the demo page with `query`.
    void start_page(std::vector<std::string> args, const std::string& query) {
        ASSERT_TRUE(srv_.start(std::move(args))) << srv_.log();
        ASSERT_TRUE(ctl_.connect(srv_.control_path()));
        ASSERT_TRUE(browser_.start()) << browser_.error();
        ASSERT_TRUE(browser_.open("http://127.0.0.1:" + std::to_string(srv_.port()) + "/?" + query))
            << browser_.error();
    }

    // start_page, then waits until the page says it is connected.
    void open_page(std::vector<std::string> args, const std::string& query) {
        ASSERT_NO_FATAL_FAILURE(start_page(std::move(args), query));
        ASSERT_TRUE(browser_.wait_true(kState + " === 'open'", kWaitMs)) << dump(browser_) << srv_.log();
    }

    void TearDown() override {
        browser_.close();
        // A clean stop also removes the control socket file.
        if (srv_.pid() > 0) {
            EXPECT_EQ(srv_.stop(), 0) << srv_.log();
        }
    }

    ServerProcess srv_;
    ControlConn ctl_;
    Browser browser_;
};

TEST_F(BrowserDemo, ShowsMessagesLiveAndResumesAfterKick) {
    ASSERT_NO_FATAL_FAILURE(open_page({"--mode", "push"}, "channel=t1"));
    EXPECT_EQ(browser_.eval("document.getElementById('channel').value"), "t1");
    EXPECT_NE(browser_.eval("document.getElementById('help').textContent").value_or("").find("PUB t1 "),
              std::string::npos);

    EXPECT_EQ(ctl_.command("PUB t1 first-message"), "OK seq=1 delivered=1");
    ASSERT_TRUE(browser_.wait_true(shows("first-message"), kWaitMs)) << dump(browser_);

    // Message text is shown as text, never parsed as markup.
    const std::string markup = "<img src=x onerror=\"window.__injected=1\"><b>bold</b>";
    EXPECT_EQ(ctl_.command("PUB t1 " + markup), "OK seq=2 delivered=1");
    ASSERT_TRUE(browser_.wait_true(shows(markup), kWaitMs)) << dump(browser_);
    EXPECT_EQ(browser_.eval("document.querySelectorAll('#messages img, #messages b').length"), "0");

    // Binary payloads arrive base64-encoded and are marked as binary.
    ASSERT_TRUE(ctl_.send(std::string("PUBB t1 3\nhi\0", 13)));
    EXPECT_EQ(ctl_.read_line(), "OK seq=3 delivered=1");
    ASSERT_TRUE(browser_.wait_true(shows("aGkA"), kWaitMs)) << dump(browser_);

    EXPECT_EQ(ctl_.command("BROADCAST to-everyone"), "OK delivered=1");
    ASSERT_TRUE(browser_.wait_true(shows("to-everyone"), kWaitMs)) << dump(browser_);

    // Drop the page from the server side, and publish while it is away: nobody gets it live
    // (a kicked connection takes no more messages), so it can only come from the resume.
    std::string id = client_id(ctl_, "t1");
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(ctl_.command("KICK " + id + " 4000 test"), "OK kicked=1");
    EXPECT_EQ(ctl_.command("PUB t1 missed-while-away"), "OK seq=4 delivered=0")
        << "the page reconnected within a millisecond; its backoff should wait >= 250 ms";
    ASSERT_TRUE(browser_.wait_true(shows("missed-while-away"), kWaitMs)) << dump(browser_) << srv_.log();
    ASSERT_TRUE(browser_.wait_true(kState + " === 'open'", kWaitMs)) << dump(browser_);

    // Live delivery goes on after the resume.
    EXPECT_EQ(ctl_.command("PUB t1 after-reconnect"), "OK seq=5 delivered=1");
    ASSERT_TRUE(browser_.wait_true(shows("after-reconnect"), kWaitMs)) << dump(browser_);

    auto list = items(browser_);
    int first = find_once(list, "first-message");
    int missed = find_once(list, "missed-while-away");
    int after = find_once(list, "after-reconnect");
    EXPECT_GE(first, 0) << dump(browser_);
    EXPECT_GT(missed, first) << dump(browser_);
    EXPECT_GT(after, missed) << dump(browser_);
    ASSERT_EQ(list.size(), 6u) << "each message exactly once, no replays shown twice\n" << dump(browser_);
    const char* kinds[] = {"msg", "msg", "binary", "broadcast", "msg", "msg"};
    const char* tags[] = {"#1", "#2", "#3 binary 3 B", "broadcast", "#4", "#5"};
    for (size_t i = 0; i < list.size(); ++i) {
        EXPECT_EQ(list[i].kind, kinds[i]) << i;
        EXPECT_TRUE(list[i].tag.ends_with(tags[i])) << i << ": " << list[i].tag;
    }

    auto seen = states(browser_);
    ASSERT_EQ(seen.size(), 5u) << dump(browser_);
    EXPECT_EQ(seen[0], "connecting");
    EXPECT_EQ(seen[1], "open");
    EXPECT_TRUE(seen[2].starts_with("reconnecting in 0.")) << seen[2];
    EXPECT_TRUE(seen[2].ends_with(" s (closed 4000 test)")) << seen[2];
    EXPECT_EQ(seen[3], "connecting");
    EXPECT_EQ(seen[4], "open");

    if (const char* path = std::getenv("WSPUSH_SCREENSHOT")) {
        std::string png = browser_.screenshot();
        EXPECT_FALSE(png.empty()) << browser_.error();
        std::ofstream(path, std::ios::binary) << png;
    }
}

TEST_F(BrowserDemo, ShowsGapWhenHistoryNoLongerHoldsTheMissedMessages) {
    // With ?id= the page's connection has a known id to kick.
    ASSERT_NO_FATAL_FAILURE(open_page({"--mode", "push", "--history", "2"}, "channel=g&id=page"));
    EXPECT_EQ(ctl_.command("PUB g one"), "OK seq=1 delivered=1");
    ASSERT_TRUE(browser_.wait_true(shows("one"), kWaitMs)) << dump(browser_);

    EXPECT_EQ(ctl_.command("KICK page 4000 test"), "OK kicked=1");
    EXPECT_EQ(ctl_.command("PUB g two"), "OK seq=2 delivered=0");
    EXPECT_EQ(ctl_.command("PUB g three"), "OK seq=3 delivered=0");
    EXPECT_EQ(ctl_.command("PUB g four"), "OK seq=4 delivered=0");
    ASSERT_TRUE(browser_.wait_true(shows("four"), kWaitMs)) << dump(browser_);

    auto list = items(browser_);
    ASSERT_EQ(list.size(), 4u) << dump(browser_);
    EXPECT_EQ(list[0].text, "one");
    EXPECT_EQ(list[1].kind, "gap");
    EXPECT_EQ(list[1].text, "missed #2: no longer kept by the server");
    EXPECT_EQ(list[2].text, "three");
    EXPECT_EQ(list[3].text, "four");
}

TEST_F(BrowserDemo, RefusesABadChannelNameAndJoinsTheOneTypedIn) {
    ASSERT_NO_FATAL_FAILURE(start_page({"--mode", "push"}, "channel=no%20spaces"));
    ASSERT_TRUE(browser_.wait_true(kState + ".startsWith('closed: ')", kWaitMs)) << dump(browser_);
    EXPECT_EQ(ctl_.command("CHANNELS"), "OK []") << "the page must not have tried to join";

    ASSERT_TRUE(browser_.eval("document.getElementById('channel').value = 'typed'"));
    ASSERT_TRUE(browser_.eval("document.getElementById('form').requestSubmit()"));
    ASSERT_TRUE(browser_.wait_true(kState + " === 'open'", kWaitMs)) << dump(browser_);
    EXPECT_EQ(browser_.eval("location.search"), "?channel=typed");
    EXPECT_NE(browser_.eval("document.getElementById('help').textContent").value_or("").find("PUB typed "),
              std::string::npos);
    EXPECT_EQ(ctl_.command("PUB typed hello"), "OK seq=1 delivered=1");
    ASSERT_TRUE(browser_.wait_true(shows("hello"), kWaitMs)) << dump(browser_);
}

TEST_F(BrowserDemo, StartsOverWhenARestartedServerNumbersFromOne) {
    ASSERT_NO_FATAL_FAILURE(open_page({"--mode", "push"}, "channel=r"));
    EXPECT_EQ(ctl_.command("PUB r one"), "OK seq=1 delivered=1");
    EXPECT_EQ(ctl_.command("PUB r two"), "OK seq=2 delivered=1");
    ASSERT_TRUE(browser_.wait_true(shows("two"), kWaitMs)) << dump(browser_);

    // Same address, fresh history: the page resumes with since=<old epoch>.2; the new server
    // numbers the channel in another epoch, answers with a gap, and the page must accept #1
    // again and say why.
    std::string port = std::to_string(srv_.port());
    EXPECT_EQ(srv_.stop(), 0);
    ASSERT_TRUE(browser_.wait_true(kState + ".startsWith('reconnecting')", kWaitMs)) << dump(browser_);
    ServerProcess again;
    ASSERT_TRUE(again.start({"--mode", "push", "--listen", "127.0.0.1:" + port})) << again.log();
    ASSERT_TRUE(ctl_.connect(again.control_path()));
    ASSERT_TRUE(browser_.wait_true(kState + " === 'open'", kWaitMs)) << dump(browser_) << again.log();
    EXPECT_EQ(ctl_.command("PUB r again"), "OK seq=1 delivered=1");
    ASSERT_TRUE(browser_.wait_true(shows("again"), kWaitMs)) << dump(browser_);

    auto list = items(browser_);
    ASSERT_EQ(list.size(), 4u) << dump(browser_);
    EXPECT_EQ(list[2].kind, "gap");
    EXPECT_EQ(list[2].text, "numbering restarted at #1 (server restarted)");
    EXPECT_TRUE(list[3].tag.ends_with("#1"));
    browser_.close();
    EXPECT_EQ(again.stop(), 0) << again.log();
}

}  // namespace
}  // namespace wspush::testing
