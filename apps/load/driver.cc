#include "apps/load/driver.hh"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "apps/load/report.hh"
#include "apps/load/shard_worker.hh"
#include "runtime/errors.hh"
#include "runtime/run.hh"
#include "runtime/spawn.hh"
#include "runtime/timer.hh"
#include "shard/sharded.hh"

namespace percore::load {

namespace {

using workers_type = sharded<shard_worker>;

// Error details printed over the whole run; later errors are only counted.
constexpr std::size_t max_printed_errors = 10;

struct progress_state {
    bool done = false;
    bool sleeping = false;
    std::uint64_t errors = 0;
    std::size_t details_printed = 0;
};

struct signal_state {
    bool running = true;
    int signals = 0;
    time_point stop_requested_at = time_point::max();
    join_handle<void> stopper;
};

connect_report merge_connects(connect_report acc, connect_report part) {
    acc.connected += part.connected;
    acc.failed += part.failed;
    if (acc.first_error.empty()) {
        acc.first_error = std::move(part.first_error);
    }
    return acc;
}

progress_sample merge_progress(progress_sample acc, progress_sample part) {
    acc.messages += part.messages;
    acc.errors += part.errors;
    acc.latency.merge(part.latency);
    for (auto& d : part.error_details) {
        acc.error_details.push_back(std::move(d));
    }
    return acc;
}

final_sample merge_final(final_sample acc, final_sample part) {
    acc.messages += part.messages;
    acc.errors += part.errors;
    acc.latency.merge(part.latency);
    acc.last_reply = std::max(acc.last_reply, part.last_reply);
    for (auto& d : part.error_details) {
        acc.error_details.push_back(std::move(d));
    }
    acc.kinds.resize(std::max(acc.kinds.size(), part.kinds.size()));
    for (std::size_t i = 0; i < part.kinds.size(); ++i) {
        acc.kinds[i].requests += part.kinds[i].requests;
        acc.kinds[i].errors += part.kinds[i].errors;
        acc.kinds[i].nil += part.kinds[i].nil;
    }
    return acc;
}

void print_error_details(const std::vector<std::string>& details, progress_state& st) {
    for (const auto& d : details) {
        if (st.details_printed < max_printed_errors) {
            std::fprintf(stderr, "percore-load: error: %s\n", d.c_str());
        } else if (st.details_printed == max_printed_errors) {
            std::fprintf(stderr, "percore-load: further errors are only counted\n");
        }
        ++st.details_printed;
    }
}

double seconds_between(time_point from, time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

duration seconds(double s) {
    return std::chrono::duration_cast<duration>(std::chrono::duration<double>(s));
}

task<> report_progress(workers_type* workers, run_plan plan, progress_state* st) {
    time_point last = plan.start;
    for (long tick = 1;; ++tick) {
        st->sleeping = true;
        bool woken = false;
        try {
            co_await sleep_until(plan.start + std::chrono::seconds(tick));
        } catch (const aborted&) {
            woken = true; // the run ended
        }
        st->sleeping = false;
        if (woken || st->done) {
            co_return;
        }
        auto take = [](shard_worker& w) { return w.take_progress(); };
        progress_sample s = co_await workers->map_reduce(take, merge_progress, progress_sample{});
        const time_point now = clock_type::now();
        print_error_details(s.error_details, *st);
        st->errors += s.errors;
        const double rate = static_cast<double>(s.messages) / std::max(seconds_between(last, now), 1e-9);
        const bool warming_up = last + (now - last) / 2 < plan.measure_from; // most of this second
        const std::string line =
            format_progress(seconds_between(plan.start, now), rate, s.latency, st->errors, warming_up);
        std::fputs(line.c_str(), stderr);
        last = now;
        if (st->done) {
            co_return;
        }
    }
}

task<> stop_sending_everywhere(workers_type* workers) {
    auto stop = [](shard_worker& w) { w.stop_sending(); };
    co_await workers->invoke_on_all(stop);
}

run_plan make_plan(const load_options& o, const net::socket_address& address) {
    run_plan p;
    p.options = o;
    p.address = address;
    p.start = clock_type::now();
    p.measure_from = p.start + seconds(o.warmup_s);
    if (o.duration_s > 0) {
        p.measure_until = p.measure_from + seconds(o.duration_s);
        // Replies to the last sends get --timeout-ms but at most 3 s, plus a second to close; then whatever still
        // runs is cut (a stalled server cannot hold the run open).
        const duration grace = std::min<duration>(std::chrono::milliseconds(o.timeout_ms), std::chrono::seconds(3));
        p.hard_stop = p.measure_until + grace + std::chrono::seconds(1);
    } else {
        // Only the message count ends the run; the per-reply timeout still bounds a stalled server.
        p.measure_until = time_point::max();
        p.hard_stop = time_point::max();
    }
    return p;
}

} // namespace

task<int> run_load(load_options o) {
    net::socket_address address;
    try {
        address = net::socket_address::from_host_port(o.address, o.port);
    } catch (const net::address_error& e) {
        std::fprintf(stderr, "percore-load: --address: %s\n", e.what());
        co_return 2;
    }
    std::vector<std::string> kind_names;
    try {
        kind_names = make_protocol(o.mode, protocol_options_of(o))->kinds(); // checks the options before any shard
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "percore-load: %s\n", e.what());
        co_return 2;
    }
    workers_type workers;
    co_await workers.start(o);
    auto connect = [address](shard_worker& w) { return w.connect_all(address); };
    const connect_report cr = co_await workers.map_reduce(connect, merge_connects, connect_report{});
    if (cr.failed > 0) {
        std::fprintf(stderr, "percore-load: cannot %s (%u of %u connections failed)\n", cr.first_error.c_str(),
                     cr.failed, o.connections);
        co_await workers.stop();
        co_return 1;
    }

    std::fputs(format_banner(o, shard_count()).c_str(), stderr);
    const run_plan plan = make_plan(o, address);
    // Ctrl-C (or SIGTERM) ends the run early with a summary; a second one quits at once.
    auto sig = std::make_shared<signal_state>();
    auto on_signal = [sig, w = &workers] {
        if (!sig->running || sig->signals++ > 0) {
            std::_Exit(130);
        }
        std::fprintf(stderr, "percore-load: stopping after the messages in flight (again to quit at once)\n");
        sig->stop_requested_at = clock_type::now();
        sig->stopper = spawn(stop_sending_everywhere(w));
    };
    handle_signal(SIGINT, on_signal);
    handle_signal(SIGTERM, on_signal);

    progress_state progress;
    auto progress_task = spawn(report_progress(&workers, plan, &progress));
    auto run = [plan](shard_worker& w) { return w.run(plan); };
    co_await workers.invoke_on_all(run);
    const time_point run_ended = clock_type::now();
    sig->running = false;
    progress.done = true;
    if (progress.sleeping) {
        progress_task.abort();
    }
    co_await progress_task.wait();
    if (sig->stopper.valid()) {
        co_await sig->stopper.wait();
    }

    auto collect = [](shard_worker& w) { return w.results(); };
    final_sample f = co_await workers.map_reduce(collect, merge_final, final_sample{});
    co_await workers.stop();
    print_error_details(f.error_details, progress);

    // Measured from the warm-up's end to the end of sending (the planned end, Ctrl-C, or every connection gone),
    // or to the last measured reply if that came later. Only the message count ends a run without a planned end.
    time_point end = std::min({plan.measure_until, sig->stop_requested_at, run_ended});
    if (o.duration_s <= 0 && sig->stop_requested_at == time_point::max()) {
        end = plan.measure_from;
    }
    end = std::max({end, f.last_reply, plan.measure_from});
    summary s{o,
              shard_count(),
              f.messages,
              f.errors,
              seconds_between(plan.measure_from, end),
              std::move(f.latency),
              std::move(kind_names),
              std::move(f.kinds)};
    s.kinds.resize(s.kind_names.size());
    const std::string out = o.json ? format_json(s) : format_summary(s);
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    co_return s.errors > 0 ? 1 : 0;
}

} // namespace percore::load
