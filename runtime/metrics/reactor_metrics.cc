#include "runtime/metrics/reactor_metrics.hh"

#include "runtime/reactor.hh"

namespace percore::metrics {

namespace {

double seconds(duration d) {
    return std::chrono::duration<double>(d).count();
}

void collect(reactor& r, sample_sink& out) {
    const reactor_stats s = r.stats();
    for (const auto& q : r.sched().queues()) {
        const labels l{{"queue", q->name()}};
        out.counter("percore_reactor_tasks_run_total", "Fibers resumed, by task queue", l,
                    static_cast<double>(q->tasks_run()));
        out.gauge("percore_reactor_run_queue_length", "Runnable fibers waiting, by task queue", l,
                  static_cast<double>(q->length()));
    }
    out.counter("percore_reactor_busy_seconds_total",
                "Time the reactor was not idle (running tasks, I/O, timers; not polling for work or asleep)", {},
                seconds(s.uptime - s.idle));
    out.counter("percore_reactor_uptime_seconds_total", "Wall time since the reactor started", {}, seconds(s.uptime));
    out.counter("percore_reactor_passes_total", "Passes of the reactor loop", {}, static_cast<double>(s.passes));
    out.counter("percore_reactor_sleeps_total", "Times the reactor slept in io_uring_enter", {},
                static_cast<double>(s.sleeps));
    out.counter("percore_reactor_preemptions_total", "Time slices that expired", {},
                static_cast<double>(s.preemptions));
    out.counter("percore_uring_sqes_submitted_total", "SQEs handed to the kernel", {},
                static_cast<double>(s.io_submitted));
    out.counter("percore_uring_cqes_reaped_total", "Completions reaped", {}, static_cast<double>(s.io_completions));
    out.counter("percore_uring_enter_calls_total", "io_uring_enter system calls on the main ring", {},
                static_cast<double>(s.io_enters));
    out.counter("percore_uring_cq_overflows_total", "Submissions that found the completion queue overflowed", {},
                static_cast<double>(s.cq_overflows));
    out.gauge("percore_timers_armed", "Timers armed on the shard's wheel", {}, static_cast<double>(r.timers().size()));
    out.counter("percore_timers_fired_total", "Timers that fired", {}, static_cast<double>(s.timers_fired));
    out.counter("percore_stall_reports_total", "Reports of the stall detector (a task held the shard too long)", {},
                static_cast<double>(s.stall_reports));
}

} // namespace

registration register_reactor_metrics(reactor& r) {
    return r.metrics().add_collector([&r](sample_sink& out) { collect(r, out); });
}

} // namespace percore::metrics
