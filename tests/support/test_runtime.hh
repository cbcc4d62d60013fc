/// \file
/// \brief doctest helpers: `RUNTIME_TEST_CASE("...") { co_await ...; }` runs its body as a task on a fresh
/// single-shard reactor (the way SEASTAR_TEST_CASE does).
#pragma once

#include <cstdlib>

#include <doctest/doctest.h>

#include "runtime/sync_wait.hh"

#define PERCORE_TEST_CAT2(a, b) a##b
#define PERCORE_TEST_CAT(a, b) PERCORE_TEST_CAT2(a, b)

#define PERCORE_RUNTIME_TEST_CASE_IMPL(fn, name)                                                                       \
    static percore::task<> fn();                                                                                       \
    TEST_CASE(name) {                                                                                                  \
        percore::sync_wait(fn(), percore::test::reactor_config_for_tests());                                           \
    }                                                                                                                  \
    static percore::task<> fn()

/// A test whose body is a coroutine returning percore::task<>.
#define RUNTIME_TEST_CASE(name)                                                                                        \
    PERCORE_RUNTIME_TEST_CASE_IMPL(PERCORE_TEST_CAT(percore_runtime_test_, __COUNTER__), name)

namespace percore::test {

/// Reactor settings for tests: PERCORE_TEST_URING_MODE (automatic, defer_taskrun, coop_taskrun, plain) selects
/// the io_uring setup flags, so the suites can run under each of them.
inline reactor_config reactor_config_for_tests() {
    reactor_config config;
    if (const char* mode = std::getenv("PERCORE_TEST_URING_MODE")) {
        for (auto m : {uring_mode::automatic, uring_mode::defer_taskrun, uring_mode::coop_taskrun, uring_mode::plain}) {
            if (std::string_view(mode) == to_string(m)) {
                config.ring_mode = m;
            }
        }
    }
    return config;
}

} // namespace percore::test
