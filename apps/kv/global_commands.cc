#include "apps/kv/global_commands.hh"

#include <algorithm>
#include <csignal>
#include <optional>
#include <random>
#include <string>
#include <unistd.h>

#include "apps/kv/commands/util.hh"
#include "apps/kv/config_command.hh"
#include "apps/kv/cross_shard.hh"
#include "apps/kv/info.hh"
#include "apps/kv/on_all_shards.hh"
#include "apps/kv/session.hh"
#include "apps/kv/snapshot/snapshot_commands.hh"
#include "runtime/log.hh"
#include "runtime/when_all.hh"
#include "shard/shard_id.hh"

namespace percore::kv {

namespace {

std::vector<unsigned> all_shards() {
    std::vector<unsigned> v(shard_count());
    for (unsigned i = 0; i < v.size(); ++i) {
        v[i] = i;
    }
    return v;
}

task<> flush(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out, shard_lock_set* held) {
    if (argv.size() > 2 || (argv.size() == 2 && !iequals(argv[1], "async") && !iequals(argv[1], "sync"))) {
        out.error(err_syntax);
        co_return;
    }
    std::optional<shard_lock_set> own;
    if (held == nullptr) {
        own.emplace(shards);
        co_await own->acquire(all_shards(), true);
    }
    // FLUSHALL SYNC frees the keys before it replies (the shard stalls for it, as asked); otherwise they are
    // freed in the background, a slice at a time (INFO memory's lazyfree_pending_objects).
    const bool sync = argv.size() == 2 && iequals(argv[1], "sync");
    co_await on_all_shards(shards, [sync](shard_state& st) {
        if (st.plog.recording()) {
            const std::string_view flush[] = {"FLUSHALL"};
            st.plog.record(now_ms(), flush);
        }
        st.db.clear();
        if (sync) {
            while (!st.db.free_flushed(SIZE_MAX)) {
            }
        } else {
            st.free_flushed_in_background();
        }
        return 0;
    });
    if (own) {
        co_await own->release();
        if (!own->durable()) {
            out.error(not_durable_error(co_await misconf_on(shards, all_shards())));
            co_return;
        }
    }
    out.ok();
}

task<> keys(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out) {
    const std::string pattern(argv[1]);
    const bool all = pattern == "*";
    auto parts = co_await on_all_shards(shards, [pattern, all](shard_state& st) {
        std::vector<std::string> found;
        st.db.for_each_key([&](std::string_view k) {
            if (all || glob_match(pattern, k)) {
                found.emplace_back(k);
            }
        });
        return found;
    });
    std::size_t n = 0;
    for (const auto& p : parts) {
        n += p.size();
    }
    out.array(n);
    for (const auto& p : parts) {
        for (const std::string& k : p) {
            out.bulk(k);
        }
    }
}

task<> scan(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out) {
    // The cursor: the shard's own cursor times the shard count, plus the shard.
    std::uint64_t cursor = 0;
    {
        const std::string_view c = argv[1];
        std::int64_t v = 0;
        if (c.empty() || c.size() > 20 || c.find_first_not_of("0123456789") != std::string_view::npos) {
            out.error("ERR invalid cursor");
            co_return;
        }
        cursor = std::strtoull(std::string(c).c_str(), nullptr, 10);
        (void)v;
    }
    std::string pattern;
    bool match = false;
    std::int64_t count = 10;
    std::optional<value_type> type;
    std::string type_name_arg;
    for (std::size_t i = 2; i < argv.size(); i += 2) {
        if (i + 1 >= argv.size()) {
            out.error(err_syntax);
            co_return;
        }
        if (iequals(argv[i], "match")) {
            pattern = argv[i + 1];
            match = pattern != "*";
        } else if (iequals(argv[i], "count")) {
            if (!parse_int(argv[i + 1], count)) {
                out.error(err_not_integer);
                co_return;
            }
            if (count < 1) {
                out.error(err_syntax);
                co_return;
            }
        } else if (iequals(argv[i], "type")) {
            type_name_arg = argv[i + 1];
            for (auto t : {value_type::string, value_type::list, value_type::set, value_type::hash, value_type::zset}) {
                if (iequals(type_name_arg, type_name(t))) {
                    type = t;
                }
            }
            if (!type) {
                type = static_cast<value_type>(255); // an unknown type matches nothing, as in Redis
            }
        } else {
            out.error(err_syntax);
            co_return;
        }
    }
    const unsigned n = shard_count();
    unsigned shard = static_cast<unsigned>(cursor % n);
    std::uint64_t local = cursor / n;
    struct step {
        std::uint64_t next;
        std::vector<std::string> keys;
    };
    auto r = co_await shards.invoke_on(shard, [local, count, pattern, match, type](shard_state& st) {
        st.db.set_now(now_ms());
        step s;
        s.next = st.db.scan(local, static_cast<std::size_t>(count), [&](std::string_view k) {
            if (match && !glob_match(pattern, k)) {
                return;
            }
            if (type) {
                object* o = st.db.find(k);
                if (o == nullptr || o->type() != *type) {
                    return;
                }
            }
            s.keys.emplace_back(k);
        });
        return s;
    });
    std::uint64_t next = 0;
    if (r.next != 0) {
        next = r.next * n + shard;
    } else if (shard + 1 < n) {
        next = shard + 1; // the next shard, from its start
    }
    out.array(2);
    out.bulk(std::to_string(next));
    out.array(r.keys.size());
    for (const std::string& k : r.keys) {
        out.bulk(k);
    }
}

task<> randomkey(sharded<shard_state>& shards, resp::reply_writer& out) {
    auto sizes = co_await on_all_shards(shards, [](shard_state& st) { return st.db.size(); });
    std::size_t total = 0;
    for (std::size_t s : sizes) {
        total += s;
    }
    static thread_local std::mt19937_64 rng(std::random_device{}());
    for (int attempt = 0; attempt < 16 && total > 0; ++attempt) {
        std::size_t pick = std::uniform_int_distribution<std::size_t>(0, total - 1)(rng);
        unsigned shard = 0;
        while (pick >= sizes[shard]) {
            pick -= sizes[shard];
            ++shard;
        }
        auto key = co_await shards.invoke_on(shard, [](shard_state& st) {
            st.db.set_now(now_ms());
            return st.db.random_key();
        });
        if (key) {
            out.bulk(*key);
            co_return;
        }
    }
    out.null();
}

} // namespace

bool parse_memory(std::string_view text, std::uint64_t& bytes) noexcept {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    if (digits == 0 || digits > 19) {
        return false;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        v = v * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    const std::string_view unit = text.substr(digits);
    std::uint64_t mul = 1;
    if (unit.empty() || iequals(unit, "b")) {
        mul = 1;
    } else if (iequals(unit, "k")) {
        mul = 1000;
    } else if (iequals(unit, "kb")) {
        mul = 1024;
    } else if (iequals(unit, "m")) {
        mul = 1000 * 1000;
    } else if (iequals(unit, "mb")) {
        mul = 1024 * 1024;
    } else if (iequals(unit, "g")) {
        mul = 1000ULL * 1000 * 1000;
    } else if (iequals(unit, "gb")) {
        mul = 1024ULL * 1024 * 1024;
    } else {
        return false;
    }
    if (v > UINT64_MAX / mul) {
        return false;
    }
    bytes = v * mul;
    return true;
}

/// Syncs one shard's log; \return "" or why it failed.
task<std::string> sync_log(shard_state& st) {
    try {
        co_await st.plog.sync();
    } catch (const std::exception& e) {
        co_return std::string(e.what());
    }
    co_return std::string();
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]: every shard's log synced, then the same orderly stop as SIGTERM (which
/// syncs again after the last connections finished). The caller's connection closes without a reply, as in Redis.
task<> shutdown(session& s, argv_t argv, resp::reply_writer& out) {
    bool force = false;
    for (std::size_t i = 1; i < argv.size(); ++i) {
        if (iequals(argv[i], "abort")) {
            out.error("ERR No shutdown in progress.");
            co_return;
        }
        if (iequals(argv[i], "force")) {
            force = true;
        } else if (!iequals(argv[i], "nosave") && !iequals(argv[i], "save") && !iequals(argv[i], "now")) {
            out.error(err_syntax);
            co_return;
        }
    }
    std::vector<task<std::string>> syncs;
    for (unsigned i = 0; i < shard_count(); ++i) {
        syncs.push_back(s.shards().invoke_on(i, [](shard_state& st) { return sync_log(st); }));
    }
    auto failures = co_await when_all(std::move(syncs));
    for (const std::string& f : failures) {
        if (!f.empty() && !force) {
            logger("kv").error("SHUTDOWN: syncing a log failed: {}", f);
            out.error("ERR Errors trying to SHUTDOWN. Check logs.");
            co_return;
        }
    }
    logger("kv").warn("SHUTDOWN requested by client {}", s.id());
    s.close_after_reply();
    ::kill(::getpid(), SIGTERM);
}

namespace {

task<> dbsize(sharded<shard_state>& shards, resp::reply_writer& out) {
    auto sizes = co_await on_all_shards(shards, [](shard_state& st) { return st.db.size(); });
    std::size_t n = 0;
    for (std::size_t x : sizes) {
        n += x;
    }
    out.integer(static_cast<std::int64_t>(n));
}

/// Runs `read` (a command that reads every shard) with every shard's lock held shared, so that what it counts or
/// lists is one point in time: never half of an MSET or a transaction. Inside EXEC (`held`) the transaction
/// holds every shard already; one shard has no multi-shard writes to split.
task<> on_every_shard_at_once(sharded<shard_state>& shards, shard_lock_set* held, task<> read) {
    if (held != nullptr || shard_count() == 1) {
        co_await std::move(read);
        co_return;
    }
    shard_lock_set locks(shards);
    co_await locks.acquire(all_shards(), false);
    co_await std::move(read); // if it throws, ~shard_lock_set releases the locks
    co_await locks.release();
}

} // namespace

task<> run_global(session& s, const command_spec& spec, argv_t argv, resp::reply_writer& out, shard_lock_set* held) {
    auto& shards = s.shards();
    const std::string_view name = spec.name;
    if (name == "dbsize") {
        co_await on_every_shard_at_once(shards, held, dbsize(shards, out));
    } else if (name == "flushdb" || name == "flushall") {
        co_await flush(shards, argv, out, held);
    } else if (name == "shutdown") {
        co_await shutdown(s, argv, out);
    } else if (name == "keys") {
        co_await on_every_shard_at_once(shards, held, keys(shards, argv, out));
    } else if (name == "scan") {
        co_await scan(shards, argv, out);
    } else if (name == "randomkey") {
        co_await on_every_shard_at_once(shards, held, randomkey(shards, out));
    } else if (name == "info") {
        co_await info_command(shards, argv, out);
    } else if (name == "config") {
        co_await config_command(shards, argv, out);
    } else if (name == "bgsave" || name == "bgrewriteaof") {
        co_await start_snapshots(shards, argv, name == "bgrewriteaof", out);
    } else if (name == "lastsave") {
        co_await lastsave(shards, out);
    } else {
        out.error("ERR unknown command '" + std::string(name) + "'");
    }
}

} // namespace percore::kv
