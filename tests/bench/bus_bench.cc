// The cross-shard bus benchmark, run by `scripts/bench bus`: submit_to round trips and one-way message throughput
// between two shards pinned to CPUs 0 and 1, and the same figures for a naive baseline in the same run: two
// threads pinned to the same CPUs exchanging messages through std::mutex + std::condition_variable protected
// std::deques. A plain program rather than Google Benchmark: percentiles need every sample.
//
//   bus_bench percore|mutex|all [--busy=N] [--idle=N] [--messages=N] [--slice-ns=N] [--gap-us=N]
//             [--quota-us=N] [--idle-poll-us=N] [--yield-every=N] [--phases=busy,idle,post,submit]
//             [--dump=PREFIX]   (raw round-trip samples to PREFIX<figure>.txt)
//
// One round of one side (or both) per run; prints one line per figure on stdout,
//
//   RESULT <name> <value> <unit>
//
// and scripts/bench-bus interleaves the sides round by round and reports medians and ratios. What is measured:
//
// - busy RTT (bus_rtt_*): shard 1 runs a task that computes in slices of --slice-ns (1 us) with maybe_yield()
//   between them, so it only sees the bus when a message cuts its slice short (the sender's poll hint makes
//   need_preempt() true). Shard 0 times --busy sequential `co_await submit_to(1, [] { return 1; })`, each
//   sample from just before the call to just after it returned.
// - idle RTT (bus_rtt_idle_*): shard 1 has nothing to do. Shard 0 sleeps --gap-us (200 us, ten times the 20 us
//   idle poll window) before each sample, so shard 1 is asleep in io_uring_enter every time and the message has
//   to wake it; shard 0 too may fall asleep if the reply takes longer than its own poll window.
// - throughput (bus_throughput_mps): shard 0 posts --messages one-way messages (post_to) to shard 1, yielding
//   every --yield-every (1000) so its reactor passes flush them and take back the completed ones; shard 1 counts them.
//   Time until a submit_to sent behind them (FIFO per pair) comes back with the full count. Millions of messages per
//   second, one direction, one pair. bus_submit_throughput_mps is the same for submit_to round trips with 128 in flight
//   (extra, no goal).
// - baseline (mutex_*): the client thread (CPU 0) pushes to a request queue and waits for the reply the way an idle
//   reactor does (polls for 20 us, then sleeps on the reply queue's condition variable). Busy: the server thread
//   (CPU 1) computes in slices of --slice-ns and looks at the request queue between slices; idle: it sleeps on the
//   request queue's condition variable. Throughput: one lock, one push and one notify per message, and the
//   consumer pops one message per lock (a naive queue); mutex_batched_throughput_mps moves 64 per lock.
// - diagnostics from the shards' counters: bus_busy_target_passes_per_msg (reactor passes of the busy target per
//   round trip: 1 means it polled once per message), bus_busy_target_work_share (share of the target's time its
//   own work got meanwhile), bus_idle_wakeups_of_{target,sender}_per_msg (eventfd writes per idle round trip),
//   bus_idle_target_sleeps_per_msg, bus_throughput_msgs_per_flush (messages per ring push + notification).
// --quota-us, --idle-poll-us set the reactors' task_quota and idle_poll (and the baseline's polling window);
// --phases picks measurements; --dump writes the raw round-trip samples.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <latch>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <sched.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "runtime/preempt.hh"
#include "runtime/reactor.hh"
#include "runtime/spawn.hh"
#include "runtime/timer.hh"
#include "shard/bus.hh"
#include "shard/engine.hh"
#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace {

using bench_clock = std::chrono::steady_clock;
using nanos = std::chrono::nanoseconds;

struct options {
    long busy_samples = 100'000;
    long idle_samples = 5'000;
    long messages = 2'000'000;
    nanos slice{1000};
    nanos gap{200'000};
    nanos idle_poll{20'000}; // the reactor default; the baseline client polls as long
    long yield_every = 1000;
    std::optional<nanos> task_quota; // the reactor default unless given
    std::string phases = "busy,idle,post,submit";

    [[nodiscard]] bool runs(std::string_view phase) const { return phases.find(phase) != std::string::npos; }
};

constexpr int submit_fibers = 128;
constexpr int mutex_batch = 64;

double to_ns(bench_clock::duration d) {
    return static_cast<double>(std::chrono::duration_cast<nanos>(d).count());
}

/// "Computation" for `d`: spins on the clock (about 20 ns per read).
void spin_for(nanos d) {
    const auto until = bench_clock::now() + d;
    while (bench_clock::now() < until) {
    }
}

struct percentiles {
    double p50 = 0;
    double p99 = 0;
    double p999 = 0;
    double max = 0;
};

percentiles summarize(std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) {
        const auto i = static_cast<std::size_t>(q * static_cast<double>(samples.size()));
        return samples[std::min(i, samples.size() - 1)];
    };
    return {at(0.50), at(0.99), at(0.999), samples.back()};
}

void result(const char* name, double value, const char* unit) {
    std::printf("RESULT %s %.3f %s\n", name, value, unit);
}

/// Where raw samples go (--dump=PREFIX: PREFIX<name>.txt, one per line in the order taken), if anywhere.
std::string g_dump_prefix;

/// Prints the percentiles of `samples` (and dumps them if asked).
void print_rtt(const std::string& prefix, const std::vector<double>& samples) {
    if (!g_dump_prefix.empty()) {
        const std::string path = g_dump_prefix + prefix + ".txt";
        if (std::FILE* f = std::fopen(path.c_str(), "w")) {
            for (double v : samples) {
                std::fprintf(f, "%.0f\n", v);
            }
            std::fclose(f);
        }
    }
    const percentiles p = summarize(samples);
    result((prefix + "_p50_ns").c_str(), p.p50, "ns");
    result((prefix + "_p99_ns").c_str(), p.p99, "ns");
    result((prefix + "_p999_ns").c_str(), p.p999, "ns");
    result((prefix + "_max_ns").c_str(), p.max, "ns");
}

// ---------------------------------------------------------------------------------------------------- percore

// Shard 1's state: only shard 1 touches these.
std::uint64_t g_received = 0;
std::uint64_t g_busy_slices = 0;
bool g_busy_stop = false;
std::optional<percore::join_handle<void>> g_busy;

/// The target's "other work": slices of computation, polling the bus in between only when asked to.
percore::task<> busy_loop(nanos slice) {
    while (!g_busy_stop) {
        spin_for(slice);
        ++g_busy_slices;
        co_await percore::maybe_yield();
    }
}

/// What one shard's counters were at some point.
struct shard_snapshot {
    percore::shard_bus::stats bus;
    percore::reactor_stats reactor;
};

shard_snapshot snapshot_here() {
    return {percore::shard_bus::local().counters(), percore::this_reactor().stats()};
}

percore::task<shard_snapshot> snapshot_of(unsigned shard) {
    auto fn = [] { return snapshot_here(); };
    co_return co_await percore::submit_to(shard, fn);
}

/// `n` sequential round trips to shard 1 after `warmup` untimed ones, sleeping `gap` before each (if nonzero).
percore::task<std::vector<double>> round_trips(long warmup, long n, nanos gap) {
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(n));
    auto ping = [] { return 1; };
    for (long i = 0; i < warmup + n; ++i) {
        if (gap > nanos::zero()) {
            co_await percore::sleep_for(gap);
        }
        const auto t0 = bench_clock::now();
        const int v = co_await percore::submit_to(1, ping);
        const auto t1 = bench_clock::now();
        if (v != 1) {
            throw std::runtime_error("wrong reply");
        }
        if (i >= warmup) {
            samples.push_back(to_ns(t1 - t0));
        }
    }
    co_return samples;
}

percore::task<> busy_rtt(const options& opt) {
    auto start = [slice = opt.slice] {
        g_busy_stop = false;
        g_busy_slices = 0;
        g_busy.emplace(percore::spawn(busy_loop(slice)));
    };
    const auto t0 = bench_clock::now();
    co_await percore::submit_to(1, start);
    const shard_snapshot before = co_await snapshot_of(1);
    std::vector<double> samples = co_await round_trips(opt.busy_samples / 10, opt.busy_samples, nanos::zero());
    const shard_snapshot after = co_await snapshot_of(1);
    auto stop = []() -> percore::task<std::uint64_t> {
        g_busy_stop = true;
        co_await *g_busy;
        g_busy.reset();
        co_return g_busy_slices;
    };
    const std::uint64_t slices = co_await percore::submit_to(1, stop);
    const double elapsed_ns = to_ns(bench_clock::now() - t0);
    print_rtt("bus_rtt", samples);
    // Diagnostics: did the target poll once per message (about 1 pass per round trip, plus the ones its own slice
    // timer ended), and what share of its time went to its work meanwhile?
    const double msgs = static_cast<double>(after.bus.processed - before.bus.processed);
    result("bus_busy_target_passes_per_msg", static_cast<double>(after.reactor.passes - before.reactor.passes) / msgs,
           "/msg");
    result("bus_busy_target_work_share",
           static_cast<double>(slices) * static_cast<double>(opt.slice.count()) / elapsed_ns, "x");
}

percore::task<> idle_rtt(const options& opt) {
    const shard_snapshot before0 = snapshot_here();
    const shard_snapshot before1 = co_await snapshot_of(1);
    std::vector<double> samples = co_await round_trips(opt.idle_samples / 20, opt.idle_samples, opt.gap);
    const shard_snapshot after0 = snapshot_here();
    const shard_snapshot after1 = co_await snapshot_of(1);
    print_rtt("bus_rtt_idle", samples);
    // Per round trip (warm-up included, plus the two snapshot calls): eventfd writes each way, target sleeps.
    const double msgs = static_cast<double>(after1.bus.processed - before1.bus.processed);
    result("bus_idle_wakeups_of_target_per_msg", static_cast<double>(after0.bus.wakeups - before0.bus.wakeups) / msgs,
           "/msg");
    result("bus_idle_wakeups_of_sender_per_msg", static_cast<double>(after1.bus.wakeups - before1.bus.wakeups) / msgs,
           "/msg");
    result("bus_idle_target_sleeps_per_msg", static_cast<double>(after1.reactor.sleeps - before1.reactor.sleeps) / msgs,
           "/msg");
}

/// `m` one-way messages to shard 1; millions per second until shard 1 has seen them all.
percore::task<double> post_throughput(long m, long yield_every) {
    auto reset = [] { g_received = 0; };
    co_await percore::submit_to(1, reset);
    const auto t0 = bench_clock::now();
    for (long i = 0; i < m; ++i) {
        percore::post_to(1, [] { ++g_received; });
        if ((i + 1) % yield_every == 0) {
            co_await percore::yield();
        }
    }
    auto count = [] { return g_received; };
    const std::uint64_t seen = co_await percore::submit_to(1, count); // behind all of them on this pair
    const double s = to_ns(bench_clock::now() - t0) * 1e-9;
    if (seen != static_cast<std::uint64_t>(m)) {
        throw std::runtime_error("shard 1 saw " + std::to_string(seen) + " of " + std::to_string(m) + " messages");
    }
    co_return static_cast<double>(m) / s / 1e6;
}

percore::task<> submit_worker(long n) {
    auto bump = [] { return ++g_received; };
    for (long i = 0; i < n; ++i) {
        (void)co_await percore::submit_to(1, bump);
    }
}

/// `submit_fibers` tasks each doing sequential submit_to round trips: pipelined requests with replies.
percore::task<double> submit_throughput(long m) {
    auto reset = [] { g_received = 0; };
    co_await percore::submit_to(1, reset);
    const long each = m / submit_fibers;
    const auto t0 = bench_clock::now();
    std::vector<percore::join_handle<void>> workers;
    for (int i = 0; i < submit_fibers; ++i) {
        workers.push_back(percore::spawn(submit_worker(each)));
    }
    for (auto& w : workers) {
        co_await w;
    }
    const double s = to_ns(bench_clock::now() - t0) * 1e-9;
    co_return static_cast<double>(each * submit_fibers) / s / 1e6;
}

percore::task<> submit_throughputs(const options& opt) {
    (void)co_await submit_throughput(opt.messages / 10);
    result("bus_submit_throughput_mps", co_await submit_throughput(opt.messages / 2), "Mmsg/s");
}

percore::task<> post_throughputs(const options& opt) {
    (void)co_await post_throughput(opt.messages / 10, opt.yield_every); // warm-up
    const shard_snapshot before = snapshot_here();
    const double mps = co_await post_throughput(opt.messages, opt.yield_every);
    const shard_snapshot after = snapshot_here();
    result("bus_throughput_mps", mps, "Mmsg/s");
    result("bus_throughput_msgs_per_flush",
           static_cast<double>(after.bus.sent - before.bus.sent) /
               static_cast<double>(std::max<std::uint64_t>(1, after.bus.flushes - before.bus.flushes)),
           "msg");
}

percore::task<int> percore_round(const options& opt) {
    if (percore::shard_count() != 2) {
        std::fprintf(stderr, "bus_bench: expected 2 shards, got %u\n", percore::shard_count());
        co_return 1;
    }
    if (opt.runs("busy")) {
        co_await busy_rtt(opt);
    }
    if (opt.runs("idle")) {
        co_await idle_rtt(opt);
    }
    if (opt.runs("post")) {
        co_await post_throughputs(opt);
    }
    if (opt.runs("submit")) {
        co_await submit_throughputs(opt);
    }
    std::fflush(stdout);
    co_return 0;
}

int run_percore(const options& opt) {
    percore::engine_config cfg;
    cfg.placement.shards = 2;
    cfg.placement.cpus = percore::cpuset::parse("0-1");
    cfg.reactor.stall_threshold = percore::duration::zero();
    cfg.reactor.idle_poll = opt.idle_poll;
    if (opt.task_quota) {
        cfg.reactor.task_quota = *opt.task_quota;
    }
    return percore::run_engine(cfg, [&opt]() -> percore::task<int> { return percore_round(opt); });
}

// ---------------------------------------------------------------------------------------------------- baseline

void pin_to(unsigned cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); err != 0) {
        std::fprintf(stderr, "bus_bench: cannot pin to CPU %u: %s\n", cpu, std::strerror(err));
    }
}

/// A naive thread-safe queue.
class locked_queue {
public:
    void push(std::uint64_t v) {
        {
            std::lock_guard lock(_m);
            _items.push_back(v);
        }
        _cv.notify_one();
    }

    void push_batch(std::uint64_t first, int n) {
        {
            std::lock_guard lock(_m);
            for (int i = 0; i < n; ++i) {
                _items.push_back(first + static_cast<std::uint64_t>(i));
            }
        }
        _cv.notify_one();
    }

    bool try_pop(std::uint64_t& v) {
        std::lock_guard lock(_m);
        if (_items.empty()) {
            return false;
        }
        v = _items.front();
        _items.pop_front();
        return true;
    }

    std::uint64_t pop_wait() {
        std::unique_lock lock(_m);
        _cv.wait(lock, [this] { return !_items.empty(); });
        const std::uint64_t v = _items.front();
        _items.pop_front();
        return v;
    }

    /// Polls for `spin`, then sleeps on the condition variable: the policy of an idle reactor.
    std::uint64_t pop_poll_then_wait(nanos spin) {
        std::uint64_t v = 0;
        const auto until = bench_clock::now() + spin;
        do {
            if (try_pop(v)) {
                return v;
            }
        } while (bench_clock::now() < until);
        return pop_wait();
    }

    /// Takes everything queued (waits for at least one).
    void pop_all_wait(std::deque<std::uint64_t>& out) {
        std::unique_lock lock(_m);
        _cv.wait(lock, [this] { return !_items.empty(); });
        out.swap(_items);
    }

private:
    std::mutex _m;
    std::condition_variable _cv;
    std::deque<std::uint64_t> _items;
};

constexpr std::uint64_t stop_message = ~std::uint64_t{0};

/// Round trips through a request and a reply queue; the server either computes between looks (busy) or sleeps.
std::vector<double> mutex_round_trips(const options& opt, bool busy, long warmup, long n, nanos gap) {
    locked_queue requests;
    locked_queue replies;
    std::thread server([&] {
        pin_to(1);
        for (;;) {
            std::uint64_t v = 0;
            if (busy) {
                spin_for(opt.slice);
                while (requests.try_pop(v)) {
                    if (v == stop_message) {
                        return;
                    }
                    replies.push(v + 1);
                }
            } else {
                v = requests.pop_wait();
                if (v == stop_message) {
                    return;
                }
                replies.push(v + 1);
            }
        }
    });
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(n));
    std::thread client([&] {
        pin_to(0);
        for (long i = 0; i < warmup + n; ++i) {
            if (gap > nanos::zero()) {
                std::this_thread::sleep_for(gap);
            }
            const auto t0 = bench_clock::now();
            requests.push(static_cast<std::uint64_t>(i));
            const std::uint64_t r = replies.pop_poll_then_wait(opt.idle_poll);
            const auto t1 = bench_clock::now();
            if (r != static_cast<std::uint64_t>(i) + 1) {
                std::fprintf(stderr, "bus_bench: wrong reply\n");
                std::abort();
            }
            if (i >= warmup) {
                samples.push_back(to_ns(t1 - t0));
            }
        }
        requests.push(stop_message);
    });
    client.join();
    server.join();
    return samples;
}

/// Producer on CPU 0, consumer on CPU 1; millions of messages per second until the consumer has them all.
double mutex_throughput(long m, bool batched) {
    locked_queue q;
    std::latch ready(2);
    bench_clock::time_point t0;
    bench_clock::time_point t1;
    std::thread consumer([&] {
        pin_to(1);
        ready.arrive_and_wait();
        std::uint64_t sum = 0;
        long seen = 0;
        if (batched) {
            std::deque<std::uint64_t> got;
            while (seen < m) {
                q.pop_all_wait(got);
                for (std::uint64_t v : got) {
                    sum += v;
                }
                seen += static_cast<long>(got.size());
                got.clear();
            }
        } else {
            for (; seen < m; ++seen) {
                sum += q.pop_wait();
            }
        }
        t1 = bench_clock::now();
        if (sum != static_cast<std::uint64_t>(m) * static_cast<std::uint64_t>(m - 1) / 2) {
            std::fprintf(stderr, "bus_bench: lost messages\n");
            std::abort();
        }
    });
    std::thread producer([&] {
        pin_to(0);
        ready.arrive_and_wait();
        t0 = bench_clock::now();
        if (batched) {
            for (long i = 0; i < m; i += mutex_batch) {
                q.push_batch(static_cast<std::uint64_t>(i), static_cast<int>(std::min<long>(mutex_batch, m - i)));
            }
        } else {
            for (long i = 0; i < m; ++i) {
                q.push(static_cast<std::uint64_t>(i));
            }
        }
    });
    producer.join();
    consumer.join();
    return static_cast<double>(m) / (to_ns(t1 - t0) * 1e-9) / 1e6;
}

int run_mutex(const options& opt) {
    if (opt.runs("busy")) {
        print_rtt("mutex_rtt", mutex_round_trips(opt, true, opt.busy_samples / 10, opt.busy_samples, {}));
    }
    if (opt.runs("idle")) {
        print_rtt("mutex_rtt_idle", mutex_round_trips(opt, false, opt.idle_samples / 20, opt.idle_samples, opt.gap));
    }
    if (opt.runs("post")) {
        (void)mutex_throughput(opt.messages / 10, false);
        result("mutex_throughput_mps", mutex_throughput(opt.messages, false), "Mmsg/s");
        (void)mutex_throughput(opt.messages / 10, true);
        result("mutex_batched_throughput_mps", mutex_throughput(opt.messages, true), "Mmsg/s");
    }
    std::fflush(stdout);
    return 0;
}

// ---------------------------------------------------------------------------------------------------- main

bool parse_flag(std::string_view arg, std::string_view name, long& out) {
    if (!arg.starts_with(name) || arg.size() <= name.size() || arg[name.size()] != '=') {
        return false;
    }
    const std::string_view value = arg.substr(name.size() + 1);
    long v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || v <= 0) {
        throw std::invalid_argument("bad value in " + std::string(arg));
    }
    out = v;
    return true;
}

} // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::string_view mode = "all";
    options opt;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string_view arg = argv[i];
            long slice_ns = opt.slice.count();
            long gap_us = opt.gap.count() / 1000;
            long quota_us = 0;
            long idle_poll_us = 0;
            if (arg == "percore" || arg == "mutex" || arg == "all") {
                mode = arg;
            } else if (arg.starts_with("--phases=")) {
                opt.phases = arg.substr(9);
            } else if (arg.starts_with("--dump=")) {
                g_dump_prefix = arg.substr(7);
            } else if (parse_flag(arg, "--busy", opt.busy_samples) || parse_flag(arg, "--idle", opt.idle_samples) ||
                       parse_flag(arg, "--messages", opt.messages) ||
                       parse_flag(arg, "--yield-every", opt.yield_every)) {
            } else if (parse_flag(arg, "--slice-ns", slice_ns)) {
                opt.slice = nanos(slice_ns);
            } else if (parse_flag(arg, "--gap-us", gap_us)) {
                opt.gap = nanos(gap_us * 1000);
            } else if (parse_flag(arg, "--quota-us", quota_us)) {
                opt.task_quota = nanos(quota_us * 1000);
            } else if (parse_flag(arg, "--idle-poll-us", idle_poll_us)) {
                opt.idle_poll = nanos(idle_poll_us * 1000);
            } else {
                std::fprintf(stderr, "usage: bus_bench [percore|mutex|all] [--busy=N] [--idle=N] [--messages=N] "
                                     "[--slice-ns=N] [--gap-us=N] [--quota-us=N] [--idle-poll-us=N] [--yield-every=N] "
                                     "[--phases=busy,idle,post,submit] "
                                     "[--dump=PREFIX]\n");
                return 2;
            }
        }
        opt.messages = std::max<long>(opt.messages, submit_fibers * 10);
        int code = 0;
        if (mode != "mutex") {
            code = run_percore(opt);
        }
        if (code == 0 && mode != "percore") {
            code = run_mutex(opt);
        }
        return code;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bus_bench: %s\n", e.what());
        return 1;
    }
}
