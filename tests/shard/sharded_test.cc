#include "tests/support/sharded_test.hh"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "runtime/run.hh"
#include "runtime/timer.hh"
#include "shard/foreign_ptr.hh"
#include "shard/sharded.hh"
#include "tests/support/log_capture.hh"

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

/// An object that records on which shard it was freed (-1: never), held by `slot_handle`.
struct slot {
    std::atomic<int> freed_on{-1};
    std::atomic<int> frees{0};
};

/// A pointer-like owner of a `slot` with no heap behind it (so a deliberate leak is not a leak report): "freeing"
/// records the calling shard.
class slot_handle {
public:
    using element_type = slot;
    slot_handle() noexcept = default;
    explicit slot_handle(slot* s) noexcept
        : _s(s) {}
    slot_handle(slot_handle&& o) noexcept
        : _s(std::exchange(o._s, nullptr)) {}
    slot_handle& operator=(slot_handle&& o) noexcept {
        free();
        _s = std::exchange(o._s, nullptr);
        return *this;
    }
    ~slot_handle() { free(); }
    slot* operator->() const noexcept { return _s; }
    explicit operator bool() const noexcept { return _s != nullptr; }

private:
    void free() noexcept {
        if (_s != nullptr) {
            _s->freed_on.store(static_cast<int>(this_shard_id()));
            _s->frees.fetch_add(1);
            _s = nullptr;
        }
    }
    slot* _s = nullptr;
};

slot g_slot;

task<> hold_until_aborted(foreign_ptr<slot_handle> held) {
    co_await sleep_for(std::chrono::hours(1));
    held.reset();
}

/// Shard 1 keeps a foreign_ptr here; it is destroyed when shard 1's thread exits, after the engine stopped.
thread_local std::optional<foreign_ptr<slot_handle>> tl_kept_until_thread_exit;

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
        // It comes home in a one-way message of its own, which may arrive after the reply: wait for it.
        while (g_owned_alive.load() != 0) {
            co_await yield();
        }
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

    TEST_CASE("issue 10: a foreign_ptr dropped during shutdown is freed on its owner shard") {
        g_slot.freed_on = -1;
        g_slot.frees = 0;
        const int code = test::run_sharded(3, []() -> task<> {
            auto p = make_foreign(slot_handle(&g_slot)); // owned by shard 0
            // A task on shard 2 holds it until the engine aborts the task at shutdown.
            co_await submit_to(2, [q = std::move(p)]() mutable { spawn(hold_until_aborted(std::move(q))).detach(); });
        });
        CHECK(code == 0);
        CHECK(g_slot.frees.load() == 1);
        CHECK(g_slot.freed_on.load() == 0);
    }

    TEST_CASE("issue 10: a foreign_ptr dropped after the engine stopped is leaked with a log line, not freed on the "
              "wrong shard") {
        g_slot.freed_on = -1;
        g_slot.frees = 0;
        test::log_capture log;
        const int code = test::run_sharded(2, []() -> task<> {
            auto p = make_foreign(slot_handle(&g_slot)); // owned by shard 0
            co_await submit_to(1, [q = std::move(p)]() mutable { tl_kept_until_thread_exit.emplace(std::move(q)); });
        });
        CHECK(code == 0);
        CHECK(g_slot.freed_on.load() == -1); // shard 0's reactor was gone: leaked rather than freed on shard 1
        CHECK(log.contains({"foreign_ptr", "shard 0", "leak"}));
    }
}
