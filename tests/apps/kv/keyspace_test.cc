// keyspace: lookups, lazy and active expiry, SCAN across growth, random sampling, LRU victims, memory accounting.
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include "apps/kv/keyspace.hh"

using percore::kv::keyspace;
using percore::kv::object;
using percore::kv::value_type;

namespace {

std::string key(int i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "key:%012d", i);
    return buf;
}

} // namespace

TEST_SUITE("apps/kv/keyspace") {
    TEST_CASE("set, find, replace and erase keys") {
        keyspace db;
        for (int i = 0; i < 5000; ++i) {
            db.set(key(i), object(std::to_string(i)));
        }
        CHECK(db.size() == 5000);
        for (int i = 0; i < 5000; ++i) {
            object* o = db.find(key(i));
            REQUIRE(o != nullptr);
            CHECK(o->str() == std::to_string(i));
        }
        CHECK(db.find("absent") == nullptr);
        db.set(key(7), object("seven"));
        CHECK(db.find(key(7))->str() == "seven");
        CHECK(db.size() == 5000);
        CHECK(db.erase(key(7)));
        CHECK_FALSE(db.erase(key(7)));
        CHECK(db.find(key(7)) == nullptr);
        CHECK(db.size() == 4999);
    }

    TEST_CASE("a value handed out stays valid while other keys are added and deleted") {
        keyspace db;
        auto [list, created] = db.find_or_create("src", value_type::list);
        CHECK(created);
        list->list().push_back("a");
        for (int i = 0; i < 20000; ++i) { // the table splits many buckets under it
            db.set(key(i), object("v"));
        }
        for (int i = 0; i < 19000; ++i) {
            db.erase(key(i));
        }
        list->list().push_back("b");
        CHECK(db.find("src")->list().size() == 2);
    }

    TEST_CASE("an expired key is gone on its next lookup (lazy expiry)") {
        keyspace db;
        db.set_now(1'000'000);
        db.set("k", object("v"));
        db.set_expiry("k", 1'000'500);
        CHECK(db.keys_with_expiry() == 1);
        CHECK(db.expiry("k") == 1'000'500);
        db.set_now(1'000'499);
        CHECK(db.find("k") != nullptr);
        db.set_now(1'000'500);
        CHECK(db.find("k") == nullptr);
        CHECK(db.size() == 0);
        CHECK(db.keys_with_expiry() == 0);
        CHECK(db.expired_keys() == 1);
    }

    TEST_CASE("SET drops an expiry, SET KEEPTTL and PERSIST behave as in Redis") {
        keyspace db;
        db.set_now(1000);
        db.set("k", object("v"));
        db.set_expiry("k", 5000);
        db.set_keep_ttl("k", object("w"));
        CHECK(db.expiry("k") == 5000);
        db.set("k", object("x"));
        CHECK_FALSE(db.expiry("k").has_value());
        CHECK(db.keys_with_expiry() == 0);
        db.set_expiry("k", 5000);
        CHECK(db.persist("k"));
        CHECK_FALSE(db.persist("k"));
        CHECK_FALSE(db.expiry("k").has_value());
        db.set_expiry("k", 999); // in the past: deleted at once
        CHECK(db.find("k") == nullptr);
    }

    TEST_CASE("the active expiry cycle deletes expired keys and only those") {
        keyspace db;
        db.set_now(1000);
        for (int i = 0; i < 2000; ++i) {
            db.set(key(i), object("v"));
            if (i % 2 == 0) {
                db.set_expiry(key(i), 2000); // expires
            } else if (i % 4 == 1) {
                db.set_expiry(key(i), 100000); // does not, yet
            }
        }
        CHECK(db.keys_with_expiry() == 1500);
        db.set_now(3000);
        std::size_t deleted = 0;
        for (int cycle = 0; cycle < 100 && db.keys_with_expiry() > 500; ++cycle) {
            deleted += db.active_expire_cycle(1'000'000);
        }
        // Redis's cycle stops once a sample is mostly live; with a third live it still removes nearly all.
        CHECK(deleted >= 900);
        CHECK(db.expired_keys() == deleted);
        CHECK(db.size() == 2000 - deleted);
        for (int i = 1; i < 2000; i += 2) {
            REQUIRE(db.find(key(i)) != nullptr); // never a live key
        }
    }

    TEST_CASE("SCAN returns every key present for the whole scan at least once while keys come and go") {
        keyspace db;
        for (int i = 0; i < 2000; ++i) {
            db.set(key(i), object("v"));
        }
        std::set<std::string> seen;
        std::uint64_t cursor = 0;
        int step = 0;
        int added = 2000;
        do {
            cursor = db.scan(cursor, 10, [&](std::string_view k) { seen.emplace(k); });
            if (step < 100) {
                for (int i = 0; i < 200; ++i) { // growth: 20000 keys more during the scan
                    db.set(key(added++), object("v"));
                }
            }
            if (step % 3 == 0 && step < 300) { // and deletions of keys that were not there all along
                db.erase(key(2000 + step * 10));
            }
            ++step;
        } while (cursor != 0 && step < 100000);
        CHECK(cursor == 0);
        for (int i = 0; i < 2000; ++i) {
            INFO(key(i));
            CHECK(seen.count(key(i)) == 1);
        }
    }

    TEST_CASE("SCAN skips expired keys") {
        keyspace db;
        db.set_now(1000);
        db.set("live", object("v"));
        db.set("dead", object("v"));
        db.set_expiry("dead", 1500);
        db.set_now(2000);
        std::set<std::string> seen;
        std::uint64_t cursor = 0;
        do {
            cursor = db.scan(cursor, 10, [&](std::string_view k) { seen.emplace(k); });
        } while (cursor != 0);
        CHECK(seen == std::set<std::string>{"live"});
    }

    TEST_CASE("RANDOMKEY reaches every key and never returns an expired one") {
        keyspace db;
        db.set_now(1000);
        for (int i = 0; i < 200; ++i) {
            db.set(key(i), object("v"));
        }
        for (int i = 200; i < 400; ++i) {
            db.set(key(i), object("v"));
            db.set_expiry(key(i), 1500);
        }
        db.set_now(2000);
        std::set<std::string> seen;
        for (int i = 0; i < 20000; ++i) {
            auto k = db.random_key();
            REQUIRE(k.has_value());
            seen.insert(*k);
        }
        CHECK(seen.size() == 200);
        CHECK(*seen.rbegin() == key(199));
        keyspace empty;
        CHECK_FALSE(empty.random_key().has_value());
    }

    TEST_CASE("the LRU victim is one of the least recently used keys") {
        keyspace db;
        db.set_now(1'000'000);
        for (int i = 0; i < 100; ++i) {
            db.set(key(i), object("v"));
        }
        db.set_now(1'000'000 + 60'000); // a minute later the odd keys are read again
        for (int i = 1; i < 100; i += 2) {
            REQUIRE(db.find(key(i)) != nullptr);
        }
        for (int round = 0; round < 50; ++round) {
            auto victim = db.lru_victim(64); // 64 samples: the chance none is even is 2^-64
            REQUIRE(victim.has_value());
            const int i = std::stoi(victim->substr(4));
            CHECK(i % 2 == 0);
        }
    }

    TEST_CASE("memory counts each key's allocations and returns to its start when the keys go") {
        keyspace db;
        const std::size_t empty = db.memory();
        CHECK(empty == 0);
        for (int i = 0; i < 10000; ++i) {
            db.set(key(i), object("abc"));
        }
        db.settle();
        const std::size_t full = db.memory();
        // 48-byte nodes (32 + a 16-byte key, the value inline) and about 8 / 1.5 bytes of buckets per key.
        CHECK(full >= 10000 * 48);
        CHECK(full <= 10000 * 60);
        for (int i = 0; i < 10000; ++i) {
            db.erase(key(i));
        }
        CHECK(db.memory() <= 8192 + 64); // what is left is the first segment of buckets (it never shrinks)
    }

    TEST_CASE("memory follows values changed in place once the command settles") {
        keyspace db;
        db.set("s", object("x"));
        db.settle();
        const std::size_t before = db.memory();
        object* o = db.find("s");
        o->append(std::string(1000, 'y'));
        CHECK(db.memory() == before); // not yet: the command is still running
        db.settle();
        CHECK(db.memory() >= before + 1000);
        auto [l, created] = db.find_or_create("l", value_type::list);
        for (int i = 0; i < 100; ++i) {
            l->list().push_back("element");
        }
        db.settle();
        const std::size_t with_list = db.memory();
        CHECK(with_list > before + 1000 + 100 * 8);
        db.erase("l"); // deleted before it was settled again: its size when handed out is what is taken off
        db.erase("s");
        CHECK(db.memory() <= 64); // the smallest bucket array
        CHECK(db.size() == 0);
    }

    TEST_CASE("a value changed and deleted in the same command leaves the accounting exact") {
        keyspace db;
        db.set("anchor", object("v"));
        db.settle();
        const std::size_t start = db.memory();
        auto [l, created] = db.find_or_create("l", value_type::list);
        for (int i = 0; i < 50; ++i) {
            l->list().push_back("e");
        }
        db.erase_if_empty("l", *l);
        db.set("l", object(std::string(500, 'z'))); // replaced within the command
        db.erase("l");
        db.settle();
        CHECK(db.memory() == start);
        CHECK(db.size() == 1);
    }

    TEST_CASE("an inline string that outgrows its object in place is counted, whatever happens to it next") {
        keyspace db;
        db.set("anchor", object("v"));
        db.settle();
        const std::size_t start = db.memory();
        SUBCASE("kept") {
            CHECK(db.find("s") == nullptr);
            db.set("s", object("short"));
            db.settle();
            const std::size_t with_s = db.memory();
            db.find("s")->append(std::string(100, 'a'));
            db.settle();
            CHECK(db.memory() >= with_s + 100);
            db.erase("s");
            CHECK(db.memory() == start);
        }
        SUBCASE("replaced in the same command") {
            db.set("s", object("short"));
            db.find("s")->append(std::string(100, 'a'));
            db.set("s", object(std::string(300, 'b')));
            db.settle();
            CHECK(db.memory() >= start + 300);
            db.erase("s");
            CHECK(db.memory() == start);
        }
        SUBCASE("deleted in the same command") {
            db.set("s", object("short"));
            db.find("s")->set_range(200, "x");
            db.erase("s");
            db.settle();
            CHECK(db.memory() == start);
        }
        SUBCASE("moved out (RENAME) and deleted") {
            db.set("s", object(std::string(64, 'c')));
            db.settle();
            object moved = std::move(*db.find("s"));
            db.erase("s");
            db.set("t", std::move(moved));
            db.settle();
            CHECK(db.memory() > start + 64);
            db.erase("t");
            CHECK(db.memory() == start);
        }
    }

    TEST_CASE("a command that hands out many values and then replaces or deletes them does linear work") {
        // MSET naming each key twice, or MGET then DEL of many keys: each replacement finds the value's record.
        keyspace db;
        db.set_now(1000);
        constexpr int n = 20000;
        const std::size_t empty = db.memory();
        for (int i = 0; i < n; ++i) {
            db.set(key(i), object(std::string(40, 'v')));
        }
        db.settle();
        const std::uint64_t steps = db.touched_steps();
        for (int i = 0; i < n; ++i) { // one "command": no settle() in between
            REQUIRE(db.find(key(i)) != nullptr);
        }
        for (int i = 0; i < n; ++i) {
            db.set(key(i), object(std::string(50, 'w')));
        }
        for (int i = 0; i < n; i += 2) {
            db.erase(key(i));
        }
        db.settle();
        CHECK(db.touched_steps() - steps < 4 * n); // a scan per key was n * n / 2
        // The accounting stayed exact through it: the same keys and values set without being handed out count
        // the same; with every key gone, only the (shrunk) bucket array is left.
        keyspace plain;
        for (int i = 1; i < n; i += 2) {
            plain.set(key(i), object(std::string(50, 'w')));
        }
        plain.settle();
        // Values and nodes the same; the bucket arrays differ (db grew to 20000 keys and shrinks lazily), and are
        // allocated in segments: compare without them, within a segment.
        const auto without_buckets = [](const keyspace& k) {
            return static_cast<std::int64_t>(k.memory() - k.bucket_count() * sizeof(void*));
        };
        CHECK(std::abs(without_buckets(db) - without_buckets(plain)) < 16 * 1024);
        for (int i = 1; i < n; i += 2) {
            db.erase(key(i));
        }
        db.settle();
        CHECK(db.size() == 0);
        CHECK(db.memory() - empty < 16 * 1024); // only buckets are left
    }

    TEST_CASE("clear() is immediate; the keys' memory is freed later, in steps, by free_flushed()") {
        keyspace db;
        db.set_now(1000);
        for (int i = 0; i < 5000; ++i) {
            db.set(key(i), object(std::string(40, 'v')));
            if (i % 2 == 0) {
                db.set_expiry(key(i), 100000);
            }
        }
        const std::size_t full = db.memory();
        db.clear();
        CHECK(db.size() == 0);
        CHECK(db.memory() == full); // still allocated: maxmemory counts it until it is freed, as Redis does
        CHECK(db.find(key(10)) == nullptr);
        CHECK(db.lazyfree_pending() == 5000);
        db.set(key(10), object("new"));        // usable while the old keys wait
        CHECK(db.free_flushed(1000) == false); // the expiry entries go first
        db.clear();                            // a second flush queues behind the first
        CHECK(db.lazyfree_pending() == 5001);
        int steps = 1;
        std::size_t pending = db.lazyfree_pending();
        while (!db.free_flushed(1000)) {
            ++steps;
            CHECK(db.lazyfree_pending() <= pending);
            CHECK(pending - db.lazyfree_pending() <= 1000 + 16); // a step does about its budget, never all
            pending = db.lazyfree_pending();
        }
        CHECK(steps >= 7); // 5001 keys and 2500 expiry entries, 1000 a step
        CHECK(db.lazyfree_pending() == 0);
        CHECK(db.memory() == 0);
        CHECK(db.lazyfreed() == 5001);
        for (int i = 0; i < 100; ++i) { // left pending at destruction: the destructor frees them (ASan: no leak)
            db.set(key(i), object(std::string(40, 'v')));
        }
        db.clear();
        CHECK(db.lazyfree_pending() == 100);
    }

    TEST_CASE("clear drops everything") {
        keyspace db;
        db.set_now(1000);
        for (int i = 0; i < 3000; ++i) {
            db.set(key(i), object(std::string(40, 'v')));
            db.set_expiry(key(i), 100000);
        }
        db.clear();
        CHECK(db.size() == 0);
        CHECK(db.keys_with_expiry() == 0);
        CHECK(db.memory() > 0); // until the flushed keys are freed
        while (!db.free_flushed(1000)) {
        }
        CHECK(db.memory() == 0);
        CHECK(db.find(key(1)) == nullptr);
        db.set("again", object("v"));
        CHECK(db.find("again") != nullptr);
    }
}
