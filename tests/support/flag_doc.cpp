#include "support/flag_doc.h"

#include <sstream>

namespace wspush::testing {

std::string flag_name(const std::string& syntax) { return syntax.substr(0, syntax.find_first_of(" [")); }

std::map<std::string, FlagDoc> flags_in_usage(const std::string& text) {
    std::map<std::string, FlagDoc> out;
    std::istringstream in(text);
    std::string line;
    std::string syntax;
    std::string entry;
    auto finish = [&] {
        if (syntax.empty()) return;
        FlagDoc d{syntax, ""};
        const size_t at = entry.rfind("(default ");
        if (at != std::string::npos && entry.back() == ')') d.def = entry.substr(at + 9, entry.size() - at - 10);
        out[flag_name(syntax)] = d;
        syntax.clear();
    };
    while (std::getline(in, line)) {
        if (line.starts_with("    ") && !syntax.empty()) {
            entry += " " + line.substr(line.find_first_not_of(' '));
        } else if (line.starts_with("  --")) {
            finish();
            const size_t gap = line.find("  ", 2);
            syntax = line.substr(2, gap == std::string::npos ? std::string::npos : gap - 2);
            entry = gap == std::string::npos ? "" : line.substr(line.find_first_not_of(' ', gap));
        } else {
            finish();
        }
    }
    finish();
    return out;
}

std::vector<std::string> flag_differences(const std::map<std::string, FlagDoc>& help,
                                          const std::map<std::string, FlagDoc>& doc, const std::string& where) {
    std::vector<std::string> out;
    for (const auto& [name, h] : help) {
        const auto it = doc.find(name);
        if (it == doc.end()) {
            out.push_back(name + " is in --help but not in " + where);
            continue;
        }
        if (it->second.syntax != h.syntax)
            out.push_back(name + ": " + where + " shows '" + it->second.syntax + "', --help '" + h.syntax + "'");
        if (it->second.def != h.def)
            out.push_back(name + ": default in " + where + " '" + it->second.def + "', in --help '" + h.def + "'");
    }
    for (const auto& [name, d] : doc) {
        if (!help.contains(name)) out.push_back(name + " is in " + where + " but not in --help");
    }
    return out;
}

}  // namespace wspush::testing
