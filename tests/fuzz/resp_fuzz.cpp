// libFuzzer entry point for the RESP reply parser (make fuzz). The first byte picks the
// limits (even: small ones, so every bound is reachable; odd: the defaults); the rest is a
// stream of replies as a server sends them. Checks:
//   - parsed whole and in pseudo-random pieces (empty ones included), the parser gives the
//     same replies and the same verdict (error text, or a reply left unfinished);
//   - kNeedMore takes every byte given, kDone never more than given, and the replies' bytes
//     (raw()) laid end to end are exactly the input up to the last complete reply;
//   - every reply written out again in canonical RESP3 parses to a tree that writes out the
//     same, and never breaks the default limits' view of it (depth, elements).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "redis/resp.h"

namespace {

using namespace wspush::redis;
using wspush::fuzz::require;

void emit(const Value& v, std::string& out) {
    auto header = [&](char c, size_t n) {
        out += c;
        out += std::to_string(n);
        out += "\r\n";
    };
    auto blob = [&](char c, std::string_view s) {
        header(c, s.size());
        out += s;
        out += "\r\n";
    };
    switch (v.type()) {
        case Type::kSimple: out += "+" + std::string(v.str()) + "\r\n"; return;
        case Type::kError: blob('!', v.str()); return;
        case Type::kInteger: out += ":" + std::to_string(v.integer()) + "\r\n"; return;
        case Type::kBulk: blob('$', v.str()); return;
        case Type::kNull: out += "_\r\n"; return;
        case Type::kBoolean: out += v.boolean() ? "#t\r\n" : "#f\r\n"; return;
        case Type::kDouble: out += "," + std::string(v.str()) + "\r\n"; return;
        case Type::kBigNumber: out += "(" + std::string(v.str()) + "\r\n"; return;
        case Type::kVerbatim: blob('=', std::string(v.format()) + ":" + std::string(v.str())); return;
        case Type::kArray:
        case Type::kSet:
        case Type::kPush:
        case Type::kMap: {
            const Type t = v.type();
            const char c = t == Type::kArray ? '*' : t == Type::kSet ? '~' : t == Type::kPush ? '>' : '%';
            header(c, v.type() == Type::kMap ? v.size() / 2 : v.size());
            for (size_t i = 0; i < v.size(); ++i) emit(v.at(i), out);
            return;
        }
    }
}

struct Run {
    std::vector<std::string> replies;  // canonical form of each
    std::string error;
    bool unfinished = false;
    size_t consumed = 0;  // bytes of the input in complete replies
};

Run parse(std::string_view in, const std::vector<size_t>& ends, const RespLimits& limits) {
    RespParser p(limits);
    Run run;
    std::string raws;
    size_t start = 0;
    for (size_t end : ends) {
        // An exact-size copy of the piece: ASan reports a read past it.
        std::vector<char> piece(in.begin() + static_cast<long>(start), in.begin() + static_cast<long>(end));
        size_t pos = 0;
        for (;;) {
            size_t used = 0;
            const Parse r = p.feed(piece.data() + pos, piece.size() - pos, used);
            require(used <= piece.size() - pos);
            pos += used;
            if (r == Parse::kError) {
                run.error = p.error();
                require(!run.error.empty());
                return run;
            }
            if (r == Parse::kNeedMore) {
                require(pos == piece.size());
                break;
            }
            std::string canon;
            emit(p.reply(), canon);
            run.replies.push_back(canon);
            raws += p.raw();
            run.consumed = raws.size();
            require(in.substr(0, raws.size()) == raws);
            if (pos == piece.size()) break;
        }
        start = end;
    }
    run.unfinished = p.mid_reply();
    return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    RespLimits limits;
    if ((data[0] & 1) == 0) {
        limits.max_bulk = 64;
        limits.max_elements = 8;
        limits.max_depth = 4;
        limits.max_reply = 512;
    }
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const Run whole = parse(in, {in.size()}, limits);
    wspush::fuzz::Splitter split(wspush::fuzz::tail_seed(data, size));
    const Run pieces = parse(in, split.ends(in.size()), limits);
    require(pieces.replies == whole.replies);
    require(pieces.error == whole.error);
    require(pieces.unfinished == whole.unfinished);
    require(pieces.consumed == whole.consumed);

    for (const std::string& canon : whole.replies) {
        RespParser again;
        size_t used = 0;
        require(again.feed(canon.data(), canon.size(), used) == Parse::kDone);
        require(used == canon.size());
        std::string twice;
        emit(again.reply(), twice);
        require(twice == canon);
    }
    return 0;
}
