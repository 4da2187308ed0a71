// The control channel's line parser, table-driven: every verb, bad arguments, case, CRLF,
// UTF-8, KICK codes and the PUBB size cap.
#include "ctl/command.h"

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

namespace wspush::ctl {
namespace {

constexpr uint64_t kMax = 64;  // max_payload for the table

struct CommandCase {
    const char* name;
    std::string line;
    bool ok;
    Verb verb = Verb::kHelp;
    std::string arg;    // Command::name
    std::string text;   // Command::text
    uint64_t nbytes = 0;
    uint16_t code = 0;
    std::string error;  // expected error text when !ok
};

void PrintTo(const CommandCase& c, std::ostream* os) { *os << c.name; }

CommandCase good(const char* name, std::string line, Verb verb, std::string arg = {}, std::string text = {},
                 uint64_t nbytes = 0, uint16_t code = 0) {
    return CommandCase{name, std::move(line), true, verb, std::move(arg), std::move(text), nbytes, code, {}};
}
CommandCase bad(const char* name, std::string line, std::string error) {
    return CommandCase{name, std::move(line), false, Verb::kHelp, {}, {}, 0, 0, std::move(error)};
}

void expect_result(const ParseResult& r, const CommandCase& c) {
    ASSERT_EQ(r.ok, c.ok) << "error: " << r.error;
    if (!c.ok) {
        EXPECT_EQ(std::string(r.error), c.error);
        return;
    }
    EXPECT_EQ(r.cmd.verb, c.verb);
    EXPECT_EQ(r.cmd.name, c.arg);
    EXPECT_EQ(r.cmd.text, c.text);
    EXPECT_EQ(r.cmd.nbytes, c.nbytes);
    EXPECT_EQ(r.cmd.code, c.code);
}

// Parses an exact-size heap copy of `line` (a read past its end is an ASan error) and
// checks the result against `c`; the views must point into the line.
void check(const std::string& line, const CommandCase& c) {
    SCOPED_TRACE(line);
    std::unique_ptr<char[]> copy(new char[line.size() ? line.size() : 1]);
    std::copy(line.begin(), line.end(), copy.get());
    ParseResult r = parse_command(std::string_view(copy.get(), line.size()), kMax);
    expect_result(r, c);
    for (std::string_view v : {r.cmd.name, r.cmd.text})
        if (!v.empty()) {
            EXPECT_GE(v.data(), copy.get());
            EXPECT_LE(v.data() + v.size(), copy.get() + line.size());
        }
}

class ParseCommand : public ::testing::TestWithParam<CommandCase> {};

TEST_P(ParseCommand, AsWritten) { check(GetParam().line, GetParam()); }

TEST_P(ParseCommand, WithCarriageReturn) { check(GetParam().line + "\r", GetParam()); }

// Verbs are case-insensitive: the lowercase spelling parses the same way.
TEST_P(ParseCommand, LowercaseVerb) {
    std::string line = GetParam().line;
    for (size_t i = 0; i < line.size() && line[i] != ' '; ++i)
        if (line[i] >= 'A' && line[i] <= 'Z') line[i] = static_cast<char>(line[i] + 32);
    check(line, GetParam());
}

const std::string k123(123, 'r');

INSTANTIATE_TEST_SUITE_P(
    Table, ParseCommand,
    ::testing::Values(
        // PUB
        good("Pub", "PUB news hello world", Verb::kPub, "news", "hello world"),
        good("PubEmptyText", "PUB news", Verb::kPub, "news", ""),
        good("PubKeepsInnerSpaces", "PUB news  two  spaces", Verb::kPub, "news", " two  spaces"),
        good("PubUtf8", "PUB news caf\xc3\xa9 \xe2\x82\xac", Verb::kPub, "news", "caf\xc3\xa9 \xe2\x82\xac"),
        good("PubAtCap", "PUB news " + std::string(kMax, 'x'), Verb::kPub, "news", std::string(kMax, 'x')),
        bad("PubOverCap", "PUB news " + std::string(kMax + 1, 'x'), "message too big"),
        bad("PubNoChannel", "PUB", "usage: PUB <channel> <text>"),
        bad("PubBadChannel", "PUB new/s hi", "invalid channel name"),
        bad("PubLongChannel", "PUB " + std::string(65, 'c') + " hi", "invalid channel name"),
        bad("PubBadUtf8", "PUB news \xff", "command is not valid UTF-8"),
        bad("PubOverlong", "PUB news \xc0\xaf", "command is not valid UTF-8"),
        bad("PubSurrogate", "PUB news \xed\xa0\x80", "command is not valid UTF-8"),
        bad("PubTruncatedUtf8", "PUB news \xe2\x82", "command is not valid UTF-8"),
        // PUBB
        good("Pubb", "PUBB news 5", Verb::kPubb, "news", "", 5),
        good("PubbZero", "PUBB news 0", Verb::kPubb, "news", "", 0),
        good("PubbAtCap", "PUBB news 64", Verb::kPubb, "news", "", kMax),
        bad("PubbOverCap", "PUBB news 65", "message too big"),
        bad("PubbNoCount", "PUBB news", "usage: PUBB <channel> <nbytes>"),
        bad("PubbExtra", "PUBB news 5 more", "usage: PUBB <channel> <nbytes>"),
        bad("PubbNotNumber", "PUBB news five", "PUBB: nbytes must be a number"),
        bad("PubbNegative", "PUBB news -1", "PUBB: nbytes must be a number"),
        bad("PubbOverflow", "PUBB news 99999999999999999999999", "PUBB: nbytes must be a number"),
        bad("PubbBadChannel", "PUBB n!ews 5", "invalid channel name"),
        // SEND, BROADCAST
        good("Send", "SEND dev-1 reboot now", Verb::kSend, "dev-1", "reboot now"),
        good("SendAssignedId", "SEND c17 x", Verb::kSend, "c17", "x"),
        bad("SendNoId", "SEND", "usage: SEND <client-id> <text>"),
        bad("SendBadId", "SEND dev#1 x", "invalid client id"),
        bad("SendOverCap", "SEND d " + std::string(kMax + 1, 'x'), "message too big"),
        good("Broadcast", "BROADCAST all hands", Verb::kBroadcast, "", "all hands"),
        good("BroadcastEmpty", "BROADCAST", Verb::kBroadcast, "", ""),
        bad("BroadcastOverCap", "BROADCAST " + std::string(kMax + 1, 'x'), "message too big"),
        // No-argument verbs
        good("Stats", "STATS", Verb::kStats), good("Metrics", "METRICS", Verb::kMetrics),
        good("Channels", "CHANNELS", Verb::kChannels), good("Tail", "TAIL", Verb::kTail),
        good("Help", "HELP", Verb::kHelp), good("Quit", "QUIT", Verb::kQuit),
        bad("StatsWithArg", "STATS now", "this command takes no arguments"),
        bad("QuitWithArg", "QUIT please", "this command takes no arguments"),
        // CLIENTS
        good("Clients", "CLIENTS", Verb::kClients), good("ClientsOfChannel", "CLIENTS news", Verb::kClients, "news"),
        bad("ClientsTwo", "CLIENTS a b", "usage: CLIENTS [channel]"),
        bad("ClientsBadChannel", "CLIENTS a*", "invalid channel name"),
        // KICK
        good("Kick", "KICK dev-1", Verb::kKick, "dev-1"),
        good("KickCode", "KICK dev-1 4000", Verb::kKick, "dev-1", "", 0, 4000),
        good("KickReason", "KICK dev-1 4000 go away now", Verb::kKick, "dev-1", "go away now", 0, 4000),
        good("Kick1000", "KICK d 1000", Verb::kKick, "d", "", 0, 1000),
        good("Kick1001", "KICK d 1001", Verb::kKick, "d", "", 0, 1001),
        good("Kick1011", "KICK d 1011", Verb::kKick, "d", "", 0, 1011),
        good("Kick3000", "KICK d 3000", Verb::kKick, "d", "", 0, 3000),
        good("Kick4999", "KICK d 4999", Verb::kKick, "d", "", 0, 4999),
        good("KickReason123", "KICK d 4000 " + k123, Verb::kKick, "d", k123, 0, 4000),
        bad("KickReason124", "KICK d 4000 " + k123 + "r", "KICK: reason longer than 123 bytes"),
        bad("KickNoId", "KICK", "usage: KICK <client-id> [code] [reason]"),
        bad("KickBadId", "KICK d:1", "invalid client id"),
        bad("Kick999", "KICK d 999", "KICK: invalid close code"),
        bad("Kick1004", "KICK d 1004", "KICK: invalid close code"),
        bad("Kick1005", "KICK d 1005", "KICK: invalid close code"),
        bad("Kick1006", "KICK d 1006", "KICK: invalid close code"),
        bad("Kick1015", "KICK d 1015", "KICK: invalid close code"),
        bad("Kick2999", "KICK d 2999", "KICK: invalid close code"),
        bad("Kick5000", "KICK d 5000", "KICK: invalid close code"),
        bad("Kick65536", "KICK d 65536", "KICK: invalid close code"),
        bad("KickWrapsTo1000", "KICK d 66536", "KICK: invalid close code"),
        bad("KickCodeWord", "KICK d soon", "KICK: invalid close code"),
        // Not commands
        bad("Empty", "", "empty command (try HELP)"), bad("Blank", "   ", "empty command (try HELP)"),
        bad("Unknown", "FROB x", "unknown command (try HELP)"), bad("Prefix", "PU news x", "unknown command (try HELP)"),
        bad("Longer", "PUBLISH news x", "unknown command (try HELP)"),
        bad("BinaryVerb", "\xff\xfe", "unknown command (try HELP)")),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParseCommandCase, MixedCaseVerb) {
    ParseResult r = parse_command("bRoAdCaSt hi", kMax);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.cmd.verb, Verb::kBroadcast);
    EXPECT_EQ(r.cmd.text, "hi");
}

TEST(ParseCommandCase, ArgumentsKeepTheirCase) {
    ParseResult r = parse_command("pub News Hello", kMax);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.cmd.name, "News");
    EXPECT_EQ(r.cmd.text, "Hello");
}

TEST(ParseCommandCase, OnlyOneTrailingCarriageReturnIsDropped) {
    ParseResult r = parse_command("PUB news a\r\r", kMax);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.cmd.text, "a\r");
}

TEST(HelpText, ListsEveryVerbAndEndsWithOk) {
    std::string_view h = help_text();
    ASSERT_FALSE(h.empty());
    EXPECT_EQ(h.back(), '\n');
    EXPECT_TRUE(h.ends_with("\nOK\n"));
    for (const char* verb : {"PUB ", "PUBB ", "SEND ", "BROADCAST ", "STATS", "METRICS", "CLIENTS", "CHANNELS",
                             "KICK ", "TAIL", "HELP", "QUIT"}) {
        bool starts_line = h.starts_with(verb) || h.find(std::string("\n") + verb) != std::string_view::npos;
        EXPECT_TRUE(starts_line) << verb;
    }
}

// Each line: the syntax, at least two spaces, the text in one column, within 80 columns;
// TAIL names every line kind it sends (MSG text, MSGT envelope, MSGB binary).
TEST(HelpText, ReadsAsATable) {
    std::string_view h = help_text();
    h.remove_suffix(std::string_view("OK\n").size());
    size_t column = 0;
    while (!h.empty()) {
        const size_t eol = h.find('\n');
        ASSERT_NE(eol, std::string_view::npos);
        const std::string_view line = h.substr(0, eol);
        h.remove_prefix(eol + 1);
        EXPECT_LE(line.size(), 80u) << line;
        const size_t gap = line.find("  ");
        ASSERT_NE(gap, std::string_view::npos) << "no gap between syntax and text: " << line;
        const size_t text = line.find_first_not_of(' ', gap);
        if (column == 0) column = text;
        EXPECT_EQ(text, column) << line;
        if (line.starts_with("TAIL")) {
            for (const char* kind : {"MSG", "MSGT", "MSGB"}) EXPECT_NE(line.find(kind), std::string_view::npos) << kind;
        }
    }
    EXPECT_GT(column, 0u);
}

}  // namespace
}  // namespace wspush::ctl
