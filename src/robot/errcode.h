// The webhook's reply codes: {"errcode":N,"errmsg":"..."}. The robot codes are the group
// robots' own (existing clients test for them); the others are ours. README, "Webhook reply
// codes", lists them all.
#pragma once
#include <cstdint>

namespace wspush::robot {

enum ErrCode : int32_t {
    kOk = 0,
    kMissingField = 40035,     // a required field is absent (errmsg names it)
    kBadField = 40036,         // a field has the wrong type or an invalid value (names it)
    kUnknownMsgtype = 40037,   // msgtype is none of text, link, markdown, actionCard, feedCard
    kBadJson = 40038,          // the body is not JSON (RFC 8259) or not UTF-8
    kBadContentType = 43004,   // Content-Type is not application/json (UTF-8)
    kTooFast = 130101,         // over the robot's rate (overflow=refuse); Retry-After says when
    kUnknownToken = 300001,    // no robot has this access_token / Bearer token
    kPatternRobot = 300002,    // the token covers a channel pattern: use POST /push/<channel>
    kNotAllowed = 300003,      // /push: the token does not cover that channel
    kSecurity = 310000,        // signature, timestamp, keyword or source address refused
    kTooLarge = 460101,        // body over --robot-max-body
    kUnavailable = 503000,     // the server cannot take it now (memory, channel limit)
    kJournal = 503001,         // delivered, but the journal did not take it (errmsg: journal: <reason>)
    kRedis = 503002,           // --redis: Redis did not take it (errmsg: redis: <reason>); not delivered
};

}  // namespace wspush::robot
