/// \file
/// \brief `SHARDED_TEST_CASE(n, "...") { co_await ...; }`: runs its body as the main task of an engine with `n`
/// shards (overprovisioned on a small machine), for the bus, submit_to and sharded<T>.
#pragma once

#include <cstdlib>
#include <string_view>

#include <doctest/doctest.h>

#include "shard/engine.hh"
#include "tests/support/test_runtime.hh"

#define PERCORE_SHARDED_TEST_CASE_IMPL(fn, n, name)                                                                    \
    static percore::task<> fn();                                                                                       \
    TEST_CASE(name) {                                                                                                  \
        CHECK(percore::test::run_sharded(n, &fn) == 0);                                                                \
    }                                                                                                                  \
    static percore::task<> fn()

/// A test whose body is a coroutine returning percore::task<>, run on shard 0 of `n` shards.
#define SHARDED_TEST_CASE(n, name)                                                                                     \
    PERCORE_SHARDED_TEST_CASE_IMPL(PERCORE_TEST_CAT(percore_sharded_test_, __COUNTER__), n, name)

namespace percore::test {

/// Whether PERCORE_TEST_POLLING=default asks for the reactor's own idle and reply polling (the threaded shard
/// suites run once more that way, so the path where a shard polls before it sleeps is covered too).
inline bool default_polling_for_tests() {
    const char* mode = std::getenv("PERCORE_TEST_POLLING");
    return mode != nullptr && std::string_view(mode) == "default";
}

/// Engine settings for tests: any shard count on any machine (shards share CPUs), no stall reports (a shard
/// thread that waits for a CPU is not stalled), no idle spinning (it would starve the shards sharing a CPU)
/// unless default_polling_for_tests().
inline engine_config sharded_config_for_tests(unsigned shards) {
    engine_config c;
    c.placement.shards = shards;
    c.placement.overprovision = true;
    c.reactor = reactor_config_for_tests();
    c.reactor.stall_threshold = duration::zero();
    if (!default_polling_for_tests()) {
        c.reactor.idle_poll = duration::zero();
        c.reactor.reply_poll = duration::zero();
    }
    return c;
}

inline int run_sharded(task<> (*body)(), engine_config config) {
    return run_engine(config, [body]() -> task<int> {
        co_await body();
        co_return 0;
    });
}

inline int run_sharded(unsigned shards, task<> (*body)()) {
    return run_sharded(body, sharded_config_for_tests(shards));
}

} // namespace percore::test
