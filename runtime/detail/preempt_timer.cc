#include "runtime/detail/preempt_timer.hh"

#include <liburing.h>

#include "runtime/preempt.hh"

namespace percore::detail {

preempt_timer::preempt_timer(duration slice)
    : _ring({.entries = 4, .mode = uring_mode::plain}) // plain: the kernel must post the CQE on its own
    , _slice(slice) {
}

preempt_timer::~preempt_timer() {
    if (_installed) {
        tl_preempt = {&never_preempt_counter, 0, &never_poll_hint};
    }
}

void preempt_timer::install(const std::atomic<unsigned>& poll_hint) noexcept {
    tl_preempt = {_ring.cq_tail(), __atomic_load_n(_ring.cq_tail(), __ATOMIC_RELAXED), &poll_hint};
    _installed = true;
}

void preempt_timer::arm() {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(_slice).count();
    // The kernel reads the timespec while the SQE is submitted, so a local is fine.
    __kernel_timespec ts{ns / 1'000'000'000, ns % 1'000'000'000};
    io_uring_sqe* sqe = _ring.get_sqe();
    io_uring_prep_timeout(sqe, &ts, 0, 0);
    io_uring_sqe_set_data64(sqe, 0);
    // Not armed if the kernel refused it: the next pass tries again rather than running without a slice.
    _armed = _ring.submit() == 1;
}

void preempt_timer::reset(bool will_run_tasks) {
    // One read of the tail serves both the consuming and `seen`: an expiry the kernel posts after it (during
    // the re-arming syscall below, say) leaves the tail ahead of `seen`, so need_preempt() reports it at once.
    const unsigned tail = __atomic_load_n(_ring.cq_tail(), __ATOMIC_ACQUIRE);
    if (const unsigned n = tail - _ring.cq_head()) {
        _ring.cq_advance(n);
        _expirations += n;
        _armed = false;
    }
    if (!_armed && will_run_tasks) {
        arm();
    }
    tl_preempt.seen = tail;
}

} // namespace percore::detail
