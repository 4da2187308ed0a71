// libFuzzer entry point for robot::parse_card (make fuzz-build). Checks, for any body: a
// refusal has one of the documented codes and a UTF-8 message; an accepted card's payload is
// JSON (RFC 8259) and UTF-8, its summary is UTF-8 and at most 120 bytes, its mentions are
// bounded and unique; and the payload is a fixed point: read back as a robot body (its "robot"
// and "time" are unknown fields there, so dropped and stamped again) it gives itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>
#include <vector>

#include "codec/utf8.h"
#include "json/json.h"
#include "robot/card.h"

namespace {

using namespace wspush;

void require(bool ok) {
    if (!ok) std::abort();
}

bool known_code(robot::ErrCode c) {
    return c == robot::kMissingField || c == robot::kBadField || c == robot::kUnknownMsgtype ||
           c == robot::kBadJson;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    robot::Card card;
    robot::CardError err;
    if (!robot::parse_card(body, "fuzz", 1'700'000'000'000, &card, &err)) {
        require(known_code(err.code));
        require(!err.message.empty() && codec::utf8_valid(err.message));
        return 0;
    }
    require(codec::utf8_valid(card.payload));
    require(codec::utf8_valid(card.summary) && card.summary.size() <= 120);
    require(card.mention_ids.size() <= robot::kMaxMentions);
    require(std::set<std::string>(card.mention_ids.begin(), card.mention_ids.end()).size() == card.mention_ids.size());
    std::vector<json::Token> tokens(card.payload.size() + 1);
    json::Document doc;
    json::Limits limits;
    limits.max_bytes = UINT32_MAX;
    require(json::parse(card.payload, tokens.data(), static_cast<uint32_t>(tokens.size()), &doc, limits).ok());
    robot::Card again;
    require(robot::parse_card(card.payload, "fuzz", 1'700'000'000'000, &again, &err));
    require(again.payload == card.payload);
    require(again.summary == card.summary && again.mention_ids == card.mention_ids);
    return 0;
}
