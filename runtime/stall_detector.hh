/// \file
/// \brief Reports tasks that hold a shard longer than a threshold, with how long and a backtrace.
///
/// A process-wide watchdog thread samples each reactor's progress counter every threshold/4. When the same task
/// is still running after the threshold, it signals the shard thread, whose handler captures the stack; the
/// watchdog symbolises it and hands a `stall_report` to the handler (default: a warning in the log). Further
/// reports for the same stall come at 2x, 4x, ... the threshold.
///
/// \code
/// percore::set_stall_report_handler([](const percore::stall_report& r) {
///     metrics.stalls.add(r.blocked_for);
/// });
/// \endcode
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/clock.hh"

namespace percore {

struct stall_report {
    unsigned shard;
    /// Lower bound of how long the task had been running when sampled (accurate to threshold/4).
    duration blocked_for;
    std::vector<std::string> backtrace;
};

/// Replaces what happens with reports; an empty function restores the default. Runs on the watchdog thread.
/// \any_shard
void set_stall_report_handler(std::function<void(const stall_report&)> handler);

namespace detail {

/// One reactor's registration with the watchdog. Created and destroyed on the reactor's thread.
class stall_watch {
public:
    stall_watch(const std::atomic<std::uint64_t>& progress, duration threshold, unsigned shard);
    stall_watch(const stall_watch&) = delete;
    stall_watch& operator=(const stall_watch&) = delete;
    ~stall_watch();

    // Watchdog-side state: touched only under the watchdog's mutex or by the watchdog thread.
    const std::atomic<std::uint64_t>& _progress;
    const duration _threshold;
    const unsigned _shard;
    unsigned long _thread; // pthread_t
    std::uint64_t _last_seen = 0;
    time_point _since{};
    unsigned _reports = 0;
    /// Reports made for this shard, read by its metrics (the only field the shard reads besides `_capture`).
    std::atomic<std::uint64_t> _reports_total{0};

    // Backtrace handshake. idle -> requested (watchdog, then signal) -> writing -> ready (handler on the shard
    // thread) -> idle (watchdog, after reading). A handler that comes too late finds `idle` and writes nothing.
    enum capture_state : int { idle, requested, writing, ready };
    static constexpr int max_frames = 64;
    void* _frames[max_frames] = {};
    int _frame_count = 0;
    std::atomic<int> _capture{idle};
};

} // namespace detail
} // namespace percore
