/// \file
/// \brief A cheap monotonic "now" for arming timers: the TSC, converted with a factor calibrated against
/// steady_clock and re-anchored to it every 100 us.
///
/// steady_clock::now() goes through the vDSO and costs 20-30 ns here; rdtsc costs about 10. Arming a timer for a
/// duration needs "now", so the difference is most of the cost of a timer arm. The result never runs early: the
/// anchor is read after the TSC (so it leans late) and a small margin is added, because a timer armed from an
/// early "now" could fire before its duration elapsed. Used only where the kernel trusts the TSC too (invariant
/// TSC, tsc clocksource); elsewhere, and until the first 10 ms calibration window closed, it is steady_clock.
#pragma once

#include <cstdint>

#include "runtime/clock.hh"

namespace percore::detail {

struct fast_clock_state {
    std::uint64_t tsc_base;
    std::int64_t ns_base;
    std::uint64_t ns_per_tick_q32; // 0 until calibrated (or when the TSC is not usable)
    std::uint64_t refresh_ticks;   // re-anchor after this many TSC ticks
    std::uint64_t calibration_tsc;
    std::int64_t calibration_ns;
};

inline constinit thread_local fast_clock_state tl_fast_clock{};

/// Re-anchors (and calibrates) the calling thread's fast clock; returns steady_clock::now().
time_point fast_clock_refresh() noexcept;

/// steady_clock's time, or slightly later, never earlier. \any_shard
inline time_point fast_now() noexcept {
#if defined(__x86_64__)
    const fast_clock_state& c = tl_fast_clock;
    if (c.ns_per_tick_q32 != 0) {
        const std::uint64_t ticks = __builtin_ia32_rdtsc() - c.tsc_base;
        if (ticks < c.refresh_ticks) {
            // Covers the residual rate error (bracketed samples: a few ns per refresh period) and an NTP slew of
            // steady_clock (at most 500 ppm: 50 ns per refresh period).
            constexpr std::int64_t margin_ns = 128;
            // ticks < refresh_ticks (100 us worth), so the product fits in 64 bits.
            const auto ns = static_cast<std::int64_t>((ticks * c.ns_per_tick_q32) >> 32);
            return time_point(std::chrono::nanoseconds(c.ns_base + ns + margin_ns));
        }
    }
    return fast_clock_refresh();
#else
    return clock_type::now();
#endif
}

/// `fast_now() + d`, saturating at time_point::max() (so "wait forever" stays forever instead of wrapping into the
/// past). \any_shard
inline time_point saturating_add(time_point t, duration d) noexcept {
    if (d > duration::zero() && d > time_point::max() - t) {
        return time_point::max();
    }
    return t + d;
}

inline time_point deadline_after(duration d) noexcept {
    return saturating_add(fast_now(), d);
}

} // namespace percore::detail
