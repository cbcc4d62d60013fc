/// \file
/// \brief The parking lot every sync primitive uses: a FIFO of waiting fibers that abort() can pull out of.
///
/// A waiter node lives in the waiting coroutine's frame (no allocation). The primitive completes it with an
/// outcome and wakes its fiber; abort() unlinks it, marks it cancelled, wakes the fiber and tells the primitive
/// (which may now be able to serve the next waiter).
///
/// Invariants
/// - A node is linked exactly while its outcome is `pending`.
/// - Exactly one party completes a node: the primitive (done/closed) or abort (cancelled).
#pragma once

#include <coroutine>
#include <cstddef>

#include "runtime/detail/fiber.hh"
#include "runtime/detail/intrusive_list.hh"
#include "runtime/task_queue.hh"

namespace percore::detail {

enum class wait_outcome : unsigned char { pending, done, cancelled, closed };

struct waiter_tag {};
class waiter_list;

struct waiter_node : list_hook<waiter_tag> {
    fiber* _fiber = nullptr;
    waiter_list* _list = nullptr;
    wait_outcome _outcome = wait_outcome::pending;

    /// Raises `aborted` if the wait was cancelled; returns the outcome otherwise.
    wait_outcome finish() const {
        if (_outcome == wait_outcome::cancelled) {
            throw_aborted();
        }
        return _outcome;
    }
};

class waiter_list {
public:
    /// Called after abort() removed a waiter, so the owner can serve the waiters behind it.
    using on_cancel_fn = void (*)(void* owner) noexcept;

    waiter_list() noexcept = default;
    explicit waiter_list(on_cancel_fn on_cancel, void* owner) noexcept
        : _on_cancel(on_cancel)
        , _owner(owner) {}
    waiter_list(const waiter_list&) = delete;
    waiter_list& operator=(const waiter_list&) = delete;

    /// Parks the running fiber at the back of the list; call from await_suspend.
    void park(waiter_node& w, std::coroutine_handle<> h) noexcept {
        w._list = this;
        w._outcome = wait_outcome::pending;
        _nodes.push_back(w);
        ++_size;
        w._fiber = park_current(h, {&cancel, &w});
    }

    [[nodiscard]] bool empty() const noexcept { return _nodes.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return _size; }
    waiter_node& front() noexcept { return _nodes.front(); }

    /// Unlinks `w`, records the outcome and wakes its fiber.
    void complete(waiter_node& w, wait_outcome outcome) noexcept {
        w.unlink();
        --_size;
        w._outcome = outcome;
        wake(w._fiber);
    }

    void complete_front(wait_outcome outcome) noexcept { complete(_nodes.front(), outcome); }

    void complete_all(wait_outcome outcome) noexcept {
        while (!_nodes.empty()) {
            complete(_nodes.front(), outcome);
        }
    }

private:
    static void cancel(void* p) noexcept {
        auto* w = static_cast<waiter_node*>(p);
        waiter_list* self = w->_list;
        w->unlink();
        --self->_size;
        w->_outcome = wait_outcome::cancelled;
        wake(w->_fiber);
        if (self->_on_cancel != nullptr) {
            self->_on_cancel(self->_owner);
        }
    }

    intrusive_list<waiter_node, waiter_tag> _nodes;
    std::size_t _size = 0;
    on_cancel_fn _on_cancel = nullptr;
    void* _owner = nullptr;
};

/// Requeues the running fiber behind the others and parks it with no wait to cancel: the "time slice over"
/// path of a primitive that could complete immediately.
inline void park_and_yield(std::coroutine_handle<> h) noexcept {
    fiber* f = park_current(h, {});
    f->_queue->push(f);
}

} // namespace percore::detail
