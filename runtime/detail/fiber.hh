/// \file
/// \brief The fiber: the unit the scheduler runs. `spawn()` creates one around a root task.
///
/// Invariants
/// - A fiber lives on one shard; every field is touched only by that shard's thread.
/// - A fiber is in at most one place at a time: running, in its task queue's run list, or parked in one
///   wait (then `_cancel` says how abort() pulls it out). Whoever parks it owns the single wake-up.
/// - `_resume` is the innermost suspended coroutine of the fiber's task stack; the scheduler resumes it.
/// - The fiber is the root task's promise (one allocation per spawned task). Two references: the running body and
///   the join_handle. The body drops its reference when the root task finishes; the frame (fiber and result) is
///   freed when both are gone.
/// - Abort is sticky: once requested, every suspension point outside an abort_shield raises `aborted`.
#pragma once

#include <coroutine>
#include <cstdint>

#include "runtime/detail/intrusive_list.hh"

namespace percore {
class task_queue;
}

namespace percore::detail {

struct registry_tag {};

/// How abort() pulls a parked fiber out of its wait. The callee unlinks the wait and wakes the fiber (or arranges
/// for it to be woken, as io operations do once their cancelled CQE arrives).
struct cancel_hook {
    void (*fn)(void* arg) noexcept = nullptr;
    void* arg = nullptr;
};

class fiber;

/// Notified once when a fiber's root task has finished (join, when_any).
class finish_listener {
public:
    virtual void on_finished(fiber& f) noexcept = 0;

protected:
    ~finish_listener() = default;
};

/// The scheduling state of a spawned task. It is a base of every task's promise, so a spawned task is one
/// allocation; the fields are initialised by init() when (and only if) the task is spawned, so tasks that are
/// merely awaited pay for the space, not for the stores.
class fiber : public list_hook<registry_tag> {
public:
    using destroy_fn = void (*)(fiber*) noexcept;

    // Deliberately leaves the fields uninitialised: see init().
    fiber() noexcept {} // NOLINT(cppcoreguidelines-pro-type-member-init)
    fiber(const fiber&) = delete;
    fiber& operator=(const fiber&) = delete;

    /// Prepares a not-yet-started root task to run as a fiber of `queue`, resuming `start` first.
    void init(task_queue* queue, std::coroutine_handle<> start, destroy_fn destroy) noexcept {
        _next_runnable = nullptr;
        _queue = queue;
        _resume = start;
        _cancel = {};
        _listener = nullptr;
        _destroy = destroy;
        _refs = 2;
        _shield = 0;
        _done = false;
        _abort_requested = false;
        _result_observed = false;
    }

    fiber* _next_runnable;
    task_queue* _queue;
    std::coroutine_handle<> _resume;
    cancel_hook _cancel;
    finish_listener* _listener;
    destroy_fn _destroy;
    std::uint8_t _refs;
    std::uint8_t _shield;
    bool _done;
    bool _abort_requested;
    bool _result_observed;

    [[nodiscard]] bool abort_pending() const noexcept { return _abort_requested && _shield == 0; }
};

/// The fiber whose task is running on this thread, or null outside a fiber.
inline constinit thread_local fiber* tl_current_fiber = nullptr;

inline fiber* current_fiber() noexcept {
    return tl_current_fiber;
}

/// True when the running fiber must raise `aborted` at this suspension point.
inline bool abort_pending() noexcept {
    fiber* f = tl_current_fiber;
    return f != nullptr && f->abort_pending();
}

[[noreturn]] void throw_aborted();

inline void throw_if_aborted() {
    if (abort_pending()) {
        throw_aborted();
    }
}

/// Records where the current fiber resumes and how to cancel its wait; call from await_suspend.
inline fiber* park_current(std::coroutine_handle<> h, cancel_hook hook) noexcept {
    fiber* f = tl_current_fiber;
    f->_resume = h;
    f->_cancel = hook;
    return f;
}

/// Drops a reference; the last one destroys the fiber (and its frame).
inline void fiber_release(fiber* f) noexcept {
    if (--f->_refs == 0) {
        f->_destroy(f);
    }
}

/// Called by the root task's final_suspend: marks the fiber done, takes it off the live list, notifies its
/// listener, drops the body's reference.
inline void fiber_finished(fiber* f) noexcept {
    f->_done = true;
    static_cast<list_hook<registry_tag>&>(*f).unlink();
    if (finish_listener* l = f->_listener) {
        f->_listener = nullptr;
        l->on_finished(*f);
    }
    fiber_release(f);
}

/// Requests abort; if the fiber is parked outside a shield, its wait is cancelled now.
void fiber_abort(fiber* f) noexcept;

/// While alive, suspension points of the current fiber do not raise `aborted` and abort() does not cancel its
/// waits. Used by combinators to wait for aborted children to unwind.
class abort_shield {
    fiber* _f;

public:
    abort_shield() noexcept
        : _f(tl_current_fiber) {
        if (_f) {
            ++_f->_shield;
        }
    }
    abort_shield(const abort_shield&) = delete;
    abort_shield& operator=(const abort_shield&) = delete;
    ~abort_shield() {
        if (_f) {
            --_f->_shield;
        }
    }
};

} // namespace percore::detail
