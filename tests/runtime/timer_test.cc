#include <chrono>
#include <vector>

#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/event.hh"
#include "runtime/timer.hh"
#include "runtime/when_all.hh"
#include "runtime/with_timeout.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace std::chrono_literals;

namespace {

task<> sleep_and_record(std::vector<int>& order, int id, duration d) {
    co_await sleep_for(d);
    order.push_back(id);
}

task<int> slow_value(duration d, int v) {
    co_await sleep_for(d);
    co_return v;
}

} // namespace

TEST_SUITE("runtime/timer") {
    RUNTIME_TEST_CASE("sleep_for never wakes early") {
        for (duration d : {duration(0us), duration(1us), duration(50us), duration(1ms), duration(10ms)}) {
            const auto start = clock_type::now();
            co_await sleep_for(d);
            CHECK(clock_type::now() - start >= d);
        }
    }

    RUNTIME_TEST_CASE("sleep_until a past deadline completes before any later deadline") {
        std::vector<int> order;
        auto later = spawn(sleep_and_record(order, 2, 1ms));
        co_await sleep_until(clock_type::now() - 1s);
        order.push_back(1);
        co_await later;
        CHECK(order == std::vector<int>{1, 2});
    }

    RUNTIME_TEST_CASE("timers fire in deadline order") {
        std::vector<int> order;
        std::vector<join_handle<void>> hs;
        // Spawned in scrambled order, deadlines 1..8 ms apart and across wheel levels (up to ~300 ms).
        const int ids[] = {5, 1, 8, 3, 7, 2, 6, 4};
        for (int id : ids) {
            duration d = id < 7 ? std::chrono::milliseconds(id) : std::chrono::milliseconds(100 * id - 500);
            hs.push_back(spawn(sleep_and_record(order, id, d)));
        }
        for (auto& h : hs) {
            co_await h;
        }
        CHECK(order == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8});
    }

    RUNTIME_TEST_CASE("ten thousand sleeping tasks all wake") {
        std::vector<join_handle<int>> hs;
        for (int i = 0; i < 10000; ++i) {
            hs.push_back(spawn(slow_value(std::chrono::microseconds(1 + i % 500), i)));
        }
        long sum = 0;
        for (auto& h : hs) {
            sum += co_await h;
        }
        CHECK(sum == 10000L * 9999 / 2);
    }

    RUNTIME_TEST_CASE("a cancelled timer does not fire; a re-armed one fires once, later") {
        int fired = 0;
        timer t([&] { ++fired; });
        t.arm(2ms);
        CHECK(t.armed());
        CHECK(t.cancel());
        CHECK_FALSE(t.cancel());
        co_await sleep_for(5ms);
        CHECK(fired == 0);
        const auto start = clock_type::now();
        t.arm(1ms);
        t.arm(3ms); // moves it
        co_await sleep_for(10ms);
        CHECK(fired == 1);
        CHECK(t.deadline() - start >= 3ms);
    }

    RUNTIME_TEST_CASE("a periodic timer fires repeatedly until cancelled") {
        int fired = 0;
        timer t([&] { ++fired; });
        t.arm_periodic(2ms);
        co_await sleep_for(25ms);
        t.cancel();
        const int seen = fired;
        CHECK(seen >= 3); // lower bound only: at most 12 can fit, a loaded machine gives fewer
        CHECK(seen <= 13);
        co_await sleep_for(10ms);
        CHECK(fired == seen);
    }

    RUNTIME_TEST_CASE("a timer callback may cancel itself") {
        int fired = 0;
        timer t;
        t.set_callback([&] {
            ++fired;
            t.cancel();
        });
        t.arm_periodic(1ms);
        co_await sleep_for(10ms);
        CHECK(fired == 1);
    }

    RUNTIME_TEST_CASE("interval ticks at start + n * period") {
        const auto start = clock_type::now();
        interval every(3ms);
        for (int n = 1; n <= 4; ++n) {
            co_await every.tick();
            CHECK(clock_type::now() - start >= n * 3ms);
        }
    }

    RUNTIME_TEST_CASE("with_timeout returns the value when the task is fast enough") {
        CHECK(co_await with_timeout(1s, slow_value(1ms, 7)) == 7);
    }

    RUNTIME_TEST_CASE("with_timeout raises timed_out and cancels the inner work") {
        bool finished = false;
        bool unwound = false;
        auto slow = [&]() -> task<int> {
            struct guard {
                bool& flag;
                ~guard() { flag = true; }
            } g{unwound};
            co_await sleep_for(10s);
            finished = true;
            co_return 1;
        };
        const auto start = clock_type::now();
        CHECK_THROWS_AS(co_await with_timeout(5ms, slow()), timed_out);
        CHECK(clock_type::now() - start >= 5ms);
        CHECK(clock_type::now() - start < 5s);
        CHECK_FALSE(finished);
        CHECK(unwound); // the inner task has fully unwound before with_timeout returned
    }

    RUNTIME_TEST_CASE("with_timeout passes the inner exception through") {
        auto failing = []() -> task<int> {
            co_await sleep_for(1ms);
            throw std::domain_error("inner");
        };
        CHECK_THROWS_AS(co_await with_timeout(1s, failing()), std::domain_error);
    }

    RUNTIME_TEST_CASE("aborting the caller of with_timeout aborts the inner task too") {
        bool inner_unwound = false;
        auto outer = spawn([&]() -> task<> {
            auto inner = [&]() -> task<> {
                struct guard {
                    bool& flag;
                    ~guard() { flag = true; }
                } g{inner_unwound};
                co_await sleep_for(10s);
            };
            co_await with_timeout(10s, inner());
        });
        co_await sleep_for(1ms);
        outer.abort();
        CHECK_THROWS_AS(co_await outer, aborted);
        CHECK(inner_unwound);
    }

    RUNTIME_TEST_CASE("an aborted sleep leaves no timer behind") {
        auto h = spawn([]() -> task<> { co_await sleep_for(1h); });
        co_await yield();
        CHECK(this_reactor().timers().size() == 1);
        h.abort();
        co_await h.wait();
        CHECK(this_reactor().timers().empty());
    }

    RUNTIME_TEST_CASE("a deadline at time_point::max() waits instead of hanging the wheel (review B1)") {
        co_await sleep_for(1ms); // the wheel has moved past tick 0
        auto forever = spawn([]() -> task<> { co_await sleep_until(time_point::max()); });
        co_await sleep_for(2ms); // the reactor keeps running passes and firing other timers
        CHECK_FALSE(forever.done());
        forever.abort();
        CHECK_THROWS_AS(co_await forever, aborted);
        CHECK(co_await with_timeout(time_point::max(), slow_value(1ms, 7)) == 7);
    }

    RUNTIME_TEST_CASE("durations too long for the clock saturate instead of wrapping into the past (review B5)") {
        auto forever = spawn([]() -> task<> { co_await sleep_for(duration::max()); });
        co_await sleep_for(5ms);
        CHECK_FALSE(forever.done());
        forever.abort();
        CHECK_THROWS_AS(co_await forever, aborted);
        CHECK(co_await with_timeout(duration::max(), slow_value(1ms, 3)) == 3);
        int fired = 0;
        timer t([&] { ++fired; });
        t.arm(duration::max());
        co_await sleep_for(2ms);
        CHECK(fired == 0);
        CHECK(t.armed());
    }
}
