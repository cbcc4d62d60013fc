/// \file
/// \brief The reactor's time-slice timer: a one-shot IORING_OP_TIMEOUT on a small side ring.
///
/// The side ring is set up without COOP_TASKRUN/DEFER_TASKRUN, so the kernel posts the timeout's completion from
/// its own task-work interrupt and the CQ tail moves while the shard computes. `need_preempt()` compares that tail
/// with the value it saw last. One syscall re-arms the timer per expiry (at most one per slice), never per pass.
#pragma once

#include <atomic>
#include <chrono>

#include "runtime/clock.hh"
#include "runtime/uring.hh"

namespace percore::detail {

class preempt_timer {
public:
    explicit preempt_timer(duration slice);
    preempt_timer(const preempt_timer&) = delete;
    preempt_timer& operator=(const preempt_timer&) = delete;
    ~preempt_timer();

    /// Points this thread's need_preempt() at this timer and at `poll_hint`; the destructor undoes it.
    void install(const std::atomic<unsigned>& poll_hint) noexcept;

    /// Called before the scheduler runs: clears a pending preemption and, when `will_run_tasks`, re-arms the timer
    /// if it expired (or was never armed). A pass with nothing to run does not arm it: it cannot hog the shard,
    /// and on a shard that wakes for one message and sleeps again, arming (a syscall, then an interrupt while
    /// asleep) would cost more than the work. The timer runs freely, so a slice is at most one period long.
    void reset(bool will_run_tasks);

    [[nodiscard]] duration slice() const noexcept { return _slice; }
    [[nodiscard]] std::uint64_t expirations() const noexcept { return _expirations; }
    /// Expiries posted by the kernel and not yet taken by reset() (tests check that none goes unnoticed).
    [[nodiscard]] unsigned pending_expirations() const noexcept { return _ring.cq_ready(); }

private:
    void arm();

    uring _ring;
    duration _slice;
    std::uint64_t _expirations = 0;
    bool _armed = false;
    bool _installed = false;
};

} // namespace percore::detail
