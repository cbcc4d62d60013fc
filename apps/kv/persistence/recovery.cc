#include "apps/kv/persistence/recovery.hh"

#include <chrono>
#include <cstdio>
#include <map>

#include "apps/kv/persistence/test_hooks.hh"
#include "apps/kv/shard_state.hh"
#include "runtime/when_all.hh"
#include "shard/shard_id.hh"

namespace percore::kv {

namespace {

storage::log_options log_options_of(const settings& s) {
    storage::log_options o;
    o.max_record_size = shard_log::max_record_size;
    o.policy = s.appendfsync;
    o.repair = s.repair_log;
    return o;
}

struct loaded {
    std::uint64_t keys = 0;
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::uint64_t ms = 0;
};

// Named coroutines, not lambda coroutines: their parameters live in the frame.
task<loaded> open_one(shard_state& st, std::string dir, storage::log_options opts, txn_set incomplete) {
    const auto t0 = std::chrono::steady_clock::now();
    co_await st.plog.open(st, std::move(dir), opts, std::move(incomplete));
    loaded l;
    l.keys = st.db.size();
    l.records = st.plog.status().loaded_records;
    l.bytes = st.plog.status().base_size;
    l.ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
    st.plog.set_load_report(l.keys, l.ms);
    arm_test_hooks();
    co_return l;
}

task<> start_one(shard_state& st, std::string dir, storage::log_options opts) {
    co_await st.lock.lock();
    std::exception_ptr failure;
    try {
        co_await st.plog.start_from_memory(st, std::move(dir), opts);
    } catch (...) {
        failure = std::current_exception();
    }
    st.lock.unlock();
    if (failure) {
        std::rethrow_exception(failure);
    }
}

} // namespace

task<int> recover_shards(sharded<shard_state>& shards, const settings& s) {
    const auto start = std::chrono::steady_clock::now();
    const unsigned n = shard_count();
    // Pass 1: which multi-shard writes each log holds a part of.
    std::vector<txn_census> census;
    try {
        std::vector<task<txn_census>> parts;
        for (unsigned i = 0; i < n; ++i) {
            parts.push_back(shards.invoke_on(i, [dir = shard_log::directory(s.dir, i), repair = s.repair_log](
                                                    shard_state&) { return shard_log::census(dir, repair); }));
        }
        census = co_await when_all(std::move(parts));
    } catch (const storage::log_corruption_error& e) {
        std::fprintf(stderr,
                     "percore-kv: refusing to start: %s\n  (file %s, offset %llu; --repair-log keeps the valid "
                     "prefix and drops the rest)\n",
                     e.what(), e.path().c_str(), static_cast<unsigned long long>(e.offset()));
        co_return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "percore-kv: refusing to start: reading the logs in %s: %s\n", s.dir.c_str(), e.what());
        co_return 1;
    }
    // A transaction counts when every participant holds its part.
    std::map<std::uint64_t, std::pair<std::size_t, std::size_t>> seen; // id -> (parts found, participants)
    for (const txn_census& c : census) {
        for (const auto& [id, participants] : c.txns) {
            auto& [found, want] = seen[id];
            ++found;
            want = participants.size();
        }
    }
    txn_set incomplete;
    for (const auto& [id, fw] : seen) {
        if (fw.first != fw.second) {
            incomplete.insert(id);
        }
    }
    const std::uint64_t dropped = incomplete.size();
    for (unsigned i = 0; i < n; ++i) {
        const storage::recovery_report& r = census[i].report;
        if (r.torn_tail_bytes > 0) {
            std::fprintf(
                stderr,
                "percore-kv: shard %u: cut a torn tail of %llu bytes (%llu intact records after the damage) off %s\n",
                i, static_cast<unsigned long long>(r.torn_tail_bytes),
                static_cast<unsigned long long>(r.torn_tail_records), r.torn_tail_segment.c_str());
        }
        if (r.repaired_bytes > 0) {
            std::fprintf(
                stderr, "percore-kv: shard %u: --repair-log dropped %llu bytes after corruption (%llu files removed)\n",
                i, static_cast<unsigned long long>(r.repaired_bytes), static_cast<unsigned long long>(r.removed_files));
        }
    }
    if (dropped > 0) {
        std::fprintf(stderr, "percore-kv: %llu multi-shard writes were not durable on every shard: left out whole\n",
                     static_cast<unsigned long long>(dropped));
    }
    // Pass 2: replay.
    std::vector<loaded> results;
    try {
        std::vector<task<loaded>> parts;
        for (unsigned i = 0; i < n; ++i) {
            parts.push_back(
                shards.invoke_on(i, [dir = shard_log::directory(s.dir, i), opts = log_options_of(s),
                                     &incomplete](shard_state& st) { return open_one(st, dir, opts, incomplete); }));
        }
        results = co_await when_all(std::move(parts));
    } catch (const storage::log_corruption_error& e) {
        std::fprintf(stderr, "percore-kv: refusing to start: %s\n  (file %s, offset %llu)\n", e.what(),
                     e.path().c_str(), static_cast<unsigned long long>(e.offset()));
        co_return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "percore-kv: refusing to start: replaying the logs in %s: %s\n", s.dir.c_str(), e.what());
        co_return 1;
    }
    std::uint64_t keys = 0;
    for (unsigned i = 0; i < n; ++i) {
        const loaded& l = results[i];
        keys += l.keys;
        std::fprintf(stderr, "percore-kv: shard %u: loaded %llu keys (%llu records, %llu bytes) in %llu ms\n", i,
                     static_cast<unsigned long long>(l.keys), static_cast<unsigned long long>(l.records),
                     static_cast<unsigned long long>(l.bytes), static_cast<unsigned long long>(l.ms));
    }
    const auto total =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "percore-kv: loaded %llu keys from %s in %lld ms (appendfsync %s)\n",
                 static_cast<unsigned long long>(keys), s.dir.c_str(), static_cast<long long>(total),
                 to_string(s.appendfsync));
    co_return 0;
}

task<> start_logs_from_memory(sharded<shard_state>& shards, settings s) {
    co_await shards.invoke_on_all([s](shard_state& st) {
        return start_one(st, shard_log::directory(s.dir, this_shard_id()), log_options_of(s));
    });
}

} // namespace percore::kv
