// Robot messages (the group robots' JSON bodies): validated, and rewritten as the card JSON
// WebSocket clients receive.
//
// Client payload (one JSON object, fields in this order, strings re-escaped):
//   {"msgtype":"markdown","markdown":{"title":"...","text":"..."},
//    "at":{"atUserIds":[...],"atMobiles":[...],"isAtAll":false},
//    "robot":"NAME","time":<Unix ms>}
// with the msgtype's own object as the robots define it (text{content}; link{title,text,
// messageUrl,picUrl}; markdown{title,text}; actionCard{title,text,singleTitle,singleURL} or
// {title,text,btns[{title,actionURL}]}, then btnOrientation,hideAvatar ("0"/"1" strings);
// feedCard{links[{title,messageURL,picURL}]}); optional fields only when given; unknown
// fields dropped. "at" only when the body had one, with each of its members only when
// given, and an id already named earlier (atUserIds before atMobiles) dropped. A digest
// card adds "digest":{"count":N,"first":ms,"last":ms,"omitted":K} after "markdown", and,
// when the digested messages mentioned anyone, "at":{"atUserIds":[...],"isAtAll":B} after it.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "robot/errcode.h"

namespace wspush::robot {

inline constexpr size_t kMaxMentions = 64;  // atUserIds + atMobiles entries kept

enum class MsgType : uint8_t { kText, kLink, kMarkdown, kActionCard, kFeedCard };

struct Card {
    MsgType type = MsgType::kText;
    std::string payload;              // the client payload above
    std::string summary;              // title, else the first non-empty line of text: for digests
    std::string search_text;          // every human-readable string, '\n'-joined: for keywords
    std::vector<std::string> mention_ids;  // atUserIds then atMobiles, unescaped, deduplicated
    bool at_all = false;
};

struct CardError {
    ErrCode code = kOk;
    std::string message;  // errmsg: names the field, e.g. "missing field markdown.title"
};

// Parses and validates a robot body (UTF-8 JSON, at most `max_body` bytes). On success fills
// *out (payload stamped with robot_name and now_ms) and returns true; else fills *err:
// kBadJson (with the parser's reason and byte offset), kMissingField, kBadField,
// kUnknownMsgtype.
[[nodiscard]] bool parse_card(std::string_view body, std::string_view robot_name, uint64_t now_ms,
                              Card* out, CardError* err);

// What a digest says about the messages it folds.
struct DigestFacts {
    uint64_t count = 0, first_ms = 0, last_ms = 0, omitted = 0;
    std::vector<std::string> mention_ids;  // everyone they mentioned (at most kMaxMentions)
    bool at_all = false;
};

// The client payload of a digest: a markdown card with the given title and text, plus the
// "digest" object and, if the digested messages mentioned anyone, "at".
[[nodiscard]] std::string digest_payload(std::string_view robot_name, uint64_t now_ms,
                                         std::string_view title, std::string_view text, const DigestFacts& facts);

}  // namespace wspush::robot
