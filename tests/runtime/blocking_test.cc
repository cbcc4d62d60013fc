#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/blocking.hh"
#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "runtime/timer.hh"
#include "runtime/when_all.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace std::chrono_literals;

TEST_SUITE("runtime/blocking") {
    RUNTIME_TEST_CASE("spawn_blocking returns the result on the calling shard") {
        const auto caller = std::this_thread::get_id();
        std::thread::id ran_on;
        std::string s = co_await spawn_blocking([&] {
            ran_on = std::this_thread::get_id();
            return std::string("from the pool");
        });
        CHECK(s == "from the pool");
        CHECK(ran_on != caller);
        CHECK(std::this_thread::get_id() == caller);
    }

    RUNTIME_TEST_CASE("spawn_blocking carries exceptions back") {
        CHECK_THROWS_AS(co_await spawn_blocking([]() -> int { throw std::out_of_range("pool"); }), std::out_of_range);
    }

    RUNTIME_TEST_CASE("void jobs complete") {
        std::atomic<int> n{0};
        co_await spawn_blocking([&] { n.fetch_add(1); });
        CHECK(n.load() == 1);
    }

    RUNTIME_TEST_CASE("the reactor keeps running other tasks while a job blocks") {
        int ticks = 0;
        auto ticker = spawn([&]() -> task<> {
            for (;;) {
                co_await sleep_for(1ms);
                ++ticks;
            }
        });
        co_await spawn_blocking([] { std::this_thread::sleep_for(30ms); });
        ticker.abort();
        co_await ticker.wait();
        CHECK(ticks >= 3);
    }

    RUNTIME_TEST_CASE("many concurrent jobs all complete with their own results") {
        std::vector<task<int>> jobs;
        for (int i = 0; i < 200; ++i) {
            jobs.push_back([](int v) -> task<int> { co_return co_await spawn_blocking([v] { return v * v; }); }(i));
        }
        auto results = co_await when_all(std::move(jobs));
        for (int i = 0; i < 200; ++i) {
            CHECK(results[i] == i * i);
        }
    }

    RUNTIME_TEST_CASE("an aborted waiter stays parked until its job returns, gets the result, then raises aborted") {
        std::atomic<bool> release{false};
        std::atomic<bool> finished{false};
        int result = 0;
        auto h = spawn([&]() -> task<> {
            char buffer[64] = {}; // the job writes here: the frame must outlive the job
            result = co_await spawn_blocking([&] {
                while (!release.load()) {
                    std::this_thread::sleep_for(1ms);
                }
                buffer[0] = 'x';
                finished.store(true);
                return 7;
            });
            CHECK(buffer[0] == 'x');
            co_await percore::yield(); // the abort shows at the next suspension point
        });
        co_await sleep_for(2ms);
        h.abort();
        co_await sleep_for(5ms);
        CHECK_FALSE(h.done()); // still waiting for the job, not unwound under its feet
        release.store(true);
        CHECK_THROWS_AS(co_await h, aborted);
        CHECK(finished.load());
        CHECK(result == 7);
    }

    TEST_CASE("stop() during shutdown does not cut the drain short while a job is out (review B3)") {
        std::atomic<bool> job_done{false};
        sync_wait(
            [&]() -> task<> {
                spawn([&]() -> task<> {
                    co_await spawn_blocking([&] {
                        std::this_thread::sleep_for(30ms);
                        job_done.store(true);
                    });
                }).detach();
                spawn([]() -> task<> {
                    detail::abort_shield shield; // survives the shutdown's abort, to call stop() in the middle of it
                    co_await sleep_for(5ms);
                    this_reactor().stop();
                }).detach();
                co_await yield();
            }(),
            test::reactor_config_for_tests());
        // Returning at all, with the job done and no use-after-free (ASan), is the point: the reactor waited.
        CHECK(job_done.load());
    }
}
