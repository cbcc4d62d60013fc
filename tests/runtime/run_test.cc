#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "runtime/preempt.hh"
#include "runtime/run.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/event.hh"
#include "runtime/timer.hh"
#include "tests/support/child_process.hh"
#include "tests/support/set_on_exit.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace std::chrono_literals;

namespace {

using percore::test::set_on_exit;

bool blocked(int signo) {
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, nullptr, &mask);
    return sigismember(&mask, signo) == 1;
}

bool pending(int signo) {
    sigset_t set;
    sigpending(&set);
    return sigismember(&set, signo) == 1;
}

void send_self(int signo) {
    ::kill(::getpid(), signo);
}

/// Parks until aborted.
task<> wait_forever(bool& unwound) {
    set_on_exit guard{unwound};
    event never;
    co_await never.wait();
}

/// When aborted, needs a (shielded) suspension to clean up, so whoever waits for it must really wait.
task<> slow_to_unwind(bool& cleaned_up) {
    bool interrupted = false;
    try {
        co_await sleep_for(1h);
    } catch (const aborted&) {
        interrupted = true;
    }
    if (interrupted) {
        detail::abort_shield shield;
        co_await sleep_for(3ms);
        cleaned_up = true;
        throw aborted();
    }
}

/// A main that sends itself `signo` after a moment and then waits forever; records what unwound.
struct stopped_by_signal {
    bool main_unwound = false;
    bool child_unwound = false;
    bool slow_cleaned_up = false;

    int run_with(int signo) {
        return percore::run([this, signo]() -> task<int> {
            set_on_exit guard{main_unwound};
            spawn(wait_forever(child_unwound)).detach();
            auto slow = spawn(slow_to_unwind(slow_cleaned_up));
            timer t([signo] { send_self(signo); });
            t.arm(2ms);
            event never;
            co_await never.wait();
            co_return 0;
        });
    }
};

} // namespace

TEST_SUITE("runtime/run") {
    TEST_CASE("run returns main's value as the exit code") {
        CHECK(percore::run([]() -> task<int> {
                  co_await yield();
                  co_return 42;
              }) == 42);
        CHECK(percore::run([]() -> task<int> { co_return 0; }) == 0);
        int calls = 0;
        CHECK(percore::run([&]() -> task<int> {
                  ++calls;
                  co_await sleep_for(1ms);
                  co_return 3;
              }) == 3);
        CHECK(calls == 1);
    }

    TEST_CASE("run returns 1 when an exception escapes main") {
        CHECK(percore::run([]() -> task<int> {
                  co_await yield();
                  throw std::runtime_error("main failed");
              }) == 1);
    }

    TEST_CASE("run leaves the signal mask as it found it") {
        REQUIRE_FALSE(blocked(SIGTERM));
        (void)percore::run([]() -> task<int> {
            CHECK(blocked(SIGTERM)); // while run is active, stop signals go to its signalfd
            CHECK(blocked(SIGINT));
            co_return 0;
        });
        CHECK_FALSE(blocked(SIGTERM));
        CHECK_FALSE(blocked(SIGINT));
        // A mask that already blocked SIGTERM keeps it blocked.
        sigset_t term;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &term, nullptr);
        (void)percore::run([]() -> task<int> { co_return 0; });
        CHECK(blocked(SIGTERM));
        CHECK_FALSE(blocked(SIGINT));
        pthread_sigmask(SIG_UNBLOCK, &term, nullptr);
    }

    TEST_CASE("SIGTERM stops a main that waits forever: run returns 128 + SIGTERM once every task unwound") {
        stopped_by_signal s;
        CHECK(s.run_with(SIGTERM) == 128 + SIGTERM);
        CHECK(s.main_unwound);
        CHECK(s.child_unwound);
        CHECK(s.slow_cleaned_up); // run waited for the task that needed time to unwind
        CHECK_FALSE(pending(SIGTERM));
        CHECK_FALSE(blocked(SIGTERM));
    }

    TEST_CASE("SIGINT stops run the same way, with 128 + SIGINT") {
        stopped_by_signal s;
        CHECK(s.run_with(SIGINT) == 128 + SIGINT);
        CHECK(s.main_unwound);
        CHECK(s.child_unwound);
        CHECK(s.slow_cleaned_up);
        CHECK_FALSE(pending(SIGINT));
    }

    TEST_CASE("run can run again after a signal stopped it") {
        stopped_by_signal s;
        CHECK(s.run_with(SIGTERM) == 128 + SIGTERM);
        CHECK(percore::run([]() -> task<int> { co_return 5; }) == 5);
    }

    TEST_CASE("handle_signal replaces the default reaction: main continues and returns 0") {
        int handled = 0;
        bool spawned_ran = false;
        const int code = percore::run([&]() -> task<int> {
            event got;
            handle_signal(SIGTERM, [&] {
                ++handled;
                // The handler runs on the reactor, outside any task, and may spawn tasks.
                spawn([](bool& ran, event& e) -> task<> {
                    ran = true;
                    e.set();
                    co_return;
                }(spawned_ran, got))
                    .detach();
            });
            timer t([] { send_self(SIGTERM); });
            t.arm(1ms);
            co_await got.wait();
            co_await sleep_for(2ms); // still running: the signal did not stop anything
            co_return 0;
        });
        CHECK(code == 0);
        CHECK(handled == 1);
        CHECK(spawned_ran);
        CHECK_FALSE(pending(SIGTERM));
    }

    TEST_CASE("a handler for one signal leaves the other with its default reaction") {
        bool main_unwound = false;
        int handled = 0;
        const int code = percore::run([&]() -> task<int> {
            set_on_exit guard{main_unwound};
            handle_signal(SIGINT, [&] { ++handled; });
            send_self(SIGINT);
            co_await sleep_for(5ms);
            send_self(SIGTERM);
            event never;
            co_await never.wait();
            co_return 0;
        });
        CHECK(handled == 1);
        CHECK(code == 128 + SIGTERM);
        CHECK(main_unwound);
    }

    TEST_CASE("handle_signal is refused outside run and for other signals") {
        CHECK_THROWS_AS(handle_signal(SIGTERM, [] {}), std::logic_error);
        bool refused = false;
        CHECK(percore::run([&]() -> task<int> {
                  try {
                      handle_signal(SIGUSR1, [] {});
                  } catch (const std::invalid_argument&) {
                      refused = true;
                  }
                  co_return 0;
              }) == 0);
        CHECK(refused);
    }

    TEST_CASE("a second signal while stopping exits at once with 128 + that signal") {
        // The stubborn task answers the first signal's abort by sending a second one and then refusing to stop; a
        // run that waited for it would end with 128 + SIGTERM only after an hour.
        auto st = test::run_in_child([] {
            return percore::run([]() -> task<int> {
                spawn([]() -> task<> {
                    bool interrupted = false;
                    try {
                        co_await sleep_for(1h);
                    } catch (const aborted&) {
                        interrupted = true;
                    }
                    if (interrupted) {
                        send_self(SIGINT);
                        detail::abort_shield shield;
                        co_await sleep_for(1h);
                    }
                }())
                    .detach();
                timer t([] { send_self(SIGTERM); });
                t.arm(2ms);
                event never;
                co_await never.wait();
                co_return 0;
            });
        });
        CHECK_FALSE(st.timed_out);
        CHECK(st.exited);
        CHECK(st.code == 128 + SIGINT);
        INFO("child stderr: " << st.err);
    }

    TEST_CASE("a stop signal that arrives as main returns does not kill the process after run returns") {
        // The signal is queued for run's signalfd, but main ends before the reactor reads it. run must not leave
        // it pending when it unblocks the signal, or the default action kills the process.
        for (int signo : {SIGTERM, SIGINT}) {
            CAPTURE(signo);
            auto st = test::run_in_child([signo] {
                const int code = percore::run([signo]() -> task<int> {
                    send_self(signo);
                    co_return 7;
                });
                return code == 7 || code == 128 + signo ? 0 : 100 + code;
            });
            CHECK_FALSE(st.timed_out);
            CHECK(st.signal == 0);
            CHECK(st.exited);
            CHECK(st.code == 0);
        }
    }

    TEST_CASE("a stop signal with a handler that arrives as main returns does not kill the process") {
        auto st = test::run_in_child([] {
            return percore::run([]() -> task<int> {
                handle_signal(SIGTERM, [] {});
                send_self(SIGTERM);
                co_return 0;
            });
        });
        CHECK_FALSE(st.timed_out);
        CHECK(st.signal == 0);
        CHECK(st.exited);
        CHECK(st.code == 0);
    }
}
