#include "runtime/reactor.hh"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <system_error>
#include <unistd.h>

#include <liburing.h>

#include "runtime/log.hh"
#include "runtime/metrics/reactor_metrics.hh"
#include "runtime/stall_detector.hh"

namespace percore {

namespace {

// Opcodes the reactor and the runtime's io ops rely on; a kernel without them is refused at startup.
constexpr struct {
    unsigned op;
    const char* name;
} required_ops[] = {
    {IORING_OP_NOP, "NOP"},         {IORING_OP_READ, "READ"},
    {IORING_OP_WRITE, "WRITE"},     {IORING_OP_READV, "READV"},
    {IORING_OP_WRITEV, "WRITEV"},   {IORING_OP_POLL_ADD, "POLL_ADD"},
    {IORING_OP_TIMEOUT, "TIMEOUT"}, {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
    {IORING_OP_CLOSE, "CLOSE"},
};

logger reactor_log("reactor");

} // namespace

reactor& this_reactor() {
    if (detail::tl_reactor == nullptr) {
        throw std::logic_error("percore: no reactor runs on this thread");
    }
    return *detail::tl_reactor;
}

reactor::reactor(const reactor_config& config)
    : _config(config)
    , _ring({.entries = config.ring_entries, .mode = config.ring_mode})
    , _preempt(config.task_quota)
    , _epoch(clock_type::now()) {
    if (detail::tl_reactor != nullptr) {
        throw std::logic_error("percore: a reactor already runs on this thread");
    }
    std::string missing;
    for (const auto& r : required_ops) {
        if (!_ring.supports(r.op)) {
            missing += missing.empty() ? r.name : std::string(", ") + r.name;
        }
    }
    if (!missing.empty()) {
        throw uring_setup_error(ENOSYS, "io_uring lacks required operations (" + missing +
                                            "); percore needs Linux 5.19 or newer");
    }
    _wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (_wake_fd < 0) {
        throw std::system_error(errno, std::system_category(), "percore: eventfd for reactor wake-ups");
    }
    // Timer deadlines are exact to the microsecond; the default 50 us slack would make every sleep late.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    detail::tl_reactor = this;
    detail::tl_scheduler = &_sched;
    set_log_shard_id(static_cast<int>(config.shard_id));
    _preempt.install(_poll_hint);
    _wake_reader.start(_wake_fd);
    if (config.stall_threshold > duration::zero()) {
        _stall_watch =
            std::make_unique<detail::stall_watch>(_sched.progress(), config.stall_threshold, config.shard_id);
    }
    _builtin_metrics = metrics::register_reactor_metrics(*this);
}

reactor::~reactor() {
    if (_foreign_pending != 0) {
        // A thread still holds work it will post here (a blocking job): destroying the reactor now would let it
        // write into freed memory. run() waits for it; this is only reachable by misuse.
        reactor_log.error("reactor destroyed with {} foreign completions outstanding; aborting", _foreign_pending);
        std::abort();
    }
    while (_posting.load(std::memory_order_acquire) != 0) {
        __builtin_ia32_pause(); // a poster is between publishing and waking us: a few instructions
    }
    _stall_watch.reset();
    if (_sched.has_live_fibers()) {
        // Only reachable when the reactor is torn down without run() finishing (an exception escaped it): the
        // frames may sit in io_uring operations, so freeing them could let the kernel write into freed memory.
        reactor_log.error("{} tasks still alive when the reactor was destroyed; their frames are leaked",
                          _sched.live_fiber_count());
        _sched.live_fibers().abandon();
        _timers.abandon();
    }
    // Extensions may own memory the kernel writes into (buffer rings): they drain their operations while the
    // ring and this thread's reactor pointer still exist.
    while (!_extensions.empty()) {
        _extensions.pop_back();
    }
    detail::tl_reactor = nullptr;
    detail::tl_scheduler = nullptr;
    // The ring is torn down after this body: io_uring_queue_exit cancels the wake read, whose buffer lives here.
    ::close(_wake_fd);
    // Frames cached by this thread go back to the heap with the reactor (tests create many reactors per thread).
    detail::frame_cache_release();
}

bool reactor::wake() noexcept {
    if (_sleeping.load(std::memory_order_relaxed) != 0 && _sleeping.exchange(0, std::memory_order_relaxed) != 0) {
        std::uint64_t one = 1;
        // eventfd writes only fail when the counter would overflow, and then the reader is already woken.
        [[maybe_unused]] auto r = ::write(_wake_fd, &one, sizeof(one));
        return true;
    }
    return false;
}

void reactor::post(detail::foreign_completion* c) noexcept {
    // Once `c` is published this reactor may complete it and be destroyed at any moment, while we still touch
    // it to wake it; the destructor waits for `_posting` to drop to zero.
    _posting.fetch_add(1, std::memory_order_relaxed);
    detail::foreign_completion* head = _foreign.load(std::memory_order_relaxed);
    do {
        c->_next_foreign = head;
    } while (!_foreign.compare_exchange_weak(head, c, std::memory_order_release, std::memory_order_relaxed));
    notify_barrier();
    wake();
    _posting.fetch_sub(1, std::memory_order_release);
}

bool reactor::run_foreign() noexcept {
    if (_foreign.load(std::memory_order_relaxed) == nullptr) {
        return false;
    }
    detail::foreign_completion* list = _foreign.exchange(nullptr, std::memory_order_acquire);
    // The stack is LIFO; reverse it so completions run in the order they were posted.
    detail::foreign_completion* fifo = nullptr;
    while (list != nullptr) {
        detail::foreign_completion* next = list->_next_foreign;
        list->_next_foreign = fifo;
        fifo = list;
        list = next;
    }
    while (fifo != nullptr) {
        detail::foreign_completion* next = fifo->_next_foreign;
        fifo->complete();
        fifo = next;
    }
    return true;
}

void reactor::add_poller(poller& p) {
    _pollers.push_back(&p);
}

void reactor::remove_poller(poller& p) noexcept {
    if (_walking_pollers == 0) {
        std::erase(_pollers, &p);
        return;
    }
    std::replace(_pollers.begin(), _pollers.end(), &p, static_cast<poller*>(nullptr));
    _pollers_removed = true;
}

reactor_stats reactor::stats() const noexcept {
    return {.passes = _passes,
            .sleeps = _sleeps,
            .tasks_run = _sched.tasks_run(),
            .io_enters = _ring.enters(),
            .io_completions = _ring.completions(),
            .cq_overflows = _ring.cq_overflows(),
            .cq_dropped = _ring.cq_dropped(),
            .preemptions = _preempt.expirations(),
            .timers_fired = _timers_fired,
            .io_submitted = _ring.submitted(),
            .stall_reports = _stall_watch ? _stall_watch->_reports_total.load(std::memory_order_relaxed) : 0,
            .uptime = clock_type::now() - _epoch,
            .idle = _idle};
}

std::uint64_t reactor::to_tick_ceil(time_point t) const noexcept {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - _epoch).count();
    if (ns <= 0) {
        return 0;
    }
    constexpr std::uint64_t tick = std::uint64_t{1} << detail::timer_wheel::tick_shift;
    return (static_cast<std::uint64_t>(ns) + tick - 1) >> detail::timer_wheel::tick_shift;
}

std::uint64_t reactor::to_tick_floor(time_point t) const noexcept {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - _epoch).count();
    return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns) >> detail::timer_wheel::tick_shift;
}

time_point reactor::from_tick(std::uint64_t tick) const noexcept {
    return _epoch + std::chrono::nanoseconds(tick << detail::timer_wheel::tick_shift);
}

bool reactor::fire_timers() {
    if (_timers.empty()) {
        return false;
    }
    std::size_t n = _timers.advance(to_tick_floor(clock_type::now()));
    _timers_fired += n;
    return n != 0;
}

bool reactor::run_pollers() {
    // Cleared before polling: a hint set from now on is for work we may not see in this round.
    if (_poll_hint.load(std::memory_order_relaxed) != 0) {
        _poll_hint.store(0, std::memory_order_relaxed);
    }
    bool did = run_foreign();
    for_each_poller([&](poller& p) { did |= p.poll(); });
    return did;
}

bool reactor::poll_once() {
    if (_ring.has_unsubmitted() || _ring.needs_enter()) {
        _ring.submit();
    }
    bool did = _ring.reap() != 0;
    did |= fire_timers();
    did |= run_pollers();
    return did;
}

template <typename Done>
void reactor::loop(Done done, bool stoppable) {
    auto finished = [&] { return done() || (stoppable && _stop_requested); };
    while (!finished()) {
        ++_passes;
        _preempt.reset(_sched.has_runnable()); // a fresh slice for this pass's tasks
        _sched.run();
        poll_once();
        if (!_sched.has_runnable() && !finished()) {
            idle();
        }
    }
}

void reactor::idle() {
    // Utilisation apart from CPU time: everything from here until work shows up counts as idle.
    const time_point idle_from = clock_type::now();
    struct account {
        duration& total;
        time_point from;
        ~account() { total += clock_type::now() - from; }
    } accounted{_idle, idle_from};
    duration window = _config.idle_poll;
    bool expecting = false;
    for_each_poller([&](poller& p) { expecting |= p.expecting(); });
    if (expecting) {
        // A reply is on its way (from another shard): waiting for it awake is cheaper than two wake-ups.
        window = std::max(window, _config.reply_poll);
    }
    if (window > duration::zero()) {
        const time_point until = idle_from + window;
        do {
            if (poll_once() || _sched.has_runnable()) {
                return;
            }
        } while (clock_type::now() < until);
    }
    sleep();
}

void reactor::sleep() {
    _sleeping.store(1, std::memory_order_relaxed);
    detail::store_load_barrier(_sleeping);
    bool pending = _foreign.load(std::memory_order_relaxed) != nullptr;
    for_each_poller([&](poller& p) { pending |= !p.try_enter_sleep(); });
    if (!pending) {
        ++_sleeps;
        std::optional<duration> timeout;
        if (auto next = _timers.next_expiration()) {
            timeout = from_tick(*next) - clock_type::now();
        }
        _ring.wait(timeout ? &*timeout : nullptr);
    }
    _sleeping.store(0, std::memory_order_relaxed);
    for_each_poller([](poller& p) { p.exit_sleep(); });
    // Pollers first: a message from another shard (the usual reason to wake) is already in memory, and answering
    // it should not wait for the io_uring_enter that poll_once() may need.
    run_pollers();
    poll_once();
}

void reactor::run_until_done(detail::fiber* root) {
    loop([root] { return root->_done; }, true);
}

void reactor::drain_fibers() {
    // Abort everything still running (detached tasks, main after stop()), then let it unwind: cancelled io_uring
    // operations must deliver their CQEs before their buffers and frames may go away.
    auto& live = _sched.live_fibers();
    const time_point warn_at = clock_type::now() + std::chrono::seconds(5);
    bool warned = false;
    loop(
        [&] {
            // Tasks spawned while others unwind are aborted too.
            live.for_each([](detail::fiber& f) { detail::fiber_abort(&f); });
            if (!warned && _sched.has_live_fibers() && clock_type::now() > warn_at) {
                reactor_log.warn("shutdown: {} tasks have not finished 5 s after being aborted",
                                 _sched.live_fiber_count());
                warned = true;
            }
            // Jobs handed to other threads (blocking pool) must come back before the reactor may go away, and
            // pollers (the cross-shard bus) must have nothing in flight.
            if (_sched.has_live_fibers() || _foreign_pending != 0) {
                return false;
            }
            bool quiet = true;
            for_each_poller([&](poller& p) { quiet &= p.quiescent(); });
            return quiet;
        },
        false);
    _stop_requested = false;
}

} // namespace percore
