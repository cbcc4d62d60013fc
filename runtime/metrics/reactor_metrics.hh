/// \file
/// \brief The runtime's built-in metrics of one shard, read from the reactor's existing counters when a snapshot
/// is taken (nothing is counted twice, nothing added to hot paths).
///
/// percore_reactor_tasks_run_total{queue}, percore_reactor_run_queue_length{queue},
/// percore_reactor_busy_seconds_total, percore_reactor_uptime_seconds_total, percore_reactor_passes_total,
/// percore_reactor_sleeps_total, percore_reactor_preemptions_total, percore_uring_sqes_submitted_total,
/// percore_uring_cqes_reaped_total, percore_uring_enter_calls_total, percore_uring_cq_overflows_total,
/// percore_timers_armed, percore_timers_fired_total, percore_stall_reports_total.
///
/// \code
/// _builtin_metrics = percore::metrics::register_reactor_metrics(*this);   // in the reactor's constructor
/// \endcode
#pragma once

#include "runtime/metrics/registry.hh"

namespace percore {
class reactor;
}

namespace percore::metrics {

/// Registers `r`'s collector in `r.metrics()`. \shard_local
[[nodiscard]] registration register_reactor_metrics(reactor& r);

} // namespace percore::metrics
