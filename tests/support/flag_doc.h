// Test support: the flags wspushd --help lists, read back from its text, so that every
// document of the flags (README, the man page, the example settings) can be held to it.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace wspush::testing {

struct FlagDoc {
    std::string syntax;  // "--listen HOST:PORT", "--io-uring[=true|false|1|0]"
    std::string def;     // the default as --help shows it; empty: none
};

// The flag's name: its syntax up to ' ' or '['.
std::string flag_name(const std::string& syntax);

// The flags of a --help text, by name. The rule: an entry starts with a line "  <syntax>"
// followed by two or more spaces and its text (or by the end of the line, the text then
// starting on the next line); lines that start with four or more spaces continue it. Its
// default is what the entry's last "(default <X>)" holds, at the very end of the entry.
std::map<std::string, FlagDoc> flags_in_usage(const std::string& text);

// How the flags a document (`where`) shows differ from --help's: one line per flag missing
// from either, or whose syntax or default text is not the same character for character.
// Empty when they agree.
std::vector<std::string> flag_differences(const std::map<std::string, FlagDoc>& help,
                                          const std::map<std::string, FlagDoc>& doc, const std::string& where);

}  // namespace wspush::testing
