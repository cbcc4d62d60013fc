// percore-kv snapshots: the point-in-time walk and its write hook (keyspace), the records a key becomes
// (key_records), and snapshot_writer into a real append_log, replayed.
#include <cstdio>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "apps/kv/keyspace.hh"
#include "apps/kv/snapshot/key_records.hh"
#include "apps/kv/snapshot/snapshot_writer.hh"
#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "tests/support/test_runtime.hh"
#include "tests/support/tmpdir.hh"

using namespace percore;
using percore::kv::keyspace;
using percore::kv::object;
using percore::kv::value_type;

namespace {

std::string key(int i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "key:%012d", i);
    return buf;
}

/// Parses one record (RESP arrays of bulk strings, one per command) into its commands' arguments.
std::vector<std::vector<std::string>> parse_record(std::string_view r) {
    std::vector<std::vector<std::string>> commands;
    std::size_t at = 0;
    while (at < r.size()) {
        std::vector<std::string> argv;
        REQUIRE(r[at] == '*');
        std::size_t end = r.find("\r\n", at);
        const std::size_t n = std::stoul(std::string(r.substr(at + 1, end - at - 1)));
        at = end + 2;
        for (std::size_t i = 0; i < n; ++i) {
            REQUIRE(r[at] == '$');
            end = r.find("\r\n", at);
            const std::size_t len = std::stoul(std::string(r.substr(at + 1, end - at - 1)));
            argv.emplace_back(r.substr(end + 2, len));
            at = end + 2 + len + 2;
        }
        commands.push_back(std::move(argv));
    }
    CHECK(at == r.size());
    return commands;
}

/// A key as the tests compare it: its type, elements in a canonical order, expiry.
struct image {
    std::string type;
    std::multiset<std::string> elements;
    std::int64_t expiry = 0;
    bool operator==(const image&) const = default;
};

image image_of(const object& o, std::int64_t expiry) {
    image m{std::string(kv::type_name(o.type())), {}, expiry};
    switch (o.type()) {
    case value_type::string:
        m.elements.insert(std::string(o.str()));
        break;
    case value_type::list: {
        std::string joined; // order matters for lists
        for (const auto& e : o.list()) {
            joined += e + "\n";
        }
        m.elements.insert(joined);
        break;
    }
    case value_type::set:
        m.elements.insert(o.set().members().begin(), o.set().members().end());
        break;
    case value_type::hash:
        for (const auto& [f, v] : o.hash()) {
            m.elements.insert(f + "=" + v);
        }
        break;
    case value_type::zset:
        for (const auto& e : o.zset()) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.17g", e.score);
            m.elements.insert(std::string(buf) + " " + e.member);
        }
        break;
    }
    return m;
}

/// Replays records (the commands key_records writes) into images, as the server's replay would.
void replay(const std::vector<std::string>& argv, std::map<std::string, image>& db) {
    const std::string& cmd = argv.at(0);
    image& m = db[argv.at(1)];
    auto rest = [&](std::size_t from) {
        return std::vector<std::string>(argv.begin() + static_cast<long>(from), argv.end());
    };
    if (cmd == "SET") {
        m = image{"string", {argv.at(2)}, 0};
    } else if (cmd == "APPEND") {
        std::string s = *m.elements.begin();
        m.elements = {s + argv.at(2)};
    } else if (cmd == "RPUSH") {
        std::string joined = m.elements.empty() ? "" : *m.elements.begin();
        for (const auto& e : rest(2)) {
            joined += e + "\n";
        }
        m.type = "list";
        m.elements = {joined};
    } else if (cmd == "SADD") {
        m.type = "set";
        for (const auto& e : rest(2)) {
            m.elements.insert(e);
        }
    } else if (cmd == "HSET") {
        m.type = "hash";
        for (std::size_t i = 2; i + 1 < argv.size(); i += 2) {
            m.elements.insert(argv[i] + "=" + argv[i + 1]);
        }
    } else if (cmd == "ZADD") {
        m.type = "zset";
        for (std::size_t i = 2; i + 1 < argv.size(); i += 2) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.17g", std::strtod(argv[i].c_str(), nullptr));
            m.elements.insert(std::string(buf) + " " + argv[i + 1]);
        }
    } else if (cmd == "PEXPIREAT") {
        m.expiry = std::stoll(argv.at(2));
    } else {
        FAIL("unexpected command " << cmd);
    }
}

/// A saver that keeps what it is given, and how often each key came.
struct recording_saver final : keyspace::key_saver {
    std::map<std::string, image> saved;
    std::map<std::string, int> times;
    void save(std::string_view k, const object& v, std::int64_t expiry_ms) override {
        saved[std::string(k)] = image_of(v, expiry_ms);
        ++times[std::string(k)];
    }
};

void walk_to_end(keyspace& db, std::uint64_t cursor = 0) {
    do {
        cursor = db.snapshot_step(cursor, 64);
    } while (cursor != 0);
    db.end_snapshot();
}

} // namespace

TEST_SUITE("apps/kv/snapshot") {
    TEST_CASE("a walk with no writes saves every key once, with its value and expiry") {
        keyspace db;
        for (int i = 0; i < 3000; ++i) {
            db.set(key(i), object(std::to_string(i)));
        }
        db.set_expiry(key(5), db.now() + 100000);
        recording_saver s;
        db.begin_snapshot(s);
        walk_to_end(db);
        REQUIRE(s.saved.size() == 3000);
        for (const auto& [k, n] : s.times) {
            CHECK(n == 1);
        }
        CHECK(s.saved[key(7)] == image{"string", {"7"}, 0});
        CHECK(s.saved[key(5)].expiry == db.now() + 100000);
    }

    TEST_CASE("a key written before the walk reaches it is saved with its value before the write") {
        keyspace db;
        for (int i = 0; i < 2000; ++i) {
            db.set(key(i), object("old"));
        }
        auto [l, created] = db.find_or_create("list", value_type::list);
        l->list().push_back("a");
        recording_saver s;
        db.begin_snapshot(s);
        std::uint64_t cursor = db.snapshot_step(0, 16);
        // Every kind of write, to keys the walk has not saved yet (and some it has: those must not come again).
        for (int i = 0; i < 2000; i += 3) {
            db.set(key(i), object("new"));
        }
        for (int i = 1; i < 2000; i += 3) {
            CHECK(db.erase(key(i)));
        }
        db.find("list")->list().push_back("b"); // in place, through the object handed out
        db.set_expiry(key(2), db.now() + 5000);
        for (int i = 0; i < 500; ++i) {
            db.set("born-" + std::to_string(i), object("after the cut"));
        }
        walk_to_end(db, cursor);
        CHECK(s.saved.size() == 2001);
        for (int i = 0; i < 2000; ++i) {
            CHECK(s.saved[key(i)] == image{"string", {"old"}, 0});
        }
        CHECK(s.saved["list"] == image{"list", {"a\n"}, 0});
        for (const auto& [k, n] : s.times) {
            CHECK(n == 1);
        }
        CHECK(s.saved.count("born-0") == 0);
    }

    TEST_CASE("the walk saves every key once while the table splits and merges between steps") {
        keyspace db;
        for (int i = 0; i < 4000; ++i) {
            db.set(key(i), object("v"));
        }
        recording_saver s;
        db.begin_snapshot(s);
        std::uint64_t cursor = 0;
        int step = 0;
        int next = 100000;
        do {
            cursor = db.snapshot_step(cursor, 8);
            // Alternate heavy growth (splits) and heavy deletion of new keys (merges).
            if (step % 40 < 20) {
                for (int j = 0; j < 400; ++j) {
                    db.set(key(next++), object("new"));
                }
            } else {
                for (int j = 0; j < 400 && next > 100000; ++j) {
                    db.erase(key(--next));
                }
            }
            ++step;
        } while (cursor != 0);
        db.end_snapshot();
        CHECK(s.saved.size() == 4000);
        for (int i = 0; i < 4000; ++i) {
            CHECK(s.times[key(i)] == 1);
        }
    }

    TEST_CASE("a second snapshot saves every key again; keys past their TTL are skipped") {
        keyspace db;
        for (int i = 0; i < 100; ++i) {
            db.set(key(i), object("v"));
        }
        db.set_expiry(key(0), db.now() + 10);
        {
            recording_saver s;
            db.begin_snapshot(s);
            walk_to_end(db);
            CHECK(s.saved.size() == 100);
        }
        db.set_now(db.now() + 20); // key 0 is past its TTL, not deleted yet
        db.set("later", object("x"));
        recording_saver s;
        db.begin_snapshot(s);
        walk_to_end(db);
        CHECK(s.saved.size() == 100);
        CHECK(s.saved.count(key(0)) == 0);
        CHECK(s.saved.count("later") == 1);
    }

    TEST_CASE("FLUSHALL during a walk, and an abandoned walk, leave the next snapshot whole") {
        keyspace db;
        for (int i = 0; i < 1000; ++i) {
            db.set(key(i), object("v"));
        }
        {
            recording_saver s;
            db.begin_snapshot(s);
            const std::uint64_t cursor = db.snapshot_step(0, 10);
            db.clear(); // logged after the cut: the keys the walk had not saved no longer matter
            db.set("after", object("flush"));
            walk_to_end(db, cursor);
            CHECK(s.saved.count("after") == 0);
        }
        for (int i = 0; i < 1000; ++i) {
            db.set(key(i), object("v"));
        }
        {
            recording_saver s;
            db.begin_snapshot(s);
            db.snapshot_step(0, 10);
            db.abandon_snapshot();
        }
        recording_saver s;
        db.begin_snapshot(s);
        walk_to_end(db);
        CHECK(s.saved.size() == 1001);
    }

    TEST_CASE("every type with an expiry becomes commands that recreate it, in bounded records") {
        keyspace db;
        db.set("s", object("short"));
        db.set("big", object(std::string(200000, 'x') + "end"));
        auto* l = db.find_or_create("l", value_type::list).first;
        auto* st = db.find_or_create("st", value_type::set).first;
        auto* h = db.find_or_create("h", value_type::hash).first;
        auto* z = db.find_or_create("z", value_type::zset).first;
        for (int i = 0; i < 5000; ++i) {
            l->list().push_back("element-" + std::to_string(i));
            st->set().add("member-" + std::to_string(i));
            h->hash().emplace("field-" + std::to_string(i), std::string(i % 50, 'v'));
            z->zset().set("m" + std::to_string(i), i * 0.1 - 7);
        }
        z->zset().set("inf", std::numeric_limits<double>::infinity());
        z->zset().set("-inf", -std::numeric_limits<double>::infinity());
        z->zset().set("tiny", 5e-324);
        db.settle();
        const std::int64_t at = db.now() + 86400000;
        for (const char* k : {"s", "big", "l", "h", "z"}) {
            db.set_expiry(k, at);
        }
        std::map<std::string, image> want;
        std::map<std::string, image> got;
        std::deque<std::string> records;
        for (const char* k : {"s", "big", "l", "st", "h", "z"}) {
            const object* o = db.find(k);
            const std::int64_t e = db.expiry(k).value_or(0);
            want[k] = image_of(*o, e);
            kv::write_key_records(k, *o, e, records, 4096);
        }
        CHECK(records.size() > 100); // the big values are several records
        for (const std::string& r : records) {
            CHECK(r.size() <= 4096 + 1024);
            const auto commands = parse_record(r);
            CHECK(commands.size() == 1);
            replay(commands.front(), got);
        }
        CHECK(got == want);
    }

    RUNTIME_TEST_CASE("snapshot_writer commits a point-in-time snapshot while writes go on, and recovery replays it") {
        test::tmpdir dir;
        keyspace db;
        std::vector<std::vector<std::string>> replayed;
        auto log = co_await storage::append_log::open(dir.path(), {.policy = storage::durability::always},
                                                      [](std::span<const std::byte>) {});
        for (int i = 0; i < 20000; ++i) {
            db.set(key(i), object("before"));
        }
        co_await log->append(std::as_bytes(std::span(std::string_view("old record"))));
        // A small pending limit: the walk pauses, writers wait.
        kv::snapshot_writer w(db, {.pending_limit = 16 << 10, .keys_per_step = 64});
        auto running = spawn(w.run(*log));
        co_await yield(); // the spawned fiber starts on the next pass: that is the cut
        REQUIRE(db.snapshot_running());
        int writes = 0;
        while (db.snapshot_running()) {
            if (w.over_limit()) {
                co_await w.wait_for_room();
            }
            db.set(key(writes % 20000), object("during"));
            db.set("new-" + std::to_string(writes), object("x"));
            ++writes;
            co_await yield();
        }
        co_await std::move(running);
        CHECK(writes > 10);
        CHECK(w.stats().keys == 20000);
        CHECK(w.stats().by_writes > 0);
        CHECK(w.stats().peak_pending < (16 << 10) + 64 * 200);
        CHECK(log->stats().compactions == 1);
        co_await log->close();
        log.reset();
        std::map<std::string, image> got;
        auto reopened = co_await storage::append_log::open(dir.path(), {}, [&](std::span<const std::byte> r) {
            const std::string_view text(reinterpret_cast<const char*>(r.data()), r.size());
            REQUIRE(text != "old record"); // made obsolete by the snapshot
            for (const auto& argv : parse_record(text)) {
                replay(argv, got);
            }
        });
        co_await reopened->close();
        CHECK(got.size() == 20000);
        for (int i = 0; i < 20000; ++i) {
            CHECK(got[key(i)] == image{"string", {"before"}, 0});
        }
    }
}
