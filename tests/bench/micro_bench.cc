// Runtime micro-benchmarks (Google Benchmark). Each benchmark runs its whole measuring loop inside one task on one
// reactor created on the calling thread, so the figures are the cost of the operation on a warm shard, without
// reactor set-up. Besides the usual table (on stderr), the binary prints one line per figure on stdout:
//
//   RESULT <name> <median over repetitions> <unit> # <min>..<max> mad <MAD> (<n> reps)
//
// where a name ending in _ns is nanoseconds per operation and _ms milliseconds per round. Run through
// `scripts/bench micro`, which also runs the tokio side of the 10k-task comparison (tests/bench/tokio_seed).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "runtime/io.hh"
#include "runtime/preempt.hh"
#include "runtime/reactor.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/channel.hh"
#include "runtime/timer.hh"

namespace {

using namespace std::chrono_literals;

/// Name of the user counter that says how many operations one benchmark iteration performs (default 1).
constexpr const char* ops_counter = "ops";

percore::reactor_config bench_config() {
    percore::reactor_config config;
    // Loops that never suspend (resume, timers) would hold the shard for the whole measurement and be reported as
    // stalls; the watchdog thread would also compete for the second core.
    config.stall_threshold = percore::duration::zero();
    return config;
}

/// Runs `body(state)` as the main task of a reactor created for this benchmark run.
void run_on_reactor(benchmark::State& state, percore::task<> (*body)(benchmark::State&)) {
    try {
        percore::reactor r(bench_config());
        r.run(body(state));
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

// ---------------------------------------------------------------------------------------------------- scheduling

percore::task<> empty_task() {
    co_return;
}

/// spawn + first run + finish + join of an empty task.
percore::task<> spawn_complete(benchmark::State& state) {
    for (auto _ : state) {
        co_await percore::spawn(empty_task());
    }
}

percore::task<> suspend_forever(std::uint64_t& resumes) {
    for (;;) {
        ++resumes;
        co_await std::suspend_always{};
    }
}

/// Raw resume of a suspended task frame (what the scheduler does per fiber, without the queue).
percore::task<> resume(benchmark::State& state) {
    std::uint64_t resumes = 0;
    percore::task<> t = suspend_forever(resumes);
    auto h = t.handle();
    h.resume(); // to its first suspension
    for (auto _ : state) {
        h.resume();
    }
    benchmark::DoNotOptimize(resumes);
    co_return;
}

/// yield() with a single runnable task: back of the queue, through the scheduler, resumed.
percore::task<> yield_alone(benchmark::State& state) {
    for (auto _ : state) {
        co_await percore::yield();
    }
}

percore::task<> yield_partner(const bool& stop) {
    while (!stop) {
        co_await percore::yield();
    }
}

/// Two tasks yielding to each other: each iteration is two yields (two task switches).
percore::task<> yield_pingpong(benchmark::State& state) {
    bool stop = false;
    auto partner = percore::spawn(yield_partner(stop));
    for (auto _ : state) {
        co_await percore::yield();
    }
    stop = true;
    co_await partner;
    state.counters[ops_counter] = 2;
}

// ---------------------------------------------------------------------------------------------------- timers

/// Timers that stay armed far in the future, spread over several wheel levels, so arm and cancel work on a wheel
/// that is not empty.
class background_timers {
public:
    explicit background_timers(int n)
        : _timers(std::make_unique<percore::timer[]>(static_cast<std::size_t>(n))) {
        for (int i = 0; i < n; ++i) {
            _timers[static_cast<std::size_t>(i)].arm(60s + i * 7ms + i * 13us);
        }
    }

private:
    std::unique_ptr<percore::timer[]> _timers;
};

/// `t.arm(d); t.cancel();` as a user writes it (arm(duration) reads the clock).
percore::task<> timer_arm_cancel(benchmark::State& state) {
    background_timers others(1000);
    percore::timer t;
    for (auto _ : state) {
        t.arm(5ms);
        t.cancel();
    }
    co_return;
}

/// The same with a precomputed deadline: the wheel's share of the cost, without the clock read.
percore::task<> timer_arm_at_cancel(benchmark::State& state) {
    background_timers others(1000);
    percore::timer t;
    const percore::time_point at = percore::clock_type::now() + 5ms;
    for (auto _ : state) {
        t.arm(at);
        t.cancel();
    }
    co_return;
}

// ---------------------------------------------------------------------------------------------------- channel

/// One send and one receive on a channel with room: both complete without suspending.
percore::task<> channel_send_recv(benchmark::State& state) {
    percore::channel<int> ch(64);
    int i = 0;
    for (auto _ : state) {
        co_await ch.send(i++);
        auto v = co_await ch.recv();
        benchmark::DoNotOptimize(v);
    }
}

// ---------------------------------------------------------------------------------------------------- io_uring

constexpr int nop_fibers = 64;

percore::task<> nop_partner(const bool& stop) {
    while (!stop) {
        (void)co_await percore::io::nop();
    }
}

/// 64 fibers each looping on a NOP, so every reactor pass submits and reaps a batch of 64; the measuring task is
/// one of them, so one iteration is one batch and the figure is the cost per NOP.
percore::task<> uring_nop(benchmark::State& state) {
    bool stop = false;
    std::vector<percore::join_handle<void>> partners;
    for (int i = 1; i < nop_fibers; ++i) {
        partners.push_back(percore::spawn(nop_partner(stop)));
    }
    bool failed = false;
    for (auto _ : state) {
        const int res = co_await percore::io::nop();
        if (res < 0) {
            failed = true;
            break;
        }
    }
    stop = true;
    for (auto& p : partners) {
        co_await p;
    }
    if (failed) {
        state.SkipWithError("io_uring NOP failed");
    }
    state.counters[ops_counter] = nop_fibers;
}

// ---------------------------------------------------------------------------------------------------- 10k tasks

// The runtime benchmark from the tokio documentation: spawn 10 000 tasks that each (sleep 1 us and) return i * 2,
// join them all, check the sum. tests/bench/tokio_seed does the same on tokio's current_thread runtime.
constexpr long seed_tasks = 10'000;
constexpr long seed_sum = seed_tasks * (seed_tasks - 1); // sum of 2i for i in [0, n)

percore::task<long> sleep_then_double(long i) {
    co_await percore::sleep_for(1us);
    co_return i * 2;
}

percore::task<long> just_double(long i) {
    co_return i * 2;
}

/// One round: spawn all, join all (dropping each handle as it is joined, as tokio's `handle.await` does).
template <percore::task<long> (*Make)(long)>
percore::task<bool> seed_round(std::vector<percore::join_handle<long>>& handles) {
    for (long i = 0; i < seed_tasks; ++i) {
        handles.push_back(percore::spawn(Make(i)));
    }
    long sum = 0;
    for (auto& h : handles) {
        sum += co_await h;
        h = {};
    }
    handles.clear();
    co_return sum == seed_sum;
}

/// One timed round per iteration, after an untimed warm-up round.
template <percore::task<long> (*Make)(long)>
percore::task<> seed_rounds(benchmark::State& state) {
    std::vector<percore::join_handle<long>> handles;
    handles.reserve(seed_tasks);
    bool ok = co_await seed_round<Make>(handles);
    for (auto _ : state) {
        ok = co_await seed_round<Make>(handles) && ok;
    }
    if (!ok) {
        state.SkipWithError("wrong sum");
    }
}

percore::task<> seed_10k_sleep(benchmark::State& state) {
    return seed_rounds<&sleep_then_double>(state);
}

percore::task<> spawn_join_10k(benchmark::State& state) {
    state.counters[ops_counter] = static_cast<double>(seed_tasks);
    return seed_rounds<&just_double>(state);
}

// ---------------------------------------------------------------------------------------------------- reporting

/// Prints the console table (to its stream) and, at the end, one RESULT line per benchmark: the median over
/// repetitions of the real time per operation.
class result_reporter final : public benchmark::ConsoleReporter {
public:
    result_reporter()
        : ConsoleReporter(OO_Tabular) {}

    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            if (run.run_type != Run::RT_Iteration || run.error_occurred || run.iterations == 0) {
                continue;
            }
            double ns = run.real_accumulated_time * 1e9 / static_cast<double>(run.iterations);
            if (auto it = run.counters.find(ops_counter); it != run.counters.end() && it->second.value > 0) {
                ns /= it->second.value;
            }
            samples_for(run.run_name.function_name).push_back(ns);
        }
    }

    void Finalize() override {
        ConsoleReporter::Finalize();
        for (auto& [name, values] : _samples) {
            const bool ms = name.ends_with("_ms");
            const double scale = ms ? 1e-6 : 1.0;
            std::sort(values.begin(), values.end());
            const double med = median(values);
            std::vector<double> deviations;
            for (double v : values) {
                deviations.push_back(std::abs(v - med));
            }
            std::sort(deviations.begin(), deviations.end());
            std::printf("RESULT %s %.3f %s # %.3f..%.3f mad %.3f (%zu reps)\n", name.c_str(), med * scale,
                        ms ? "ms" : "ns", values.front() * scale, values.back() * scale, median(deviations) * scale,
                        values.size());
        }
        std::fflush(stdout);
    }

private:
    static double median(const std::vector<double>& sorted) {
        const std::size_t n = sorted.size();
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    std::vector<double>& samples_for(const std::string& name) {
        for (auto& [n, values] : _samples) {
            if (n == name) {
                return values;
            }
        }
        return _samples.emplace_back(name, std::vector<double>{}).second;
    }

    std::vector<std::pair<std::string, std::vector<double>>> _samples; // in the order the benchmarks ran
};

template <percore::task<> (*Body)(benchmark::State&)>
void on_reactor(benchmark::State& state) {
    run_on_reactor(state, Body);
}

void register_benchmarks() {
    // Named after the RESULT line each one feeds.
    benchmark::RegisterBenchmark("spawn_complete_ns", on_reactor<&spawn_complete>)->UseRealTime();
    benchmark::RegisterBenchmark("resume_ns", on_reactor<&resume>)->UseRealTime();
    benchmark::RegisterBenchmark("yield_ns", on_reactor<&yield_alone>)->UseRealTime();
    benchmark::RegisterBenchmark("yield_pingpong_ns", on_reactor<&yield_pingpong>)->UseRealTime();
    benchmark::RegisterBenchmark("timer_arm_cancel_ns", on_reactor<&timer_arm_cancel>)->UseRealTime();
    benchmark::RegisterBenchmark("timer_arm_at_cancel_ns", on_reactor<&timer_arm_at_cancel>)->UseRealTime();
    benchmark::RegisterBenchmark("channel_send_recv_ns", on_reactor<&channel_send_recv>)->UseRealTime();
    benchmark::RegisterBenchmark("uring_nop_ns", on_reactor<&uring_nop>)->UseRealTime();
    // One round per repetition, median of 7, like the tokio side.
    benchmark::RegisterBenchmark("seed_10k_sleep_ms", on_reactor<&seed_10k_sleep>)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->Repetitions(7);
    benchmark::RegisterBenchmark("spawn_join_10k_ns", on_reactor<&spawn_join_10k>)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(1)
        ->Repetitions(7);
}

} // namespace

int main(int argc, char** argv) {
    // Defaults that the command line may override (later flags win).
    static char repetitions[] = "--benchmark_repetitions=5";
    static char min_time[] = "--benchmark_min_time=0.2";
    std::vector<char*> args{argv[0], repetitions, min_time};
    args.insert(args.end(), argv + 1, argv + argc);
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) {
        return 2;
    }
    register_benchmarks();
    result_reporter reporter;
    reporter.SetOutputStream(&std::cerr);
    reporter.SetErrorStream(&std::cerr);
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
