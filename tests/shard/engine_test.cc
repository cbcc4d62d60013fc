#include <atomic>
#include <mutex>
#include <sched.h>
#include <signal.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "runtime/run.hh"
#include "runtime/timer.hh"
#include "shard/engine.hh"
#include "shard/submit_to.hh"
#include "tests/support/sharded_test.hh"

using namespace percore;
using namespace std::chrono_literals;

namespace {

std::vector<shard_placement> g_plan;
std::mutex g_order_mutex;
std::vector<std::string> g_order;

void record(std::string what) {
    std::lock_guard lock(g_order_mutex);
    g_order.push_back(std::move(what));
}

} // namespace

TEST_SUITE("shard/engine") {
    TEST_CASE("main's value is the exit code, and shard_count/this_shard_id are right on every shard") {
        const int code = run_engine(test::sharded_config_for_tests(3), []() -> task<int> {
            CHECK(shard_count() == 3);
            CHECK(this_shard_id() == 0);
            const unsigned sum = co_await map_reduce([] { return this_shard_id(); }, std::plus<unsigned>(), 0u);
            CHECK(sum == 3);
            co_return 42;
        });
        CHECK(code == 42);
        CHECK(shard_count() == 1); // back to a lone reactor's view after the engine
    }

    TEST_CASE("every shard runs pinned to the CPU its plan gives it") {
        const engine_config cfg = test::sharded_config_for_tests(4);
        const topology machine = topology::discover();
        g_plan = plan_shards(machine, cfg.placement);
        const int code = run_engine(cfg, machine, g_plan, []() -> task<int> {
            const unsigned mismatches = co_await map_reduce(
                [] { return sched_getcpu() == static_cast<int>(g_plan[this_shard_id()].cpu) ? 0u : 1u; },
                std::plus<unsigned>(), 0u);
            co_return static_cast<int>(mismatches);
        });
        CHECK(code == 0);
    }

    TEST_CASE("shutdown hooks run in reverse order of registration, on the shard that registered them") {
        g_order.clear();
        const int code = test::run_sharded(2, []() -> task<> {
            add_shutdown_hook([]() -> task<> {
                record("first on 0");
                co_return;
            });
            co_await submit_to(1, [] {
                add_shutdown_hook([]() -> task<> {
                    record(this_shard_id() == 1 ? "on 1" : "on the wrong shard");
                    co_return;
                });
            });
            const auto removed = add_shutdown_hook([]() -> task<> {
                record("removed");
                co_return;
            });
            add_shutdown_hook([]() -> task<> {
                co_await sleep_for(1ms); // hooks may await; the next one waits for it
                record("second on 0");
            });
            remove_shutdown_hook(removed);
        });
        CHECK(code == 0);
        CHECK(g_order == std::vector<std::string>{"second on 0", "first on 0", "on 1"});
    }

    TEST_CASE("SIGTERM stops every shard: main is aborted, hooks run, the engine returns 128 + 15") {
        g_order.clear();
        const int code = test::run_sharded(3, []() -> task<> {
            add_shutdown_hook([]() -> task<> {
                record("hook");
                co_return;
            });
            co_await invoke_on_others([] {
                spawn([]() -> task<> {
                    try {
                        co_await sleep_for(1h);
                    } catch (const aborted&) {
                        record("worker unwound");
                        throw;
                    }
                }).detach();
            });
            co_await submit_to(2, [] {
                timer* t = new timer([] { ::kill(::getpid(), SIGTERM); });
                t->arm(5ms);
                add_shutdown_hook([t]() -> task<> {
                    delete t;
                    co_return;
                });
            });
            co_await sleep_for(1h); // until the signal aborts main
            record("main went on");
        });
        CHECK(code == 128 + SIGTERM);
        std::lock_guard lock(g_order_mutex);
        CHECK(std::count(g_order.begin(), g_order.end(), "worker unwound") == 2);
        CHECK(std::count(g_order.begin(), g_order.end(), "hook") == 1);
        CHECK(std::count(g_order.begin(), g_order.end(), "main went on") == 0);
    }

    TEST_CASE("a shard that cannot start stops the engine with a message naming it") {
        engine_config cfg = test::sharded_config_for_tests(2);
        cfg.task_queues.push_back({.name = "broken", .shares = 0}); // refused when shards create their queues
        const int code = run_engine(cfg, []() -> task<int> { co_return 0; });
        CHECK(code == 1);
    }
}
