// make install / make uninstall into a temporary DESTDIR, and the documents they install held
// to the server itself: the man page renders without a warning and names every flag (with
// its --help syntax and default) and every control command (as HELP lists it); the example
// settings name every flag at its default.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/flag_doc.h"
#include "support/test_server.h"

namespace wspush::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSource = WSPUSH_SOURCE_DIR;
const std::string kManPage = kSource + "/tools/man/wspushd.8";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << path;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
    return s;
}

// make in the source tree with this build's binary (the sanitized one under `make asan`),
// without the jobserver of a make that may have started this test.
std::string make(const std::string& args, int* status) {
    // As the build named it (build, build/asan), so that make sees the same targets.
    const fs::path dir = fs::path(WSPUSHD_BIN).parent_path();
    const fs::path rel = dir.lexically_relative(kSource);
    std::string build = rel.empty() || *rel.begin() == ".." ? dir.string() : rel.string();
#ifdef __SANITIZE_ADDRESS__
    build += " SAN=1";
#endif
    return run_command("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C " + kSource + " BUILD=" + build + " " + args +
                           " 2>&1",
                       status);
}

// Every file (not directory) under root, by path relative to it, with its permission bits.
std::map<std::string, unsigned> files_under(const std::string& root) {
    std::map<std::string, unsigned> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (e.is_directory() && !e.is_symlink()) continue;
        struct stat st {};
        EXPECT_EQ(lstat(e.path().c_str(), &st), 0) << e.path();
        out[fs::relative(e.path(), root).string()] = st.st_mode & 07777;
    }
    return out;
}

TEST(Install, PutsExactlyItsFilesAndUninstallTakesThemAway) {
    char dir[] = "/tmp/wspush-install-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string d = dir;
    struct RemoveWhenDone {
        std::string path;
        ~RemoveWhenDone() { fs::remove_all(path); }
    } cleanup{d};
    struct stat before {};
    ASSERT_EQ(stat(WSPUSHD_BIN, &before), 0);

    int status = -1;
    std::string out = make("install PREFIX=/usr DESTDIR=" + d, &status);
    ASSERT_EQ(status, 0) << out;
    struct stat after {};
    ASSERT_EQ(stat(WSPUSHD_BIN, &after), 0);
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec) << "make install rebuilt the server:\n" << out;
    EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);

    const std::map<std::string, unsigned> expected = {
        {"usr/bin/wspushd", 0755},
        {"usr/share/man/man8/wspushd.8", 0644},
        {"etc/wspushd/wspushd.conf.example", 0644},
        {"usr/lib/systemd/system/wspushd.service", 0644},
        {"usr/lib/systemd/system/wspushd.socket", 0644},
    };
    const auto got = files_under(d);
    EXPECT_EQ(got, expected);

    // The binary: stripped, and it runs.
    const std::string bin = d + "/usr/bin/wspushd";
    EXPECT_EQ(run_command("readelf -S -W " + bin + " | grep -c '\\.symtab'"), "0\n") << "not stripped";
    EXPECT_NE(run_command("readelf -S -W " WSPUSHD_BIN " | grep -c '\\.symtab'"), "0\n")
        << "the build's binary has no symbols: the check above proves nothing";
    EXPECT_EQ(run_command(bin + " --help", &status), run_command(WSPUSHD_BIN " --help"));
    EXPECT_EQ(status, 0);

    // The documents as they are in the tree; the service's ExecStart (and the example's)
    // names $(BINDIR) without DESTDIR.
    auto at_bindir = [](const std::string& text) { return replace_all(text, "/usr/local/bin/wspushd", "/usr/bin/wspushd"); };
    EXPECT_EQ(read_file(d + "/usr/share/man/man8/wspushd.8"), read_file(kManPage));
    EXPECT_EQ(read_file(d + "/usr/lib/systemd/system/wspushd.socket"),
              read_file(kSource + "/tools/systemd/wspushd.socket"));
    EXPECT_EQ(read_file(d + "/etc/wspushd/wspushd.conf.example"),
              at_bindir(read_file(kSource + "/tools/systemd/wspushd.conf.example")));
    const std::string service = read_file(d + "/usr/lib/systemd/system/wspushd.service");
    EXPECT_EQ(service, at_bindir(read_file(kSource + "/tools/systemd/wspushd.service")));
    EXPECT_NE(service.find("\nExecStart=/usr/bin/wspushd "), std::string::npos) << service;

    out = make("uninstall PREFIX=/usr DESTDIR=" + d, &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(files_under(d), (std::map<std::string, unsigned>{}));
    EXPECT_FALSE(fs::exists(d + "/etc/wspushd")) << "the config directory install made is left";
}

TEST(Install, ManPageRendersWithoutAWarning) {
    for (const char* locale : {"C", "C.UTF-8"}) {
        int status = -1;
        const std::string err = run_command(std::string("env LC_ALL=") + locale + " MANWIDTH=80 man --warnings -l " +
                                                kManPage + " 2>&1 >/dev/null",
                                            &status);
        EXPECT_EQ(status, 0) << locale;
        EXPECT_EQ(err, "") << locale;
    }
}

// ------------------------------------------------------------------ the man page's entries

// A roff line as text: font changes dropped, the escapes the page uses read.
std::string roff_text(std::string s) {
    for (const char* font : {"\\fB", "\\fI", "\\fR", "\\fP"}) s = replace_all(s, font, "");
    s = replace_all(s, "\\-", "-");
    s = replace_all(s, "\\(aq", "'");
    s = replace_all(s, "\\&", "");
    return replace_all(s, "\\e", "\\");
}

struct ManEntry {
    std::string tag;   // the .TP tag line as text
    std::string text;  // the lines after it, as text, joined by spaces
};

// The .TP entries of the page's section `name` (".SH name" or ".SH \"name\""), in order.
std::vector<ManEntry> man_entries(const std::string& name) {
    std::vector<ManEntry> out;
    std::istringstream in(read_file(kManPage));
    bool inside = false;
    bool tag_next = false;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(".SH ")) {
            inside = line == ".SH " + name || line == ".SH \"" + name + "\"";
            continue;
        }
        if (!inside) continue;
        if (line == ".TP") {
            tag_next = true;
        } else if (tag_next) {
            out.push_back({roff_text(line), ""});
            tag_next = false;
        } else if (line.starts_with(".PP") || line.starts_with(".SS")) {
            out.push_back({"", ""});  // text after the entries belongs to none of them
        } else if (!out.empty()) {
            out.back().text += (out.back().text.empty() ? "" : " ") + roff_text(line);
        }
    }
    std::erase_if(out, [](const ManEntry& e) { return e.tag.empty(); });
    return out;
}

// Under OPTIONS each flag's tag is its --help syntax, and its text ends "Default: <X>." with
// --help's default (--help itself has none).
TEST(Install, ManPageHasEveryFlagWithItsDefault) {
    const auto help = flags_in_usage(run_command(WSPUSHD_BIN " --help"));
    ASSERT_GE(help.size(), 20u);
    std::map<std::string, FlagDoc> man;
    for (const ManEntry& e : man_entries("OPTIONS")) {
        const size_t at = e.text.rfind("Default: ");
        std::string def = at == std::string::npos ? "" : e.text.substr(at + 9);
        if (def.ends_with(".")) def.pop_back();
        man[flag_name(e.tag)] = {e.tag, def};
    }
    EXPECT_EQ(flag_differences(help, man, "wspushd.8 OPTIONS"), std::vector<std::string>{});
}

// Under CONTROL SOCKET each command's tag is its syntax as HELP lists it, without the angle
// brackets: "KICK client-id [code] [reason]".
TEST(Install, ManPageHasEveryControlCommand) {
    ServerProcess server;
    ASSERT_TRUE(server.start({})) << server.log();
    ControlConn cc;
    ASSERT_TRUE(cc.connect(server.control_path()));
    ASSERT_TRUE(cc.send("HELP\n"));
    std::set<std::string> help;
    for (std::optional<std::string> line; (line = cc.read_line()) && *line != "OK";) {
        // The verb, then its arguments (<x> or [x]); the description follows.
        std::istringstream words(*line);
        std::string syntax;
        for (std::string w; words >> w && (syntax.empty() || w.starts_with('<') || w.starts_with('['));)
            syntax += (syntax.empty() ? "" : " ") + w;
        help.insert(replace_all(replace_all(syntax, "<", ""), ">", ""));
    }
    ASSERT_GE(help.size(), 12u);
    std::set<std::string> man;
    for (const ManEntry& e : man_entries("CONTROL SOCKET")) man.insert(e.tag);
    for (const std::string& c : help) EXPECT_TRUE(man.contains(c)) << c << " is in HELP but not under CONTROL SOCKET";
    for (const std::string& c : man) EXPECT_TRUE(help.contains(c)) << c << " is under CONTROL SOCKET but not in HELP";
    EXPECT_EQ(server.stop(), 0);
}

// The example settings: a line "#<flag> = <value>" for every flag but --help and --config, at --help's
// default where that is one value (not "none", "any" or a formula).
TEST(Install, ExampleSettingsHaveEveryFlagAtItsDefault) {
    const auto help = flags_in_usage(run_command(WSPUSHD_BIN " --help"));
    std::map<std::string, std::string> example;
    std::istringstream in(read_file(kSource + "/tools/systemd/wspushd.conf.example"));
    for (std::string line; std::getline(in, line);) {
        const size_t eq = line.find(" = ");
        if (line.size() < 2 || line[0] != '#' || line[1] == ' ' || eq == std::string::npos) continue;
        example["--" + line.substr(1, eq - 1)] = line.substr(eq + 3);
    }
    for (const auto& [name, h] : help) {
        if (name == "--help" || name == "--config") continue;  // not a setting of the file itself
        const auto it = example.find(name);
        if (it == example.end()) {
            ADD_FAILURE() << name << " is in --help but not in wspushd.conf.example";
            continue;
        }
        if (h.def != "none" && h.def != "any" && h.def.find(' ') == std::string::npos) {
            EXPECT_EQ(it->second, h.def) << name << " in wspushd.conf.example";
        }
    }
    for (const auto& [name, v] : example)
        EXPECT_TRUE(help.contains(name)) << name << " is in wspushd.conf.example but not in --help";
}

}  // namespace
}  // namespace wspush::testing
