#include "shard/engine.hh"

#include <atomic>
#include <cstdio>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "runtime/blocking.hh"
#include "runtime/detail/main_runner.hh"
#include "runtime/log.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/event.hh"
#include "shard/bus.hh"
#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace percore {

namespace {

logger engine_log("engine");

constinit thread_local event* tl_stop_event = nullptr;

/// What the shard threads share while starting and stopping.
struct engine_run {
    const engine_config& config;
    const topology& machine;
    const std::vector<shard_placement>& plan;
    bus shared_bus;
    std::latch started;
    std::latch finished;
    std::mutex error_mutex;
    std::string error;
    std::atomic<bool> failed{false};

    engine_run(const engine_config& c, const topology& m, const std::vector<shard_placement>& p)
        : config(c)
        , machine(m)
        , plan(p)
        , shared_bus(static_cast<unsigned>(p.size()), c.bus_max_in_flight)
        , started(static_cast<std::ptrdiff_t>(p.size()))
        , finished(static_cast<std::ptrdiff_t>(p.size())) {}

    void fail(unsigned shard, const std::string& why) {
        std::lock_guard lock(error_mutex);
        if (error.empty()) {
            error = "shard " + std::to_string(shard) + ": " + why;
        }
        failed.store(true, std::memory_order_relaxed);
    }
};

task<int> first_shard_main(std::function<task<int>()> main, detail::signal_watch& signals) {
    const int code = co_await detail::run_main(std::move(main), signals);
    co_await invoke_on_others([] {
        if (tl_stop_event != nullptr) {
            tl_stop_event->set();
        }
    });
    co_return code;
}

task<int> other_shard_main() {
    event stop;
    tl_stop_event = &stop;
    co_await stop.wait();
    tl_stop_event = nullptr;
    co_await detail::run_shutdown_hooks();
    co_return 0;
}

/// One shard's life; shard 0 runs it on the caller's thread with `main` and the stop signals.
int shard_life(engine_run& run, unsigned id, std::function<task<int>()> main,
               detail::stop_signal_block* signals_block) {
    detail::tl_shard_id = id;
    const shard_placement& where = run.plan[id];
    const bool bind_memory = run.config.numa_bind && run.machine.numa_nodes() > 1;
    if (std::string problem = bind_this_thread(where.cpu, bind_memory ? &where.numa_node : nullptr); !problem.empty()) {
        engine_log.warn("shard {}: {}", id, problem);
    }
    std::optional<reactor> r;
    std::unique_ptr<shard_bus> endpoint;
    try {
        reactor_config rc = run.config.reactor;
        rc.shard_id = id;
        r.emplace(rc);
        endpoint = run.shared_bus.attach(id, *r);
        for (const auto& q : run.config.task_queues) {
            create_task_queue(q);
        }
    } catch (const std::exception& e) {
        run.fail(id, e.what());
    }
    run.started.arrive_and_wait(); // every reactor exists (and is attached) before anyone sends
    int code = 1;
    if (!run.failed.load(std::memory_order_relaxed)) {
        if (id == 0) {
            code = detail::run_with_stop_signals(*r, signals_block->fd(), [&main](detail::signal_watch& signals) {
                return first_shard_main(std::move(main), signals);
            });
        } else {
            try {
                code = r->run(other_shard_main());
            } catch (const std::exception& e) {
                engine_log.error("{}", e.what());
            }
        }
    }
    // Nobody may touch a reactor (wake it, post to it) once its owner moved on: leave together.
    run.finished.arrive_and_wait();
    endpoint.reset();
    r.reset();
    return code;
}

} // namespace

int run_engine(const engine_config& config, const topology& machine, const std::vector<shard_placement>& plan,
               std::function<task<int>()> main) {
    if (config.log) {
        set_log_levels(*config.log);
    }
    if (config.log_format) {
        set_log_format(*config.log_format);
    }
    set_blocking_threads(config.blocking_threads);
    std::optional<detail::stop_signal_block> block; // before the threads start: they inherit the mask
    try {
        block.emplace();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "percore: cannot start: %s\n", e.what());
        return 1;
    }
    detail::g_shard_count = static_cast<unsigned>(plan.size());
    detail::g_engine_shards = detail::g_shard_count;
    engine_run run(config, machine, plan);
    std::vector<std::thread> threads;
    threads.reserve(plan.size());
    for (unsigned id = 1; id < plan.size(); ++id) {
        threads.emplace_back([&run, id] { (void)shard_life(run, id, {}, nullptr); });
    }
    const int code = shard_life(run, 0, std::move(main), &*block);
    for (auto& t : threads) {
        t.join();
    }
    detail::g_shard_count = 1;
    detail::tl_shard_id = 0;
    if (run.failed.load()) {
        std::fprintf(stderr, "percore: cannot start: %s\n", run.error.c_str());
        return 1;
    }
    return code;
}

int run_engine(const engine_config& config, std::function<task<int>()> main) {
    const topology machine = topology::discover();
    const auto plan = plan_shards(machine, config.placement);
    return run_engine(config, machine, plan, std::move(main));
}

} // namespace percore
