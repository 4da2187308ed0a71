#include "push/hub.h"

#include <cassert>
#include <cstdio>

#include "codec/base64.h"

namespace wspush::push {

bool valid_name(std::string_view s) noexcept {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok) return false;
    }
    return true;
}

void json_escape(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 15];
                } else {
                    out += static_cast<char>(c);  // UTF-8 passes through unchanged
                }
        }
    }
}

Publication::Publication(const Channel* ch, uint64_t seq, Message* raw) noexcept
    : channel_(ch), seq_(seq), raw_(raw) {}

Publication::~Publication() {
    raw_->unref();
    if (envelope_) envelope_->unref();
}

Message* Publication::envelope() noexcept {
    if (envelope_) return envelope_;
    std::string json;
    std::string_view payload(reinterpret_cast<const char*>(raw_->payload()), raw_->payload_size());
    json.reserve(payload.size() + channel_->name.size() + 64);
    json += "{\"type\":\"msg\",\"channel\":\"";
    json += channel_->name;  // valid_name(): nothing to escape
    json += "\",\"seq\":";
    json += std::to_string(seq_);
    if (raw_->opcode() == ws::Opcode::kBinary) {
        json += ",\"binary\":true,\"data\":\"";
        size_t at = json.size();
        json.resize(at + codec::base64_encoded_size(payload.size()));
        codec::base64_encode(raw_->payload(), payload.size(), json.data() + at);
    } else {
        json += ",\"data\":\"";
        json_escape(json, payload);
    }
    json += "\"}";
    envelope_ = Message::make(ws::Opcode::kText, json.data(), json.size());
    return envelope_;
}

Hub::~Hub() {
    for (auto& [name, ch] : channels_) {
        for (size_t i = 0; i < ch->ring_count; ++i) delete ch->ring[(ch->ring_head + i) % ch->ring.size()];
        delete ch;
    }
    delete unkept_;
}

Channel& Hub::channel(std::string_view name) {
    auto it = channels_.find(std::string(name));
    if (it != channels_.end()) return *it->second;
    auto* ch = new Channel;
    ch->name.assign(name);
    ch->ring.resize(history_);
    channels_.emplace(ch->name, ch);
    return *ch;
}

Channel* Hub::find(std::string_view name) noexcept {
    auto it = channels_.find(std::string(name));
    return it == channels_.end() ? nullptr : it->second;
}

void Hub::join(Channel& ch, Subscription& s) {
    assert(s.channel == nullptr);
    s.channel = &ch;
    s.index = static_cast<uint32_t>(ch.members.size());
    ch.members.push_back(&s);
}

void Hub::leave(Subscription& s) noexcept {
    Channel* ch = s.channel;
    if (ch == nullptr) return;
    Subscription* last = ch->members.back();
    ch->members[s.index] = last;
    last->index = s.index;
    ch->members.pop_back();
    s.channel = nullptr;
    if (!ch->members.empty()) return;
    if (ch->ring_count == 0) {
        // Nobody in it and nothing kept: forget it (a name joined once costs nothing later).
        channels_.erase(ch->name);
        delete ch;
        return;
    }
    // An idle channel keeps only its history (for resume), not its member array.
    ch->members.shrink_to_fit();
}

Publication& Hub::record(Channel& ch, Message* raw) {
    auto* pub = new Publication(&ch, ch.next_seq++, raw);
    if (history_ == 0) {
        delete unkept_;
        unkept_ = pub;
        return *pub;
    }
    size_t cap = ch.ring.size();
    if (ch.ring_count == cap) {
        delete ch.ring[ch.ring_head];
        ch.ring[ch.ring_head] = pub;
        ch.ring_head = (ch.ring_head + 1) % cap;
    } else {
        ch.ring[(ch.ring_head + ch.ring_count) % cap] = pub;
        ++ch.ring_count;
    }
    return *pub;
}

}  // namespace wspush::push
