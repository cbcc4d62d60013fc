/// \file
/// \brief Intrusive doubly linked list used for waiters, timers and the fiber registry.
///
/// Nodes embed a `list_hook<Tag>` base; one object can sit in several lists by deriving from hooks with different
/// tags. Lists never allocate and erase is O(1), which is what gives timers and waiter lists O(1) cancel.
#pragma once

#include <cassert>

namespace percore::detail {

/// A node's links. Unlinked nodes have null pointers, so `linked()` is exact.
template <typename Tag = void>
struct list_hook {
    list_hook* _prev = nullptr;
    list_hook* _next = nullptr;

    list_hook() = default;
    list_hook(const list_hook&) = delete;
    list_hook& operator=(const list_hook&) = delete;

    [[nodiscard]] bool linked() const noexcept { return _next != nullptr; }

    /// Removes the node from whatever list holds it.
    void unlink() noexcept {
        assert(linked());
        _prev->_next = _next;
        _next->_prev = _prev;
        _prev = _next = nullptr;
    }
};

/// Circular list with a sentinel; T must derive from list_hook<Tag>. Not movable: nodes point at the sentinel.
template <typename T, typename Tag = void>
class intrusive_list {
    using hook = list_hook<Tag>;
    hook _head;

    static T& owner(hook* h) noexcept { return static_cast<T&>(*h); }

public:
    intrusive_list() noexcept { _head._prev = _head._next = &_head; }
    intrusive_list(const intrusive_list&) = delete;
    intrusive_list& operator=(const intrusive_list&) = delete;
    ~intrusive_list() { assert(empty()); }

    [[nodiscard]] bool empty() const noexcept { return _head._next == &_head; }
    T& front() noexcept { return owner(_head._next); }
    T& back() noexcept { return owner(_head._prev); }

    void push_back(T& node) noexcept { insert_before(&_head, node); }
    void push_front(T& node) noexcept { insert_before(_head._next, node); }

    T& pop_front() noexcept {
        T& node = front();
        static_cast<hook&>(node).unlink();
        return node;
    }

    static void erase(T& node) noexcept { static_cast<hook&>(node).unlink(); }

    /// Forgets every node without touching it (they are being leaked, e.g. frames of tasks that never finished).
    void abandon() noexcept { _head._prev = _head._next = &_head; }

    /// Moves every node of `other` to the back of this list.
    void splice_back(intrusive_list& other) noexcept {
        if (other.empty()) {
            return;
        }
        hook* first = other._head._next;
        hook* last = other._head._prev;
        other._head._prev = other._head._next = &other._head;
        first->_prev = _head._prev;
        _head._prev->_next = first;
        last->_next = &_head;
        _head._prev = last;
    }

    /// Calls fn(T&) on each node; fn may unlink the node it is given, not others.
    template <typename Fn>
    void for_each(Fn&& fn) {
        for (hook* h = _head._next; h != &_head;) {
            hook* next = h->_next;
            fn(owner(h));
            h = next;
        }
    }

private:
    static void insert_before(hook* pos, T& node) noexcept {
        hook& h = static_cast<hook&>(node);
        assert(!h.linked());
        h._prev = pos->_prev;
        h._next = pos;
        pos->_prev->_next = &h;
        pos->_prev = &h;
    }
};

} // namespace percore::detail
