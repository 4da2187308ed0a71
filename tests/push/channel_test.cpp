// ChannelTable: the index of channels by name, against a std::map model through many
// inserts and erases (growth, shrinking, backward-shift deletion).
#include "push/channel.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "push/alloc_hook.h"

namespace wspush::push {
namespace {

std::unique_ptr<Channel> make_channel(const ChannelTable& t, const std::string& name) {
    auto ch = std::make_unique<Channel>();
    ch->name_len = static_cast<uint8_t>(name.size());
    name.copy(ch->name_buf, name.size());
    ch->hash = t.hash(name);
    return ch;
}

TEST(HubChannelTable, MatchesAModelThroughChurn) {
    ChannelTable table(0x1234);
    std::map<std::string, std::unique_ptr<Channel>> model;
    std::mt19937 rng(7);
    for (int step = 0; step < 20'000; ++step) {
        std::string name = "ch" + std::to_string(rng() % 600);
        auto it = model.find(name);
        if (it == model.end()) {
            auto ch = make_channel(table, name);
            ASSERT_TRUE(table.insert(ch.get()));
            model.emplace(name, std::move(ch));
        } else if (rng() % 3 == 0) {
            table.erase(it->second.get());
            model.erase(it);
        }
        ASSERT_EQ(table.size(), model.size());
        if (step % 499 == 0) {
            for (int i = 0; i < 600; ++i) {
                std::string n = "ch" + std::to_string(i);
                auto m = model.find(n);
                ASSERT_EQ(table.find(n), m == model.end() ? nullptr : m->second.get()) << n << " at step " << step;
            }
            size_t seen = 0;
            table.for_each([&](Channel&) { ++seen; });
            ASSERT_EQ(seen, model.size());
        }
    }
    for (auto& [name, ch] : model) table.erase(ch.get());
    EXPECT_EQ(table.size(), 0u);
    EXPECT_EQ(table.find("ch1"), nullptr);
}

TEST(HubChannelTable, SeedChangesTheHash) {
    ChannelTable a(1), b(2);
    EXPECT_NE(a.hash("alerts"), b.hash("alerts"));
    EXPECT_EQ(a.hash("alerts"), a.hash("alerts"));
    EXPECT_NE(a.hash("alerts"), a.hash("alertS"));
}

TEST(HubChannelTable, InsertOutOfMemoryLeavesItUnchanged) {
    ChannelTable table(3);
    auto a = make_channel(table, "a");
    {
        testing::AllocHook fail;
        EXPECT_FALSE(table.insert(a.get()));
    }
    EXPECT_EQ(table.size(), 0u);
    EXPECT_EQ(table.find("a"), nullptr);
    ASSERT_TRUE(table.insert(a.get()));
    EXPECT_EQ(table.find("a"), a.get());
    table.erase(a.get());
}

}  // namespace
}  // namespace wspush::push
