// wspushd --help: what it lists, how it is laid out, and that the README's flag table agrees.
#include "server/config.h"

#include "ctl/command.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/flag_doc.h"
#include "support/test_server.h"

namespace wspush::server {
namespace {

TEST(Usage, MentionsEveryFlag) {
    std::string u = usage();
    for (const char* flag : {"--listen", "--mode", "--max-message", "--max-connections", "--protocols", "--origins",
                             "--log-level", "--control", "--history", "--ping-interval", "--idle-timeout",
                             "--handshake-timeout", "--send-buffer", "--http-stats", "--help", "--history-bytes",
                             "--max-channels", "--max-control"})
        EXPECT_NE(u.find(flag), std::string::npos) << flag;
}

// ------------------------------------------------------------------ --help and the README

// The comparison rule: usage() is read as support/flag_doc.h says; README.md, under
// "## Command line": rows "| `<syntax>` | <default> | <meaning> |". The cells are trimmed,
// backticks dropped and "\|" read as "|". Every flag (the syntax up to ' ' or '[') must
// appear in both, with the same syntax and the same default text, character for character.
using testing::FlagDoc;
using testing::flag_name;
using testing::flags_in_usage;

std::string readme_cell(std::string cell) {
    std::string out;
    for (size_t i = 0; i < cell.size(); ++i) {
        if (cell[i] == '`') continue;
        if (cell[i] == '\\' && i + 1 < cell.size() && cell[i + 1] == '|') continue;
        out += cell[i];
    }
    const size_t b = out.find_first_not_of(' ');
    return b == std::string::npos ? "" : out.substr(b, out.find_last_not_of(' ') - b + 1);
}

// The cells of a table row, split at '|' that is not escaped as "\|".
std::vector<std::string> readme_cells(const std::string& row) {
    std::vector<std::string> cells;
    std::string cell;
    for (size_t i = 1; i < row.size(); ++i) {
        if (row[i] == '|' && row[i - 1] != '\\') {
            cells.push_back(readme_cell(cell));
            cell.clear();
        } else {
            cell += row[i];
        }
    }
    return cells;
}

std::map<std::string, FlagDoc> flags_in_readme(const std::string& path) {
    std::map<std::string, FlagDoc> out;
    std::ifstream in(path);
    EXPECT_TRUE(in) << path;
    std::string line;
    bool in_section = false;
    while (std::getline(in, line)) {
        if (line.starts_with("## ")) in_section = line == "## Command line";
        if (!in_section || !line.starts_with("| `--")) continue;
        const std::vector<std::string> cells = readme_cells(line);
        if (cells.size() < 2) continue;
        out[flag_name(cells[0])] = {cells[0], cells[1]};
    }
    return out;
}

TEST(HelpText, AgreesWithReadme) {
    const auto help = flags_in_usage(usage());
    const auto readme = flags_in_readme(WSPUSH_SOURCE_DIR "/README.md");
    ASSERT_GE(help.size(), 18u) << usage();
    ASSERT_FALSE(readme.empty()) << "no flag table under ## Command line";
    EXPECT_EQ(testing::flag_differences(help, readme, "README.md"), std::vector<std::string>{});
}

// The control socket's HELP and the README's command table (## Control socket) list the same
// commands with the same syntax: the first table's first column, its first backquoted part.
TEST(HelpText, ControlCommandsAgreeWithReadme) {
    std::set<std::string> help;
    std::istringstream lines{std::string(ctl::help_text())};
    for (std::string line; std::getline(lines, line) && line != "OK";) help.insert(line.substr(0, line.find("  ")));
    ASSERT_GE(help.size(), 12u);
    std::set<std::string> readme;
    std::ifstream in(WSPUSH_SOURCE_DIR "/README.md");
    bool in_section = false;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("## ")) in_section = line == "## Control socket";
        if (!readme.empty() && !line.starts_with("|")) break;  // the first table only
        if (!in_section || !line.starts_with("| `")) continue;
        const size_t end = line.find('`', 3);
        ASSERT_NE(end, std::string::npos) << line;
        readme.insert(line.substr(3, end - 3));
    }
    EXPECT_EQ(help, readme);
}

TEST(HelpText, EveryFlagParses) {
    for (const auto& [name, doc] : flags_in_usage(usage())) {
        if (name == "--help") continue;
        std::string arg = name + "=x";
        char prog[] = "wspushd";
        char* argv[] = {prog, arg.data(), nullptr};
        Config cfg;
        std::string err;
        (void)parse_args(2, argv, cfg, err);
        EXPECT_EQ(err.find("unknown flag"), std::string::npos) << name << ": " << err;
    }
}

TEST(HelpText, ShowsEveryDefaultExceptHelp) {
    for (const auto& [name, doc] : flags_in_usage(usage())) {
        EXPECT_EQ(doc.def.empty(), name == "--help") << name << " in\n" << usage();
    }
}

TEST(HelpText, LinesFitIn80Columns) {
    std::istringstream in(usage());
    for (std::string line; std::getline(in, line);) EXPECT_LE(line.size(), 80u) << line;
}

TEST(HelpText, WspushdPrintsItAndExitsZero) {
    int status = -1;
    const std::string out = testing::run_command(std::string(WSPUSHD_BIN) + " --help", &status);
    EXPECT_EQ(status, 0);
    EXPECT_EQ(out, usage());
}

}  // namespace
}  // namespace wspush::server
