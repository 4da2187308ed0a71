// Test support: a canonical text of a parsed RESP value, to compare replies as strings.
#pragma once
#include <cstdio>
#include <string>

#include "redis/resp.h"

namespace wspush::redis {

// A canonical text of a value: +OK -ERR :1 "bulk" null true ,1.5 (123 =txt:"x" [..] {k: v}
// ~[..] >[..].
inline std::string describe(const Value& v) {
    auto quote = [](std::string_view s) {
        std::string out = "\"";
        for (unsigned char c : s) {
            if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
                out += static_cast<char>(c);
            } else {
                char hex[8];
                snprintf(hex, sizeof hex, "\\x%02x", c);
                out += hex;
            }
        }
        return out + "\"";
    };
    auto list = [&](const char* open, const char* close, bool pairs) {
        std::string out = open;
        for (size_t i = 0; i < v.size(); ++i) {
            if (i) out += pairs && i % 2 ? ": " : ", ";
            out += describe(v.at(i));
        }
        return out + close;
    };
    switch (v.type()) {
        case Type::kSimple: return "+" + std::string(v.str());
        case Type::kError: return "-" + std::string(v.str());
        case Type::kInteger: return ":" + std::to_string(v.integer());
        case Type::kBulk: return quote(v.str());
        case Type::kNull: return "null";
        case Type::kBoolean: return v.boolean() ? "true" : "false";
        case Type::kDouble: return "," + std::string(v.str());
        case Type::kBigNumber: return "(" + std::string(v.str());
        case Type::kVerbatim: return "=" + std::string(v.format()) + ":" + quote(v.str());
        case Type::kArray: return list("[", "]", false);
        case Type::kMap: return list("{", "}", true);
        case Type::kSet: return list("~[", "]", false);
        case Type::kPush: return list(">[", "]", false);
    }
    return "?";
}

}  // namespace wspush::redis
