// GET /status and /status.json (--http-stats): the figures and the 10-minute ring of samples
// the server keeps, the page that draws them (self-contained: no script, style or font from
// elsewhere), and the page live in headless Chromium.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "support/browser.h"
#include "support/push_support.h"
#include "support/test_server.h"

namespace {

using namespace wspush::testing;
using Clock = std::chrono::steady_clock;

std::string body_of(const std::string& response) {
    const size_t at = response.find("\r\n\r\n");
    return at == std::string::npos ? std::string() : response.substr(at + 4);
}

std::optional<Json> status(uint16_t port) {
    const std::string r = http_get(port, "/status.json");
    if (http_status(r) != 200) return std::nullopt;
    return parse_json(body_of(r));
}

uint64_t figure(const Json& j, const char* key) {
    const Json* v = j.get(key);
    return v && v->uint() ? *v->uint() : ~0ull;
}

TEST(StatusPage, JsonFollowsTheServerAndSamplesEveryTwoSeconds) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--http-stats"})) << srv.log();
    std::optional<Json> j = status(srv.port());
    ASSERT_TRUE(j);
    EXPECT_EQ(figure(*j, "clients"), 0u);
    EXPECT_EQ(figure(*j, "every_ms"), 2000u);
    ASSERT_TRUE(j->get("samples"));
    EXPECT_EQ(j->get("samples")->kind, Json::Kind::kArray);

    RawClient sub;
    ASSERT_TRUE(subscribe(sub, srv.port(), "/ws/news"));
    ControlConn ctl;
    ASSERT_TRUE(ctl.connect(srv.control_path()));
    for (int i = 1; i <= 3; ++i) EXPECT_EQ(ctl.command("PUB news m" + std::to_string(i)), "OK seq=" + std::to_string(i) + " delivered=1");
    // Within one sampling interval (and a margin), a sample shows the 3 pushes and their
    // 3 deliveries to the 1 client.
    bool seen = false;
    const auto deadline = Clock::now() + std::chrono::seconds(6);
    while (!seen && Clock::now() < deadline) {
        j = status(srv.port());
        ASSERT_TRUE(j);
        uint64_t pushes = 0, deliveries = 0;
        for (const Json& s : j->get("samples")->items) {
            ASSERT_EQ(s.items.size(), 4u);
            pushes += s.items[0].uint().value_or(0);
            deliveries += s.items[1].uint().value_or(0);
            seen = pushes == 3 && deliveries == 3 && s.items[2].uint() == 1u && s.items[3].uint().value_or(0) > 0;
        }
        if (!seen) ctl.command("STATS");  // paces the poll: one round trip through the loop
    }
    EXPECT_TRUE(seen) << "no sample with the pushes: " << http_get(srv.port(), "/status.json");
    EXPECT_EQ(figure(*j, "clients"), 1u);
    EXPECT_EQ(figure(*j, "channels"), 1u);
    EXPECT_EQ(figure(*j, "published"), 3u);
    EXPECT_EQ(figure(*j, "delivered"), 3u);
    EXPECT_GT(figure(*j, "rss_bytes"), 0u);
}

TEST(StatusPage, NoneWithoutHttpStats) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({})) << srv.log();
    EXPECT_EQ(http_status(http_get(srv.port(), "/status")), 404);
    EXPECT_EQ(http_status(http_get(srv.port(), "/status.json")), 404);
}

TEST(StatusPage, PageNeedsNothingFromElsewhere) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--http-stats"})) << srv.log();
    const std::string r = http_get(srv.port(), "/status");
    ASSERT_EQ(http_status(r), 200) << r;
    EXPECT_NE(r.find("Content-Type: text/html; charset=utf-8"), std::string::npos) << r;
    const std::string page = body_of(r);
    EXPECT_NE(page.find("/status.json"), std::string::npos);
    for (const char* outside : {"src=", "<link", "@import", "url(", "http:", "https:", "@font-face"})
        EXPECT_EQ(page.find(outside), std::string::npos) << outside;
}

TEST(StatusPage, ChartsUpdateInChromium) {
    if (!chromium_available()) GTEST_SKIP() << kChromiumPath << " is not installed";
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--http-stats"})) << srv.log();
    Browser b;
    ASSERT_TRUE(b.start()) << b.error();
    ASSERT_TRUE(b.open("http://127.0.0.1:" + std::to_string(srv.port()) + "/status")) << b.error();
    const auto text = [](const char* id) { return "document.getElementById('" + std::string(id) + "').textContent"; };
    ASSERT_TRUE(b.wait_true("Number(document.body.dataset.updates) >= 1 && " + text("clients") + " === '0'", 10000))
        << b.eval("document.body.innerText").value_or(b.error());

    RawClient sub;
    ASSERT_TRUE(subscribe(sub, srv.port(), "/ws/news"));
    ControlConn ctl;
    ASSERT_TRUE(ctl.connect(srv.control_path()));
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(ctl.command("PUB news m" + std::to_string(i)));
    // The page polls every 2 s and the server samples every 2 s: within 10 s the figures and
    // the deliveries chart show the pushes (a point above the floor of its 0..100 box).
    const std::string chart_has_deliveries =
        "document.querySelector('#chart-deliveries polyline').getAttribute('points').split(' ')"
        ".some(p => p && Number(p.split(',')[1]) < 99)";
    EXPECT_TRUE(b.wait_true(text("clients") + " === '1' && " + text("delivered") + " === '5' && " +
                                text("published") + " === '5' && " + chart_has_deliveries,
                            10000))
        << b.eval("document.body.innerText").value_or(b.error()) << "\n"
        << b.eval("document.querySelector('#chart-deliveries polyline').getAttribute('points')").value_or("");
    EXPECT_EQ(b.eval(text("err")), "");
    EXPECT_NE(b.eval(text("rss")).value_or("").find("iB"), std::string::npos);
}

}  // namespace
