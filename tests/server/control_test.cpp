// The control socket against a running server: every command, errors, pipelining, long
// lines, vanishing clients, socat, and the socket file's life cycle.
#include <gtest/gtest.h>

#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include "support/push_support.h"

namespace wspush::testing {
namespace {

class Control : public PushServerTest {};

// Whether `want` appears in `keys` in this order (other keys may come in between).
::testing::AssertionResult in_order(const std::vector<std::string>& keys, std::vector<std::string> want) {
    size_t at = 0;
    for (const std::string& k : keys)
        if (at < want.size() && k == want[at]) ++at;
    if (at == want.size()) return ::testing::AssertionSuccess();
    std::string got;
    for (const std::string& k : keys) got += k + " ";
    return ::testing::AssertionFailure() << "'" << want[at] << "' missing or out of order in: " << got;
}

TEST_F(Control, PubCountsSeqPerChannelAndDeliveries) {
    ASSERT_TRUE(start());
    EXPECT_EQ(cmd("PUB news nobody yet"), "OK seq=1 delivered=0");
    RawClient a, b, other;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/news"));
    ASSERT_TRUE(subscribe(b, srv_.port(), "/ws/news", true));
    ASSERT_TRUE(subscribe(other, srv_.port(), "/ws/sport"));
    EXPECT_EQ(cmd("PUB news two"), "OK seq=2 delivered=2");
    EXPECT_EQ(cmd("PUB sport one"), "OK seq=1 delivered=1");
    EXPECT_EQ(cmd("PUB news three"), "OK seq=3 delivered=2");
    EXPECT_EQ(cmd("pub sport lower-case verb"), "OK seq=2 delivered=1");
    EXPECT_EQ(cmd("PUB news crlf\r"), "OK seq=4 delivered=2");
    EXPECT_TRUE(next_data_is(a, "two"));
    EXPECT_TRUE(next_data_is(a, "three"));
    EXPECT_TRUE(next_data_is(a, "crlf")) << "the CR is not part of the text";
}

TEST_F(Control, PubbDeliversExactBytes) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/cam"));
    std::string bytes;
    for (int i = 0; i < 300; ++i) bytes += static_cast<char>(i * 13);
    bytes += std::string("\0\n\r\nPUB cam fake\n\0", 18);
    // Header, then the payload in pieces, then a command right behind it.
    ASSERT_TRUE(ctl_.send("PUBB cam " + std::to_string(bytes.size()) + "\n"));
    ASSERT_TRUE(ctl_.send(bytes.substr(0, 7)));
    ASSERT_TRUE(ctl_.send(bytes.substr(7, 100)));
    ASSERT_TRUE(ctl_.send(bytes.substr(107) + "PUBB cam 0\nPUB cam after\n"));
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "OK seq=1 delivered=1");
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "OK seq=2 delivered=1");
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "OK seq=3 delivered=1");
    EXPECT_TRUE(next_data_is(c, bytes, 0x2));
    EXPECT_TRUE(next_data_is(c, "", 0x2));
    EXPECT_TRUE(next_data_is(c, "after"));
}

TEST_F(Control, PubbOverMaxMessageIsRefused) {
    ASSERT_TRUE(start({"--max-message", "1K"}));
    EXPECT_EQ(cmd("PUBB cam 1025"), "ERR message too big");
    EXPECT_EQ(cmd("PUB cam still fine"), "OK seq=1 delivered=0");
}

TEST_F(Control, SendToANamedIdReachesEveryConnection) {
    ASSERT_TRUE(start());
    RawClient one, two, other;
    ASSERT_TRUE(subscribe(one, srv_.port(), "/ws/x?id=dev-1"));
    ASSERT_TRUE(subscribe(two, srv_.port(), "/ws/y?id=dev-1"));
    ASSERT_TRUE(subscribe(other, srv_.port(), "/ws/x?id=dev-2"));
    EXPECT_EQ(cmd("SEND dev-1 reboot now"), "OK delivered=2");
    EXPECT_EQ(cmd("SEND nobody hello"), "OK delivered=0");
    for (RawClient* c : {&one, &two}) {
        EXPECT_TRUE(next_data_is(*c, "reboot now"));
    }
    EXPECT_EQ(cmd("PUB x marker"), "OK seq=1 delivered=2");
    EXPECT_TRUE(next_data_is(other, "marker")) << "dev-2 got the SEND";
}

TEST_F(Control, SendToAServerAssignedId) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/x"));
    std::string reply = cmd("CLIENTS");
    ASSERT_EQ(reply.rfind("OK ", 0), 0u) << reply;
    auto list = parse_json(reply.substr(3));
    ASSERT_TRUE(list) << reply;
    ASSERT_EQ(list->items.size(), 1u);
    std::string id = list->items[0].get("id")->text;
    ASSERT_EQ(id[0], 'c') << id;
    EXPECT_EQ(cmd("SEND " + id + " just you"), "OK delivered=1");
    EXPECT_EQ(cmd("SEND c999999 nobody"), "OK delivered=0");
    EXPECT_TRUE(next_data_is(c, "just you"));
}

TEST_F(Control, BroadcastReachesEveryClient) {
    ASSERT_TRUE(start());
    RawClient c[3];
    const char* paths[] = {"/ws/a", "/ws/b?id=named", "/ws/c"};
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(subscribe(c[i], srv_.port(), paths[i]));
    EXPECT_EQ(cmd("BROADCAST all hands"), "OK delivered=3");
    for (auto& cl : c) {
        EXPECT_TRUE(next_data_is(cl, "all hands"));
    }
}

TEST_F(Control, StatsFieldsAndCounts) {
    ASSERT_TRUE(start());
    auto s0 = stats(ctl_);
    ASSERT_TRUE(s0);
    EXPECT_TRUE(in_order(s0->keys(), {"connections", "sockets", "connections_total", "channels", "messages_in",
                                      "messages_out", "published", "bytes_in", "bytes_out", "writes", "drops",
                                      "uptime_s", "rss_bytes"}));
    for (const char* key : {"history_bytes", "history_evicted"}) EXPECT_TRUE(s0->get(key)) << key;
    const Json* drops = s0->get("drops");
    ASSERT_TRUE(drops);
    EXPECT_TRUE(in_order(drops->keys(), {"slow_consumer", "idle_timeout", "handshake_timeout", "protocol_error",
                                         "http_error", "server_full", "kicked"}));
    EXPECT_FALSE(drops->get("tail_overflow")) << "a TAIL reader is no longer disconnected";
    EXPECT_TRUE(s0->get("tail_dropped") || drops->get("tail_dropped")) << "no tail_dropped";
    for (const auto& [k, v] : s0->members) {
        if (k != "drops" && k != "webhook" && k != "journal" && k != "redis") {
            EXPECT_TRUE(v.uint()) << k << " is not a count";
        }
    }
    for (const auto& [k, v] : drops->members) EXPECT_EQ(v.uint(), 0u) << k;
    EXPECT_EQ(s0->get("connections")->uint(), 0u);
    EXPECT_GT(s0->get("rss_bytes")->uint().value_or(0), 0u);

    RawClient a, b;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/one"));
    ASSERT_TRUE(subscribe(b, srv_.port(), "/ws/one?ch=two"));
    EXPECT_EQ(cmd("PUB one hello"), "OK seq=1 delivered=2");
    ControlConn tail;
    ASSERT_TRUE(control(tail, srv_));
    EXPECT_EQ(tail.command("TAIL"), "OK");
    ASSERT_TRUE(a.send_frame(0x1, "from a"));
    ASSERT_TRUE(tail.read_line()) << "the client message reached TAIL: it has been counted";
    ASSERT_TRUE(read_data(a));
    auto s1 = stats(ctl_);
    ASSERT_TRUE(s1);
    EXPECT_EQ(s1->get("connections")->uint(), 2u);
    EXPECT_EQ(s1->get("sockets")->uint(), 2u);
    EXPECT_EQ(s1->get("connections_total")->uint(), 2u);
    EXPECT_EQ(s1->get("channels")->uint(), 2u);
    EXPECT_EQ(s1->get("published")->uint(), 1u);
    EXPECT_EQ(s1->get("messages_out")->uint(), 2u);
    EXPECT_EQ(s1->get("messages_in")->uint(), 1u);
    EXPECT_GT(s1->get("bytes_in")->uint().value_or(0), 0u);
    EXPECT_GT(s1->get("bytes_out")->uint().value_or(0), 0u);

    // A closing handshake: once the server's Close arrives, the client no longer counts.
    ASSERT_TRUE(b.send_all(RawClient::close_frame(1000)));
    auto cl = b.read_close();
    ASSERT_TRUE(cl);
    EXPECT_EQ(cl->close_code(), 1000);
    EXPECT_EQ(stat(ctl_, "connections"), 1u);
}

// messages_out counts data frames (src/server/stats.h: "data, not control"): a Pong
// answering a client's Ping is not one.
TEST_F(Control, MessagesOutCountsDataFramesOnly) {
    ASSERT_TRUE(start());
    RawClient a;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/one"));
    EXPECT_EQ(cmd("PUB one hello"), "OK seq=1 delivered=1");
    ASSERT_TRUE(a.send_frame(0x9, "sync"));
    ASSERT_TRUE(read_data(a));
    auto pong = a.read_frame();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->opcode, 0xA);
    EXPECT_EQ(stat(ctl_, "messages_out"), 1u);
}

TEST_F(Control, MetricsEndsWithOk) {
    ASSERT_TRUE(start());
    RawClient a;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/x"));
    ASSERT_TRUE(ctl_.send("METRICS\n"));
    std::vector<std::string> lines;
    for (int i = 0; i < 500; ++i) {
        auto l = ctl_.read_line();
        ASSERT_TRUE(l) << "no OK line after " << lines.size() << " lines";
        if (*l == "OK") break;
        lines.push_back(*l);
    }
    ASSERT_FALSE(lines.empty());
    bool connections = false;
    for (const std::string& l : lines) {
        if (l.rfind("# ", 0) == 0) {
            EXPECT_TRUE(l.rfind("# HELP wspush_", 0) == 0 || l.rfind("# TYPE wspush_", 0) == 0) << l;
            continue;
        }
        // name[{labels}] value
        size_t sp = l.rfind(' ');
        ASSERT_NE(sp, std::string::npos) << l;
        EXPECT_EQ(l.rfind("wspush_", 0), 0u) << l;
        EXPECT_TRUE(parse_json(l.substr(sp + 1)).has_value()) << "value is not a number: " << l;
        if (l == "wspush_connections 1") connections = true;
    }
    EXPECT_TRUE(connections) << "no 'wspush_connections 1' line";
    EXPECT_EQ(cmd("PUB x after"), "OK seq=1 delivered=1") << "the reply stream stays in step";
}

TEST_F(Control, ClientsAndChannelsAsJson) {
    ASSERT_TRUE(start());
    RawClient a, b;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/news?id=kiosk", true));
    ASSERT_TRUE(subscribe(b, srv_.port(), "/ws/sport?ch=news"));
    EXPECT_EQ(cmd("PUB news n1"), "OK seq=1 delivered=2");
    EXPECT_EQ(cmd("PUB news n2"), "OK seq=2 delivered=2");

    auto all = parse_json(cmd("CLIENTS").substr(3));
    ASSERT_TRUE(all);
    ASSERT_EQ(all->items.size(), 2u);
    std::set<std::string> ids;
    for (const Json& c : all->items) {
        EXPECT_EQ(c.keys(), (std::vector<std::string>{"id", "channels", "protocol", "queued"}));
        ids.insert(c.get("id")->text);
        std::string want = c.get("id")->text == "kiosk" ? "wspush.v1" : "";
        EXPECT_EQ(c.get("protocol")->text, want);
    }
    EXPECT_TRUE(ids.count("kiosk"));

    auto sport = parse_json(cmd("CLIENTS sport").substr(3));
    ASSERT_TRUE(sport);
    ASSERT_EQ(sport->items.size(), 1u);
    EXPECT_NE(sport->items[0].get("id")->text, "kiosk");
    auto none = parse_json(cmd("CLIENTS nosuch").substr(3));
    ASSERT_TRUE(none);
    EXPECT_EQ(none->kind, Json::Kind::kArray);
    EXPECT_TRUE(none->items.empty());

    std::string reply = cmd("CHANNELS");
    ASSERT_EQ(reply.rfind("OK ", 0), 0u) << reply;
    auto chans = parse_json(reply.substr(3));
    ASSERT_TRUE(chans) << reply;
    ASSERT_EQ(chans->items.size(), 2u);
    for (const Json& ch : chans->items) {
        EXPECT_EQ(ch.keys(), (std::vector<std::string>{"name", "members", "epoch", "last_seq", "first_kept"}));
        EXPECT_EQ(ch.get("epoch")->text.size(), 16u);
        if (ch.get("name")->text == "news") {
            EXPECT_EQ(ch.get("members")->uint(), 2u);
            EXPECT_EQ(ch.get("last_seq")->uint(), 2u);
            EXPECT_EQ(ch.get("first_kept")->uint(), 1u);
        } else {
            EXPECT_EQ(ch.get("name")->text, "sport");
            EXPECT_EQ(ch.get("members")->uint(), 1u);
            EXPECT_EQ(ch.get("last_seq")->uint(), 0u);
        }
    }
}

TEST_F(Control, KickSendsTheCodeAndReason) {
    ASSERT_TRUE(start());
    RawClient a, b, keep;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/x?id=dev"));
    ASSERT_TRUE(subscribe(b, srv_.port(), "/ws/x?id=plain"));
    ASSERT_TRUE(subscribe(keep, srv_.port(), "/ws/x?id=keep"));
    EXPECT_EQ(cmd("KICK dev 4000 bye now"), "OK kicked=1");
    EXPECT_EQ(cmd("KICK plain"), "OK kicked=1");
    EXPECT_EQ(cmd("KICK nobody 4000"), "OK kicked=0");
    EXPECT_EQ(cmd("KICK dev 1005"), "ERR KICK: invalid close code");
    auto ca = a.read_close();
    ASSERT_TRUE(ca);
    EXPECT_EQ(ca->close_code(), 4000);
    EXPECT_EQ(ca->close_reason(), "bye now");
    auto cb = b.read_close();
    ASSERT_TRUE(cb);
    EXPECT_EQ(cb->close_code(), 1008);
    EXPECT_EQ(cb->close_reason(), "kicked");
    EXPECT_EQ(stat(ctl_, "drops.kicked"), 2u);
    EXPECT_EQ(stat(ctl_, "connections"), 1u);
    EXPECT_EQ(cmd("PUB x still here"), "OK seq=1 delivered=1");
}

TEST_F(Control, TailShowsClientMessages) {
    ASSERT_TRUE(start());
    ControlConn tail, quiet;
    ASSERT_TRUE(control(tail, srv_));
    ASSERT_TRUE(control(quiet, srv_));
    EXPECT_EQ(tail.command("TAIL"), "OK");
    RawClient named, anon;
    ASSERT_TRUE(subscribe(named, srv_.port(), "/ws/x?id=panel"));
    ASSERT_TRUE(subscribe(anon, srv_.port(), "/ws/x"));

    ASSERT_TRUE(named.send_frame(0x1, "hello there"));
    EXPECT_EQ(tail.read_line(), "MSG panel hello there");

    ASSERT_TRUE(named.send_frame(0x1, "two\nlines"));
    EXPECT_EQ(tail.read_line(), "MSGT panel 9");
    EXPECT_EQ(read_block(tail, 9), "two\nlines");

    std::string bin("\x00\n\xff\n", 4);
    ASSERT_TRUE(anon.send_frame(0x2, bin));
    auto head = tail.read_line();
    ASSERT_TRUE(head);
    ASSERT_EQ(head->rfind("MSGB c", 0), 0u) << *head;
    EXPECT_EQ(head->substr(head->rfind(' ')), " 4") << *head;
    EXPECT_EQ(read_block(tail, 4), bin);

    // Fragmented: one message, one line.
    ASSERT_TRUE(named.send_all(RawClient::frame(0x1, "frag", false) + RawClient::frame(0x0, "mented")));
    EXPECT_EQ(tail.read_line(), "MSG panel fragmented");

    // A control client without TAIL sees only its own replies.
    EXPECT_EQ(quiet.command("PUB x marker"), "OK seq=1 delivered=2");
    // The TAIL client still answers commands in between.
    EXPECT_EQ(tail.command("PUB y none"), "OK seq=1 delivered=0");
}

TEST_F(Control, HelpListsCommandsThenOk) {
    ASSERT_TRUE(start());
    ASSERT_TRUE(ctl_.send("HELP\n"));
    std::vector<std::string> lines;
    for (int i = 0; i < 100; ++i) {
        auto l = ctl_.read_line();
        ASSERT_TRUE(l);
        if (*l == "OK") break;
        lines.push_back(*l);
    }
    ASSERT_EQ(lines.size(), 12u);
    EXPECT_EQ(lines[0].rfind("PUB ", 0), 0u) << lines[0];
    EXPECT_EQ(cmd("PUB x after help"), "OK seq=1 delivered=0");
}

TEST_F(Control, QuitSaysByeAndCloses) {
    ASSERT_TRUE(start());
    ASSERT_TRUE(ctl_.send("QUIT\nPUB x never\n"));
    EXPECT_EQ(ctl_.read_line(), "OK bye");
    EXPECT_TRUE(ctl_.wait_eof());
    ControlConn again;
    ASSERT_TRUE(control(again, srv_));
    EXPECT_EQ(again.command("PUB x first"), "OK seq=1 delivered=0") << "nothing after QUIT ran";
}

TEST_F(Control, GarbageGetsErrAndTheConnectionStaysUsable) {
    ASSERT_TRUE(start());
    const std::pair<std::string, std::string> cases[] = {
        {"FROB", "ERR unknown command (try HELP)"},
        {"", "ERR empty command (try HELP)"},
        {"PUB", "ERR usage: PUB <channel> <text>"},
        {"PUB bad/name x", "ERR invalid channel name"},
        {"PUB x \xff\xfe", "ERR command is not valid UTF-8"},
        {"STATS please", "ERR this command takes no arguments"},
        {"KICK d 99999", "ERR KICK: invalid close code"},
        {"PUBB x lots", "ERR PUBB: nbytes must be a number"},
        {std::string("\0\0\0", 3), "ERR unknown command (try HELP)"},
    };
    for (const auto& [line, want] : cases) EXPECT_EQ(cmd(line), want) << line;
    EXPECT_EQ(cmd("PUB x works"), "OK seq=1 delivered=0");
}

TEST_F(Control, ThousandPipelinedCommandsInOneWrite) {
    ASSERT_TRUE(start());
    std::string batch;
    for (int i = 1; i <= 1000; ++i) {
        if (i % 100 == 0) batch += "CHANNELS\n";
        else batch += "PUB pipe " + std::to_string(i) + "\n";
    }
    ASSERT_TRUE(ctl_.send(batch));
    uint64_t seq = 0;
    for (int i = 1; i <= 1000; ++i) {
        auto l = ctl_.read_line();
        ASSERT_TRUE(l) << "reply " << i << " missing";
        if (i % 100 == 0) {
            ASSERT_EQ(l->rfind("OK [", 0), 0u) << i << ": " << *l;
            EXPECT_NE(l->find("\"last_seq\":" + std::to_string(seq) + ","), std::string::npos) << *l;
        } else {
            ASSERT_EQ(*l, "OK seq=" + std::to_string(++seq) + " delivered=0") << "reply " << i;
        }
    }
    EXPECT_EQ(cmd("PUB pipe end"), "OK seq=991 delivered=0");
}

// A 10 MB line: one ERR, the line is skipped, the connection goes on, and another control
// client is served while the big line streams in.
TEST_F(Control, OverlongLineGetsOneErr) {
    ASSERT_TRUE(start());
    ControlConn other;
    ASSERT_TRUE(control(other, srv_));
    std::string big = "PUB long " + std::string(10 << 20, 'x') + "\nPUB long ok\n";
    bool sent = false;
    std::thread writer([&] { sent = ctl_.send(big); });
    EXPECT_EQ(other.command("PUB side served", 10000), "OK seq=1 delivered=0");
    writer.join();
    ASSERT_TRUE(sent);
    EXPECT_EQ(ctl_.read_line(10000), "ERR line too long");
    EXPECT_EQ(ctl_.read_line(), "OK seq=1 delivered=0");
    EXPECT_EQ(cmd("PUB long again"), "OK seq=2 delivered=0") << "no second ERR in between";
    auto rss = stat(other, "rss_bytes");
    ASSERT_TRUE(rss);
    // Under valgrind the resident memory is mostly valgrind's own.
    if (!ServerProcess::wrapped()) {
        EXPECT_LT(*rss, 64u << 20) << "the long line was buffered";
    }
}

TEST_F(Control, ClientVanishingMidPubbPublishesNothing) {
    ASSERT_TRUE(start());
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/cam"));
    {
        ControlConn gone;
        ASSERT_TRUE(control(gone, srv_));
        ASSERT_TRUE(gone.send("PUBB cam 100\n" + std::string(40, 'z')));
    }
    {
        ControlConn gone;
        ASSERT_TRUE(control(gone, srv_));
        ASSERT_TRUE(gone.send("PUB cam no newline"));
    }
    ControlConn next;
    ASSERT_TRUE(control(next, srv_));
    EXPECT_EQ(next.command("PUB cam after"), "OK seq=1 delivered=1");
    EXPECT_TRUE(next_data_is(sub, "after"));
    EXPECT_EQ(stat(next, "published"), 1u);
}

TEST_F(Control, ManyControlClientsAtOnce) {
    ASSERT_TRUE(start());
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/many"));
    constexpr int kClients = 15;  // with ctl_, the default --max-control
    std::vector<ControlConn> ctls(kClients);
    for (auto& c : ctls) ASSERT_TRUE(control(c, srv_));
    for (int i = 0; i < kClients; ++i) ASSERT_TRUE(ctls[i].send("PUB many " + std::to_string(i) + "\n"));
    std::set<std::string> seqs;
    for (auto& c : ctls) {
        auto l = c.read_line();
        ASSERT_TRUE(l);
        ASSERT_EQ(l->rfind("OK seq=", 0), 0u) << *l;
        EXPECT_TRUE(l->ends_with(" delivered=1")) << *l;
        seqs.insert(l->substr(7, l->find(' ', 7) - 7));
    }
    EXPECT_EQ(seqs.size(), static_cast<size_t>(kClients)) << "each PUB its own seq";
    std::set<std::string> texts;
    for (int i = 0; i < kClients; ++i) {
        auto f = read_data(sub);
        ASSERT_TRUE(f);
        texts.insert(f->payload);
    }
    EXPECT_EQ(texts.size(), static_cast<size_t>(kClients));
    EXPECT_EQ(cmd("CHANNELS"), "OK [{\"name\":\"many\",\"members\":1,\"epoch\":\"" + epoch_of(ctl_, "many") +
                                   "\",\"last_seq\":" + std::to_string(kClients) + ",\"first_kept\":1}]");
}

TEST_F(Control, SocatPipesACommand) {
    ASSERT_TRUE(start());
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/alerts"));
    int status = -1;
    std::string out =
        run_command("echo 'PUB alerts door open' | socat - UNIX-CONNECT:" + srv_.control_path(), &status);
    EXPECT_EQ(status, 0);
    EXPECT_EQ(out, "OK seq=1 delivered=1\n");
    EXPECT_TRUE(next_data_is(sub, "door open"));

    out = run_command("printf 'PUBB alerts 4\\n\\000\\001\\002\\377PUB alerts two\\nSTATS\\n' | socat - UNIX-CONNECT:" +
                          srv_.control_path(),
                      &status);
    EXPECT_EQ(status, 0);
    EXPECT_EQ(out.substr(0, out.find("OK {")), "OK seq=2 delivered=1\nOK seq=3 delivered=1\n") << out;
    EXPECT_TRUE(next_data_is(sub, std::string("\x00\x01\x02\xff", 4), 0x2));
}

TEST_F(Control, SocketIsPrivate) {
    ASSERT_TRUE(start());
    struct stat st;
    ASSERT_EQ(lstat(srv_.control_path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

std::string fresh_socket_path(const char* tag) {
    return "/tmp/wspush-ctl-" + std::string(tag) + "-" + std::to_string(getpid()) + ".sock";
}

TEST(ControlSocket, StaleFileIsReplaced) {
    std::string path = fresh_socket_path("stale");
    unlink(path.c_str());
    {
        // A socket file whose listener is gone: bound, then closed without unlink.
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
        ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
        ASSERT_EQ(listen(fd, 1), 0);
        close(fd);
    }
    struct stat st;
    ASSERT_EQ(lstat(path.c_str(), &st), 0) << "the stale file exists";
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--control", path})) << srv.log();
    ControlConn ctl;
    ASSERT_TRUE(ctl.connect(path));
    EXPECT_EQ(ctl.command("PUB x y"), "OK seq=1 delivered=0");
    EXPECT_EQ(srv.stop(), 0);
    EXPECT_NE(lstat(path.c_str(), &st), 0) << "removed on exit";
}

TEST(ControlSocket, LiveOneIsRefused) {
    std::string path = fresh_socket_path("live");
    unlink(path.c_str());
    ServerProcess first;
    ASSERT_TRUE(first.start({"--control", path})) << first.log();
    int status = -1;
    std::string out = run_command("timeout 10 " + std::string(WSPUSHD_BIN) +
                                      " --listen 127.0.0.1:0 --control " + path + " 2>&1",
                                  &status);
    EXPECT_NE(status, 0) << out;
    EXPECT_NE(status, 124) << "the second server kept running: " << out;
    EXPECT_NE(out.find(path), std::string::npos) << out;
    EXPECT_NE(out.find("in use"), std::string::npos) << out;
    // The first server still owns its socket.
    ControlConn ctl;
    ASSERT_TRUE(ctl.connect(path));
    EXPECT_EQ(ctl.command("PUB x y"), "OK seq=1 delivered=0");
}

TEST(ControlSocket, NotASocketIsRefused) {
    std::string path = fresh_socket_path("file");
    FILE* f = fopen(path.c_str(), "w");
    ASSERT_TRUE(f);
    fputs("precious\n", f);
    fclose(f);
    int status = -1;
    std::string out = run_command("timeout 10 " + std::string(WSPUSHD_BIN) +
                                      " --listen 127.0.0.1:0 --control " + path + " 2>&1",
                                  &status);
    EXPECT_NE(status, 0) << out;
    EXPECT_NE(status, 124) << out;
    EXPECT_NE(out.find("not a socket"), std::string::npos) << out;
    struct stat st;
    ASSERT_EQ(lstat(path.c_str(), &st), 0) << "the file was removed";
    EXPECT_TRUE(S_ISREG(st.st_mode));
    unlink(path.c_str());
}

}  // namespace
}  // namespace wspush::testing
