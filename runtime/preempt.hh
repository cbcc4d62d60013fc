/// \file
/// \brief Cooperative preemption: `need_preempt()`, `maybe_yield()`, `yield()`.
///
/// The reactor arms a timer on a small side io_uring for every time slice (default 0.5 ms). When it expires the
/// kernel bumps that ring's completion tail in shared memory, asynchronously, with no syscall from us. So
/// `need_preempt()` is one load and one compare, cheap enough to call in any loop.
///
/// \code
/// percore::task<> crunch(std::span<item> items) {
///     for (auto& it : items) {
///         process(it);
///         co_await percore::maybe_yield();   // lets I/O, timers and other tasks run every slice
///     }
/// }
/// \endcode
#pragma once

#include <atomic>
#include <cassert>
#include <coroutine>

#include "runtime/detail/fiber.hh"
#include "runtime/task_queue.hh"

namespace percore {

namespace detail {

/// `need_preempt()` is `*counter != seen || *poll_hint`: the reactor points `counter` at its preemption ring's CQ
/// tail; setting `seen` to any other value requests preemption by software (a latency-sensitive queue woke up).
/// `poll_hint` is set by other threads that left work for this shard's pollers (cross-shard messages), so a busy
/// shard polls them promptly instead of at the end of its slice.
struct preempt_source {
    const unsigned* counter;
    unsigned seen;
    const std::atomic<unsigned>* poll_hint;
};

inline constinit unsigned never_preempt_counter = 0;
inline constinit std::atomic<unsigned> never_poll_hint{0};
inline constinit thread_local preempt_source tl_preempt{&never_preempt_counter, 0, &never_poll_hint};

inline void request_preempt() noexcept {
    // Behind the tail, not ahead of it: the tail only grows, so a timer expiry cannot make them equal again.
    tl_preempt.seen = __atomic_load_n(tl_preempt.counter, __ATOMIC_RELAXED) - 1;
}

} // namespace detail

/// True when the running task has used up its time slice and should yield. \shard_local
[[nodiscard]] inline bool need_preempt() noexcept {
    const detail::preempt_source& p = detail::tl_preempt;
    return __atomic_load_n(p.counter, __ATOMIC_RELAXED) != p.seen || p.poll_hint->load(std::memory_order_relaxed) != 0;
}

namespace detail {

/// Puts the running fiber (suspended in `h`) at the back of its queue; an await_suspend's body for awaiters that
/// yield. \return false (do not suspend) when an abort is pending: the awaiter's resume raises it.
inline bool yield_now(std::coroutine_handle<> h) noexcept {
    if (abort_pending()) {
        return false;
    }
    fiber* f = park_current(h, {});
    f->_queue->push(f);
    return true;
}

struct yield_awaiter {
    bool always;

    bool await_ready() const noexcept { return !always && !need_preempt() && !abort_pending(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return yield_now(h); }
    void await_resume() const { throw_if_aborted(); }
};

} // namespace detail

/// Moves the running task to the back of its queue. A suspension point: raises `aborted` after abort().
/// \shard_local
[[nodiscard]] inline detail::yield_awaiter yield() noexcept {
    return {true};
}

/// Yields only when `need_preempt()`; otherwise costs a load and a compare. Also an abort point. \shard_local
[[nodiscard]] inline detail::yield_awaiter maybe_yield() noexcept {
    return {false};
}

} // namespace percore
