// Intrusive doubly linked list (Linux list.h, redis adlist without the allocation): the node
// lives inside its owner, so linking and unlinking allocate nothing and unlinking is O(1)
// from the owner alone. An owner can sit on several lists at once with one node each.
#pragma once
#include <cassert>
#include <cstddef>

namespace wspush::base {

struct ListNode {
    ListNode* prev = nullptr;
    ListNode* next = nullptr;

    // Whether the node is on a list.
    [[nodiscard]] bool linked() const noexcept { return prev != nullptr; }
};

// A circular list headed by a sentinel. T holds a ListNode member named by `Node`.
// The list neither owns nor frees its elements. Not copyable (the sentinel's address is
// part of the ring).
template <class T, ListNode T::*Node>
class IntrusiveList {
public:
    IntrusiveList() noexcept { head_.prev = head_.next = &head_; }
    ~IntrusiveList() { assert(empty()); }
    IntrusiveList(const IntrusiveList&) = delete;
    IntrusiveList& operator=(const IntrusiveList&) = delete;

    [[nodiscard]] bool empty() const noexcept { return head_.next == &head_; }
    [[nodiscard]] size_t size() const noexcept { return size_; }

    // Appends t, which must not be on any list through this node.
    void push_back(T& t) noexcept {
        ListNode& n = t.*Node;
        assert(!n.linked());
        n.prev = head_.prev;
        n.next = &head_;
        head_.prev->next = &n;
        head_.prev = &n;
        ++size_;
    }

    // Unlinks t, which must be on this list. O(1).
    void remove(T& t) noexcept {
        ListNode& n = t.*Node;
        assert(n.linked());
        n.prev->next = n.next;
        n.next->prev = n.prev;
        n.prev = n.next = nullptr;
        --size_;
    }

    // Unlinks t if it is linked (on this list: a node belongs to one list). Returns whether it was.
    bool remove_if_linked(T& t) noexcept {
        if (!(t.*Node).linked()) return false;
        remove(t);
        return true;
    }

    // First element, or nullptr.
    [[nodiscard]] T* front() noexcept { return empty() ? nullptr : owner(head_.next); }

    // Unlinks and returns the first element, or nullptr.
    T* pop_front() noexcept {
        T* t = front();
        if (t) remove(*t);
        return t;
    }

    // Calls f(T&) for each element in order. f may unlink (or free) the element it is given,
    // and only that one: the next node is read before the call.
    template <class F>
    void for_each(F&& f) {
        for (ListNode* n = head_.next; n != &head_;) {
            ListNode* next = n->next;
            f(*owner(n));
            n = next;
        }
    }

private:
    static T* owner(ListNode* n) noexcept {
        // container_of: the node's offset inside T (standard layout by contract), taken on a
        // suitably aligned non-null address that is never dereferenced.
        T* probe = reinterpret_cast<T*>(alignof(T) * 64);
        const size_t off = static_cast<size_t>(reinterpret_cast<char*>(&(probe->*Node)) -
                                               reinterpret_cast<char*>(probe));
        return reinterpret_cast<T*>(reinterpret_cast<char*>(n) - off);
    }

    ListNode head_;
    size_t size_ = 0;
};

}  // namespace wspush::base
