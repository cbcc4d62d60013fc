/// \file
/// \brief One shard's event loop: scheduler, timers, io_uring, pollers, and a thread-safe wake-up.
///
/// \code
/// percore::reactor r({.task_quota = 500us});
/// int v = r.run(compute());   // runs compute() and everything it spawns on this thread
/// \endcode
///
/// Each pass: run runnable fibers (until none or the time slice ends) -> re-arm preemption -> submit prepared SQEs
/// and reap completions in one io_uring_enter -> fire due timers -> run pollers. When nothing is runnable: spin
/// for `idle_poll` (`reply_poll` while a cross-shard reply is expected) looking at the rings without syscalls, then
/// sleep in io_uring_enter until a completion, the next timer deadline or a wake() from another thread.
///
/// Invariants
/// - One reactor per thread, created and run on that thread; everything but wake() and post() is shard-local.
/// - `_sleeping` is set only by the reactor before it sleeps, and cleared by whoever wakes it (exchange), so at most
///   one eventfd write happens per sleep.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "runtime/clock.hh"
#include "runtime/detail/fence.hh"
#include "runtime/detail/fiber.hh"
#include "runtime/detail/io_completion.hh"
#include "runtime/detail/preempt_timer.hh"
#include "runtime/detail/rearming_read.hh"
#include "runtime/detail/timer_wheel.hh"
#include "runtime/metrics/registry.hh"
#include "runtime/poller.hh"
#include "runtime/scheduler.hh"
#include "runtime/task.hh"
#include "runtime/uring.hh"

namespace percore {

struct reactor_config {
    /// Submission queue size (the completion queue gets four times as much).
    unsigned ring_entries = 256;
    uring_mode ring_mode = uring_mode::automatic;
    /// Time slice after which need_preempt() turns true.
    duration task_quota = std::chrono::microseconds(500);
    /// How long an idle reactor keeps looking for work before it sleeps.
    duration idle_poll = std::chrono::microseconds(20);
    /// The same while a poller expects work soon (replies to this shard's cross-shard requests): sleeping would
    /// cost a wake-up on each side of a round trip.
    duration reply_poll = std::chrono::microseconds(200);
    /// A task holding the shard longer than this is reported with a backtrace; zero disables the detector.
    duration stall_threshold = std::chrono::milliseconds(25);
    /// Shard number shown in log lines.
    unsigned shard_id = 0;
};

/// Counters for benchmarks and diagnostics.
struct reactor_stats {
    std::uint64_t passes = 0;
    std::uint64_t sleeps = 0;
    std::uint64_t tasks_run = 0;
    std::uint64_t io_enters = 0;      ///< io_uring_enter calls on the main ring
    std::uint64_t io_completions = 0; ///< CQEs reaped
    std::uint64_t cq_overflows = 0;   ///< submissions that found completions in the kernel's overflow list
    std::uint64_t cq_dropped = 0;     ///< completions the kernel dropped (its overflow list was full)
    std::uint64_t preemptions = 0;    ///< time slices that expired
    std::uint64_t timers_fired = 0;
    std::uint64_t io_submitted = 0;  ///< SQEs handed to the kernel
    std::uint64_t stall_reports = 0; ///< reports of the stall detector for this shard
    duration uptime{};               ///< since the reactor was created
    duration idle{};                 ///< of which spent idle: polling for work with nothing to run, or asleep
};

namespace detail {

/// Work posted to a reactor from another thread; `complete()` runs on the reactor's thread.
class foreign_completion {
public:
    virtual void complete() noexcept = 0;
    foreign_completion* _next_foreign = nullptr;

protected:
    ~foreign_completion() = default;
};

class stall_watch;

} // namespace detail

/// Per-reactor state that a higher layer keeps with the reactor (net's provided-buffer ring): created on first
/// use by `reactor::extension<T>()`, destroyed with the reactor before its ring, newest first.
class reactor_extension {
public:
    virtual ~reactor_extension() = default;
};

class reactor {
public:
    /// \throws uring_setup_error when io_uring cannot be set up, naming the cause.
    explicit reactor(const reactor_config& config = {});
    reactor(const reactor&) = delete;
    reactor& operator=(const reactor&) = delete;
    ~reactor();

    /// Runs `main` as a fiber until it finishes, then aborts whatever else is still running on this reactor and
    /// waits for it to unwind. \return main's result (or rethrows its exception). \shard_local
    template <typename T>
    T run(task<T> main);

    /// Makes run() stop waiting for main after the current pass: main is aborted with every other task and they
    /// unwind. No effect once the reactor is already shutting down. \shard_local
    void stop() noexcept { _stop_requested = true; }

    /// Wakes the reactor if it announced sleep. The caller must publish its work and call notify_barrier()
    /// first. \return whether it was asleep (and an eventfd write woke it). \any_shard
    bool wake() noexcept;

    /// Asks the reactor to run its pollers soon: a busy reactor sees need_preempt() turn true and ends its pass.
    /// Publish the work first. \any_shard
    void request_poll() noexcept {
        if (_poll_hint.load(std::memory_order_relaxed) == 0) {
            _poll_hint.store(1, std::memory_order_relaxed);
        }
    }

    /// The producer's half of the sleep handshake (detail/fence.hh): call between publishing work for this
    /// reactor and wake(). \any_shard
    void notify_barrier() noexcept { detail::store_load_barrier(_sleeping); }

    /// Queues `c->complete()` to run on this reactor's thread and wakes it. \any_shard
    void post(detail::foreign_completion* c) noexcept;

    /// Announces a post() that will come (a job handed to another thread); shutdown waits for it. \shard_local
    void foreign_expected() noexcept { ++_foreign_pending; }
    /// The announced post() arrived. \shard_local
    void foreign_done() noexcept { --_foreign_pending; }

    void add_poller(poller& p);
    void remove_poller(poller& p) noexcept;

    /// This reactor's `T` (a reactor_extension constructible from `reactor&`), created on first use. A linear
    /// search over a handful of entries: callers on hot paths cache the reference. \shard_local
    template <typename T>
    T& extension();

    [[nodiscard]] uring& ring() noexcept { return _ring; }
    [[nodiscard]] scheduler& sched() noexcept { return _sched; }
    [[nodiscard]] detail::timer_wheel& timers() noexcept { return _timers; }
    [[nodiscard]] const reactor_config& config() const noexcept { return _config; }
    [[nodiscard]] unsigned shard_id() const noexcept { return _config.shard_id; }
    [[nodiscard]] reactor_stats stats() const noexcept;
    /// This shard's metrics registry (metrics/registry.hh); the reactor registers its own counters there.
    [[nodiscard]] metrics::registry& metrics() noexcept { return _metrics; }

    /// Timer ticks since this reactor started; deadlines are rounded up so a timer never fires early.
    [[nodiscard]] std::uint64_t to_tick_ceil(time_point t) const noexcept;
    [[nodiscard]] std::uint64_t to_tick_floor(time_point t) const noexcept;
    [[nodiscard]] time_point from_tick(std::uint64_t tick) const noexcept;

private:
    void run_until_done(detail::fiber* root);
    void drain_fibers();
    /// Runs passes until `done()`; stop() ends it early only when `stoppable` (never while draining).
    template <typename Done>
    void loop(Done done, bool stoppable);
    bool poll_once();
    bool fire_timers();
    bool run_pollers();
    /// Calls `fn` for each poller. A poller may add or remove pollers while it runs (a bus message handler can):
    /// the walk goes by index, removals during it only empty the slot (so no poller is skipped: a skipped
    /// try_enter_sleep would let the reactor sleep on pending work), and the list is compacted afterwards.
    template <typename Fn>
    void for_each_poller(Fn fn) {
        struct walk {
            reactor& r;
            explicit walk(reactor& owner) noexcept
                : r(owner) {
                ++r._walking_pollers;
            }
            walk(const walk&) = delete;
            walk& operator=(const walk&) = delete;
            ~walk() {
                if (--r._walking_pollers == 0 && r._pollers_removed) {
                    r._pollers_removed = false;
                    std::erase(r._pollers, nullptr);
                }
            }
        } guard(*this);
        for (std::size_t i = 0; i < _pollers.size(); ++i) {
            if (poller* p = _pollers[i]) {
                fn(*p);
            }
        }
    }
    bool run_foreign() noexcept;
    void idle();
    void sleep();
    /// Keeps a read of the wake-up eventfd armed: its completion is what ends a sleep.
    class wake_reader final : public detail::rearming_read {
    public:
        explicit wake_reader(uring& ring) noexcept
            : rearming_read(ring, &_buf, sizeof(_buf), "the wake-up eventfd") {}

    private:
        void on_read(int) noexcept override {}
        std::uint64_t _buf = 0;
    };

    reactor_config _config;
    uring _ring;
    detail::preempt_timer _preempt;
    scheduler _sched;
    time_point _epoch;
    detail::timer_wheel _timers;
    std::vector<poller*> _pollers;
    unsigned _walking_pollers = 0; // nesting depth of for_each_poller
    bool _pollers_removed = false; // slots emptied during a walk, to compact after it
    int _wake_fd = -1;
    wake_reader _wake_reader{_ring};
    bool _stop_requested = false;
    std::uint64_t _foreign_pending = 0;
    std::uint64_t _passes = 0;
    std::uint64_t _sleeps = 0;
    std::uint64_t _timers_fired = 0;
    duration _idle{};
    // Before the extensions: they (net, storage) register metrics and may still hold registrations when destroyed.
    metrics::registry _metrics;
    metrics::registration _builtin_metrics;
    std::unique_ptr<detail::stall_watch> _stall_watch;
    std::vector<std::pair<const void*, std::unique_ptr<reactor_extension>>> _extensions;
    alignas(64) std::atomic<unsigned> _sleeping{0};
    alignas(64) std::atomic<unsigned> _poll_hint{0};
    alignas(64) std::atomic<detail::foreign_completion*> _foreign{nullptr};
    std::atomic<unsigned> _posting{0};
};

namespace detail {
inline constinit thread_local reactor* tl_reactor = nullptr;
} // namespace detail

/// The reactor running on this thread. \throws std::logic_error outside a reactor thread. \shard_local
reactor& this_reactor();

} // namespace percore

#include "runtime/spawn.hh"

namespace percore {

template <typename T>
T& reactor::extension() {
    static constexpr char key = 0; // one address per T
    for (auto& [k, ext] : _extensions) {
        if (k == &key) {
            return static_cast<T&>(*ext);
        }
    }
    auto ext = std::make_unique<T>(*this);
    T& ref = *ext;
    _extensions.emplace_back(&key, std::move(ext));
    return ref;
}

template <typename T>
T reactor::run(task<T> main) {
    auto h = spawn(_sched.default_queue(), std::move(main));
    run_until_done(h.fiber_ptr());
    drain_fibers();
    return h.result();
}

} // namespace percore
