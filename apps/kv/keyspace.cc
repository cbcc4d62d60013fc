#include "apps/kv/keyspace.hh"

#include <algorithm>
#include <chrono>

namespace percore::kv {

namespace {
// Per-key overhead beyond the key and value bytes: the table node, the std::string headers.
constexpr std::size_t entry_overhead = 96;
} // namespace

keyspace::keyspace()
    : _rng(std::random_device{}()) {
    _epoch = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count();
    _now = _epoch;
}

keyspace::table::iterator keyspace::live(std::string_view key) {
    auto it = _table.find(key);
    if (it == _table.end()) {
        return it;
    }
    if (!_expires.empty()) {
        auto e = _expires.find(key);
        if (e != _expires.end() && e->second <= _now) {
            ++_expired;
            delete_entry(it);
            return _table.end();
        }
    }
    return it;
}

object* keyspace::find(std::string_view key) {
    auto it = live(key);
    if (it == _table.end()) {
        return nullptr;
    }
    it->second.lru = lru_clock();
    return &it->second.value;
}

void keyspace::delete_entry(table::iterator it) {
    const std::string key = it->first;
    _memory -= it->second.memory;
    _table.erase(it);
    if (auto e = _expires.find(key); e != _expires.end()) {
        _expires.erase(e);
    }
    modified(key);
}

object& keyspace::set(std::string_view key, object value) {
    if (auto e = _expires.find(key); e != _expires.end()) {
        _expires.erase(e);
    }
    return set_keep_ttl(key, std::move(value));
}

object& keyspace::set_keep_ttl(std::string_view key, object value) {
    const std::size_t mem = entry_overhead + key.size() + value.memory();
    auto it = live(key);
    if (it == _table.end()) {
        it = _table.emplace(std::string(key), entry{std::move(value), mem, lru_clock()}).first;
        _memory += mem;
    } else {
        _memory = _memory - it->second.memory + mem;
        it->second = entry{std::move(value), mem, lru_clock()};
    }
    modified(key);
    return it->second.value;
}

std::pair<object*, bool> keyspace::find_or_create(std::string_view key, value_type t) {
    auto it = live(key);
    if (it != _table.end()) {
        return {&it->second.value, false};
    }
    const std::size_t mem = entry_overhead + key.size();
    it = _table.emplace(std::string(key), entry{object::make(t), mem, lru_clock()}).first;
    _memory += mem;
    return {&it->second.value, true};
}

bool keyspace::erase(std::string_view key) {
    auto it = live(key);
    if (it == _table.end()) {
        return false;
    }
    delete_entry(it);
    return true;
}

std::optional<std::int64_t> keyspace::expiry(std::string_view key) const {
    auto e = _expires.find(key);
    if (e == _expires.end()) {
        return std::nullopt;
    }
    return e->second;
}

void keyspace::set_expiry(std::string_view key, std::int64_t at_ms) {
    if (at_ms <= _now) {
        erase(key);
        return;
    }
    auto e = _expires.find(key);
    if (e == _expires.end()) {
        _expires.emplace(std::string(key), at_ms);
    } else {
        e->second = at_ms;
    }
    modified(key);
}

bool keyspace::persist(std::string_view key) {
    auto e = _expires.find(key);
    if (e == _expires.end()) {
        return false;
    }
    _expires.erase(e);
    modified(key);
    return true;
}

void keyspace::clear() {
    // Only watched keys that exist change; one already past its TTL when watched was logically gone already.
    for (auto& [watcher, keys] : _watching) {
        for (watched_key& w : keys) {
            if (!_table.contains(w.key)) {
                continue;
            }
            if (w.expired) {
                w.expired = false;
                continue;
            }
            _dirty.insert(watcher);
        }
    }
    _changes += _table.size();
    _table.clear();
    _expires.clear();
    _memory = 0;
}

std::uint64_t keyspace::scan(std::uint64_t cursor, std::size_t count, const std::function<void(std::string_view)>& fn) {
    // The cursor is a bucket index; a rehash between calls may repeat keys, never skip one that stayed.
    const std::size_t buckets = _table.bucket_count();
    std::size_t b = static_cast<std::size_t>(cursor);
    std::size_t seen = 0;
    while (b < buckets && seen < count) {
        for (auto it = _table.begin(b); it != _table.end(b); ++it) {
            auto e = _expires.find(it->first);
            if (e == _expires.end() || e->second > _now) {
                fn(it->first);
            }
            ++seen;
        }
        ++b;
    }
    return b >= buckets ? 0 : b;
}

void keyspace::for_each_key(const std::function<void(std::string_view)>& fn) {
    for (auto& [key, e] : _table) {
        (void)e;
        auto x = _expires.find(key);
        if (x == _expires.end() || x->second > _now) {
            fn(key);
        }
    }
}

std::optional<std::string> keyspace::random_key() {
    for (int attempt = 0; attempt < 100 && !_table.empty(); ++attempt) {
        const std::size_t buckets = _table.bucket_count();
        std::size_t b = std::uniform_int_distribution<std::size_t>(0, buckets - 1)(_rng);
        for (std::size_t i = 0; i < buckets; ++i, b = (b + 1) % buckets) {
            if (_table.bucket_size(b) == 0) {
                continue;
            }
            const std::string& key = _table.begin(b)->first;
            auto x = _expires.find(key);
            if (x != _expires.end() && x->second <= _now) {
                std::string k = key;
                erase(k);
                break; // sample again
            }
            return key;
        }
    }
    return std::nullopt;
}

std::optional<std::string> keyspace::lru_victim(unsigned samples) {
    std::optional<std::string> best;
    std::uint32_t best_lru = 0;
    if (_table.empty()) {
        return best;
    }
    const std::size_t buckets = _table.bucket_count();
    for (unsigned i = 0; i < samples; ++i) {
        std::size_t b = std::uniform_int_distribution<std::size_t>(0, buckets - 1)(_rng);
        for (std::size_t n = 0; n < buckets && _table.bucket_size(b) == 0; ++n) {
            b = (b + 1) % buckets;
        }
        // Any key of the bucket: a key behind another in its bucket must be a candidate too, or it is never
        // evicted while its bucket-mate lives, however cold it is.
        auto it = _table.begin(b);
        std::advance(it, std::uniform_int_distribution<std::size_t>(0, _table.bucket_size(b) - 1)(_rng));
        if (!best || it->second.lru < best_lru) {
            best = it->first;
            best_lru = it->second.lru;
        }
    }
    return best;
}

std::size_t keyspace::active_expire_cycle(std::int64_t budget_us) {
    // Redis's cycle: sample 20 keys with an expiry, delete the expired ones, go on while more than a quarter of
    // the sample was expired and the time budget lasts.
    const auto start = std::chrono::steady_clock::now();
    std::size_t deleted = 0;
    for (;;) {
        if (_expires.empty()) {
            break;
        }
        std::size_t sampled = 0;
        std::size_t expired = 0;
        const std::size_t buckets = _expires.bucket_count();
        std::size_t b = std::uniform_int_distribution<std::size_t>(0, buckets - 1)(_rng);
        std::vector<std::string> victims;
        for (std::size_t i = 0; i < buckets && sampled < 20; ++i, b = (b + 1) % buckets) {
            for (auto it = _expires.begin(b); it != _expires.end(b) && sampled < 20; ++it) {
                ++sampled;
                if (it->second <= _now) {
                    victims.push_back(it->first);
                }
            }
        }
        for (const std::string& k : victims) {
            auto it = _table.find(k);
            if (it != _table.end()) {
                ++_expired;
                ++expired;
                delete_entry(it);
            }
        }
        deleted += expired;
        const auto spent =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
        if (sampled == 0 || expired * 4 <= sampled || spent.count() >= budget_us) {
            break;
        }
    }
    return deleted;
}

void keyspace::watch(std::string_view key, std::uint64_t watcher) {
    auto& list = _watched[std::string(key)];
    if (std::find(list.begin(), list.end(), watcher) == list.end()) {
        list.push_back(watcher);
        _watching[watcher].push_back({std::string(key), past_ttl(key)});
    }
}

void keyspace::unwatch(std::uint64_t watcher) {
    auto it = _watching.find(watcher);
    if (it != _watching.end()) {
        for (const watched_key& k : it->second) {
            auto w = _watched.find(k.key);
            if (w != _watched.end()) {
                std::erase(w->second, watcher);
                if (w->second.empty()) {
                    _watched.erase(w);
                }
            }
        }
        _watching.erase(it);
    }
    _dirty.erase(watcher);
}

bool keyspace::dirty(std::uint64_t watcher) const {
    if (_dirty.contains(watcher)) {
        return true;
    }
    // A key that passed its TTL since WATCH changed (to absent) even if no lookup or expiry cycle deleted it yet.
    auto it = _watching.find(watcher);
    if (it != _watching.end()) {
        for (const watched_key& k : it->second) {
            if (!k.expired && past_ttl(k.key)) {
                return true;
            }
        }
    }
    return false;
}

void keyspace::modified(std::string_view key) {
    ++_changes;
    if (_journal != nullptr) {
        _journal->emplace_back(key);
    }
    if (!_watched.empty()) {
        auto w = _watched.find(key);
        if (w == _watched.end()) {
            return;
        }
        const bool present = _table.find(key) != _table.end();
        for (std::uint64_t watcher : w->second) {
            auto& keys = _watching[watcher];
            auto k = std::find_if(keys.begin(), keys.end(), [&](const watched_key& x) { return x.key == key; });
            if (k != keys.end() && k->expired && !present) {
                k->expired = false; // a key past its TTL when watched, now deleted: no logical change
                continue;
            }
            _dirty.insert(watcher);
        }
    }
}

} // namespace percore::kv
