// IntrusiveList: O(1) unlink from the element alone, several lists per element, removal of
// the visited element during for_each.
#include "base/intrusive_list.h"

#include <gtest/gtest.h>

#include <vector>

namespace wspush::base {
namespace {

struct Item {
    ListNode a;
    ListNode b;
    int value = 0;
};

using ListA = IntrusiveList<Item, &Item::a>;
using ListB = IntrusiveList<Item, &Item::b>;

std::vector<int> values(ListA& l) {
    std::vector<int> out;
    l.for_each([&](Item& it) { out.push_back(it.value); });
    return out;
}

TEST(IntrusiveList, KeepsInsertionOrder) {
    Item items[4];
    ListA l;
    for (int i = 0; i < 4; ++i) {
        items[i].value = i;
        l.push_back(items[i]);
    }
    EXPECT_EQ(values(l), (std::vector<int>{0, 1, 2, 3}));
    EXPECT_EQ(l.size(), 4u);
    while (l.pop_front()) {
    }
    EXPECT_TRUE(l.empty());
}

TEST(IntrusiveList, RemovesFromTheMiddleAndEnds) {
    Item items[5];
    ListA l;
    for (int i = 0; i < 5; ++i) {
        items[i].value = i;
        l.push_back(items[i]);
    }
    l.remove(items[2]);
    l.remove(items[0]);
    l.remove(items[4]);
    EXPECT_FALSE(items[2].a.linked());
    EXPECT_EQ(values(l), (std::vector<int>{1, 3}));
    EXPECT_FALSE(l.remove_if_linked(items[2]));
    EXPECT_TRUE(l.remove_if_linked(items[1]));
    EXPECT_EQ(values(l), (std::vector<int>{3}));
    l.remove(items[3]);
    EXPECT_EQ(l.front(), nullptr);
}

TEST(IntrusiveList, OneElementOnTwoListsIndependently) {
    Item x, y;
    x.value = 1;
    y.value = 2;
    ListA la;
    ListB lb;
    la.push_back(x);
    la.push_back(y);
    lb.push_back(y);
    lb.push_back(x);
    la.remove(x);
    EXPECT_TRUE(x.b.linked()) << "leaving one list leaves the other alone";
    EXPECT_EQ(lb.front(), &y);
    lb.remove(y);
    EXPECT_EQ(lb.front(), &x);
    lb.remove(x);
    la.remove(y);
}

TEST(IntrusiveList, ForEachSurvivesRemovingTheVisitedElement) {
    Item items[6];
    ListA l;
    for (int i = 0; i < 6; ++i) {
        items[i].value = i;
        l.push_back(items[i]);
    }
    std::vector<int> seen;
    l.for_each([&](Item& it) {
        seen.push_back(it.value);
        if (it.value % 2 == 0) l.remove(it);
    });
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(values(l), (std::vector<int>{1, 3, 5}));
    l.for_each([&](Item& it) { l.remove(it); });
    EXPECT_TRUE(l.empty());
}

}  // namespace
}  // namespace wspush::base
