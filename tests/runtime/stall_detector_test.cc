#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/stall_detector.hh"
#include "runtime/timer.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace std::chrono_literals;

// External linkage, so backtrace_symbols can name it from the dynamic symbol table (-rdynamic).
namespace stall_test {
void hog_the_shard_for(duration d);
[[gnu::noinline]] void hog_the_shard_for(duration d) {
    const auto until = clock_type::now() + d;
    while (clock_type::now() < until) {
        asm volatile("" ::: "memory");
    }
}
} // namespace stall_test
using stall_test::hog_the_shard_for;

namespace {

std::mutex g_mutex;
std::vector<stall_report> g_reports;

struct capture_reports {
    capture_reports() {
        std::lock_guard lock(g_mutex);
        g_reports.clear();
        set_stall_report_handler([](const stall_report& r) {
            std::lock_guard l(g_mutex);
            g_reports.push_back(r);
        });
    }
    ~capture_reports() { set_stall_report_handler({}); }
};

reactor_config with_threshold(duration d) {
    reactor_config c = test::reactor_config_for_tests();
    c.stall_threshold = d;
    return c;
}

} // namespace

TEST_SUITE("runtime/stall_detector") {
    TEST_CASE("a task that holds the shard past the threshold is reported with its duration and a backtrace") {
        capture_reports capture;
        sync_wait(
            []() -> task<> {
                hog_the_shard_for(120ms);
                co_return;
            }(),
            with_threshold(20ms));
        std::lock_guard lock(g_mutex);
        REQUIRE_FALSE(g_reports.empty());
        const stall_report& r = g_reports.front();
        CHECK(r.shard == 0);
        CHECK(r.blocked_for >= 20ms);
        CHECK(r.blocked_for <= 120ms + 50ms);
        REQUIRE_FALSE(r.backtrace.empty());
        bool names_the_culprit = false;
        for (const auto& frame : r.backtrace) {
            names_the_culprit |= frame.find("hog_the_shard_for") != std::string::npos;
        }
        CHECK(names_the_culprit);
        // Repeated reports back off exponentially: 120 ms at 20 ms gives at most 20, 40, 80 ms.
        CHECK(g_reports.size() <= 3);
    }

    TEST_CASE("tasks that yield in time and idle waits are not reported") {
        capture_reports capture;
        sync_wait(
            []() -> task<> {
                for (int i = 0; i < 10; ++i) {
                    hog_the_shard_for(2ms);
                    co_await sleep_for(5ms); // idle: the reactor sleeps, nothing runs
                }
            }(),
            with_threshold(20ms));
        std::lock_guard lock(g_mutex);
        CHECK(g_reports.empty());
    }
}
