// Hub: channels, members, per-channel seq, replay with epochs, and the lifetimes and
// limits (channel cap, history budget, forgetting idle channels). No sockets: deliveries
// are recorded by a callback.
#include "push/hub.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "push/alloc_hook.h"
#include "push/test_util.h"

namespace wspush::push {
namespace {

using testing::AllocHook;
using testing::payload_of;

std::string text_for(uint64_t seq) { return "m" + std::to_string(seq); }

void ignore(Subscription&, Publication&) {}

class HubTest : public testing::LeakCheckedTest {
protected:
    // Publishes text_for(seq) to ch, delivering nowhere; returns the seq (0 on failure).
    static uint64_t publish_text(Hub& hub, Channel& ch) {
        std::string t = text_for(ch.next_seq);
        return hub.publish(ch, ws::Opcode::kText, t.data(), t.size(), nullptr, ignore).seq;
    }
    static std::vector<uint64_t> replayed(Hub& hub, Channel& ch, Since since, bool* ok = nullptr) {
        std::vector<uint64_t> seqs;
        bool whole = hub.replay(ch, since, [&](Publication& p) {
            seqs.push_back(p.seq());
            EXPECT_EQ(payload_of(p.raw()), text_for(p.seq()));
        });
        if (ok) *ok = whole;
        return seqs;
    }
};

TEST_F(HubTest, PublishNumbersFromOnePerChannel) {
    Hub hub(HubLimits{.history = 10});
    Subscription keep_a, keep_b;  // members keep the channels alive between publishes
    Channel* a = hub.channel("a");
    Channel* b = hub.channel("b");
    ASSERT_TRUE(a && b && hub.join(*a, keep_a) && hub.join(*b, keep_b));
    EXPECT_EQ(publish_text(hub, *a), 1u);
    EXPECT_EQ(publish_text(hub, *a), 2u);
    EXPECT_EQ(publish_text(hub, *b), 1u);
    EXPECT_EQ(publish_text(hub, *a), 3u);
    EXPECT_EQ(a->next_seq, 4u);
    EXPECT_EQ(b->next_seq, 2u);
    EXPECT_EQ(hub.channel("a"), a) << "same name, same channel";
    EXPECT_EQ(hub.find("a"), a);
    EXPECT_EQ(hub.find("c"), nullptr);
    EXPECT_EQ(hub.channel_count(), 2u);
    hub.leave(keep_a);
    hub.leave(keep_b);
}

TEST_F(HubTest, PublishDeliversToEveryMemberButTheSender) {
    Hub hub(HubLimits{.history = 4});
    Channel* ch = hub.channel("room");
    Subscription s[3];
    for (uint32_t i = 0; i < 3; ++i) {
        s[i].owner = 100 + i;
        ASSERT_TRUE(hub.join(*ch, s[i]));
    }
    std::vector<uint32_t> got;
    PublishResult r = hub.publish(*ch, ws::Opcode::kText, "hi", 2, &s[1], [&](Subscription& to, Publication& p) {
        EXPECT_EQ(p.seq(), 1u);
        EXPECT_EQ(payload_of(p.raw()), "hi");
        EXPECT_EQ(&p.channel(), ch);
        got.push_back(to.owner);
    });
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.seq, 1u);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<uint32_t>{100, 102}));
    for (auto& sub : s) hub.leave(sub);
}

// Replay against a model: with history N and P publications, seqs max(1, P-N+1)..P are
// kept; replay(since) succeeds iff first_kept-1 <= since <= P and then yields exactly the
// kept seqs above since, oldest first.
struct RingCase {
    uint32_t history;
    uint64_t published;
};

void PrintTo(const RingCase& c, std::ostream* os) { *os << "history " << c.history << ", published " << c.published; }

class HubReplay : public HubTest, public ::testing::WithParamInterface<RingCase> {};

TEST_P(HubReplay, MatchesModelForEverySince) {
    const auto [history, published] = GetParam();
    Hub hub(HubLimits{.history = history});
    Subscription member;
    Channel* ch = hub.channel("ring");
    ASSERT_TRUE(hub.join(*ch, member));
    for (uint64_t i = 0; i < published; ++i) ASSERT_EQ(publish_text(hub, *ch), i + 1);
    uint64_t kept = std::min<uint64_t>(history, published);
    uint64_t first = published - kept + 1;
    EXPECT_EQ(ch->first_kept(), first);
    EXPECT_EQ(ch->ring_count, kept);
    for (uint64_t since = 0; since <= published + 2; ++since) {
        bool ok = false;
        std::vector<uint64_t> seqs = replayed(hub, *ch, Since{since, ch->epoch, since % 2 == 0}, &ok);
        bool want_ok = since + 1 >= first && since <= published;
        EXPECT_EQ(ok, want_ok) << "since=" << since;
        std::vector<uint64_t> want;
        if (want_ok)
            for (uint64_t s = std::max(first, since + 1); s <= published; ++s) want.push_back(s);
        EXPECT_EQ(seqs, want) << "since=" << since;
    }
    hub.leave(member);
}

std::vector<RingCase> ring_cases() {
    std::vector<RingCase> out;
    for (uint32_t h : {0u, 1u, 3u, 8u})
        for (uint64_t p : {0ull, 1ull, 2ull, 3ull, 7ull, 8ull, 9ull, 17ull, 24ull, 25ull}) out.push_back({h, p});
    return out;
}

INSTANTIATE_TEST_SUITE_P(Ring, HubReplay, ::testing::ValuesIn(ring_cases()), [](const auto& info) {
    return "History" + std::to_string(info.param.history) + "Published" + std::to_string(info.param.published);
});

// A since from another epoch (a restart, or the channel forgotten and made again) is a
// gap even when its seq looks current: numbering started again.
TEST_F(HubTest, SinceFromAnotherEpochIsAGap) {
    Hub hub(HubLimits{.history = 100});
    Subscription member;
    Channel* ch = hub.channel("alerts");
    ASSERT_TRUE(hub.join(*ch, member));
    for (int i = 0; i < 5; ++i) publish_text(hub, *ch);
    bool ok = true;
    EXPECT_TRUE(replayed(hub, *ch, Since{2, ch->epoch + 1, true}, &ok).empty());
    EXPECT_FALSE(ok) << "other epoch";
    EXPECT_FALSE(hub.covers(*ch, Since{0, ch->epoch - 1, true}));
    EXPECT_EQ(replayed(hub, *ch, Since{2, ch->epoch, true}, &ok), (std::vector<uint64_t>{3, 4, 5}));
    EXPECT_TRUE(ok);
    EXPECT_EQ(replayed(hub, *ch, Since{2, 0, false}, &ok), (std::vector<uint64_t>{3, 4, 5})) << "legacy form";
    EXPECT_TRUE(ok);
    std::vector<uint64_t> all;
    hub.replay_all(*ch, [&](Publication& p) { all.push_back(p.seq()); });
    EXPECT_EQ(all, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
    hub.leave(member);
}

// Epochs are epoch_base + a creation counter: a channel forgotten and made again gets a
// new one, so a client of the old one sees a gap.
TEST_F(HubTest, EveryCreationGetsANewEpoch) {
    Hub hub(HubLimits{.epoch_base = 0x9f2c1a7700000000ULL});
    Channel* a = hub.channel("a");
    EXPECT_EQ(a->epoch, 0x9f2c1a7700000001ULL);
    Channel* b = hub.channel("b");
    EXPECT_EQ(b->epoch, 0x9f2c1a7700000002ULL);
    Subscription s;
    ASSERT_TRUE(hub.join(*a, s));
    hub.leave(s);  // nothing kept: "a" is forgotten
    EXPECT_EQ(hub.find("a"), nullptr);
    Channel* again = hub.channel("a");
    EXPECT_EQ(again->epoch, 0x9f2c1a7700000003ULL);
    EXPECT_EQ(again->next_seq, 1u);
    EXPECT_FALSE(hub.covers(*again, Since{0, 0x9f2c1a7700000001ULL, true}));
    ASSERT_TRUE(hub.join(*again, s));
    hub.leave(s);
    Subscription sb;
    ASSERT_TRUE(hub.join(*b, sb));
    hub.leave(sb);
    EXPECT_EQ(hub.channel_count(), 0u);
}

// PUB to a new name with history 0 (or no byte budget) leaves no channel behind; with
// history it stays for resume until evicted.
TEST_F(HubTest, PublishToAnIdleChannelKeepingNothingForgetsIt) {
    for (HubLimits limits : {HubLimits{.history = 0}, HubLimits{.history = 10, .history_bytes = 0}}) {
        Hub hub(limits);
        Channel* ch = hub.channel("newname");
        PublishResult r = hub.publish(*ch, ws::Opcode::kText, "x", 1, nullptr, ignore);
        EXPECT_TRUE(r.ok);
        EXPECT_EQ(r.seq, 1u);
        EXPECT_EQ(hub.find("newname"), nullptr);
        EXPECT_EQ(hub.channel_count(), 0u);
        EXPECT_EQ(hub.history_bytes(), 0u);
    }
    Hub keeping(HubLimits{.history = 10});
    keeping.publish(*keeping.channel("kept"), ws::Opcode::kText, "x", 1, nullptr, ignore);
    ASSERT_NE(keeping.find("kept"), nullptr);
    EXPECT_EQ(keeping.find("kept")->ring_count, 1u);
}

TEST_F(HubTest, HistoryOfAMillionAllocatesNothingUpFront) {
    Hub hub(HubLimits{.history = 1'000'000, .history_bytes = uint64_t{1} << 30});
    AllocHook count(false);
    Channel* ch = hub.channel("big");
    ASSERT_NE(ch, nullptr);
    EXPECT_LT(count.bytes(), 1024u) << "the channel and its index only";
    for (int i = 0; i < 3; ++i) ASSERT_EQ(publish_text(hub, *ch), uint64_t(i) + 1);
    EXPECT_EQ(ch->ring_cap, 4u);
    EXPECT_LT(count.bytes(), 2048u) << "old: 8 MB of ring for every channel";
}

TEST_F(HubTest, ChannelCapRefusesNewNamesOnly) {
    Hub hub(HubLimits{.history = 0, .max_channels = 3});
    Subscription s[3];
    for (int i = 0; i < 3; ++i) {
        Channel* ch = hub.channel(std::string(1, static_cast<char>('a' + i)));
        ASSERT_NE(ch, nullptr);
        ASSERT_TRUE(hub.join(*ch, s[i]));
    }
    EXPECT_TRUE(hub.at_channel_limit());
    EXPECT_EQ(hub.channel("d"), nullptr);
    EXPECT_EQ(hub.channel("a"), s[0].channel) << "existing names still resolve";
    hub.leave(s[0]);  // "a" is forgotten: room for one
    EXPECT_FALSE(hub.at_channel_limit());
    Channel* d = hub.channel("d");
    ASSERT_NE(d, nullptr);
    ASSERT_TRUE(hub.join(*d, s[0]));
    EXPECT_EQ(hub.channel("e"), nullptr);
    for (auto& sub : s) hub.leave(sub);
    EXPECT_EQ(hub.channel_count(), 0u);
}

// Issue 7, relay mode: one client on 16 fresh channels sends 20 x 256 KiB messages, each
// published to all 16; a second member takes envelopes. History stays within the 8 MiB
// budget after every publish (the envelope built during a delivery is charged before
// publish returns). Once both leave, only channels that still keep something remain, and
// the next publications elsewhere evict those too: nothing of the flood stays.
TEST_F(HubTest, RelayFloodStaysWithinTheBudgetAndLeavesNothingIdle) {
    constexpr uint64_t kBudget = 8u << 20;
    Hub hub(HubLimits{.history = 100, .history_bytes = kBudget});
    std::vector<Subscription> sender(16), reader(16);
    for (int i = 0; i < 16; ++i) {
        Channel* ch = hub.channel("fresh" + std::to_string(i));
        ASSERT_NE(ch, nullptr);
        ASSERT_TRUE(hub.join(*ch, sender[i]) && hub.join(*ch, reader[i]));
    }
    const std::string chunk(256 << 10, 'x');
    size_t envelope_cost = 0;
    auto take_envelope = [&](Subscription&, Publication& p) {
        Message* env = p.envelope();
        ASSERT_NE(env, nullptr);
        envelope_cost = env->cost();
    };
    for (int message = 0; message < 20; ++message) {
        for (int i = 0; i < 16; ++i) {
            PublishResult r = hub.publish(*sender[i].channel, ws::Opcode::kText, chunk.data(), chunk.size(),
                                          &sender[i], take_envelope);
            ASSERT_TRUE(r.ok);
            ASSERT_LE(hub.history_bytes(), kBudget) << "message " << message << " channel " << i;
        }
    }
    EXPECT_LE(hub.history_bytes(), kBudget + envelope_cost);
    EXPECT_GT(hub.history_bytes(), kBudget / 2) << "the budget is used, not just respected";
    EXPECT_GT(hub.history_evicted(), 280u) << "320 published, about 15 fit";
    for (int i = 0; i < 16; ++i) {
        hub.leave(sender[i]);
        hub.leave(reader[i]);
    }
    size_t with_history = 0;
    for (int i = 0; i < 16; ++i) {
        Channel* ch = hub.find("fresh" + std::to_string(i));
        if (ch == nullptr) continue;
        EXPECT_GT(ch->ring_count, 0u) << "an idle channel with nothing kept stayed";
        ++with_history;
    }
    EXPECT_EQ(hub.channel_count(), with_history);
    EXPECT_LT(with_history, 16u) << "the oldest channel's history aged out";

    Subscription later;
    ASSERT_TRUE(hub.join(*hub.channel("later"), later));
    for (int message = 0; message < 20; ++message)
        ASSERT_TRUE(hub.publish(*later.channel, ws::Opcode::kText, chunk.data(), chunk.size(), nullptr, take_envelope).ok);
    EXPECT_EQ(hub.channel_count(), 1u) << "every fresh channel was evicted and forgotten";
    EXPECT_LE(hub.history_bytes(), kBudget);
    hub.leave(later);
}

// Channels without members whose history the budget evicts are forgotten by the
// publish that evicted it.
TEST_F(HubTest, EvictionForgetsIdleChannels) {
    Hub hub(HubLimits{.history = 100, .history_bytes = 64 << 10});
    const std::string chunk(10 << 10, 'y');
    for (int i = 0; i < 20; ++i)
        ASSERT_TRUE(hub.publish(*hub.channel("c" + std::to_string(i)), ws::Opcode::kText, chunk.data(), chunk.size(),
                                nullptr, ignore)
                        .ok);
    EXPECT_LE(hub.history_bytes(), 64u << 10);
    EXPECT_LT(hub.channel_count(), 8u);
    size_t kept = 0;
    hub.for_each_channel([&](const Channel& ch) {
        EXPECT_EQ(ch.ring_count, 1u);
        kept += ch.ring_count;
    });
    EXPECT_EQ(kept, hub.channel_count());
    EXPECT_NE(hub.find("c19"), nullptr) << "the newest stays";
}

TEST_F(HubTest, PublishOutOfMemoryConsumesNoSeqAndLeavesNoChannel) {
    Hub hub(HubLimits{.history = 10});
    for (size_t succeed : {0, 1, 2}) {  // fail the ring, the frame, the publication
        Channel* ch = hub.channel("oom");
        ASSERT_NE(ch, nullptr);
        int delivered = 0;
        PublishResult r{};
        {
            AllocHook fail(true, succeed);
            r = hub.publish(*ch, ws::Opcode::kText, "x", 1, nullptr, [&](Subscription&, Publication&) { ++delivered; });
        }
        EXPECT_FALSE(r.ok) << "succeed=" << succeed;
        EXPECT_EQ(delivered, 0);
        EXPECT_EQ(hub.find("oom"), nullptr) << "a channel made for it goes again";
    }
    Subscription member;
    Channel* ch = hub.channel("live");
    ASSERT_TRUE(hub.join(*ch, member));
    ASSERT_EQ(publish_text(hub, *ch), 1u);
    {
        AllocHook fail;
        EXPECT_FALSE(hub.publish(*ch, ws::Opcode::kText, "x", 1, nullptr, ignore).ok);
        EXPECT_EQ(hub.channel("new"), nullptr) << "out of memory";
        EXPECT_FALSE(hub.at_channel_limit());
    }
    EXPECT_EQ(ch->next_seq, 2u) << "no seq consumed";
    EXPECT_EQ(publish_text(hub, *ch), 2u);
    hub.leave(member);
}

// The member being delivered to may leave (the server closes it mid-publish): everyone
// else still gets the message once, and a channel left empty is forgotten afterwards.
TEST_F(HubTest, MemberMayLeaveDuringItsDelivery) {
    Hub hub(HubLimits{.history = 0});
    Channel* ch = hub.channel("churn");
    std::vector<Subscription> subs(50);
    for (uint32_t i = 0; i < subs.size(); ++i) {
        subs[i].owner = i;
        ASSERT_TRUE(hub.join(*ch, subs[i]));
    }
    std::multiset<uint32_t> got;
    EXPECT_TRUE(hub.publish(*ch, ws::Opcode::kText, "bye", 3, nullptr, [&](Subscription& s, Publication&) {
                       got.insert(s.owner);
                       hub.leave(s);
                   }).ok);
    EXPECT_EQ(got.size(), 50u);
    EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()).size(), 50u) << "each exactly once";
    EXPECT_EQ(hub.find("churn"), nullptr);
}

// Many joins and leaves in random order against a std::set model: after every step each
// member's index is its slot, and a publish reaches exactly the model's members.
TEST_F(HubTest, LeaveSwapRemoveKeepsIndicesRight) {
    constexpr size_t kSubs = 200;
    Hub hub(HubLimits{.history = 1});
    std::vector<Subscription> subs(kSubs);
    for (size_t i = 0; i < kSubs; ++i) subs[i].owner = static_cast<uint32_t>(i);
    Subscription anchor;  // keeps the channel (and the pointer) alive throughout
    Channel* ch = hub.channel("churn");
    ASSERT_TRUE(hub.join(*ch, anchor));
    std::set<uint32_t> model;
    std::mt19937 rng(12345);
    for (int step = 0; step < 5000; ++step) {
        uint32_t who = static_cast<uint32_t>(rng() % kSubs);
        if (model.count(who)) {
            hub.leave(subs[who]);
            model.erase(who);
            EXPECT_EQ(subs[who].channel, nullptr);
        } else {
            ASSERT_TRUE(hub.join(*ch, subs[who]));
            model.insert(who);
        }
        ASSERT_EQ(ch->member_count, model.size() + 1) << "step " << step;
        for (uint32_t i = 0; i < ch->member_count; ++i) ASSERT_EQ(ch->members[i]->index, i) << "step " << step;
        if (step % 97 == 0) {
            std::set<uint32_t> got;
            hub.publish(*ch, ws::Opcode::kText, "x", 1, &anchor,
                        [&](Subscription& to, Publication&) { EXPECT_TRUE(got.insert(to.owner).second); });
            ASSERT_EQ(got, model) << "step " << step;
        }
    }
    for (uint32_t who : model) hub.leave(subs[who]);
    EXPECT_EQ(ch->member_count, 1u);
    hub.leave(subs[0]);  // not a member: nothing happens
    hub.leave(anchor);
}

// A journal's epochs are in the high half: a start whose random start id is not above the
// journal's highest moves up to the next start id. At the top of the range that must not
// wrap to 0: the channels made then would get epochs below those on disk, which recovery
// takes for older ones.
TEST_F(HubTest, EpochsAboveTheHighestStartIdDoNotWrap) {
    constexpr uint64_t kJournaled = 0xffffffff00000007ULL;
    Hub hub(HubLimits{.epoch_base = 0x1234567800000000ULL});
    hub.epochs_above(kJournaled);
    Channel* a = hub.channel("a");
    ASSERT_NE(a, nullptr);
    EXPECT_GT(a->epoch, kJournaled);
    Channel* b = hub.channel("b");
    ASSERT_NE(b, nullptr);
    EXPECT_GT(b->epoch, a->epoch);
}

}  // namespace
}  // namespace wspush::push
