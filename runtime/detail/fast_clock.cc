#include "runtime/detail/fast_clock.hh"

#include <cpuid.h>
#include <fstream>
#include <string>

namespace percore::detail {

namespace {

__extension__ typedef unsigned __int128 uint128;

/// Invariant TSC (constant rate across P-states and C-states) and the kernel's own clocksource on it: then the
/// TSC is synchronised across CPUs and a steady rate, as the vDSO itself assumes.
bool tsc_usable() {
#if defined(__x86_64__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(0x80000007, &a, &b, &c, &d) == 0 || (d & (1u << 8)) == 0) {
        return false;
    }
    std::ifstream in("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    std::string source;
    in >> source;
    return source == "tsc";
#else
    return false;
#endif
}

const bool g_tsc_usable = tsc_usable();

constexpr std::int64_t calibration_window_ns = 10'000'000;
constexpr std::int64_t refresh_period_ns = 100'000;
// A TSC/steady_clock pair taking longer than this does not calibrate: with 10 ms windows the rate error stays below
// 4e-5, a few nanoseconds over one refresh period.
constexpr std::uint64_t max_sample_spread_ns = 200;

} // namespace

time_point fast_clock_refresh() noexcept {
    const time_point now = clock_type::now();
#if defined(__x86_64__)
    if (!g_tsc_usable) {
        return now;
    }
    // The TSC is read before the anchor, so a conversion from this pair leans late, never early. A second read
    // after it bounds how long the pair took: a sample stretched by preemption (a VM steal) is still a late-leaning
    // anchor, but it would skew the rate, so it does not close a calibration window.
    fast_clock_state& c = tl_fast_clock;
    const std::uint64_t tsc = __builtin_ia32_rdtsc();
    const std::int64_t ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
    const std::uint64_t spread = __builtin_ia32_rdtsc() - tsc;
    const bool tight = c.ns_per_tick_q32 != 0 ? ((spread * c.ns_per_tick_q32) >> 32) < max_sample_spread_ns
                                              : spread < max_sample_spread_ns * 4; // any TSC up to 4 GHz
    if (c.calibration_tsc == 0) {
        if (tight) {
            c.calibration_tsc = tsc;
            c.calibration_ns = ns;
        }
    } else if (tight && ns - c.calibration_ns >= calibration_window_ns && tsc > c.calibration_tsc) {
        const auto elapsed_ns = static_cast<uint128>(ns - c.calibration_ns);
        c.ns_per_tick_q32 = static_cast<std::uint64_t>((elapsed_ns << 32) / (tsc - c.calibration_tsc));
        c.refresh_ticks =
            c.ns_per_tick_q32 == 0
                ? 0
                : static_cast<std::uint64_t>((static_cast<uint128>(refresh_period_ns) << 32) / c.ns_per_tick_q32);
        c.calibration_tsc = tsc;
        c.calibration_ns = ns;
    }
    c.tsc_base = tsc;
    c.ns_base = ns;
#endif
    return now;
}

} // namespace percore::detail
