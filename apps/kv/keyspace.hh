/// \file
/// \brief `keyspace`: one shard's keys: their values, expiry times, and what watches them.
///
/// \code
/// keyspace db;
/// db.set_now(now_ms());                         // the time every command of this batch sees
/// db.set("k", object("v"));                     // replaces value and expiry
/// if (object* o = db.find("k")) { ... }         // null when absent or expired (an expired key is deleted)
/// db.set_expiry("k", db.now() + 1000);
/// \endcode
///
/// Invariants
/// - Shard-local: only the owning shard's thread touches it (other shards send it commands over the bus).
/// - A key's expiry, when it has one, is an absolute time in ms since the epoch; a key past it is never returned
///   (lazy expiry) and is deleted by find() or by active_expire_cycle().
/// - Every change goes through `modified(key)`: it counts the change and marks watchers of the key dirty.
/// - Keys live in `key_node`s (key, value and LRU clock in one allocation) chained in a `linear_table` that grows
///   a bucket at a time; a node never moves, so an `object*` from find() stays valid until its key is deleted.
/// - memory() is exact for keys, strings, expiry entries and buckets, an estimate for aggregates: a value handed
///   out by find(), find_or_create() or set() is re-measured by settle(), which runs after each command.
/// - Snapshots (begin_snapshot() .. end_snapshot()): every key present at begin_snapshot() is handed to the
///   `key_saver` exactly once, with its value and expiry as they were then: by the walk (snapshot_step()) or, if a
///   command reaches the key first, just before the command may change or delete it. A key's `snapshot_parity`
///   flag equal to `_snapshot_parity` means "saved, or born after the cut"; begin_snapshot() flips the parity
///   (every key becomes unsaved in O(1)) and new keys are born with the current parity. Outside a snapshot every
///   key's flag equals the parity, which is why a walk, once begun, always runs to its end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "apps/kv/expiry_index.hh"
#include "apps/kv/key_node.hh"
#include "apps/kv/linear_table.hh"
#include "apps/kv/object.hh"

namespace percore::kv {

class keyspace {
public:
    keyspace();
    keyspace(const keyspace&) = delete;
    keyspace& operator=(const keyspace&) = delete;
    ~keyspace();

    /// The time commands see (ms since the epoch); set once per batch, as Redis fixes it per command.
    void set_now(std::int64_t ms) noexcept { _now = ms; }
    [[nodiscard]] std::int64_t now() const noexcept { return _now; }

    /// The live value of `key`, or null (absent, or expired: then it is deleted here).
    [[nodiscard]] object* find(std::string_view key);
    /// Like find() but without expiring or counting an access (TYPE-like peeks are counted by callers).
    [[nodiscard]] bool exists(std::string_view key) { return find(key) != nullptr; }
    /// Sets `key` to `value`, dropping any expiry. \return the stored object
    object& set(std::string_view key, object value);
    /// Sets `key` to `value`, keeping its expiry when it had one (SET ... KEEPTTL).
    object& set_keep_ttl(std::string_view key, object value);
    /// The value of `key`, created empty with type `t` when absent. \return the object and whether it was created
    std::pair<object*, bool> find_or_create(std::string_view key, value_type t);
    /// Deletes `key`. \return whether it existed (and was live)
    bool erase(std::string_view key);
    /// Deletes `key` if its aggregate value became empty.
    void erase_if_empty(std::string_view key, const object& o) {
        if (o.empty_aggregate()) {
            erase(key);
        }
    }

    /// Expiry of a live key in ms since the epoch, or nullopt (no expiry). \pre the key exists
    [[nodiscard]] std::optional<std::int64_t> expiry(std::string_view key) const;
    /// \pre the key exists. A time in the past deletes the key at once (as Redis does).
    void set_expiry(std::string_view key, std::int64_t at_ms);
    /// \return whether the key had an expiry
    bool persist(std::string_view key);

    [[nodiscard]] std::size_t size() const noexcept { return _table.size(); }
    /// Hints for a caller that knows which keys come next (a log replay), given their key_hash(): first the
    /// bucket, some keys ahead; then its first node, fewer keys ahead. Hints only: nothing changes.
    void prefetch_bucket(std::uint64_t h) const noexcept { _table.prefetch_bucket(h); }
    void prefetch_chain(std::uint64_t h) const noexcept { _table.prefetch_chain(h); }
    [[nodiscard]] std::size_t keys_with_expiry() const noexcept { return _expires.size(); }
    /// Buckets of the key table (tests: growth and shrinking).
    [[nodiscard]] std::size_t bucket_count() const noexcept { return _table.bucket_count(); }
    /// Deletes everything (FLUSHDB); watchers of every key are marked dirty. O(1) but for the watchers: the keys
    /// are gone at once for every command, their memory is freed later by free_flushed(), in slices, so a flush
    /// of millions of keys does not stall the shard (Redis's lazy free, without a thread).
    void clear();
    /// Keys a clear() left to free (INFO's lazyfree_pending_objects).
    [[nodiscard]] std::size_t lazyfree_pending() const noexcept;
    /// Keys freed that way so far (INFO's lazyfreed_objects).
    [[nodiscard]] std::uint64_t lazyfreed() const noexcept { return _lazyfreed; }
    /// Frees about `budget` flushed keys. \return true once none is left
    bool free_flushed(std::size_t budget);

    /// One step of a SCAN: calls `fn` for up to about `count` keys from `cursor` on; \return the next cursor (0:
    /// done). Keys present during the whole scan are returned at least once, however the table grows or shrinks
    /// between steps. \warning `fn` must not add or delete keys.
    std::uint64_t scan(std::uint64_t cursor, std::size_t count, const std::function<void(std::string_view)>& fn);
    /// Every live key (KEYS).
    void for_each_key(const std::function<void(std::string_view)>& fn);
    /// A random live key, if any.
    [[nodiscard]] std::optional<std::string> random_key();

    /// allkeys-lru: of `samples` random keys, the one used least recently.
    [[nodiscard]] std::optional<std::string> lru_victim(unsigned samples);

    /// Active expiry: samples keys with an expiry and deletes expired ones, for at most `budget_us`. \return keys
    /// deleted.
    std::size_t active_expire_cycle(std::int64_t budget_us);

    /// Bytes held by keys and values (maxmemory, INFO memory): allocations of nodes, strings, expiry entries and
    /// buckets rounded to the allocator's size classes; aggregates estimated by object::memory().
    /// Keys a FLUSHALL left to free count until they are freed (as Redis counts lazy-free memory), so maxmemory
    /// cannot admit a second keyspace while the first is still allocated.
    [[nodiscard]] std::size_t memory() const noexcept {
        return _memory + _table.bytes() + _expires.bytes() + _flushed_memory;
    }
    /// Re-measures the values handed out since the last call (a command may have grown or shrunk them in place).
    /// The shard calls it after each command.
    void settle() noexcept {
        if (_last_inline != nullptr) {
            settle_inline();
        }
        if (!_touched.empty()) {
            settle_touched();
        }
    }
    /// Records touched_record() has looked at so far (tests: finding one costs O(1) however many there are).
    [[nodiscard]] std::uint64_t touched_steps() const noexcept { return _touched_steps; }
    /// Kept for callers written before settle(): values are re-measured after each command anyway.
    void resized(std::string_view, std::size_t, std::size_t) noexcept {}

    // ---- WATCH (Redis 7.0's rules: a change is a change of the key's logical value)
    /// Client `watcher` watches `key`: a later change of it marks the watcher dirty. Uses now().
    void watch(std::string_view key, std::uint64_t watcher);
    void unwatch(std::uint64_t watcher);
    /// Whether a key `watcher` watches changed since it started watching, or passed its TTL since (even if
    /// nothing deleted it yet); clears nothing. Uses now().
    [[nodiscard]] bool dirty(std::uint64_t watcher) const;
    /// Records a change of `key` (every write calls it, after the change).
    void modified(std::string_view key);
    /// From now on, also append every changed key to `journal` (null: stop). A scratch keyspace uses it to know
    /// what to write back.
    void set_journal(std::vector<std::string>* journal) noexcept { _journal = journal; }
    /// Called with each key deleted because its TTL passed (lazily or by the active cycle), before it goes: the
    /// log records the deletion, so a replay never revives it. Null: nobody is told.
    using expire_hook = void (*)(void* ctx, std::string_view key);
    void set_expire_hook(expire_hook hook, void* ctx) noexcept {
        _expire_hook = hook;
        _expire_ctx = ctx;
    }

    // ---- point-in-time snapshots (driven by apps/kv/snapshot/snapshot_writer.hh)
    /// Receives keys for a snapshot: `expiry_ms` is 0 for a key without one. It must not touch the keyspace.
    class key_saver {
    public:
        virtual void save(std::string_view key, const object& value, std::int64_t expiry_ms) = 0;

    protected:
        ~key_saver() = default;
    };
    /// The cut: every key present now will reach `saver` once, as it is now (keys already past their TTL are
    /// skipped: a replay would drop them anyway). \pre no snapshot is running
    void begin_snapshot(key_saver& saver) noexcept;
    /// One step of the walk from `cursor` (0 for the first): saves the unsaved keys of the buckets it visits, about
    /// `count` keys' worth. \return the next cursor, 0 when the walk is complete. Table growth and shrinking
    /// between steps are fine (the SCAN cursor's guarantee).
    std::uint64_t snapshot_step(std::uint64_t cursor, std::size_t count);
    /// Ends the snapshot. \pre snapshot_step() returned 0
    void end_snapshot() noexcept { _saver = nullptr; }
    /// Ends a snapshot whose walk did not complete (its writer was aborted): marks every key saved, in one go.
    void abandon_snapshot() noexcept;
    [[nodiscard]] bool snapshot_running() const noexcept { return _saver != nullptr; }

    // ---- statistics
    [[nodiscard]] std::uint64_t expired_keys() const noexcept { return _expired; }
    [[nodiscard]] std::uint64_t changes() const noexcept { return _changes; }
    [[nodiscard]] std::uint64_t hits() const noexcept { return _hits; }
    [[nodiscard]] std::uint64_t misses() const noexcept { return _misses; }
    void count_lookup(bool hit) noexcept { ++(hit ? _hits : _misses); }

private:
    [[nodiscard]] std::uint32_t lru_clock() const noexcept {
        return static_cast<std::uint32_t>((_now - _epoch) / 1000);
    }
    /// The node of `key`, or null; an expired one is deleted here.
    key_node* live(std::string_view key, std::uint64_t h);
    [[nodiscard]] bool expired(const key_node* n) const noexcept {
        return n->has(key_node::has_expiry) && _expires.at(n) <= _now;
    }
    [[nodiscard]] key_node* lookup(std::string_view key, std::uint64_t h) const noexcept {
        return _table.find(h, [key](const key_node& n) { return n.is(key); });
    }
    /// Present but past its TTL: logically gone, not deleted yet.
    [[nodiscard]] bool past_ttl(std::string_view key) const noexcept {
        const key_node* n = lookup(key, key_hash(key));
        return n != nullptr && expired(n);
    }

    /// The write hook: a key about to be handed out, changed or deleted is saved first if the running snapshot
    /// lacks it (one predictable branch when no snapshot runs).
    void preserve(key_node* n) {
        if (_saver != nullptr && n->has(key_node::snapshot_parity) != _snapshot_parity) {
            save_for_snapshot(n);
        }
    }
    void save_for_snapshot(key_node* n);

    struct watched_key {
        std::string key;
        bool expired; ///< already past its TTL when watched: deleting it is no change
    };
    key_node* insert(std::string_view key, std::uint64_t h, object value);
    void delete_node(key_node* n, std::uint64_t h);
    void replace_value(key_node* n, object value);
    /// The record of `n` in `_touched`, if it has one.
    std::pair<key_node*, std::size_t>* touched_record(const key_node* n) noexcept;
    /// Hands out `n`'s value to a command: remembered until settle() re-measures it.
    object* hand_out(key_node* n);
    void settle_touched() noexcept;
    void settle_inline() noexcept;

    linear_table<key_node, key_node_hash> _table;
    expiry_index _expires;
    /// What clear() took out, oldest first, waiting for free_flushed().
    struct flushed {
        linear_table<key_node, key_node_hash> keys;
        expiry_index expires;
    };
    std::vector<std::unique_ptr<flushed>> _flushed;
    std::uint64_t _lazyfreed = 0;
    std::size_t _flushed_memory = 0; ///< what memory() counted for them, less what was freed since
    std::vector<std::pair<key_node*, std::size_t>> _touched; ///< handed-out values and their size then
    /// Index of `_touched` by node, kept once it is longer than a short scan (a command that hands out many
    /// values and then replaces or deletes them: MSET of a key twice, MGET then DEL...), so that finding a record
    /// stays O(1) instead of a scan per key.
    std::unordered_map<const key_node*, std::size_t> _touched_index;
    static constexpr std::size_t touched_scan_max = 16;
    std::uint64_t _touched_steps = 0; ///< records looked at by touched_record() (tests: it stays linear)
    /// The inline string handed out last (memory 0 then). Strings grow in place only through the value a command
    /// looked up last (APPEND, SETRANGE, INCR*), so one slot, not a list, keeps GET and SET free of bookkeeping.
    key_node* _last_inline = nullptr;
    std::unordered_map<std::string, std::vector<std::uint64_t>, string_hash, std::equal_to<>> _watched;
    std::unordered_map<std::uint64_t, std::vector<watched_key>> _watching;
    std::unordered_set<std::uint64_t> _dirty;
    std::vector<std::string>* _journal = nullptr;
    key_saver* _saver = nullptr; ///< the running snapshot's, or null
    bool _snapshot_parity = false;
    expire_hook _expire_hook = nullptr;
    void* _expire_ctx = nullptr;
    void expiring(const key_node* n) {
        if (_expire_hook != nullptr) {
            _expire_hook(_expire_ctx, n->key());
        }
    }
    std::int64_t _now = 0;
    std::int64_t _epoch = 0;
    std::size_t _memory = 0; ///< nodes and their values' allocations (memory() adds the tables)
    std::uint64_t _expired = 0;
    std::uint64_t _changes = 0;
    std::uint64_t _hits = 0;
    std::uint64_t _misses = 0;
    detail::sample_rng _rng;
};

} // namespace percore::kv
