// linear_table: SCAN's at-least-once guarantee across growth and shrinking, growth without a spike (bounded
// work per insert), uniform random sampling.
#include <algorithm>
#include <cstdint>
#include <set>
#include <unordered_set>
#include <vector>

#include <doctest/doctest.h>

#include "apps/kv/key_hash.hh"
#include "apps/kv/linear_table.hh"

namespace {

struct test_node {
    test_node* next = nullptr;
    std::uint64_t key = 0;
};

/// Counts the hashes computed: the table re-derives one per node it moves when it splits or merges a bucket.
std::size_t rehashed = 0;

struct test_hash {
    std::uint64_t operator()(const test_node& n) const noexcept {
        ++rehashed;
        return percore::kv::pointer_hash(reinterpret_cast<const void*>(n.key));
    }
};

std::uint64_t hash_of(std::uint64_t key) {
    return percore::kv::pointer_hash(reinterpret_cast<const void*>(key));
}

using table = percore::kv::linear_table<test_node, test_hash>;

/// A table of test nodes, with ownership.
struct fixture {
    table t;
    std::vector<test_node*> nodes; // index = key; null when absent

    ~fixture() {
        t.clear([](test_node*) {});
        for (test_node* n : nodes) {
            delete n;
        }
    }
    void add(std::uint64_t k) {
        if (nodes.size() <= k) {
            nodes.resize(k + 1, nullptr);
        }
        REQUIRE(nodes[k] == nullptr);
        nodes[k] = new test_node{nullptr, k};
        t.insert(nodes[k], hash_of(k));
    }
    void remove(std::uint64_t k) {
        t.remove(nodes[k], hash_of(k));
        delete nodes[k];
        nodes[k] = nullptr;
    }
    bool has(std::uint64_t k) const {
        return t.find(hash_of(k), [k](const test_node& n) { return n.key == k; }) != nullptr;
    }
};

} // namespace

TEST_SUITE("apps/kv/linear_table") {
    TEST_CASE("finds what was inserted and nothing else, through growth and shrinking") {
        fixture f;
        for (std::uint64_t k = 0; k < 20000; ++k) {
            f.add(k);
        }
        CHECK(f.t.size() == 20000);
        for (std::uint64_t k = 0; k < 20000; ++k) {
            REQUIRE(f.has(k));
        }
        CHECK_FALSE(f.has(20001));
        const std::size_t grown = f.t.bucket_count();
        for (std::uint64_t k = 0; k < 19990; ++k) {
            f.remove(k);
        }
        CHECK(f.t.bucket_count() < grown / 8); // it gave buckets back
        for (std::uint64_t k = 19990; k < 20000; ++k) {
            CHECK(f.has(k));
        }
        CHECK_FALSE(f.has(5));
    }

    TEST_CASE("an insert moves at most one bucket's nodes, however large the table (no growth spike)") {
        fixture f;
        std::size_t worst = 0;
        for (std::uint64_t k = 0; k < 200000; ++k) {
            rehashed = 0;
            f.add(k);
            worst = std::max(worst, rehashed);
        }
        // A table that doubles would rehash all ~100000 keys at once; a split re-derives one chain (its longest
        // is some 15 keys at this size).
        CHECK(worst <= 32);
        CHECK(f.t.bucket_count() * 12 >= f.t.size() * 8); // the load stays at its bound of 1.5 keys per bucket
    }

    TEST_CASE("SCAN returns every key present for the whole scan at least once while the table grows") {
        fixture f;
        for (std::uint64_t k = 0; k < 1000; ++k) {
            f.add(k);
        }
        std::set<std::uint64_t> seen;
        std::uint64_t cursor = 0;
        std::uint64_t next_key = 1000;
        int steps = 0;
        do {
            cursor = f.t.scan(cursor, 10, [&](const test_node& n) { seen.insert(n.key); });
            for (int i = 0; i < 300 && steps < 100; ++i) { // the table grows by 5 levels during the scan
                f.add(next_key++);
            }
            ++steps;
        } while (cursor != 0 && steps < 100000);
        CHECK(cursor == 0);
        CHECK(f.t.size() > 16 * 1000);
        for (std::uint64_t k = 0; k < 1000; ++k) {
            INFO("key ", k);
            CHECK(seen.count(k) == 1);
        }
    }

    TEST_CASE("SCAN returns every key present for the whole scan at least once while the table shrinks") {
        fixture f;
        for (std::uint64_t k = 0; k < 50000; ++k) {
            f.add(k);
        }
        // Keys 0..999 stay; the others are deleted as the scan goes, so the table merges buckets under it.
        std::set<std::uint64_t> seen;
        std::uint64_t cursor = 0;
        std::uint64_t next_gone = 1000;
        int steps = 0;
        do {
            cursor = f.t.scan(cursor, 10, [&](const test_node& n) { seen.insert(n.key); });
            for (int i = 0; i < 500 && next_gone < 50000; ++i) {
                f.remove(next_gone++);
            }
            ++steps;
        } while (cursor != 0 && steps < 100000);
        CHECK(cursor == 0);
        CHECK(f.t.size() == 1000);
        for (std::uint64_t k = 0; k < 1000; ++k) {
            INFO("key ", k);
            CHECK(seen.count(k) == 1);
        }
    }

    TEST_CASE("SCAN of a table that does not change returns each key exactly once") {
        fixture f;
        for (std::uint64_t k = 0; k < 3000; ++k) {
            f.add(k);
        }
        std::vector<std::uint64_t> seen;
        std::uint64_t cursor = 0;
        do {
            cursor = f.t.scan(cursor, 7, [&](const test_node& n) { seen.push_back(n.key); });
        } while (cursor != 0);
        std::sort(seen.begin(), seen.end());
        CHECK(seen.size() == 3000);
        CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
    }

    TEST_CASE("random sampling reaches every key about equally often") {
        fixture f;
        constexpr std::uint64_t keys = 500;
        for (std::uint64_t k = 0; k < keys; ++k) {
            f.add(k);
        }
        percore::kv::detail::sample_rng rng(42);
        std::vector<int> hits(keys, 0);
        constexpr int draws = 250000; // 500 per key on average
        for (int i = 0; i < draws; ++i) {
            ++hits[f.t.random(rng)->key];
        }
        const auto [lo, hi] = std::minmax_element(hits.begin(), hits.end());
        // Uniform: each count is about 500 +- 22 (one standard deviation); chain-length bias would show as
        // keys in long chains drawn far less often.
        CHECK(*lo > 380);
        CHECK(*hi < 620);
    }

    TEST_CASE("dispose_some hands out every node exactly once, in slices, and shrinks the table as it goes") {
        fixture f;
        for (std::uint64_t k = 0; k < 20000; ++k) {
            f.add(k);
        }
        table doomed;
        doomed.swap_contents(f.t);
        CHECK(f.t.size() == 0);
        CHECK(f.t.bytes() == 0);
        CHECK(doomed.size() == 20000);
        f.add(20000); // the emptied table is usable at once
        CHECK(f.has(20000));
        CHECK_FALSE(f.has(5));

        std::vector<int> seen(20000, 0);
        std::size_t calls = 0;
        std::size_t bytes_before = doomed.bytes();
        bool done = false;
        while (!done) {
            const std::size_t before = doomed.size();
            done = doomed.dispose_some(500, [&](test_node* n) { ++seen[n->key]; });
            ++calls;
            // About the budget per call (whole buckets: a few nodes more), never everything at once.
            CHECK(before - doomed.size() <= 500 + 16);
            CHECK(doomed.bytes() <= bytes_before);
            bytes_before = doomed.bytes();
        }
        CHECK(calls >= 20000 / (500 + 16));
        CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
        CHECK(doomed.size() == 0);
        CHECK(doomed.bytes() == 0);
    } // the fixture deletes the nodes (dispose only counted them)

    TEST_CASE("an empty table has no random node, scans to 0 and holds no memory") {
        table t;
        percore::kv::detail::sample_rng rng(1);
        CHECK(t.random(rng) == nullptr);
        CHECK(t.scan(0, 10, [](const test_node&) {}) == 0);
        CHECK(t.bytes() == 0);
    }
}
