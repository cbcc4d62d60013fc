/// \file
/// \brief Timers on the reactor's wheel: `sleep_for`, `sleep_until`, callback `timer` (one-shot or periodic) and
/// `interval` (a periodic tick to await).
///
/// \code
/// co_await percore::sleep_for(10ms);                      // never wakes before 10 ms have passed
///
/// percore::timer flush([&] { buffer.flush_later(); });   // callback runs on the reactor, must not block
/// flush.arm_periodic(100ms);
///
/// percore::interval every(1s);
/// for (;;) { co_await every.tick(); report(); }
/// \endcode
///
/// Arm and cancel are O(1). Deadlines are rounded up to the wheel's 1.024 us tick, and the reactor sleeps exactly
/// until the next one, so timers fire late by at most a tick plus wake-up latency, and never early.
#pragma once

#include <coroutine>
#include <functional>

#include "runtime/clock.hh"
#include "runtime/detail/fast_clock.hh"
#include "runtime/detail/fiber.hh"
#include "runtime/detail/timer_wheel.hh"

namespace percore {

class reactor;

/// A callback timer. Not movable (the wheel links to it); destroying it cancels it. \shard_local
class timer : private detail::timer_entry {
public:
    timer() noexcept;
    explicit timer(std::function<void()> callback) noexcept;
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;
    ~timer();

    void set_callback(std::function<void()> callback) noexcept { _callback = std::move(callback); }

    /// Fires once at `at` (re-arming an armed timer moves it).
    void arm(time_point at);
    void arm(duration after) { arm(detail::deadline_after(after)); }
    /// Fires every `period`, first after one period. When the reactor falls behind, missed ticks are skipped.
    void arm_periodic(duration period);
    /// \return whether the timer was armed.
    bool cancel() noexcept;

    [[nodiscard]] bool armed() const noexcept { return linked(); }
    [[nodiscard]] time_point deadline() const noexcept { return _at; }

private:
    static void on_fire(detail::timer_entry* e) noexcept;
    void insert(time_point at);

    std::function<void()> _callback;
    reactor* _reactor = nullptr;
    time_point _at{};
    duration _period{};
};

namespace detail {

class sleep_awaiter : private timer_entry {
public:
    explicit sleep_awaiter(time_point at) noexcept
        : timer_entry(&on_fire)
        , _at(at) {}
    sleep_awaiter(const sleep_awaiter&) = delete;
    sleep_awaiter& operator=(const sleep_awaiter&) = delete;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const {
        if (_cancelled) {
            throw_aborted();
        }
    }

private:
    static void on_fire(timer_entry* e) noexcept;
    static void cancel(void* self) noexcept;

    time_point _at;
    fiber* _waiter = nullptr;
    bool _cancelled = false;
};

} // namespace detail

/// Suspends the calling task until `at`. A suspension point (raises `aborted` after abort). \shard_local
[[nodiscard]] inline detail::sleep_awaiter sleep_until(time_point at) noexcept {
    return detail::sleep_awaiter(at);
}

/// Suspends the calling task for at least `d`. \shard_local
[[nodiscard]] inline detail::sleep_awaiter sleep_for(duration d) noexcept {
    return detail::sleep_awaiter(detail::deadline_after(d));
}

/// A periodic tick to await: the n-th tick completes at start + n * period (missed ticks are skipped, so a slow
/// consumer does not get a burst). \shard_local
class interval {
public:
    explicit interval(duration period) noexcept
        : _period(period)
        , _next(detail::deadline_after(period)) {}

    /// Completes at the next tick.
    [[nodiscard]] detail::sleep_awaiter tick() noexcept;
    [[nodiscard]] duration period() const noexcept { return _period; }

private:
    duration _period;
    time_point _next;
};

} // namespace percore
