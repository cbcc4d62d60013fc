#include "tests/support/sharded_test.hh"

#include <atomic>
#include <memory>
#include <string>

#include "runtime/run.hh"
#include "runtime/timer.hh"
#include "shard/foreign_ptr.hh"
#include "shard/sharded.hh"

using namespace percore;
using namespace std::chrono_literals;

namespace {

std::atomic<int> g_constructed{0};
std::atomic<int> g_destroyed_on_own_shard{0};
std::atomic<int> g_stopped{0};

struct counter {
    unsigned home;
    long hits = 0;
    std::string label;
    explicit counter(std::string l)
        : home(this_shard_id())
        , label(std::move(l)) {
        g_constructed.fetch_add(1);
    }
    ~counter() {
        if (this_shard_id() == home) {
            g_destroyed_on_own_shard.fetch_add(1);
        }
    }
    task<> stop() {
        co_await sleep_for(1ms);
        g_stopped.fetch_add(1);
    }
};

void reset_counts() {
    g_constructed = 0;
    g_destroyed_on_own_shard = 0;
    g_stopped = 0;
}

std::atomic<int> g_owned_alive{0};
std::atomic<int> g_owned_freed_on_owner{0};

struct owned {
    unsigned owner = this_shard_id();
    owned() { g_owned_alive.fetch_add(1); }
    ~owned() {
        g_owned_alive.fetch_sub(1);
        if (this_shard_id() == owner) {
            g_owned_freed_on_owner.fetch_add(1);
        }
    }
};

} // namespace

TEST_SUITE("shard/sharded") {
    SHARDED_TEST_CASE(4, "sharded<S> has one instance per shard, built and destroyed on its own shard") {
        reset_counts();
        sharded<counter> c;
        co_await c.start(std::string("hits"));
        CHECK(g_constructed == 4);
        CHECK(c.local().home == 0);
        for (int i = 0; i < 400; ++i) {
            co_await c.invoke_on(i % 4, [](counter& x) { ++x.hits; });
        }
        const long total = co_await c.map_reduce([](counter& x) { return x.hits; }, std::plus<long>(), 0L);
        CHECK(total == 400);
        const unsigned homes = co_await c.map_reduce([](counter& x) { return x.home == this_shard_id() ? 1u : 0u; },
                                                     std::plus<unsigned>(), 0u);
        CHECK(homes == 4);
        co_await c.invoke_on_all([](counter& x) { x.label += "!"; });
        CHECK(co_await c.invoke_on(3, [](counter& x) { return x.label; }) == "hits!");
        co_await c.stop();
        CHECK(g_stopped == 4);
        CHECK(g_destroyed_on_own_shard == 4);
        co_await c.stop(); // idempotent
        CHECK_THROWS_AS((void)c.invoke_on(1, [](counter&) {}), std::logic_error);
    }

    TEST_CASE("a service not stopped by main is stopped at shutdown, on every shard") {
        reset_counts();
        const int code = test::run_sharded(3, []() -> task<> {
            auto c = std::make_unique<sharded<counter>>();
            co_await c->start(std::string("leftover"));
            // main forgets it (and even destroys the sharded object): the shutdown hook still stops it.
        });
        CHECK(code == 0);
        CHECK(g_constructed == 3);
        CHECK(g_stopped == 3);
        CHECK(g_destroyed_on_own_shard == 3);
    }

    SHARDED_TEST_CASE(3, "foreign_ptr objects are destroyed on the shard that owns them") {
        g_owned_alive = 0;
        g_owned_freed_on_owner = 0;
        auto p = make_foreign(std::make_unique<owned>());
        CHECK(p.owner_shard() == 0);
        // Shipped to shard 2 and dropped there: deleted back on shard 0.
        co_await submit_to(2, [q = std::move(p)]() mutable { q.reset(); });
        co_await submit_to(2, [] {}); // the destruction message has been delivered by now (FIFO per pair)
        co_await sleep_for(1ms);
        CHECK(g_owned_alive == 0);
        CHECK(g_owned_freed_on_owner == 1);
        // One made on shard 1, dropped on shard 0.
        auto remote = co_await submit_to(1, [] { return make_foreign(std::make_unique<owned>()); });
        CHECK(remote.owner_shard() == 1);
        remote.reset();
        co_await submit_to(1, [] {});
        CHECK(g_owned_alive == 0);
        CHECK(g_owned_freed_on_owner == 2);
        // shared_ptr: copy() bumps the count on the owner.
        auto shared = make_foreign(std::make_shared<owned>());
        auto copy = co_await submit_to(
            1, [&shared]() -> task<foreign_ptr<std::shared_ptr<owned>>> { co_return co_await shared.copy(); });
        shared.reset();
        CHECK(g_owned_alive == 1);
        copy.reset();
        CHECK(g_owned_alive == 0);
    }
}
