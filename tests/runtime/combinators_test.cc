#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/log.hh"
#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/event.hh"
#include "runtime/timer.hh"
#include "runtime/when_all.hh"
#include "runtime/when_any.hh"
#include "runtime/with_timeout.hh"
#include "tests/support/counted.hh"
#include "tests/support/set_on_exit.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace std::chrono_literals;
using percore::test::counted;

namespace {

using percore::test::set_on_exit;

template <typename T>
task<T> value_after(duration d, T v) {
    co_await sleep_for(d);
    co_return v;
}

task<> sleep_then_count(duration d, int& count) {
    co_await sleep_for(d);
    ++count;
}

template <typename E>
task<int> throw_after(duration d, const char* what) {
    co_await sleep_for(d);
    throw E(what);
}

/// Waits forever; when aborted, needs a suspension (shielded) to clean up before it lets `aborted` out.
task<int> slow_to_unwind(bool& started, bool& cleaned_up, bool& unwound) {
    set_on_exit guard{unwound};
    started = true;
    std::exception_ptr interrupted;
    try {
        co_await sleep_for(1h);
    } catch (const aborted&) {
        interrupted = std::current_exception();
    }
    if (interrupted) {
        {
            detail::abort_shield shield;
            co_await sleep_for(2ms);
        }
        cleaned_up = true;
        std::rethrow_exception(interrupted);
    }
    co_return -1;
}

task<> forever(bool& unwound) {
    set_on_exit guard{unwound};
    co_await sleep_for(1h);
}

task<counted> make_counted(int id) {
    co_await yield();
    co_return counted(id);
}

/// Collects log lines while alive, to check what the runtime reports.
struct log_capture {
    std::vector<std::string> lines;
    log_capture() {
        set_log_sink(
            [](std::string_view line, void* self) { static_cast<log_capture*>(self)->lines.emplace_back(line); }, this);
    }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;
    ~log_capture() { set_log_sink(nullptr, nullptr); }
    [[nodiscard]] bool contains(std::string_view needle) const {
        for (const auto& l : lines) {
            if (l.find(needle) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
};

} // namespace

TEST_SUITE("runtime/when_all") {
    RUNTIME_TEST_CASE("when_all returns the results in argument order, not in finishing order") {
        auto [a, b, c] =
            co_await when_all(value_after(6ms, 1), value_after(3ms, std::string("two")), value_after(0ms, 3.5));
        CHECK(a == 1);
        CHECK(b == "two");
        CHECK(c == 3.5);
    }

    RUNTIME_TEST_CASE("when_all gives std::monostate for void tasks and still runs them") {
        int count = 0;
        auto r = co_await when_all(sleep_then_count(1ms, count), value_after(0ms, 9), sleep_then_count(0ms, count));
        static_assert(std::is_same_v<decltype(r), std::tuple<std::monostate, int, std::monostate>>);
        CHECK(std::get<1>(r) == 9);
        CHECK(count == 2);
    }

    RUNTIME_TEST_CASE("when_all runs its tasks concurrently") {
        // Each task waits for an event the other one sets: run one after the other, they would never finish.
        event a_ready;
        event b_ready;
        auto a = [](event& mine, event& theirs) -> task<int> {
            theirs.set();
            co_await mine.wait();
            co_return 1;
        };
        auto b = [](event& mine, event& theirs) -> task<int> {
            co_await mine.wait();
            theirs.set();
            co_return 2;
        };
        auto [x, y] = co_await with_timeout(30s, when_all(a(a_ready, b_ready), b(b_ready, a_ready)));
        CHECK(x == 1);
        CHECK(y == 2);
    }

    RUNTIME_TEST_CASE("when_all over a vector returns the results in order") {
        std::vector<task<int>> tasks;
        for (int i = 0; i < 20; ++i) {
            tasks.push_back(value_after(std::chrono::microseconds(100 * (20 - i)), i));
        }
        std::vector<int> results = co_await when_all(std::move(tasks));
        REQUIRE(results.size() == 20);
        for (int i = 0; i < 20; ++i) {
            CHECK(results[i] == i);
        }
    }

    RUNTIME_TEST_CASE("when_all over a vector of void tasks runs every task") {
        int count = 0;
        std::vector<task<>> tasks;
        for (int i = 0; i < 50; ++i) {
            tasks.push_back(sleep_then_count(std::chrono::microseconds(i * 20), count));
        }
        co_await when_all(std::move(tasks));
        CHECK(count == 50);
    }

    RUNTIME_TEST_CASE("when_all over an empty vector returns an empty vector") {
        std::vector<int> results = co_await when_all(std::vector<task<int>>{});
        CHECK(results.empty());
    }

    RUNTIME_TEST_CASE("when_all lets every task finish when one throws, then rethrows the first in argument order") {
        // The second task throws first in time; the first task's exception still wins, and the third task, which
        // finishes last, still runs to its end.
        int finished = 0;
        bool caught_domain_error = false;
        try {
            (void)co_await when_all(throw_after<std::domain_error>(4ms, "first in argument order"),
                                    throw_after<std::invalid_argument>(0ms, "first in time"),
                                    sleep_then_count(8ms, finished));
        } catch (const std::domain_error& e) {
            caught_domain_error = std::string_view(e.what()) == "first in argument order";
        }
        CHECK(caught_domain_error);
        CHECK(finished == 1);
    }

    RUNTIME_TEST_CASE("when_all over a vector lets every task finish, then rethrows the first in argument order") {
        int finished = 0;
        std::vector<task<>> tasks;
        tasks.push_back(sleep_then_count(1ms, finished));
        tasks.push_back([]() -> task<> {
            co_await sleep_for(3ms);
            throw std::domain_error("second");
        }());
        tasks.push_back([]() -> task<> {
            co_await yield();
            throw std::invalid_argument("third");
        }());
        tasks.push_back(sleep_then_count(6ms, finished));
        CHECK_THROWS_AS(co_await when_all(std::move(tasks)), std::domain_error);
        CHECK(finished == 2);
    }

    RUNTIME_TEST_CASE("when_all does not report the exceptions it did not rethrow as unobserved") {
        log_capture logs;
        CHECK_THROWS_AS((void)co_await when_all(throw_after<std::domain_error>(0ms, "a"),
                                                throw_after<std::invalid_argument>(1ms, "b")),
                        std::domain_error);
        co_await sleep_for(1ms); // any report would have been made when the children's fibers were freed
        CHECK_FALSE(logs.contains("nobody joined"));
    }

    RUNTIME_TEST_CASE("aborting the caller of when_all aborts the children and waits for them to unwind") {
        bool started = false;
        bool cleaned_up = false;
        bool slow_unwound = false;
        bool other_unwound = false;
        bool caller_saw_cleanup = false;
        auto caller = spawn([&]() -> task<> {
            try {
                (void)co_await when_all(slow_to_unwind(started, cleaned_up, slow_unwound), forever(other_unwound));
            } catch (const aborted&) {
                caller_saw_cleanup = cleaned_up && slow_unwound && other_unwound;
                throw;
            }
        });
        while (!started) {
            co_await yield();
        }
        co_await yield(); // both children are parked in their sleeps
        caller.abort();
        CHECK_THROWS_AS(co_await caller, aborted);
        CHECK(caller_saw_cleanup);
        CHECK(cleaned_up);
        CHECK(slow_unwound);
        CHECK(other_unwound);
    }

    RUNTIME_TEST_CASE("aborting the caller of when_all over a vector aborts every child and waits for them") {
        constexpr int n = 10;
        std::vector<char> unwound(n, 0);
        bool all_unwound_when_caller_resumed = false;
        auto caller = spawn([&]() -> task<> {
            std::vector<task<>> tasks;
            for (int i = 0; i < n; ++i) {
                tasks.push_back([](char& flag, int ms) -> task<> {
                    bool interrupted = false;
                    try {
                        co_await sleep_for(std::chrono::hours(ms));
                    } catch (const aborted&) {
                        interrupted = true;
                    }
                    if (interrupted) {
                        detail::abort_shield shield;
                        co_await sleep_for(std::chrono::microseconds(100 * ms));
                        flag = 1;
                        throw aborted();
                    }
                }(unwound[i], i + 1));
            }
            try {
                co_await when_all(std::move(tasks));
            } catch (const aborted&) {
                all_unwound_when_caller_resumed = true;
                for (char f : unwound) {
                    all_unwound_when_caller_resumed = all_unwound_when_caller_resumed && f == 1;
                }
                throw;
            }
        });
        co_await sleep_for(1ms);
        caller.abort();
        CHECK_THROWS_AS(co_await caller, aborted);
        CHECK(all_unwound_when_caller_resumed);
    }

    RUNTIME_TEST_CASE("when_all moves results without copying them") {
        counted::reset();
        {
            auto [a, b] = co_await when_all(make_counted(1), make_counted(2));
            CHECK(a.id == 1);
            CHECK(b.id == 2);
            std::vector<task<counted>> tasks;
            for (int i = 0; i < 5; ++i) {
                tasks.push_back(make_counted(10 + i));
            }
            auto v = co_await when_all(std::move(tasks));
            REQUIRE(v.size() == 5);
            CHECK(v[4].id == 14);
        }
        CHECK(counted::copies == 0);
        CHECK(counted::alive() == 0);
    }
}

TEST_SUITE("runtime/when_any") {
    RUNTIME_TEST_CASE("when_any returns the first task to finish, at its index") {
        auto r = co_await when_any(value_after(1h, 1), value_after(1ms, std::string("fast")), value_after(1h, 3));
        static_assert(std::is_same_v<decltype(r), std::variant<int, std::string, int>>);
        REQUIRE(r.index() == 1);
        CHECK(std::get<1>(r) == "fast");
    }

    RUNTIME_TEST_CASE("when_any with void tasks gives std::monostate at the winner's index") {
        int count = 0;
        auto r = co_await when_any(sleep_then_count(1h, count), sleep_then_count(0ms, count));
        static_assert(std::is_same_v<decltype(r), std::variant<std::monostate, std::monostate>>);
        CHECK(r.index() == 1);
        CHECK(count == 1);
    }

    RUNTIME_TEST_CASE("when_any rethrows the exception of the first task to finish") {
        CHECK_THROWS_AS((void)co_await when_any(value_after(1h, 1), throw_after<std::domain_error>(1ms, "first")),
                        std::domain_error);
    }

    RUNTIME_TEST_CASE("a value that finishes before an exception wins when_any") {
        auto r = co_await when_any(throw_after<std::domain_error>(20ms, "late"), value_after(0ms, 5));
        REQUIRE(r.index() == 1);
        CHECK(std::get<1>(r) == 5);
    }

    RUNTIME_TEST_CASE("when_any aborts the losers, and they have unwound when it returns") {
        bool started = false;
        bool cleaned_up = false;
        bool slow_unwound = false;
        bool other_unwound = false;
        auto r = co_await when_any(
            slow_to_unwind(started, cleaned_up, slow_unwound),
            [](bool& unwound) -> task<int> {
                co_await forever(unwound);
                co_return -2;
            }(other_unwound),
            value_after(1ms, 3));
        CHECK(r.index() == 2);
        CHECK(started);
        CHECK(cleaned_up);
        CHECK(slow_unwound);
        CHECK(other_unwound);
        CHECK(this_reactor().timers().empty()); // no loser left a sleep behind
    }

    RUNTIME_TEST_CASE("when_any over a vector returns the winner's index and value") {
        std::vector<task<int>> tasks;
        for (int i = 0; i < 10; ++i) {
            tasks.push_back(value_after(i == 6 ? duration(1ms) : duration(1h), 100 + i));
        }
        auto [index, value] = co_await when_any(std::move(tasks));
        CHECK(index == 6);
        CHECK(value == 106);
        CHECK(this_reactor().timers().empty());
    }

    RUNTIME_TEST_CASE("when_any over a vector of void tasks returns the winner's index") {
        int count = 0;
        std::vector<task<>> tasks;
        tasks.push_back(sleep_then_count(1h, count));
        tasks.push_back(sleep_then_count(1h, count));
        tasks.push_back(sleep_then_count(1ms, count));
        std::size_t index = co_await when_any(std::move(tasks));
        CHECK(index == 2);
        CHECK(count == 1);
    }

    RUNTIME_TEST_CASE("when_any over a vector rethrows the winner's exception") {
        std::vector<task<int>> tasks;
        tasks.push_back(value_after(1h, 1));
        tasks.push_back(throw_after<std::out_of_range>(1ms, "winner"));
        CHECK_THROWS_AS((void)co_await when_any(std::move(tasks)), std::out_of_range);
    }

    RUNTIME_TEST_CASE("when_any over an empty vector is rejected") {
        CHECK_THROWS_AS((void)co_await when_any(std::vector<task<int>>{}), std::invalid_argument);
    }

    RUNTIME_TEST_CASE("when_any does not report the losers' exceptions as unobserved") {
        log_capture logs;
        // The loser turns its abort into another exception: discarded on purpose, so not worth a warning.
        auto loser = []() -> task<int> {
            try {
                co_await sleep_for(1h);
            } catch (const aborted&) {
                throw std::runtime_error("loser cleanup failed");
            }
            co_return 0;
        };
        auto r = co_await when_any(loser(), value_after(1ms, 2));
        CHECK(r.index() == 1);
        co_await sleep_for(1ms);
        CHECK_FALSE(logs.contains("nobody joined"));
    }

    RUNTIME_TEST_CASE("aborting the caller of when_any aborts every child and waits for them") {
        bool started = false;
        bool cleaned_up = false;
        bool slow_unwound = false;
        bool other_unwound = false;
        bool caller_saw_cleanup = false;
        auto caller = spawn([&]() -> task<> {
            try {
                (void)co_await when_any(slow_to_unwind(started, cleaned_up, slow_unwound),
                                        [](bool& unwound) -> task<int> {
                                            co_await forever(unwound);
                                            co_return 0;
                                        }(other_unwound));
            } catch (const aborted&) {
                caller_saw_cleanup = cleaned_up && slow_unwound && other_unwound;
                throw;
            }
        });
        while (!started) {
            co_await yield();
        }
        co_await yield();
        caller.abort();
        CHECK_THROWS_AS(co_await caller, aborted);
        CHECK(caller_saw_cleanup);
        CHECK(this_reactor().timers().empty());
    }

    RUNTIME_TEST_CASE("when_any moves the winner's value without copying it and leaks nothing") {
        counted::reset();
        {
            auto r = co_await when_any(make_counted(1), value_after(1h, counted(2)));
            REQUIRE(r.index() == 0);
            CHECK(std::get<0>(r).id == 1);
        }
        CHECK(counted::copies == 0);
        CHECK(counted::alive() == 0);
    }
}
