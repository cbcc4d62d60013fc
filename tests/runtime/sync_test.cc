#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "runtime/defer.hh"
#include "runtime/preempt.hh"
#include "runtime/reactor.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/condition_variable.hh"
#include "runtime/sync/event.hh"
#include "runtime/sync/mutex.hh"
#include "runtime/sync/semaphore.hh"
#include "runtime/sync/shared_mutex.hh"
#include "runtime/timer.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace std::chrono_literals;

namespace {

/// Lets every runnable task run until it parks (a few scheduler passes).
task<> settle() {
    for (int i = 0; i < 5; ++i) {
        co_await yield();
    }
}

task<> take_units(semaphore& s, std::size_t units, std::vector<int>& order, int id) {
    co_await s.wait(units);
    order.push_back(id);
}

task<> lock_and_record(mutex& m, std::vector<int>& order, int id) {
    co_await m.lock();
    order.push_back(id);
    co_await yield(); // keep the lock across a suspension
    m.unlock();
}

task<> read_locked(shared_mutex& m, std::vector<std::string>& log, std::string name, event& release) {
    co_await m.lock_shared();
    log.push_back(name);
    log.back().push_back('+');
    co_await release.wait();
    log.push_back(name);
    log.back().push_back('-');
    m.unlock_shared();
}

task<> write_locked(shared_mutex& m, std::vector<std::string>& log, std::string name, event& release) {
    co_await m.lock();
    log.push_back(name);
    log.back().push_back('+');
    co_await release.wait();
    log.push_back(name);
    log.back().push_back('-');
    m.unlock();
}

task<> wait_and_record(condition_variable& cv, std::vector<int>& woken, int id) {
    co_await cv.wait();
    woken.push_back(id);
}

} // namespace

TEST_SUITE("runtime/semaphore") {
    RUNTIME_TEST_CASE("semaphore wait takes available units; try_wait fails when units are short") {
        semaphore s(3);
        co_await s.wait(2);
        CHECK(s.available_units() == 1);
        CHECK_FALSE(s.try_wait(2));
        CHECK(s.available_units() == 1);
        CHECK(s.try_wait(1));
        CHECK(s.available_units() == 0);
        CHECK_FALSE(s.try_wait());
        s.signal(3);
        CHECK(s.available_units() == 3);
    }

    RUNTIME_TEST_CASE("a waiter asking for many units holds back later small ones") {
        semaphore s(1);
        std::vector<int> order;
        auto big = spawn(take_units(s, 3, order, 1));
        auto small = spawn(take_units(s, 1, order, 2));
        co_await settle();
        // One unit is free, enough for the small request, but the big one arrived first.
        CHECK(order.empty());
        CHECK(s.waiters() == 2);
        CHECK(s.available_units() == 1);
        CHECK_FALSE(s.try_wait(1)); // nor may try_wait jump the queue
        s.signal(1);
        co_await settle();
        CHECK(order.empty());
        s.signal(1); // now 3: the big one goes, the small one still waits
        co_await big;
        co_await settle();
        CHECK(order == std::vector<int>{1});
        CHECK(s.available_units() == 0);
        s.signal(1);
        co_await small;
        CHECK(order == std::vector<int>{1, 2});
    }

    RUNTIME_TEST_CASE("semaphore signal wakes waiters in arrival order") {
        semaphore s(0);
        std::vector<int> order;
        std::vector<join_handle<void>> hs;
        for (int i = 0; i < 8; ++i) {
            hs.push_back(spawn(take_units(s, 1, order, i)));
        }
        co_await settle();
        CHECK(s.waiters() == 8);
        s.signal(3);
        co_await settle();
        CHECK(order == std::vector<int>{0, 1, 2});
        s.signal(5);
        for (auto& h : hs) {
            co_await h;
        }
        CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
        CHECK(s.available_units() == 0);
    }

    RUNTIME_TEST_CASE("a broken semaphore fails current and future waits with broken_semaphore") {
        semaphore s(0);
        std::vector<int> order;
        std::vector<join_handle<void>> hs;
        for (int i = 0; i < 3; ++i) {
            hs.push_back(spawn(take_units(s, 1, order, i)));
        }
        co_await settle();
        s.broken();
        for (auto& h : hs) {
            CHECK_THROWS_AS(co_await h, broken_semaphore);
        }
        CHECK(order.empty());
        CHECK(s.waiters() == 0);
        CHECK_THROWS_AS(co_await s.wait(), broken_semaphore);
        s.signal(5); // units are back, but the semaphore stays broken
        CHECK_THROWS_AS(co_await s.wait(), broken_semaphore);
        CHECK_FALSE(s.try_wait());
    }

    RUNTIME_TEST_CASE("aborting a parked waiter unlinks it and lets the next one through") {
        semaphore s(2);
        std::vector<int> order;
        auto big = spawn(take_units(s, 3, order, 1));   // cannot be served: holds the queue
        auto small = spawn(take_units(s, 1, order, 2)); // could be served, but waits behind big
        co_await settle();
        CHECK(s.waiters() == 2);
        big.abort();
        CHECK_THROWS_AS(co_await big, aborted);
        co_await small;
        CHECK(order == std::vector<int>{2});
        CHECK(s.waiters() == 0);
        CHECK(s.available_units() == 1);
    }

    RUNTIME_TEST_CASE("a waiter granted units and aborted before it resumes keeps them: no unit is lost") {
        semaphore s(0);
        bool granted = false;
        auto holder = spawn([&]() -> task<> {
            co_await s.wait(2);
            auto release = defer([&] { s.signal(2); });
            granted = true;
            co_await sleep_for(1h); // the abort shows here
        });
        std::vector<int> order;
        auto next = spawn(take_units(s, 2, order, 7)); // queued behind the holder
        co_await settle();
        CHECK(s.waiters() == 2);
        s.signal(2);    // grants the holder
        holder.abort(); // in the same pass, before the holder resumes
        CHECK_THROWS_AS(co_await holder, aborted);
        CHECK(granted); // the wait completed: the abort only showed at the next suspension
        co_await next;  // the units the holder gave back reached the next waiter
        CHECK(order == std::vector<int>{7});
        CHECK(s.available_units() == 0);
        s.signal(2);
        CHECK(s.available_units() == 2);
        CHECK(s.waiters() == 0);
    }

    RUNTIME_TEST_CASE("an aborted task does not take available units") {
        semaphore s(1);
        bool got = false;
        auto h = spawn([&]() -> task<> {
            co_await s.wait();
            got = true;
        });
        h.abort(); // before it starts: its wait is an abort point even with units free
        CHECK_THROWS_AS(co_await h, aborted);
        CHECK_FALSE(got);
        CHECK(s.available_units() == 1);
    }
}

TEST_SUITE("runtime/mutex") {
    RUNTIME_TEST_CASE("mutex excludes other tasks across suspension points") {
        mutex m;
        int inside = 0;
        int max_inside = 0;
        int entries = 0;
        std::vector<join_handle<void>> hs;
        for (int t = 0; t < 20; ++t) {
            hs.push_back(spawn([&, t]() -> task<> {
                unsigned x = 2654435761u * static_cast<unsigned>(t + 1);
                for (int i = 0; i < 50; ++i) {
                    co_await m.lock();
                    ++inside;
                    max_inside = std::max(max_inside, inside);
                    ++entries;
                    x = x * 1103515245u + 12345u;
                    for (unsigned k = 0; k < (x >> 16) % 3; ++k) {
                        co_await yield();
                    }
                    if ((x >> 20) % 7 == 0) {
                        co_await sleep_for(0ms);
                    }
                    --inside;
                    m.unlock();
                    if ((x >> 24) % 2 == 0) {
                        co_await yield();
                    }
                }
            }));
        }
        for (auto& h : hs) {
            co_await h;
        }
        CHECK(entries == 20 * 50);
        CHECK(max_inside == 1);
        CHECK_FALSE(m.locked());
    }

    RUNTIME_TEST_CASE("mutex hands the lock to waiters in FIFO order") {
        mutex m;
        co_await m.lock();
        std::vector<int> order;
        std::vector<join_handle<void>> hs;
        for (int i = 0; i < 10; ++i) {
            hs.push_back(spawn(lock_and_record(m, order, i)));
        }
        co_await settle();
        CHECK(order.empty());
        m.unlock();
        for (auto& h : hs) {
            co_await h;
        }
        std::vector<int> expected;
        for (int i = 0; i < 10; ++i) {
            expected.push_back(i);
        }
        CHECK(order == expected);
        CHECK_FALSE(m.locked());
    }

    RUNTIME_TEST_CASE("scoped_lock returns a guard that releases the lock when it goes out of scope") {
        mutex m;
        {
            auto g = co_await m.scoped_lock();
            CHECK(m.locked());
            CHECK_FALSE(m.try_lock());
            auto moved = std::move(g); // the moved-from guard must not unlock
            g.unlock();
            CHECK(m.locked());
        }
        CHECK_FALSE(m.locked());
        {
            auto g = co_await m.scoped_lock();
            g.unlock(); // early release; the destructor then does nothing
            CHECK_FALSE(m.locked());
            CHECK(m.try_lock());
        }
        CHECK(m.locked()); // held by try_lock above, not released by the guard
        m.unlock();
    }

    RUNTIME_TEST_CASE("a guard releases the lock when the task unwinds with an exception") {
        mutex m;
        auto h = spawn([&]() -> task<> {
            auto g = co_await m.scoped_lock();
            co_await yield();
            throw std::runtime_error("inside the lock");
        });
        CHECK_THROWS_AS(co_await h, std::runtime_error);
        CHECK_FALSE(m.locked());
    }

    TEST_CASE("try_lock takes a free mutex and fails on a held one") {
        mutex m;
        CHECK(m.try_lock());
        CHECK(m.locked());
        CHECK_FALSE(m.try_lock());
        m.unlock();
        CHECK_FALSE(m.locked());
        CHECK(m.try_lock());
        m.unlock();
    }

    RUNTIME_TEST_CASE("aborting a task waiting for a mutex leaves the lock to the next waiter") {
        mutex m;
        co_await m.lock();
        std::vector<int> order;
        auto first = spawn(lock_and_record(m, order, 1));
        auto second = spawn(lock_and_record(m, order, 2));
        co_await settle();
        first.abort();
        CHECK_THROWS_AS(co_await first, aborted);
        m.unlock();
        co_await second;
        CHECK(order == std::vector<int>{2});
        CHECK_FALSE(m.locked());
    }
}

TEST_SUITE("runtime/shared_mutex") {
    RUNTIME_TEST_CASE("many readers hold a shared_mutex at once") {
        shared_mutex m;
        std::vector<std::string> log;
        event release;
        std::vector<join_handle<void>> hs;
        for (int i = 0; i < 5; ++i) {
            hs.push_back(spawn(read_locked(m, log, std::to_string(i), release)));
        }
        co_await settle();
        CHECK(m.readers() == 5);
        CHECK(log.size() == 5);
        CHECK_FALSE(m.try_lock());
        CHECK(m.try_lock_shared());
        m.unlock_shared();
        release.set();
        for (auto& h : hs) {
            co_await h;
        }
        CHECK(m.readers() == 0);
        CHECK(m.try_lock());
        m.unlock();
    }

    RUNTIME_TEST_CASE("a writer holds a shared_mutex alone") {
        shared_mutex m;
        std::vector<std::string> log;
        event release_w1;
        event release_r;
        event release_w2;
        auto w1 = spawn(write_locked(m, log, "w1", release_w1));
        co_await settle();
        auto r = spawn(read_locked(m, log, "r", release_r));
        auto w2 = spawn(write_locked(m, log, "w2", release_w2));
        co_await settle();
        CHECK(m.locked_exclusive());
        CHECK(log == std::vector<std::string>{"w1+"});
        CHECK_FALSE(m.try_lock_shared());
        CHECK_FALSE(m.try_lock());
        release_w1.set();
        co_await w1;
        co_await settle();
        CHECK(log == std::vector<std::string>{"w1+", "w1-", "r+"});
        CHECK(m.readers() == 1);
        release_r.set();
        co_await r;
        co_await settle();
        CHECK(m.locked_exclusive());
        release_w2.set();
        co_await w2;
        CHECK(log == std::vector<std::string>{"w1+", "w1-", "r+", "r-", "w2+", "w2-"});
        CHECK_FALSE(m.locked_exclusive());
    }

    RUNTIME_TEST_CASE("a queued writer holds back later readers, so writers are not starved") {
        shared_mutex m;
        std::vector<std::string> log;
        event release_r1;
        event release_w;
        event release_r2;
        auto r1 = spawn(read_locked(m, log, "r1", release_r1));
        co_await settle();
        auto w = spawn(write_locked(m, log, "w", release_w));
        co_await settle();
        auto r2 = spawn(read_locked(m, log, "r2", release_r2));
        co_await settle();
        // Only a reader holds the lock, yet the second reader waits behind the writer.
        CHECK(log == std::vector<std::string>{"r1+"});
        CHECK(m.readers() == 1);
        CHECK_FALSE(m.try_lock_shared());
        release_r1.set();
        co_await r1;
        co_await settle();
        CHECK(log == std::vector<std::string>{"r1+", "r1-", "w+"});
        release_w.set();
        release_r2.set();
        co_await w;
        co_await r2;
        CHECK(log == std::vector<std::string>{"r1+", "r1-", "w+", "w-", "r2+", "r2-"});
    }

    RUNTIME_TEST_CASE("aborting a queued writer lets the readers behind it in") {
        shared_mutex m;
        std::vector<std::string> log;
        event release;
        auto r1 = spawn(read_locked(m, log, "r1", release));
        co_await settle();
        auto w = spawn(write_locked(m, log, "w", release));
        co_await settle();
        auto r2 = spawn(read_locked(m, log, "r2", release));
        co_await settle();
        CHECK(m.readers() == 1);
        w.abort();
        CHECK_THROWS_AS(co_await w, aborted);
        co_await settle();
        CHECK(m.readers() == 2);
        release.set();
        co_await r1;
        co_await r2;
        CHECK(m.readers() == 0);
        CHECK_FALSE(m.locked_exclusive());
    }
}

TEST_SUITE("runtime/condition_variable") {
    RUNTIME_TEST_CASE("signal wakes one waiter, the one that waited longest") {
        condition_variable cv;
        std::vector<int> woken;
        std::vector<join_handle<void>> hs;
        for (int i = 0; i < 3; ++i) {
            hs.push_back(spawn(wait_and_record(cv, woken, i)));
        }
        co_await settle();
        CHECK(cv.waiters() == 3);
        cv.signal();
        co_await settle();
        CHECK(woken == std::vector<int>{0});
        CHECK(cv.waiters() == 2);
        cv.signal();
        cv.signal();
        for (auto& h : hs) {
            co_await h;
        }
        CHECK(woken == std::vector<int>{0, 1, 2});
    }

    RUNTIME_TEST_CASE("broadcast wakes every waiter") {
        condition_variable cv;
        std::vector<int> woken;
        std::vector<join_handle<void>> hs;
        for (int i = 0; i < 5; ++i) {
            hs.push_back(spawn(wait_and_record(cv, woken, i)));
        }
        co_await settle();
        cv.broadcast();
        for (auto& h : hs) {
            co_await h;
        }
        CHECK(woken == std::vector<int>{0, 1, 2, 3, 4});
        CHECK(cv.waiters() == 0);
    }

    RUNTIME_TEST_CASE("a signal with nobody waiting is not remembered") {
        condition_variable cv;
        cv.signal();
        cv.broadcast();
        CHECK_FALSE(co_await cv.wait_for(2ms));
    }

    RUNTIME_TEST_CASE("wait with a predicate keeps waiting until the predicate holds") {
        condition_variable cv;
        int value = 0;
        int checks = 0;
        bool done = false;
        auto h = spawn([&]() -> task<> {
            co_await cv.wait([&] {
                ++checks;
                return value >= 3;
            });
            done = true;
        });
        co_await settle();
        CHECK(checks == 1);
        for (int i = 1; i <= 3; ++i) {
            value = i;
            cv.signal();
            co_await settle();
            CHECK(checks == i + 1);
            CHECK(done == (i == 3));
        }
        co_await h;
    }

    RUNTIME_TEST_CASE("wait with a predicate that already holds does not wait") {
        condition_variable cv;
        co_await cv.wait([] { return true; });
        CHECK(cv.waiters() == 0);
    }

    RUNTIME_TEST_CASE("wait_for returns false after the timeout has passed") {
        condition_variable cv;
        const auto start = clock_type::now();
        const bool signalled = co_await cv.wait_for(5ms);
        CHECK_FALSE(signalled);
        CHECK(clock_type::now() - start >= 5ms);
        CHECK(cv.waiters() == 0);
        CHECK(this_reactor().timers().empty());
    }

    RUNTIME_TEST_CASE("wait_until a deadline already past returns false") {
        condition_variable cv;
        CHECK_FALSE(co_await cv.wait_until(clock_type::now() - 1s));
        CHECK(cv.waiters() == 0);
        CHECK(this_reactor().timers().empty());
    }

    RUNTIME_TEST_CASE("wait_for returns true when signalled before the timeout, and disarms its timer") {
        condition_variable cv;
        bool result = false;
        auto h = spawn([&]() -> task<> { result = co_await cv.wait_for(1h); });
        co_await settle();
        CHECK(this_reactor().timers().size() == 1);
        cv.signal();
        co_await h;
        CHECK(result);
        CHECK(this_reactor().timers().empty());
    }

    RUNTIME_TEST_CASE("wait_until with a predicate returns false on the deadline and true once it holds") {
        // Regression: written as `if (!co_await wait_until(deadline))`, this coroutine hung or trapped (SIGILL)
        // when built with GCC 12.2, which miscompiles co_await inside an if condition.
        condition_variable cv;
        bool flag = false;
        CHECK_FALSE(co_await cv.wait_until(clock_type::now() + 3ms, [&] { return flag; }));
        bool result = false;
        auto h =
            spawn([&]() -> task<> { result = co_await cv.wait_until(clock_type::now() + 1h, [&] { return flag; }); });
        co_await settle();
        cv.signal(); // spurious for the predicate
        co_await settle();
        CHECK_FALSE(h.done());
        flag = true;
        cv.signal();
        co_await h;
        CHECK(result);
    }

    RUNTIME_TEST_CASE("aborting a task waiting on a condition_variable raises aborted and leaves nothing behind") {
        condition_variable cv;
        auto plain = spawn([&]() -> task<> { co_await cv.wait(); });
        auto timed = spawn([&]() -> task<> { (void)co_await cv.wait_for(1h); });
        co_await settle();
        CHECK(cv.waiters() == 2);
        plain.abort();
        timed.abort();
        CHECK_THROWS_AS(co_await plain, aborted);
        CHECK_THROWS_AS(co_await timed, aborted);
        CHECK(cv.waiters() == 0);
        CHECK(this_reactor().timers().empty());
        cv.signal(); // nobody left to wake
    }
}

TEST_SUITE("runtime/event") {
    RUNTIME_TEST_CASE("set releases every current waiter, and later waits complete at once") {
        event e;
        int released = 0;
        std::vector<join_handle<void>> hs;
        for (int i = 0; i < 4; ++i) {
            hs.push_back(spawn([&]() -> task<> {
                co_await e.wait();
                ++released;
            }));
        }
        co_await settle();
        CHECK(released == 0);
        CHECK(e.waiters() == 4);
        e.set();
        CHECK(e.is_set());
        for (auto& h : hs) {
            co_await h;
        }
        CHECK(released == 4);
        co_await e.wait(); // already set: does not wait
        CHECK(e.waiters() == 0);
    }

    RUNTIME_TEST_CASE("reset makes later waits block again until the next set") {
        event e;
        e.set();
        e.reset();
        CHECK_FALSE(e.is_set());
        bool released = false;
        auto h = spawn([&]() -> task<> {
            co_await e.wait();
            released = true;
        });
        co_await settle();
        CHECK_FALSE(released);
        e.set();
        co_await h;
        CHECK(released);
    }

    RUNTIME_TEST_CASE("aborting an event waiter unlinks it") {
        event e;
        auto h = spawn([&]() -> task<> { co_await e.wait(); });
        co_await settle();
        CHECK(e.waiters() == 1);
        h.abort();
        CHECK_THROWS_AS(co_await h, aborted);
        CHECK(e.waiters() == 0);
        e.set();
    }
}
