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
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "apps/kv/object.hh"

namespace percore::kv {

class keyspace {
public:
    keyspace();

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
    [[nodiscard]] std::size_t keys_with_expiry() const noexcept { return _expires.size(); }
    /// Deletes everything (FLUSHDB); watchers of every key are marked dirty.
    void clear();

    /// One step of a SCAN: calls `fn` for up to about `count` keys from `cursor` on; \return the next cursor (0:
    /// done). Keys present during the whole scan are returned at least once.
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

    /// Approximate bytes held by keys and values (maxmemory, INFO memory).
    [[nodiscard]] std::size_t memory() const noexcept { return _memory; }
    /// Re-accounts `key` after its value changed size in place.
    void resized(std::string_view key, std::size_t old_memory, std::size_t new_memory) noexcept {
        (void)key;
        _memory = _memory - old_memory + new_memory;
    }

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

    // ---- statistics
    [[nodiscard]] std::uint64_t expired_keys() const noexcept { return _expired; }
    [[nodiscard]] std::uint64_t changes() const noexcept { return _changes; }
    [[nodiscard]] std::uint64_t hits() const noexcept { return _hits; }
    [[nodiscard]] std::uint64_t misses() const noexcept { return _misses; }
    void count_lookup(bool hit) noexcept { ++(hit ? _hits : _misses); }

private:
    struct entry {
        object value;
        std::size_t memory = 0;
        std::uint32_t lru = 0; // seconds since the keyspace started, at the last access
    };
    [[nodiscard]] std::uint32_t lru_clock() const noexcept {
        return static_cast<std::uint32_t>((_now - _epoch) / 1000);
    }
    using table = std::unordered_map<std::string, entry, string_hash, std::equal_to<>>;
    table::iterator live(std::string_view key);
    void delete_entry(table::iterator it);
    /// Present but past its TTL: logically gone, not deleted yet.
    [[nodiscard]] bool past_ttl(std::string_view key) const {
        auto e = _expires.find(key);
        return e != _expires.end() && e->second <= _now;
    }

    struct watched_key {
        std::string key;
        bool expired; ///< already past its TTL when watched: deleting it is no change
    };

    table _table;
    std::unordered_map<std::string, std::int64_t, string_hash, std::equal_to<>> _expires;
    std::unordered_map<std::string, std::vector<std::uint64_t>, string_hash, std::equal_to<>> _watched;
    std::unordered_map<std::uint64_t, std::vector<watched_key>> _watching;
    std::unordered_set<std::uint64_t> _dirty;
    std::vector<std::string>* _journal = nullptr;
    std::int64_t _now = 0;
    std::int64_t _epoch = 0;
    std::size_t _memory = 0;
    std::uint64_t _expired = 0;
    std::uint64_t _changes = 0;
    std::uint64_t _hits = 0;
    std::uint64_t _misses = 0;
    std::mt19937_64 _rng;
};

} // namespace percore::kv
