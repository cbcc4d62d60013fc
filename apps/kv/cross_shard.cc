#include "apps/kv/cross_shard.hh"

#include <algorithm>
#include <optional>
#include <string>

#include "apps/kv/commands/util.hh"
#include "apps/kv/slot.hh"
#include "runtime/abort_shield.hh"
#include "runtime/when_all.hh"
#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace percore::kv {

// ---------------------------------------------------------------------------------------------------- locks

task<> shard_lock_set::acquire(std::vector<unsigned> shards, bool exclusive) {
    std::sort(shards.begin(), shards.end());
    shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
    _exclusive = exclusive;
    abort_shield shield; // a lock taken on another shard must be released: never stop halfway
    for (unsigned s : shards) {
        co_await _shards.invoke_on(s, [exclusive](shard_state& st) -> task<> {
            if (exclusive) {
                co_await st.lock.lock();
                st.plog.begin_txn();
            } else {
                co_await st.lock.lock_shared();
            }
        });
        _held.push_back(s);
    }
}

namespace {

task<bool> commit_part_and_unlock(shard_state& st, std::uint64_t id, std::vector<unsigned> writers) {
    const bool ok = co_await st.plog.commit_txn(id, std::move(writers));
    st.lock.unlock();
    co_return ok;
}

} // namespace

task<std::string> misconf_on(sharded<shard_state>& shards, const std::vector<unsigned>& on) {
    std::vector<task<std::string>> parts;
    for (unsigned s : on) {
        parts.push_back(shards.invoke_on(
            s, [](shard_state& st) { return st.plog.misconf() ? st.plog.misconf_error() : std::string(); }));
    }
    for (std::string& e : co_await when_all(std::move(parts))) {
        if (!e.empty()) {
            co_return e;
        }
    }
    co_return std::string();
}

std::string not_durable_error(std::string misconf) {
    return misconf.empty() ? std::string("MISCONF Errors writing to the AOF file: the write could not be made durable")
                           : misconf;
}

task<> shard_lock_set::release() {
    abort_shield shield;
    if (_exclusive && !_held.empty()) {
        // Which shards changed something: they are the transaction's participants.
        std::vector<task<bool>> ends;
        for (unsigned s : _held) {
            ends.push_back(_shards.invoke_on(s, [](shard_state& st) { return st.plog.end_txn(); }));
        }
        const std::vector<bool> wrote = co_await when_all(std::move(ends));
        std::vector<unsigned> writers;
        for (std::size_t i = 0; i < _held.size(); ++i) {
            if (wrote[i]) {
                writers.push_back(_held[i]);
            }
        }
        if (!writers.empty()) {
            const std::uint64_t id = shard_log::next_txn_id();
            std::vector<task<bool>> commits;
            for (unsigned s : writers) {
                commits.push_back(_shards.invoke_on(
                    s, [id, writers](shard_state& st) { return commit_part_and_unlock(st, id, writers); }));
            }
            for (bool ok : co_await when_all(std::move(commits))) {
                _durable = _durable && ok;
            }
            std::erase_if(_held, [&writers](unsigned s) {
                return std::find(writers.begin(), writers.end(), s) != writers.end();
            });
        }
    }
    std::vector<task<>> releases;
    for (unsigned s : _held) {
        releases.push_back(_shards.invoke_on(s, [ex = _exclusive](shard_state& st) {
            if (ex) {
                st.lock.unlock();
            } else {
                st.lock.unlock_shared();
            }
        }));
    }
    _held.clear();
    co_await when_all(std::move(releases));
}

shard_lock_set::~shard_lock_set() {
    for (unsigned s : _held) {
        post_to(s, [&shards = _shards, ex = _exclusive] {
            shard_state& st = shards.local();
            if (ex) {
                st.plog.abandon_txn(); // an operation that threw half way: nothing of it is logged
            }
            ex ? st.lock.unlock() : st.lock.unlock_shared();
        });
    }
}

bool shard_lock_set::holds(unsigned shard) const noexcept {
    return std::find(_held.begin(), _held.end(), shard) != _held.end();
}

void shards_of_keys(const command_spec& spec, argv_t argv, std::vector<std::size_t>& key_pos,
                    std::vector<unsigned>& owners, std::vector<unsigned>& involved) {
    key_positions(spec, argv, key_pos);
    owners.clear();
    involved.clear();
    const unsigned n = shard_count();
    for (std::size_t p : key_pos) {
        const unsigned s = slot_shard(key_slot(argv[p]), n);
        owners.push_back(s);
        involved.push_back(s);
    }
    std::sort(involved.begin(), involved.end());
    involved.erase(std::unique(involved.begin(), involved.end()), involved.end());
}

namespace {

/// Keys (as owned strings) of each involved shard, with the index of each key in the command's key order.
struct split_keys {
    std::vector<unsigned> shards;
    std::vector<std::vector<std::string>> keys;
    std::vector<std::vector<std::size_t>> order;
};

split_keys split(argv_t argv, const std::vector<std::size_t>& key_pos, const std::vector<unsigned>& owners,
                 const std::vector<unsigned>& involved) {
    split_keys out;
    out.shards = involved;
    out.keys.resize(involved.size());
    out.order.resize(involved.size());
    for (std::size_t k = 0; k < key_pos.size(); ++k) {
        const auto i =
            static_cast<std::size_t>(std::lower_bound(involved.begin(), involved.end(), owners[k]) - involved.begin());
        out.keys[i].emplace_back(argv[key_pos[k]]);
        out.order[i].push_back(k);
    }
    return out;
}

/// Runs `fn(shard_state&, keys)` on every involved shard at once; \return the results in `involved` order.
template <typename Fn>
task<std::vector<std::invoke_result_t<Fn&, shard_state&, std::vector<std::string>&>>>
on_each(sharded<shard_state>& shards, split_keys& sk, Fn fn) {
    using R = std::invoke_result_t<Fn&, shard_state&, std::vector<std::string>&>;
    std::vector<task<R>> parts;
    for (std::size_t i = 0; i < sk.shards.size(); ++i) {
        parts.push_back(shards.invoke_on(sk.shards[i], [fn, keys = &sk.keys[i]](shard_state& st) mutable {
            st.db.set_now(now_ms());
            return fn(st, *keys);
        }));
    }
    co_return co_await when_all(std::move(parts));
}

task<> mget(sharded<shard_state>& shards, split_keys& sk, std::size_t nkeys, resp::reply_writer& out) {
    auto parts = co_await on_each(shards, sk, [](shard_state& st, std::vector<std::string>& keys) {
        std::vector<std::optional<std::string>> values;
        for (const std::string& k : keys) {
            object* o = st.db.find(k);
            if (o != nullptr && o->type() == value_type::string) {
                values.emplace_back(o->str());
            } else {
                values.emplace_back();
            }
        }
        st.db.settle(); // as after a command: the values handed out are re-measured, their records dropped
        return values;
    });
    std::vector<const std::optional<std::string>*> ordered(nkeys);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        for (std::size_t j = 0; j < parts[i].size(); ++j) {
            ordered[sk.order[i][j]] = &parts[i][j];
        }
    }
    out.array(nkeys);
    for (const auto* v : ordered) {
        if (v->has_value()) {
            out.bulk(**v);
        } else {
            out.null();
        }
    }
}

task<std::int64_t> count_keys(sharded<shard_state>& shards, split_keys& sk, bool erase) {
    auto parts = co_await on_each(shards, sk, [erase](shard_state& st, std::vector<std::string>& keys) {
        std::int64_t n = 0;
        for (const std::string& k : keys) {
            if (erase) {
                if (st.db.erase(k)) {
                    ++n;
                    if (st.plog.recording()) {
                        st.plog.record_del(st.db.now(), k);
                    }
                }
            } else {
                n += st.db.find(k) != nullptr ? 1 : 0;
            }
        }
        st.db.settle();
        return n;
    });
    std::int64_t total = 0;
    for (std::int64_t n : parts) {
        total += n;
    }
    co_return total;
}

/// MSET and MSETNX: `values[i]` goes with key i of the command.
task<> set_all(sharded<shard_state>& shards, split_keys& sk, argv_t argv, const std::vector<std::size_t>& key_pos) {
    std::vector<std::vector<std::string>> values(sk.shards.size());
    for (std::size_t i = 0; i < sk.shards.size(); ++i) {
        for (std::size_t k : sk.order[i]) {
            values[i].emplace_back(argv[key_pos[k] + 1]);
        }
    }
    std::vector<task<>> parts;
    for (std::size_t i = 0; i < sk.shards.size(); ++i) {
        parts.push_back(shards.invoke_on(sk.shards[i], [keys = &sk.keys[i], vals = &values[i]](shard_state& st) {
            st.db.set_now(now_ms());
            const bool logging = st.plog.recording();
            for (std::size_t j = 0; j < keys->size(); ++j) {
                if (logging) {
                    const std::string_view set[] = {"SET", (*keys)[j], (*vals)[j]};
                    st.plog.record(st.db.now(), set);
                }
                st.db.set((*keys)[j], object(std::move((*vals)[j])));
            }
            st.db.settle();
        }));
    }
    co_await when_all(std::move(parts));
}

/// A key's value and expiry, carried between shards.
struct carried {
    std::optional<object> value;
    std::optional<std::int64_t> expiry;
};

/// Gathers the keys into a scratch keyspace, runs the command there, writes back what it changed.
task<> gather_run_scatter(sharded<shard_state>& shards, const command_spec& spec, argv_t argv, split_keys& sk,
                          resp::reply_writer& out) {
    auto gathered = co_await on_each(shards, sk, [](shard_state& st, std::vector<std::string>& keys) {
        std::vector<carried> values;
        for (const std::string& k : keys) {
            carried c;
            if (object* o = st.db.find(k)) {
                c.value = o->clone();
                c.expiry = st.db.expiry(k);
            }
            values.push_back(std::move(c));
        }
        st.db.settle();
        return values;
    });
    keyspace scratch;
    scratch.set_now(now_ms());
    for (std::size_t i = 0; i < gathered.size(); ++i) {
        for (std::size_t j = 0; j < gathered[i].size(); ++j) {
            carried& c = gathered[i][j];
            if (c.value) {
                scratch.set(sk.keys[i][j], std::move(*c.value));
                if (c.expiry) {
                    scratch.set_expiry(sk.keys[i][j], *c.expiry);
                }
            }
        }
    }
    std::vector<std::string> journal;
    scratch.set_journal(&journal);
    exec_context ctx{scratch, out, shards.local()};
    spec.fn(ctx, argv);
    scratch.set_journal(nullptr);
    if (journal.empty()) {
        co_return;
    }
    std::sort(journal.begin(), journal.end());
    journal.erase(std::unique(journal.begin(), journal.end()), journal.end());
    // Write back each changed key to its owner: its new value and expiry, or its deletion.
    std::vector<std::vector<std::pair<std::string, carried>>> back(sk.shards.size());
    for (const std::string& k : journal) {
        const unsigned owner = slot_shard(key_slot(k), shard_count());
        const auto i =
            static_cast<std::size_t>(std::lower_bound(sk.shards.begin(), sk.shards.end(), owner) - sk.shards.begin());
        carried c;
        if (object* o = scratch.find(k)) {
            c.value = std::move(*o);
            c.expiry = scratch.expiry(k);
        }
        back[i].emplace_back(k, std::move(c));
    }
    std::vector<task<>> parts;
    for (std::size_t i = 0; i < sk.shards.size(); ++i) {
        if (back[i].empty()) {
            continue;
        }
        parts.push_back(shards.invoke_on(sk.shards[i], [changes = &back[i]](shard_state& st) {
            st.db.set_now(now_ms());
            for (auto& [key, c] : *changes) {
                if (c.value) {
                    st.db.set(key, std::move(*c.value));
                    if (c.expiry) {
                        st.db.set_expiry(key, *c.expiry);
                    }
                } else {
                    st.db.erase(key);
                }
                if (st.plog.recording()) {
                    st.plog.record_value(st.db.now(), st, key);
                }
            }
            st.db.settle();
        }));
    }
    co_await when_all(std::move(parts));
}

task<> run_parts(sharded<shard_state>& shards, const command_spec& spec, argv_t argv,
                 const std::vector<std::size_t>& key_pos, split_keys& sk, resp::reply_writer& out) {
    const std::string_view name = spec.name;
    if (name == "mget") {
        co_await mget(shards, sk, key_pos.size(), out);
    } else if (name == "del" || name == "unlink") {
        out.integer(co_await count_keys(shards, sk, true));
    } else if (name == "exists" || name == "touch") {
        out.integer(co_await count_keys(shards, sk, false));
    } else if (name == "mset" || name == "msetnx") {
        if (argv.size() % 2 == 0) {
            out.error(arity_error(name));
            co_return;
        }
        if (name == "msetnx") {
            const std::int64_t existing = co_await count_keys(shards, sk, false);
            if (existing > 0) {
                out.integer(0);
                co_return;
            }
        }
        co_await set_all(shards, sk, argv, key_pos);
        if (name == "msetnx") {
            out.integer(1);
        } else {
            out.ok();
        }
    } else {
        co_await gather_run_scatter(shards, spec, argv, sk, out);
    }
}

} // namespace

task<bool> make_room_on(sharded<shard_state>& shards, const std::vector<unsigned>& on) {
    if (shards.local().config().maxmemory == 0) {
        co_return true;
    }
    std::vector<task<bool>> parts;
    for (unsigned s : on) {
        parts.push_back(shards.invoke_on(s, [](shard_state& st) {
            st.db.set_now(now_ms());
            return st.make_room();
        }));
    }
    const auto room = co_await when_all(std::move(parts));
    co_return std::all_of(room.begin(), room.end(), [](bool r) { return r; });
}

task<> run_cross_shard(sharded<shard_state>& shards, const command_spec& spec, argv_t argv, resp::reply_writer& out,
                       shard_lock_set* held) {
    std::vector<std::size_t> key_pos;
    std::vector<unsigned> owners;
    std::vector<unsigned> involved;
    shards_of_keys(spec, argv, key_pos, owners, involved);
    split_keys sk = split(argv, key_pos, owners, involved);
    const bool denyoom = (spec.flags & cmd_denyoom) != 0;
    if (held != nullptr) {
        bool room = true;
        if (denyoom) {
            room = co_await make_room_on(shards, involved);
        }
        if (!room) {
            out.error(err_oom);
            co_return;
        }
        co_await run_parts(shards, spec, argv, key_pos, sk, out);
        co_return;
    }
    shard_lock_set locks(shards);
    const bool exclusive = (spec.flags & cmd_readonly) == 0;
    co_await locks.acquire(involved, exclusive);
    const std::size_t reply_at = out.bytes().size();
    std::exception_ptr failure;
    try {
        abort_shield shield; // the parts run to their end: half an MSET must not be left behind
        std::string misconf;
        if ((spec.flags & cmd_write) != 0) {
            misconf = co_await misconf_on(shards, involved);
        }
        // Under the locks: the room made is still there when the parts write.
        bool room = true;
        if (denyoom && misconf.empty()) {
            room = co_await make_room_on(shards, involved);
        }
        if (!misconf.empty()) {
            out.error(misconf);
        } else if (!room) {
            out.error(err_oom);
        } else {
            co_await run_parts(shards, spec, argv, key_pos, sk, out);
        }
    } catch (...) {
        failure = std::current_exception();
    }
    co_await locks.release();
    if (failure) {
        std::rethrow_exception(failure);
    }
    if (!locks.durable()) {
        // Not durable on every shard: not acknowledged (recovery leaves the whole write out).
        out.bytes().resize(reply_at);
        out.error(not_durable_error(co_await misconf_on(shards, involved)));
    }
}

} // namespace percore::kv
