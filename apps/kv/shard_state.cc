#include "apps/kv/shard_state.hh"

#include <algorithm>
#include <chrono>

#include "apps/kv/kv_metrics.hh"
#include "apps/kv/persistence/command_log.hh"
#include "apps/kv/session.hh"
#include "runtime/preempt.hh"
#include "runtime/sync/gate.hh"
#include "shard/shard_id.hh"

namespace percore::kv {

const char* to_string(eviction_policy p) noexcept {
    switch (p) {
    case eviction_policy::noeviction:
        return "noeviction";
    case eviction_policy::allkeys_lru:
        return "allkeys-lru";
    }
    return "?";
}

const char* to_string(storage::durability d) noexcept {
    switch (d) {
    case storage::durability::always:
        return "always";
    case storage::durability::everysec:
        return "everysec";
    case storage::durability::no:
        return "no";
    }
    return "?";
}

bool parse_durability(std::string_view s, storage::durability& out) noexcept {
    for (auto d : {storage::durability::always, storage::durability::everysec, storage::durability::no}) {
        const std::string_view name = to_string(d);
        if (s.size() == name.size() && std::equal(s.begin(), s.end(), name.begin(), [](char a, char b) {
                return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
            })) {
            out = d;
            return true;
        }
    }
    return false;
}

std::int64_t now_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

shard_state::shard_state(settings s)
    : _settings(std::move(s)) {
    db.set_expire_hook(&shard_state::on_expire, this);
}

void shard_state::on_expire(void* self, std::string_view key) {
    auto* st = static_cast<shard_state*>(self);
    if (st->plog.recording()) {
        st->plog.record_del(st->db.now(), key);
    }
}

void shard_state::start() {
    _expiry_timer.set_callback([this] {
        db.set_now(now_ms());
        // A bounded slice per tick (a quarter of the tick at most, as Redis's slow cycle).
        db.active_expire_cycle(static_cast<std::int64_t>(250'000 / std::max(1U, _settings.hz)));
        plog.commit_soon(); // the deletions it recorded
        close_idle_clients();
        snapshots.maybe_rewrite(*this);
    });
    _expiry_timer.arm_periodic(std::chrono::milliseconds(1000 / std::max(1U, _settings.hz)));
    _metrics = register_kv_metrics(*this);
}

void shard_state::close_idle_clients() {
    // As Redis's client cron: also reaches connections that were already waiting when `timeout` was lowered
    // (a read's own timeout is fixed when the read starts).
    if (_settings.timeout_s == 0) {
        return;
    }
    const std::int64_t now = now_ms();
    const auto limit = static_cast<std::int64_t>(_settings.timeout_s) * 1000;
    std::vector<session*> idle;
    for (session* s : _clients) {
        if (s->idle_ms(now) > limit) {
            idle.push_back(s);
        }
    }
    for (session* s : idle) {
        s->kill();
    }
}

void shard_state::reconfigure(const settings& s) {
    const bool rearm = s.hz != _settings.hz;
    _settings = s;
    if (rearm) {
        _expiry_timer.cancel();
        _expiry_timer.arm_periodic(std::chrono::milliseconds(1000 / std::max(1U, _settings.hz)));
    }
}

void shard_state::free_flushed_in_background() {
    if (_freeing || _background.is_closed() || db.lazyfree_pending() == 0) {
        return;
    }
    _freeing = true;
    spawn_in(_background, free_flushed());
}

namespace {
constexpr std::size_t free_step = 256; // keys freed between two looks at the time slice
} // namespace

task<> shard_state::free_flushed() {
    // Small steps, yielding when the time slice is up: commands keep their latency, an idle shard frees at full
    // speed. Stops early at shutdown (stop() frees the rest).
    while (!_background.is_closed() && !db.free_flushed(free_step)) {
        co_await maybe_yield();
    }
    _freeing = false;
}

task<> shard_state::stop() {
    _expiry_timer.cancel();
    co_await snapshots.stop(); // before the log closes under it
    co_await plog.close();
    co_await _background.close();
    // The keys go in slices too: freeing millions in the keyspace's destructor would hold the shard for as long.
    db.clear();
    while (!db.free_flushed(free_step)) {
        co_await maybe_yield();
    }
}

std::size_t shard_state::client_share() const noexcept {
    const std::size_t shards = shard_count();
    const std::size_t base = _settings.maxclients / shards;
    return base + (this_shard_id() < _settings.maxclients % shards ? 1 : 0);
}

std::uint64_t shard_state::maxmemory_share() const noexcept {
    return _settings.maxmemory / shard_count();
}

bool shard_state::make_room() {
    const std::uint64_t limit = maxmemory_share();
    if (limit == 0 || db.memory() <= limit) {
        return true;
    }
    if (_settings.policy == eviction_policy::noeviction) {
        return false;
    }
    // Evict sampled least-recently-used keys until under the limit (bounded, as Redis's performEvictions).
    for (int i = 0; i < 1024 && db.memory() > limit; ++i) {
        auto victim = db.lru_victim(_settings.maxmemory_samples);
        if (!victim) {
            break;
        }
        db.erase(*victim);
        if (plog.recording()) {
            plog.record_del(db.now(), *victim);
        }
        ++counters.evicted_keys;
    }
    return db.memory() <= limit;
}

void shard_state::execute_one(const command_spec& spec, argv_t argv, resp::reply_writer& out) {
    counters.count_command(spec);
    const bool writes = (spec.flags & cmd_write) != 0;
    if (writes && plog.misconf()) {
        out.error(plog.misconf_error());
        return;
    }
    if ((spec.flags & cmd_denyoom) != 0 && _settings.maxmemory != 0 && !make_room()) {
        out.error(err_oom);
        return;
    }
    exec_context ctx{db, out, *this};
    if (writes && plog.recording()) {
        const std::uint64_t before = db.changes();
        const std::size_t reply_at = out.bytes().size();
        spec.fn(ctx, argv);
        if (db.changes() != before) {
            log_command(*this, spec, argv, std::string_view(out.bytes()).substr(reply_at));
        }
    } else {
        spec.fn(ctx, argv);
    }
    db.settle(); // values the command changed in place are re-measured (maxmemory, INFO)
}

void shard_state::execute(batch& b) {
    db.set_now(now_ms());
    resp::reply_writer out(b.replies, b.protocol);
    b.ends.reserve(b.specs.size());
    for (std::size_t i = b.ends.size(); i < b.specs.size(); ++i) {
        execute_one(*b.specs[i], b.argvs[i], out);
        b.ends.push_back(b.trimmed + b.replies.size());
        if (b.replies.size() >= b.reply_budget) {
            break;
        }
    }
}

void shard_state::refuse_writes(batch& b, std::size_t first, std::size_t from) {
    // Rebuilt in place: read replies stay (what they saw was there), write replies become the error.
    std::string replies = b.replies.substr(0, from);
    resp::reply_writer out(replies, b.protocol);
    const std::string error = plog.misconf_error();
    std::size_t begin = from;
    for (std::size_t i = first; i < b.ends.size(); ++i) {
        const std::size_t end = b.ends[i] - b.trimmed;
        if ((b.specs[i]->flags & cmd_write) != 0) {
            out.error(error);
        } else {
            replies.append(b.replies, begin, end - begin);
        }
        begin = end;
        b.ends[i] = b.trimmed + replies.size();
    }
    b.replies = std::move(replies);
}

void shard_state::execute_locked(batch& b) {
    // A command that throws (bad_alloc) must not leave the shard locked for everybody else.
    struct unlock_at_exit {
        shared_mutex& m;
        bool exclusive;
        ~unlock_at_exit() { exclusive ? m.unlock() : m.unlock_shared(); }
    } unlock{lock, b.writes};
    execute(b);
}

task<> shard_state::run(batch& b) {
    // A snapshot's unwritten records are at their bound: nothing runs (and adds to them) until the disk catches up.
    if (snapshots.over_limit()) [[unlikely]] {
        co_await snapshots.wait_for_room();
    }
    const std::size_t first = b.ends.size();
    const std::size_t from = b.replies.size();
    // Uncontended (no multi-shard operation holds the lock or waits for it): run at once.
    if (b.writes ? lock.try_lock() : lock.try_lock_shared()) {
        execute_locked(b);
    } else {
        if (b.writes) {
            co_await lock.lock();
        } else {
            co_await lock.lock_shared();
        }
        execute_locked(b);
    }
    // The append starts before anything else can run here: log order is apply order. Replies wait for it.
    if (plog.has_pending()) {
        const bool durable = co_await plog.commit();
        if (!durable) {
            refuse_writes(b, first, from);
        }
    }
}

} // namespace percore::kv
