#include "apps/kv/persistence/shard_log.hh"

#include <array>
#include <chrono>
#include <system_error>

#include "apps/kv/key_hash.hh"
#include "apps/kv/persistence/object_codec.hh"
#include "apps/kv/persistence/record_codec.hh"
#include "apps/kv/shard_state.hh"
#include "runtime/log.hh"
#include "runtime/spawn.hh"
#include "runtime/timer.hh"
#include "shard/shard_id.hh"
#include "storage/file.hh"

namespace percore::kv {

namespace {

constexpr logger kv_log("kv");

std::span<const std::byte> bytes_of(const std::string& s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// strerror-like text of an error (what Redis puts after "Errors writing to the AOF file: ").
std::string reason_of(const std::exception& e) {
    if (const auto* se = dynamic_cast<const std::system_error*>(&e)) {
        return se->code().message();
    }
    return e.what();
}

constinit thread_local std::uint64_t tl_txn_counter = 0;
constinit thread_local std::uint64_t tl_txn_base = 0;

} // namespace

shard_log::~shard_log() = default;

std::string shard_log::directory(const std::string& data_dir, unsigned shard) {
    return data_dir + "/shard-" + std::to_string(shard);
}

std::uint64_t shard_log::next_txn_id() noexcept {
    if (tl_txn_base == 0) {
        // Microseconds since the epoch at first use: a later run starts above every id of an earlier one (as long
        // as it issued fewer than one transaction per microsecond).
        tl_txn_base = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count());
    }
    return ((tl_txn_base + tl_txn_counter++) << 10) | (this_shard_id() & 1023U);
}

task<txn_census> shard_log::census(std::string dir, bool repair) {
    co_await storage::make_directory(dir);
    txn_census c;
    auto r = co_await storage::recover_log(dir, max_record_size, repair, [&c](std::span<const std::byte> p) {
        if (!p.empty() && p[0] == std::byte{'X'}) {
            if (auto h = persistence::peek_txn(p)) {
                c.txns.emplace_back(h->id, std::move(h->participants));
            }
        }
    });
    c.report = std::move(r.report);
    co_return c;
}

task<> shard_log::open(shard_state& st, std::string dir, storage::log_options options, txn_set incomplete) {
    _st = &st;
    _dir = std::move(dir);
    _options = options;
    _incomplete = std::move(incomplete);
    co_await open_log(true);
}

task<> shard_log::open_log(bool replay) {
    _replaying = true;
    std::uint64_t records = 0;
    try {
        _log =
            co_await storage::append_log::open(_dir, _options, [this, replay, &records](std::span<const std::byte> p) {
                ++records;
                if (replay) {
                    this->replay(p);
                }
            });
    } catch (...) {
        _replaying = false;
        throw;
    }
    _replaying = false;
    _status.loaded_records = records;
    _status.base_size = _log->recovery().bytes;
    _status.size = _status.base_size;
}

void shard_log::replay(std::span<const std::byte> payload) {
    persistence::record_reader r(payload);
    if (r.txn() && _incomplete.contains(r.txn()->id)) {
        return; // a multi-shard write not durable on every participant: none of it
    }
    shard_state& st = *_st;
    // Replay is bound by cache misses on the key table, one key after the other: a second reader runs ahead
    // and starts loading the buckets, then the chains, of the keys a few commands on.
    constexpr std::size_t bucket_ahead = 16;
    constexpr std::size_t chain_ahead = 8;
    std::array<std::uint64_t, bucket_ahead> ahead_hash{};
    persistence::record_reader ahead = r;
    std::size_t read_ahead = 0;
    std::size_t done = 0;
    const auto look_ahead = [&] {
        while (read_ahead < done + bucket_ahead && ahead.next(_ahead_scratch)) {
            const std::uint64_t h = _ahead_scratch.size() >= 2 ? key_hash(_ahead_scratch[1]) : 0;
            st.db.prefetch_bucket(h);
            ahead_hash[read_ahead % bucket_ahead] = h;
            ++read_ahead;
        }
        if (done + chain_ahead < read_ahead) {
            st.db.prefetch_chain(ahead_hash[(done + chain_ahead) % bucket_ahead]);
        }
    };
    while (r.next(_argv_scratch)) {
        look_ahead();
        ++done;
        st.db.set_now(r.clock() ? *r.clock() : now_ms());
        std::string_view name = _argv_scratch[0];
        const command_spec* spec = find_command(name);
        if (spec != nullptr && (spec->name == "flushall" || spec->name == "flushdb")) {
            st.db.clear();
            st.free_flushed_in_background();
            continue;
        }
        if (spec == nullptr || spec->kind != cmd_kind::keyed || spec->fn == nullptr ||
            !arity_ok(spec->arity, _argv_scratch.size())) {
            throw std::runtime_error(
                _dir + ": a log record holds a command that cannot be replayed: " + std::string(name.substr(0, 64)));
        }
        _reply_scratch.clear();
        resp::reply_writer out(_reply_scratch, 2);
        exec_context ctx{st.db, out, st};
        spec->fn(ctx, _argv_scratch);
        st.db.settle();
    }
    if (!r.ok()) {
        throw std::runtime_error(_dir + ": a log record is malformed (" + r.error() + ")");
    }
}

task<> shard_log::start_from_memory(shard_state& st, std::string dir, storage::log_options options) {
    _st = &st;
    _dir = std::move(dir);
    _options = options;
    co_await open_log(false);
    // The log becomes a snapshot of memory: what it held before is superseded (Redis rewrites its AOF then).
    auto c = co_await _log->begin_compaction();
    std::vector<std::string> keys;
    st.db.for_each_key([&keys](std::string_view k) { keys.emplace_back(k); });
    std::string rec;
    for (const std::string& k : keys) {
        if (object* o = st.db.find(k)) {
            rec.clear();
            persistence::encode_key(rec, k, *o, st.db.expiry(k));
            co_await c.add(bytes_of(rec));
        }
    }
    co_await c.commit();
}

task<> shard_log::close() {
    if (_log && !_pending.empty()) {
        (void)co_await commit(); // what the expiry cycle recorded last
    }
    _wake.broadcast();
    co_await _background->close();
    _background = std::make_unique<gate>();
    co_await _idle.wait([this] { return _inflight == 0; });
    co_await close_log();
}

task<> shard_log::close_log() {
    _pending.clear(); // recorded for a log that is going away (nothing acknowledged depends on it)
    _pending_clock.reset();
    if (!_log) {
        co_return; // a reload that failed left it closed
    }
    co_await _st->snapshots.interrupt(); // a running snapshot's compaction refers to the log
    auto log = std::move(_log);
    _old_syncs += log->stats().syncs;
    _old_batches += log->stats().batches;
    try {
        co_await log->close();
    } catch (const std::exception& e) {
        kv_log.error("closing the log {}: {}", _dir, e.what());
    }
}

task<> shard_log::sync() {
    if (_log) {
        co_await _log->sync();
    }
}

task<> shard_log::set_policy(storage::durability policy) {
    _options.policy = policy;
    if (!_log) {
        co_return;
    }
    if (!_pending.empty()) {
        (void)co_await commit();
    }
    co_await close_log();
    co_await open_log(false);
}

void shard_log::record_to(std::string& out, std::optional<std::int64_t>& out_clock, std::int64_t clock, argv_t argv) {
    if (out_clock != clock) {
        persistence::encode_clock(out, clock);
        out_clock = clock;
    }
    persistence::encode_command(out, argv);
    ++_status.commands;
}

void shard_log::record(std::int64_t clock, argv_t argv) {
    if (_in_txn) {
        record_to(_txn_part, _txn_clock, clock, argv);
    } else {
        record_to(_pending, _pending_clock, clock, argv);
    }
}

void shard_log::record_del(std::int64_t clock, std::string_view key) {
    const std::string_view argv[] = {"DEL", key};
    record(clock, argv);
}

void shard_log::record_value(std::int64_t clock, shard_state& st, std::string_view key) {
    object* o = st.db.find(key);
    if (o == nullptr) {
        record_del(clock, key);
        return;
    }
    std::string& out = _in_txn ? _txn_part : _pending;
    auto& out_clock = _in_txn ? _txn_clock : _pending_clock;
    if (out_clock != clock) {
        persistence::encode_clock(out, clock);
        out_clock = clock;
    }
    persistence::encode_key(out, key, *o, st.db.expiry(key));
    ++_status.commands;
}

std::string shard_log::take(std::string& from) {
    std::string rec;
    if (!_spare.empty()) {
        rec = std::move(_spare.back());
        _spare.pop_back();
    }
    rec.swap(from);
    return rec;
}

task<bool> shard_log::append_now(std::string record) {
    const std::uint64_t seq = ++_appended;
    bool ok = true;
    try {
        co_await _log->append(bytes_of(record));
        ++_status.records;
        _status.size += storage::framed_size(record.size());
    } catch (const std::exception& e) {
        ++_status.failed_appends;
        on_failure(seq, e.what());
        _status.last_error = e.what();
        _misconf_reason = reason_of(e);
        ok = false;
    }
    // A record after one that failed may depend on what failed: not acknowledged either.
    if (_failed_from && seq >= *_failed_from) {
        ok = false;
    }
    record.clear();
    if (_spare.size() < 4 && record.capacity() <= 64 * 1024) {
        _spare.push_back(std::move(record));
    }
    co_return ok;
}

task<bool> shard_log::commit() {
    if (_pending.empty() || !_log) {
        co_return !_misconf;
    }
    _pending_clock.reset();
    ++_inflight;
    auto done = co_await append_now(take(_pending));
    if (--_inflight == 0) {
        _idle.broadcast();
    }
    co_return done;
}

void shard_log::commit_soon() {
    if (_pending.empty() || !_log || _background->is_closed()) {
        return;
    }
    spawn([](shard_log* self, gate::holder) -> task<> { (void)co_await self->commit(); }(this, _background->hold()))
        .detach();
}

task<bool> shard_log::commit_txn(std::uint64_t id, std::vector<unsigned> participants) {
    if (!_log) {
        _txn_part.clear();
        _txn_clock.reset();
        co_return !_misconf;
    }
    std::string rec = take(_pending); // buffer reuse only: _pending goes out first, in its own record
    rec.swap(_pending);
    rec.clear();
    persistence::encode_txn_header(rec, id, participants);
    rec += _txn_part;
    _txn_part.clear();
    _txn_clock.reset();
    ++_inflight;
    auto done = co_await append_now(std::move(rec));
    if (--_inflight == 0) {
        _idle.broadcast();
    }
    co_return done;
}

void shard_log::on_failure(std::uint64_t seq, const std::string& why) {
    if (!_failed_from || seq < *_failed_from) {
        _failed_from = seq;
    }
    if (_misconf) {
        return;
    }
    _misconf = true;
    kv_log.error("shard {}: writing the log failed ({}): refusing writes (-MISCONF) until the log is reopened",
                 this_shard_id(), why);
    if (!_reloading && !_background->is_closed()) {
        _reloading = true;
        spawn(reload_loop(_background->hold())).detach();
    }
}

task<> shard_log::reload_loop(gate::holder hold) {
    (void)hold;
    for (;;) {
        (void)co_await _wake.wait_for(std::chrono::seconds(1));
        if (_background->is_closed()) {
            break;
        }
        shard_state& st = *_st;
        co_await st.lock.lock();
        bool ok = false;
        try {
            // Appends still in flight end first (they refer to the log's batches).
            co_await _idle.wait([this] { return _inflight == 0; });
            co_await close_log(); // the failure is known; what is on disk is what counts now
            // Memory may hold writes the disk lost: rebuild it from the log.
            _pending.clear();
            _pending_clock.reset();
            st.db.clear();
            st.free_flushed_in_background();
            co_await open_log(true);
            ok = true;
        } catch (const std::exception& e) {
            kv_log.error("shard {}: reopening the log {} failed: {} (trying again in 1 s)", this_shard_id(), _dir,
                         e.what());
        }
        st.lock.unlock();
        if (ok) {
            ++_status.reloads;
            _status.loaded_keys = st.db.size();
            _failed_from.reset();
            _misconf = false;
            kv_log.warn("shard {}: log {} reopened ({} keys): accepting writes again", this_shard_id(), _dir,
                        st.db.size());
            break;
        }
    }
    _reloading = false;
}

std::string shard_log::misconf_error() const {
    return "MISCONF Errors writing to the AOF file: " +
           (_misconf_reason.empty() ? std::string("unknown error") : _misconf_reason);
}

log_status shard_log::status() const {
    log_status s = _status;
    s.enabled = _log != nullptr;
    s.misconf = _misconf;
    if (_log) {
        s.syncs = _log->stats().syncs;
        s.batches = _log->stats().batches;
    }
    s.syncs += _old_syncs;
    s.batches += _old_batches;
    return s;
}

} // namespace percore::kv
