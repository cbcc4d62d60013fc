#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/event.hh"
#include "runtime/sync/gate.hh"
#include "runtime/timer.hh"
#include "tests/support/counted.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace std::chrono_literals;

namespace {

task<int> twice(int x) {
    co_return 2 * x;
}

task<> record(std::vector<int>& out, int id) {
    out.push_back(id);
    co_return;
}

task<> wait_forever(event& never, bool& unwound) {
    auto mark = [&] { unwound = true; };
    struct on_exit {
        decltype(mark)& f;
        ~on_exit() { f(); }
    } guard{mark};
    co_await never.wait();
}

task<> spin_then_sleep(int& reached) {
    for (int i = 0; i < 1000; ++i) {
        ++reached; // no suspension: abort must wait for the next one
    }
    co_await sleep_for(1h);
    ++reached;
}

} // namespace

TEST_SUITE("runtime/spawn") {
    RUNTIME_TEST_CASE("spawned task runs and its result is joined") {
        auto h = spawn(twice(21));
        CHECK_FALSE(h.done());
        CHECK(co_await h == 42);
    }

    RUNTIME_TEST_CASE("spawned tasks start in FIFO order") {
        std::vector<int> order;
        std::vector<join_handle<void>> hs;
        for (int i = 0; i < 100; ++i) {
            hs.push_back(spawn(record(order, i)));
        }
        for (auto& h : hs) {
            co_await h;
        }
        REQUIRE(order.size() == 100);
        for (int i = 0; i < 100; ++i) {
            CHECK(order[i] == i);
        }
    }

    RUNTIME_TEST_CASE("exceptions reach the joiner") {
        auto h = spawn([]() -> task<int> {
            co_await yield();
            throw std::invalid_argument("bad");
        });
        CHECK_THROWS_AS(co_await h, std::invalid_argument);
    }

    RUNTIME_TEST_CASE("abort resumes a parked task with aborted and runs its destructors") {
        event never;
        bool unwound = false;
        auto h = spawn(wait_forever(never, unwound));
        co_await yield(); // let it park
        CHECK_FALSE(h.done());
        h.abort();
        CHECK_THROWS_AS(co_await h, aborted);
        CHECK(unwound);
        CHECK(never.waiters() == 0);
    }

    RUNTIME_TEST_CASE("abort of a running task takes effect at its next suspension point") {
        int reached = 0;
        auto h = spawn(spin_then_sleep(reached));
        h.abort(); // not started yet: it runs its loop, then raises at sleep_for
        CHECK_THROWS_AS(co_await h, aborted);
        CHECK(reached == 1000);
    }

    RUNTIME_TEST_CASE("abort is sticky: a task that swallows it raises again at the next suspension") {
        int caught = 0;
        auto h = spawn([&]() -> task<> {
            for (int i = 0; i < 3; ++i) {
                try {
                    co_await sleep_for(1h);
                } catch (const aborted&) {
                    ++caught;
                }
            }
        });
        co_await yield();
        h.abort();
        co_await h.wait();
        CHECK(caught == 3);
    }

    RUNTIME_TEST_CASE("abort of a finished task changes nothing") {
        auto h = spawn(twice(2));
        co_await h.wait();
        h.abort();
        CHECK(co_await h == 4);
    }

    RUNTIME_TEST_CASE("the joiner is resumed with aborted when it is aborted itself, the child keeps running") {
        event go;
        auto child = spawn([&]() -> task<int> {
            co_await go.wait();
            co_return 7;
        });
        auto joiner = spawn([&]() -> task<int> { co_return co_await child; });
        co_await yield();
        joiner.abort();
        CHECK_THROWS_AS(co_await joiner, aborted);
        CHECK_FALSE(child.done());
        go.set();
        CHECK(co_await child == 7);
    }

    RUNTIME_TEST_CASE("detached tasks run to completion") {
        int done = 0;
        for (int i = 0; i < 10; ++i) {
            spawn([&]() -> task<> {
                co_await yield();
                ++done;
            }).detach();
        }
        while (done < 10) {
            co_await yield();
        }
        CHECK(done == 10);
    }

    RUNTIME_TEST_CASE("lambda captures stay valid across suspensions when spawned through spawn(fn)") {
        std::string result;
        auto h = spawn([s = std::string(100, 'x'), &result]() -> task<> {
            co_await yield();
            co_await sleep_for(1ms);
            result = s;
        });
        co_await h;
        CHECK(result == std::string(100, 'x'));
    }

    RUNTIME_TEST_CASE("gate close waits for the tasks inside") {
        gate g;
        int finished = 0;
        for (int i = 0; i < 5; ++i) {
            spawn_in(g, [](int& f, int ms) -> task<> {
                co_await sleep_for(std::chrono::milliseconds(ms));
                ++f;
            }(finished, i));
        }
        CHECK(g.count() == 5);
        co_await g.close();
        CHECK(finished == 5);
        CHECK(g.count() == 0);
        CHECK_THROWS_AS(g.enter(), gate_closed);
    }

    RUNTIME_TEST_CASE("gate holders count work and close waits for the last one") {
        gate g;
        auto h1 = g.hold();
        auto h2 = g.hold();
        bool closed = false;
        auto closer = spawn([&]() -> task<> {
            co_await g.close();
            closed = true;
        });
        co_await yield();
        CHECK_FALSE(closed);
        CHECK_FALSE(g.try_enter());
        h1.release();
        co_await yield();
        CHECK_FALSE(closed);
        h2.release();
        co_await closer;
        CHECK(closed);
    }

    TEST_CASE("the reactor aborts tasks still running when main returns") {
        bool unwound = false;
        event never;
        sync_wait([&]() -> task<> {
            spawn(wait_forever(never, unwound)).detach();
            co_await yield();
        }());
        CHECK(unwound);
    }

    TEST_CASE("spawn outside a reactor is refused") {
        CHECK_THROWS_AS((void)spawn(twice(1)), std::logic_error);
    }

    RUNTIME_TEST_CASE("frames are recycled: many spawn/join cycles leak nothing") {
        percore::test::counted::reset();
        for (int i = 0; i < 10000; ++i) {
            auto h = spawn([](percore::test::counted c) -> task<int> { co_return c.id; }(percore::test::counted(i)));
            CHECK(co_await h == i);
        }
        CHECK(percore::test::counted::alive() == 0);
    }
}
