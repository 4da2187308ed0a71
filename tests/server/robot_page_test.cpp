// Robot cards (src/robot/card.h) on the built-in demo page (GET /) in headless Chromium: each
// msgtype rendered as a card a person can read, the viewer's mentions highlighted, and hostile
// markup and URLs in a card shown as inert text.
// Set WSPUSH_SCREENSHOT=<file.png> to keep a picture of the cards of RendersEveryMsgtype.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <tuple>

#include "support/browser.h"
#include "support/push_support.h"
#include "support/test_server.h"
#include "support/webhook_support.h"

namespace wspush::testing {
namespace {

constexpr int kWaitMs = 10000;  // any one observable step
constexpr char kChannel[] = "robots";
const std::string kItems = "[...document.querySelectorAll('#messages > li')]";

// Publishes a card payload (card.h's client JSON) to `channel`, where the page must be
// listening. Through the control socket for now; once the webhook is in, POST /robot/send.
::testing::AssertionResult push_card(const ServerProcess& server, const std::string& channel,
                                     const std::string& card_json) {
    ControlConn ctl;
    if (!ctl.connect(server.control_path())) return ::testing::AssertionFailure() << "no control connection";
    std::string reply = ctl.command("PUB " + channel + " " + card_json).value_or("<timeout>");
    if (!reply.starts_with("OK seq=") || !reply.ends_with(" delivered=1"))
        return ::testing::AssertionFailure() << "PUB " << channel << ": " << reply;
    return ::testing::AssertionSuccess();
}

class RobotPage : public ::testing::Test {
protected:
    void SetUp() override {
        if (!chromium_available())
            GTEST_SKIP() << kChromiumPath << " is not installed; the demo page test needs Chromium";
    }

    void TearDown() override {
        browser_.close();
        if (srv_.pid() > 0) {
            EXPECT_EQ(srv_.stop(), 0) << srv_.log();
        }
    }

    // Starts the server and the browser, opens the page on kChannel (plus `query`) and waits
    // until it is connected.
    void open_page(const std::string& query = "", std::vector<std::string> args = {"--mode", "push"}) {
        ASSERT_TRUE(srv_.start(args)) << srv_.log();
        ASSERT_TRUE(browser_.start()) << browser_.error();
        ASSERT_TRUE(browser_.open("http://127.0.0.1:" + std::to_string(srv_.port()) + "/?channel=" + kChannel +
                                  query))
            << browser_.error();
        ASSERT_TRUE(browser_.wait_true("document.getElementById('state').textContent === 'open'", kWaitMs))
            << browser_.error() << srv_.log();
    }

    // Pushes a payload and waits until the page lists it as its newest item.
    void show(const std::string& payload) {
        ASSERT_TRUE(push_card(srv_, kChannel, payload));
        ++shown_;
        ASSERT_TRUE(browser_.wait_true(kItems + ".length === " + std::to_string(shown_), kWaitMs))
            << browser_.error() << "\n" << payload;
    }

    // Evaluates the JavaScript expression `expr` with `li` bound to the page's newest item.
    std::string last(const std::string& expr) {
        return browser_.eval("(li => " + expr + ")(" + kItems + ".at(-1))").value_or("<failed: " + browser_.error() + ">");
    }

    // The property `prop` of each element matching `selector` in the newest item, '|'-joined.
    std::string all(const std::string& selector, const std::string& prop = "textContent") {
        return last("[...li.querySelectorAll(" + js_quote(selector) + ")].map(e => e." + prop + ").join('|')");
    }

    // One expectation on the newest item: all(selector, prop) == want.
    struct Shows {
        const char* selector;
        std::string want;
        const char* prop = "textContent";
    };
    void expect_shows(std::initializer_list<Shows> list) {
        for (const Shows& s : list) EXPECT_EQ(all(s.selector, s.prop), s.want) << s.selector << " ." << s.prop;
    }

    ServerProcess srv_;
    Browser browser_;
    int shown_ = 0;
};

TEST_F(RobotPage, RendersEveryMsgtype) {
    ASSERT_NO_FATAL_FAILURE(open_page());

    ASSERT_NO_FATAL_FAILURE(show(R"({"msgtype":"text","text":{"content":"disk full\n  on db-7"},)"
                                 R"("robot":"ops-bot","time":1717200000000})"));
    EXPECT_EQ(last("li.className"), "msg card");
    EXPECT_TRUE(last("li.firstChild.textContent").ends_with("#1"));
    EXPECT_EQ(last("li.lastChild.className"), "card text");
    expect_shows({
        {".robot", "ops-bot"},
        {"time", "2024-06-01T00:00:00.000Z", "dateTime"},
        {".body", "disk full\n  on db-7"},
    });
    EXPECT_EQ(last("getComputedStyle(li.querySelector('.body')).whiteSpace"), "pre-wrap") << "line breaks kept";
    EXPECT_EQ(all(".badge"), "") << "only digests have a badge";

    ASSERT_NO_FATAL_FAILURE(show(R"({"msgtype":"link","link":{"title":"Release 2.1","text":"What changed",)"
                                 R"("messageUrl":"https://example.com/r/2.1","picUrl":"https://example.com/p.png"},)"
                                 R"("robot":"ci","time":1717200000000})"));
    EXPECT_EQ(last("li.lastChild.className"), "card link");
    expect_shows({
        {".title a", "Release 2.1"},
        {".title a", "https://example.com/r/2.1", "href"},
        {"a", "noopener noreferrer", "rel"},
        {"a", "_blank", "target"},
        {".body", "What changed"},
        {"img", "https://example.com/p.png", "src"},
        {".robot", "ci"},
    });

    ASSERT_NO_FATAL_FAILURE(show(
        R"({"msgtype":"markdown","markdown":{"title":"Deploy","text":"# One\n###### Six\n)"
        R"(**bold** and *it* and _it2_ and `x*y`\nnext line\n\n- a\n* b\n1. one\n2. two\n)"
        R"(> quoted **q**\n> more\n```\nraw *not md*\n# no heading\n```\n)"
        R"([site](https://example.com/x_(y)) ![logo](https://example.com/l.png) [mail](mailto:a@example.com) snake_case_name"},)"
        R"("at":{"atUserIds":["someone"],"isAtAll":false},"robot":"ops-bot","time":1717200000000})"));
    EXPECT_EQ(last("li.lastChild.className"), "card markdown");
    EXPECT_EQ(last("li.className"), "msg card") << "the page has no ?id=";
    expect_shows({
        {".title", "Deploy"},
        {"h1", "One"},
        {"h6", "Six"},
        {"h2, h3, h4, h5", ""},
        {".md > p strong", "bold"},
        {"em", "it|it2"},
        {"p code", "x*y"},
        {".md > p:first-of-type br", "BR", "tagName"},  // one line break in the first paragraph
        {"ul > li", "a|b"},
        {"ol > li", "one|two"},
        {"blockquote p", "quoted qmore"},
        {"blockquote strong", "q"},
        {"pre code", "raw *not md*\n# no heading"},
        {".md a", "site|mail"},
        {".md a", "https://example.com/x_(y)|mailto:a@example.com", "href"},
        {".md a", "noopener noreferrer|noopener noreferrer", "rel"},
        {".md a", "_blank|_blank", "target"},
        {".md img", "https://example.com/l.png", "src"},
        {".md img", "logo", "alt"},
    });
    EXPECT_NE(all(".md > p:last-of-type").find(" snake_case_name"), std::string::npos) << "no italics inside words";

    ASSERT_NO_FATAL_FAILURE(show(R"({"msgtype":"actionCard","actionCard":{"title":"Approve deploy",)"
                                 R"("text":"### Deploy v7\nby **ann**","singleTitle":"Open",)"
                                 R"("singleURL":"https://example.com/d/7"},"robot":"cd","time":1717200000000})"));
    EXPECT_EQ(last("li.lastChild.className"), "card actionCard");
    expect_shows({
        {".title", "Approve deploy"},
        {"h3", "Deploy v7"},
        {".md strong", "ann"},
        {".btns", "btns vertical", "className"},
        {".btns a.btn", "Open"},
        {".btns a.btn", "https://example.com/d/7", "href"},
        {".btns a.btn", "_blank", "target"},
    });

    // btnOrientation "1" lays the buttons out side by side, "0" one under another.
    for (auto [orientation, cls, direction] : {std::tuple{"1", "btns horizontal", "row"},
                                               std::tuple{"0", "btns vertical", "column"}}) {
        ASSERT_NO_FATAL_FAILURE(show(std::string(R"({"msgtype":"actionCard","actionCard":{"title":"Vote",)") +
                                     R"("text":"Ship it?","btns":[{"title":"Yes","actionURL":"https://example.com/y"},)"
                                     R"({"title":"No","actionURL":"https://example.com/n"}],"btnOrientation":")" +
                                     orientation + R"("},"robot":"cd","time":1717200000000})"));
        EXPECT_EQ(all(".btns", "className"), cls);
        EXPECT_EQ(last("getComputedStyle(li.querySelector('.btns')).flexDirection"), direction);
        EXPECT_EQ(all(".btns a.btn"), "Yes|No");
        EXPECT_EQ(all(".btns a.btn", "href"), "https://example.com/y|https://example.com/n");
    }

    ASSERT_NO_FATAL_FAILURE(show(R"({"msgtype":"feedCard","feedCard":{"links":[)"
                                 R"({"title":"First","messageURL":"https://example.com/1","picURL":"https://example.com/1.png"},)"
                                 R"({"title":"Second","messageURL":"https://example.com/2","picURL":"https://example.com/2.png"}]},)"
                                 R"("robot":"news","time":1717200000000})"));
    EXPECT_EQ(last("li.lastChild.className"), "card feedCard");
    EXPECT_EQ(last("li.querySelectorAll('.feed > li').length"), "2");
    expect_shows({
        {".feed > li a", "First|Second"},
        {".feed > li a", "https://example.com/1|https://example.com/2", "href"},
        {".feed > li img", "https://example.com/1.png|https://example.com/2.png", "src"},
        {".robot", "news"},
    });

    ASSERT_NO_FATAL_FAILURE(show(R"({"msgtype":"markdown","markdown":{"title":"12 messages from ops-bot",)"
                                 R"("text":"- disk full\n- cpu hot"},"robot":"ops-bot","time":1717200060000,)"
                                 R"("digest":{"count":12,"first":1717200000000,"last":1717200060000,"omitted":10}})"));
    EXPECT_EQ(last("li.lastChild.className"), "card markdown");
    expect_shows({
        {".badge", "12 messages while throttled"},
        {".title", "12 messages from ops-bot"},
        {"ul > li", "disk full|cpu hot"},
    });

    if (const char* path = std::getenv("WSPUSH_SCREENSHOT")) {
        ASSERT_TRUE(browser_.eval("document.getElementById('messages').scrollIntoView()"));
        std::string png = browser_.screenshot();
        EXPECT_FALSE(png.empty()) << browser_.error();
        std::ofstream(path, std::ios::binary) << png;
    }
}

TEST_F(RobotPage, ShowsOtherMessagesAsText) {
    ASSERT_NO_FATAL_FAILURE(open_page());
    for (std::string text : {R"({"not":"a card"})",
                             R"({"msgtype":"voice","voice":{"url":"x"},"robot":"r","time":1})",
                             R"({"msgtype":"text","text":{"content":"no robot field"},"time":1})",
                             R"({"msgtype":"text","text":"not an object","robot":"r","time":1})",
                             R"({"msgtype":"text", broken)", "plain words"}) {
        ASSERT_NO_FATAL_FAILURE(show(text));
        EXPECT_EQ(last("li.className"), "msg") << text;
        EXPECT_EQ(last("li.lastChild.textContent"), text);
        EXPECT_EQ(last("li.querySelectorAll('.card').length"), "0") << text;
    }
}

// The cards below, by whom they name; the page is 13800138000 unless a test opens it otherwise.
const std::string kAtUser = R"({"msgtype":"text","text":{"content":"for you"},)"
                            R"("at":{"atUserIds":["13800138000"],"isAtAll":false},"robot":"r","time":1})";
const std::string kAtMobile = R"({"msgtype":"text","text":{"content":"for your phone"},)"
                              R"("at":{"atMobiles":["13800138000"],"isAtAll":false},"robot":"r","time":1})";
const std::string kAtAll = R"({"msgtype":"text","text":{"content":"for all"},)"
                           R"("at":{"isAtAll":true},"robot":"r","time":1})";
const std::string kAtOthers = R"({"msgtype":"markdown","markdown":{"title":"t","text":"for others"},)"
                              R"("at":{"atUserIds":["someone"],"atMobiles":["13900000000"],"isAtAll":false},)"
                              R"("robot":"r","time":1})";
const std::string kAtNobody = R"({"msgtype":"text","text":{"content":"for nobody"},"robot":"r","time":1})";

TEST_F(RobotPage, HighlightsCardsThatMentionTheViewer) {
    ASSERT_NO_FATAL_FAILURE(open_page("&id=13800138000"));
    const std::pair<const std::string*, const char*> cases[] = {
        {&kAtUser, "msg card mention"},  {&kAtMobile, "msg card mention"}, {&kAtAll, "msg card mention"},
        {&kAtOthers, "msg card"},        {&kAtNobody, "msg card"},
    };
    for (auto [card, want] : cases) {
        ASSERT_NO_FATAL_FAILURE(show(*card));
        EXPECT_EQ(last("li.className"), want) << *card;
    }
    EXPECT_EQ(last("getComputedStyle(li).backgroundColor === getComputedStyle(" + kItems +
                   "[0]).backgroundColor"),
              "false")
        << "a mention looks different";

    // A "mention" envelope (a card naming us, from a channel the page did not join) is shown
    // highlighted and leaves the resume position alone. The server does not send one yet, so
    // it goes straight to the page's handler.
    const std::string resume = "`${epoch}.${last}`";
    std::string before = browser_.eval(resume).value_or("?");
    ASSERT_TRUE(browser_.eval("show({type: 'mention', channel: 'alerts', seq: 42, epoch: '00000000000000ff', data: " +
                              js_quote(kAtUser) + "})"));
    ++shown_;
    EXPECT_EQ(last("li.className"), "mention card");
    EXPECT_TRUE(last("li.firstChild.textContent").ends_with("@alerts #42"));
    EXPECT_EQ(all(".body"), "for you");
    EXPECT_EQ(browser_.eval(resume), before);
    ASSERT_NO_FATAL_FAILURE(show(kAtNobody));  // seq 6 still counts as new
    EXPECT_TRUE(last("li.firstChild.textContent").ends_with("#6"));
}

// The whole path: DingTalk-style bodies POSTed with curl to /robot/send, rendered on the page;
// a robot of another channel mentioning the viewer reaches it as a highlighted mention.
TEST_F(RobotPage, CardsPostedWithCurlThroughTheWebhook) {
    if (!curl_available()) GTEST_SKIP() << "curl not installed";
    ASSERT_NO_FATAL_FAILURE(open_page("&id=bob", {"--robot", "page-token-0001 robots name=monitor",
                                                  "--robot", "other-token-001 alerts name=pager"}));
    const std::string send = "/robot/send?access_token=page-token-0001";
    auto post = [&](const std::string& target, const std::string& body) {
        HttpReply r = curl_post(srv_.port(), target, body);
        ASSERT_EQ(r.errcode(), 0) << body << " -> " << r.body;
        ++shown_;
        ASSERT_TRUE(browser_.wait_true(kItems + ".length === " + std::to_string(shown_), kWaitMs)) << body;
    };
    ASSERT_NO_FATAL_FAILURE(post(send, R"({"msgtype":"text","text":{"content":"backup done"}})"));
    EXPECT_EQ(last("li.lastChild.className"), "card text");
    EXPECT_EQ(all(".robot"), "monitor");
    ASSERT_NO_FATAL_FAILURE(post(send, R"({"msgtype":"link","link":{"title":"Build 42","text":"passed",)"
                                       R"("messageUrl":"https://ci.example/42","picUrl":"https://ci.example/p.png"}})"));
    EXPECT_EQ(last("li.lastChild.className"), "card link");
    EXPECT_EQ(all("a[href]", "href"), "https://ci.example/42");
    EXPECT_EQ(all("img", "src"), "https://ci.example/p.png");
    ASSERT_NO_FATAL_FAILURE(post(send, R"({"msgtype":"markdown","markdown":{"title":"Deploy","text":)"
                                       R"("#### v2 live\n- **api**\n- [notes](javascript:window.__pwned=1)\n)"
                                       R"(<script>window.__pwned=2</script>"}})"));
    EXPECT_EQ(all("h4"), "v2 live");
    EXPECT_EQ(all("li strong"), "api");
    EXPECT_EQ(all("a[href]"), "") << "no link for javascript:";
    EXPECT_EQ(all("script"), "");
    ASSERT_NO_FATAL_FAILURE(post(send, R"({"msgtype":"actionCard","actionCard":{"title":"Vote","text":"ship?",)"
                                       R"("btnOrientation":"1","btns":[{"title":"Yes","actionURL":"https://e.x/y"},)"
                                       R"({"title":"No","actionURL":"https://e.x/n"}]}})"));
    EXPECT_EQ(last("li.lastChild.className"), "card actionCard");
    ASSERT_NO_FATAL_FAILURE(post(send, R"({"msgtype":"feedCard","feedCard":{"links":[{"title":"A",)"
                                       R"("messageURL":"https://a.example/"},{"title":"B","messageURL":"https://b.example/"}]}})"));
    EXPECT_EQ(last("li.lastChild.className"), "card feedCard");
    // Another robot's channel, naming bob: the page did not join "alerts", yet shows it.
    ASSERT_NO_FATAL_FAILURE(post("/robot/send?access_token=other-token-001",
                                 R"({"msgtype":"text","text":{"content":"bob: db-7 down"},"at":{"atUserIds":["bob"]}})"));
    EXPECT_EQ(last("li.className"), "mention card");
    EXPECT_TRUE(last("li.firstChild.textContent").ends_with("@alerts #1")) << last("li.firstChild.textContent");
    EXPECT_EQ(browser_.eval("String(window.__pwned)"), "undefined");
    if (const char* png = std::getenv("WSPUSH_SCREENSHOT")) {
        std::ofstream(std::string(png) + ".webhook.png", std::ios::binary) << browser_.screenshot();
    }
}

TEST_F(RobotPage, HighlightsOnlyMentionsOfEveryoneWithoutAnId) {
    ASSERT_NO_FATAL_FAILURE(open_page());
    for (const std::string* card : {&kAtUser, &kAtMobile, &kAtOthers}) {
        ASSERT_NO_FATAL_FAILURE(show(*card));
        EXPECT_EQ(last("li.className"), "msg card") << *card;
    }
    ASSERT_NO_FATAL_FAILURE(show(kAtAll));
    EXPECT_EQ(last("li.className"), "msg card mention");
}

TEST_F(RobotPage, RendersHostileMarkupAndUrlsInert) {
    ASSERT_NO_FATAL_FAILURE(open_page());
    // Each payload would set window.__pwned if anything in it ran.
    ASSERT_NO_FATAL_FAILURE(show(
        R"({"msgtype":"markdown","markdown":{"title":"<script>window.__pwned=1</script>","text":")"
        R"(<script>window.__pwned=2</script>\n<img src=x onerror=\"window.__pwned=3\">\n)"
        R"([a](javascript:window.__pwned=4)\n[b](JaVaScRiPt:window.__pwned=5)\n![c](javascript:window.__pwned=6)\n)"
        R"([d](java\tscript:window.__pwned=7)\n[e](data:text/html,<script>window.__pwned=8</script>)\n)"
        R"([f](vbscript:window.__pwned=9)\n[g](//evil.example/x)\n[h](/relative)\n[i](&#106;avascript:x)\n)"
        R"(![j](data:image/svg+xml,<svg/onload=window.__pwned=10>)\n**<b onmouseover=x>bold</b>**\n)"
        R"json([ok](https://example.com/fine)"},"robot":"<i>bot</i>","time":1})json"));
    EXPECT_EQ(last("li.lastChild.className"), "card markdown");
    expect_shows({
        {".title", "<script>window.__pwned=1</script>"},
        {".robot", "<i>bot</i>"},
        {".md a", "https://example.com/fine", "href"},
    });
    EXPECT_EQ(all(".md > p > .inert"),
              "[a](javascript:window.__pwned=4)|[b](JaVaScRiPt:window.__pwned=5)|![c](javascript:window.__pwned=6)|"
              "[e](data:text/html,<script>window.__pwned=8</script>)|[f](vbscript:window.__pwned=9)|"
              "[g](//evil.example/x)|[h](/relative)|[i](&#106;avascript:x)|"
              "![j](data:image/svg+xml,<svg/onload=window.__pwned=10>)");
    std::string text = all(".md");
    EXPECT_NE(text.find("<script>window.__pwned=2</script>"), std::string::npos) << text;
    EXPECT_NE(text.find("<img src=x onerror=\"window.__pwned=3\">"), std::string::npos) << text;
    EXPECT_NE(text.find("[d](java\tscript:window.__pwned=7)"), std::string::npos) << text;
    EXPECT_EQ(all(".md strong"), "<b onmouseover=x>bold</b>");

    ASSERT_NO_FATAL_FAILURE(show(
        R"({"msgtype":"actionCard","actionCard":{"title":"<img src=x onerror=window.__pwned=11>","text":"t",)"
        R"("btns":[{"title":"a","actionURL":"javascript:window.__pwned=12"},)"
        R"({"title":"b","actionURL":"data:text/html,<script>window.__pwned=13</script>"},)"
        R"({"title":"c","actionURL":" \tjava\tscript:window.__pwned=14"},)"
        R"({"title":"d","actionURL":"JaVaScRiPt:window.__pwned=15"},)"
        R"({"title":"e","actionURL":"\u0001javascript:window.__pwned=16"},)"
        R"({"title":"f","actionURL":"mailto:a@example.com"}],"btnOrientation":"1"},"robot":"r","time":1})"));
    expect_shows({
        {".btns .btn", "a|b|c|d|e|f"},
        {".btns .btn", "SPAN|SPAN|SPAN|SPAN|SPAN|A", "tagName"},
        {".btns a", "mailto:a@example.com", "href"},
        {".title", "<img src=x onerror=window.__pwned=11>"},
    });

    ASSERT_NO_FATAL_FAILURE(show(R"({"msgtype":"actionCard","actionCard":{"title":"t","text":"t",)"
                                 R"("singleTitle":"go","singleURL":"javascript:window.__pwned=17"},"robot":"r","time":1})"));
    EXPECT_EQ(all(".btns .btn", "tagName"), "SPAN");

    ASSERT_NO_FATAL_FAILURE(show(R"({"msgtype":"link","link":{"title":"<script>window.__pwned=18</script>",)"
                                 R"("text":"<img src=x onerror=window.__pwned=19>","messageUrl":"javascript:window.__pwned=20",)"
                                 R"("picUrl":"javascript:window.__pwned=21"},"robot":"r","time":1})"));
    EXPECT_EQ(all(".title"), "<script>window.__pwned=18</script>");
    EXPECT_EQ(all(".body"), "<img src=x onerror=window.__pwned=19>");

    ASSERT_NO_FATAL_FAILURE(show(R"({"msgtype":"feedCard","feedCard":{"links":[{"title":"x",)"
                                 R"("messageURL":"vbscript:window.__pwned=22",)"
                                 R"("picURL":"data:image/svg+xml,<svg/onload=window.__pwned=23>"}]},"robot":"r","time":1})"));
    EXPECT_EQ(all(".feed > li"), "x");

    ASSERT_NO_FATAL_FAILURE(show(R"({"msgtype":"text","text":{"content":"<script>window.__pwned=24</script>"},)"
                                 R"("robot":"r","time":1})"));
    EXPECT_EQ(all(".body"), "<script>window.__pwned=24</script>");

    const std::string everything = "[...document.querySelectorAll('#messages *')]";
    EXPECT_EQ(browser_.eval("document.querySelectorAll('#messages script, #messages img, #messages iframe, "
                            "#messages object, #messages embed, #messages svg').length"),
              "0");
    EXPECT_EQ(browser_.eval(everything + ".filter(e => [...e.attributes].some(a => a.name.startsWith('on')))"
                                         ".map(e => e.outerHTML).join()"),
              "")
        << "no event handler attributes";
    EXPECT_EQ(browser_.eval(everything + ".map(e => e.getAttribute('href') ?? e.getAttribute('src'))"
                                         ".filter(u => u !== null && !/^(https?:\\/\\/|mailto:)/.test(u)).join()"),
              "")
        << "only http(s) and mailto: URLs";
    EXPECT_EQ(browser_.eval("typeof window.__pwned"), "undefined");
}

}  // namespace
}  // namespace wspush::testing
