#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "runtime/reactor.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/event.hh"
#include "runtime/timer.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace std::chrono_literals;

namespace {

/// Posted from another thread: counts and, at the target, sets an event.
struct ping final : detail::foreign_completion {
    std::atomic<int>* seen;
    event* done;
    int target;
    void complete() noexcept override {
        if (seen->fetch_add(1) + 1 == target) {
            done->set();
        }
    }
};

} // namespace

TEST_SUITE("runtime/reactor") {
    RUNTIME_TEST_CASE("post from other threads reaches a sleeping reactor every time (no lost wake-ups)") {
        // Two threads post 20000 completions with random gaps, so many arrive while the reactor is about to sleep.
        constexpr int per_thread = 10000;
        std::atomic<int> seen{0};
        event done;
        std::vector<ping> pings(2 * per_thread);
        for (auto& p : pings) {
            p.seen = &seen;
            p.done = &done;
            p.target = 2 * per_thread;
        }
        reactor& r = this_reactor();
        this_reactor().foreign_expected(); // keep shutdown honest while threads still post
        std::vector<std::thread> threads;
        for (int t = 0; t < 2; ++t) {
            threads.emplace_back([&, t] {
                unsigned x = 12345u + static_cast<unsigned>(t);
                for (int i = 0; i < per_thread; ++i) {
                    x = x * 1103515245u + 12345u;
                    if ((x >> 16) % 8 == 0) {
                        std::this_thread::sleep_for(std::chrono::microseconds((x >> 8) % 50));
                    }
                    r.post(&pings[t * per_thread + i]);
                }
            });
        }
        co_await done.wait(); // hangs (and the suite times out) if a wake-up is lost
        for (auto& t : threads) {
            t.join();
        }
        this_reactor().foreign_done();
        CHECK(seen.load() == 2 * per_thread);
        CHECK(this_reactor().stats().sleeps > 0);
    }

    RUNTIME_TEST_CASE("an idle reactor sleeps instead of spinning") {
        const auto before = this_reactor().stats();
        co_await sleep_for(50ms);
        const auto after = this_reactor().stats();
        // One sleep covers the whole wait (plus a few wake-ups around it), not thousands of passes.
        CHECK(after.passes - before.passes < 50);
        CHECK(after.sleeps > before.sleeps);
    }

    TEST_CASE("one reactor per thread") {
        reactor r;
        CHECK_THROWS_AS(reactor{}, std::logic_error);
    }
}
