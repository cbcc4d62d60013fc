#include "apps/kv/keyspace.hh"

#include <algorithm>
#include <chrono>

namespace percore::kv {

namespace {

std::uint64_t rng_seed() noexcept {
    // Distinct per keyspace without a syscall: a per-thread counter mixed with the process's hash seed.
    static thread_local std::uint64_t counter = 0;
    return key_hash(std::string_view(reinterpret_cast<const char*>(&++counter), sizeof(counter)));
}

} // namespace

keyspace::keyspace()
    : _rng(rng_seed()) {
    _epoch = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count();
    _now = _epoch;
}

keyspace::~keyspace() {
    while (!free_flushed(SIZE_MAX)) {
    }
    _expires.clear();
    _table.clear([](key_node* n) { key_node::destroy(n); });
}

key_node* keyspace::live(std::string_view key, std::uint64_t h) {
    key_node* n = lookup(key, h);
    if (n != nullptr && expired(n)) {
        ++_expired;
        expiring(n);
        delete_node(n, h);
        return nullptr;
    }
    if (n != nullptr) {
        preserve(n); // every caller may hand the value out for writing
    }
    return n;
}

object* keyspace::hand_out(key_node* n) {
    if (n->value.is_inline()) {
        _last_inline = n;
        return &n->value;
    }
    if (!n->has(key_node::touched)) {
        n->set(key_node::touched, true);
        _touched.emplace_back(n, n->value.memory());
        if (_touched.size() > touched_scan_max) {
            if (_touched_index.empty()) {
                for (std::size_t i = 0; i + 1 < _touched.size(); ++i) {
                    _touched_index.emplace(_touched[i].first, i);
                }
            }
            _touched_index.emplace(n, _touched.size() - 1);
        }
    }
    return &n->value;
}

void keyspace::settle_inline() noexcept {
    // An inline string has no allocation; one that outgrew it in place now has one.
    if (!_last_inline->has(key_node::touched)) {
        _memory += _last_inline->value.memory();
    }
    _last_inline = nullptr;
}

void keyspace::settle_touched() noexcept {
    for (auto& [n, before] : _touched) {
        if (n != nullptr) {
            _memory = _memory - before + n->value.memory();
            n->set(key_node::touched, false);
        }
    }
    _touched.clear();
    _touched_index.clear();
}

object* keyspace::find(std::string_view key) {
    key_node* n = live(key, key_hash(key));
    if (n == nullptr) {
        return nullptr;
    }
    n->set_lru(lru_clock());
    return hand_out(n);
}

key_node* keyspace::insert(std::string_view key, std::uint64_t h, object value) {
    key_node* n = key_node::create(key, std::move(value));
    n->set_lru(lru_clock());
    n->set(key_node::snapshot_parity, _snapshot_parity); // born after any running snapshot's cut
    _table.insert(n, h);
    _memory += n->allocation() + n->value.memory();
    return n;
}

std::pair<key_node*, std::size_t>* keyspace::touched_record(const key_node* n) noexcept {
    if (!n->has(key_node::touched)) {
        return nullptr;
    }
    if (!_touched_index.empty()) {
        ++_touched_steps;
        const auto it = _touched_index.find(n);
        return it == _touched_index.end() ? nullptr : &_touched[it->second];
    }
    for (auto& t : _touched) {
        ++_touched_steps;
        if (t.first == n) {
            return &t;
        }
    }
    return nullptr;
}

void keyspace::replace_value(key_node* n, object value) {
    // What memory() counts for the old value: nothing if it was handed out inline, its size when handed out if
    // it was recorded, its size otherwise.
    std::size_t before = n->value.memory();
    if (n == _last_inline) {
        before = 0;
        _last_inline = nullptr; // hand_out() looks at the new value
    }
    auto* rec = touched_record(n);
    if (rec != nullptr) {
        before = rec->second;
    }
    n->value = std::move(value);
    const std::size_t after = n->value.memory();
    _memory = _memory - before + after;
    if (rec != nullptr) {
        rec->second = after;
    }
    n->set_lru(lru_clock());
}

void keyspace::delete_node(key_node* n, std::uint64_t h) {
    preserve(n);
    std::size_t accounted = n->value.memory();
    if (n == _last_inline) {
        accounted = 0; // accounted as inline, even if it outgrew it since
        _last_inline = nullptr;
    }
    if (auto* rec = touched_record(n)) {
        accounted = rec->second;
        rec->first = nullptr;
        _touched_index.erase(n); // its address may come back as a new node
    }
    if (n->has(key_node::has_expiry)) {
        _expires.remove(n);
    }
    _table.remove(n, h);
    _memory -= n->allocation() + accounted;
    if (_journal != nullptr || !_watched.empty()) {
        modified(n->key());
    } else {
        ++_changes;
    }
    key_node::destroy(n);
}

object& keyspace::set(std::string_view key, object value) {
    const std::uint64_t h = key_hash(key);
    key_node* n = live(key, h);
    if (n != nullptr && n->has(key_node::has_expiry)) {
        _expires.remove(n);
    }
    if (n == nullptr) {
        n = insert(key, h, std::move(value));
    } else {
        replace_value(n, std::move(value));
    }
    modified(key);
    return *hand_out(n);
}

object& keyspace::set_keep_ttl(std::string_view key, object value) {
    const std::uint64_t h = key_hash(key);
    key_node* n = live(key, h);
    if (n == nullptr) {
        n = insert(key, h, std::move(value));
    } else {
        replace_value(n, std::move(value));
    }
    modified(key);
    return *hand_out(n);
}

std::pair<object*, bool> keyspace::find_or_create(std::string_view key, value_type t) {
    const std::uint64_t h = key_hash(key);
    key_node* n = live(key, h);
    if (n != nullptr) {
        n->set_lru(lru_clock());
        return {hand_out(n), false};
    }
    n = insert(key, h, object::make(t));
    return {hand_out(n), true};
}

bool keyspace::erase(std::string_view key) {
    const std::uint64_t h = key_hash(key);
    key_node* n = live(key, h);
    if (n == nullptr) {
        return false;
    }
    delete_node(n, h);
    return true;
}

std::optional<std::int64_t> keyspace::expiry(std::string_view key) const {
    const key_node* n = lookup(key, key_hash(key));
    if (n == nullptr || !n->has(key_node::has_expiry)) {
        return std::nullopt;
    }
    return _expires.at(n);
}

void keyspace::set_expiry(std::string_view key, std::int64_t at_ms) {
    if (at_ms <= _now) {
        erase(key);
        return;
    }
    key_node* n = lookup(key, key_hash(key));
    if (n == nullptr) {
        return;
    }
    preserve(n);
    _expires.set(n, at_ms);
    modified(key);
}

bool keyspace::persist(std::string_view key) {
    key_node* n = lookup(key, key_hash(key));
    if (n == nullptr || !n->has(key_node::has_expiry)) {
        return false;
    }
    preserve(n);
    _expires.remove(n);
    modified(key);
    return true;
}

void keyspace::clear() {
    // Only watched keys that exist change; one already past its TTL when watched was logically gone already.
    for (auto& [watcher, keys] : _watching) {
        for (watched_key& w : keys) {
            if (lookup(w.key, key_hash(w.key)) == nullptr) {
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
    _touched.clear();
    _touched_index.clear();
    _last_inline = nullptr;
    auto gone = std::make_unique<flushed>();
    _flushed_memory = memory(); // the live keys' share joins what earlier flushes left
    gone->keys.swap_contents(_table);
    gone->expires.swap(_expires);
    _flushed.push_back(std::move(gone));
    _memory = 0;
}

void keyspace::begin_snapshot(key_saver& saver) noexcept {
    _saver = &saver;
    _snapshot_parity = !_snapshot_parity;
}

void keyspace::abandon_snapshot() noexcept {
    _table.for_each([this](key_node& n) { n.set(key_node::snapshot_parity, _snapshot_parity); });
    _saver = nullptr;
}

void keyspace::save_for_snapshot(key_node* n) {
    n->set(key_node::snapshot_parity, _snapshot_parity);
    if (!expired(n)) {
        _saver->save(n->key(), n->value, n->has(key_node::has_expiry) ? _expires.at(n) : 0);
    }
}

std::uint64_t keyspace::snapshot_step(std::uint64_t cursor, std::size_t count) {
    // The SCAN cursor visits every key present for the whole walk at least once however the table splits or
    // merges between steps; the parity flag makes "at least once" exactly once, and keys deleted before the walk
    // reached them were saved by preserve() on their way out. (Nothing is inserted or removed during a step.)
    return _table.scan(cursor, count, [this](key_node& n) {
        if (n.has(key_node::snapshot_parity) != _snapshot_parity) {
            save_for_snapshot(&n);
        }
    });
}

std::size_t keyspace::lazyfree_pending() const noexcept {
    std::size_t n = 0;
    for (const auto& f : _flushed) {
        n += f->keys.size();
    }
    return n;
}

bool keyspace::free_flushed(std::size_t budget) {
    while (!_flushed.empty()) {
        flushed& f = *_flushed.front();
        const std::size_t before = f.keys.size();
        const std::size_t tables_before = f.keys.bytes() + f.expires.bytes();
        std::size_t freed = 0;
        // Expiry entries first: they point at the key nodes.
        const bool done = f.expires.free_some(budget) && f.keys.dispose_some(budget, [&freed](key_node* n) {
            freed += n->allocation() + n->value.memory();
            key_node::destroy(n);
        });
        freed += tables_before - (f.keys.bytes() + f.expires.bytes());
        _flushed_memory -= std::min(freed, _flushed_memory);
        _lazyfreed += before - f.keys.size();
        if (!done) {
            return false;
        }
        _flushed.erase(_flushed.begin());
        if (_flushed.empty()) {
            _flushed_memory = 0; // what is left of the estimate (expiry entries are not counted one by one) is gone
        }
        if (budget != SIZE_MAX) {
            return _flushed.empty();
        }
    }
    return true;
}

std::uint64_t keyspace::scan(std::uint64_t cursor, std::size_t count, const std::function<void(std::string_view)>& fn) {
    return _table.scan(cursor, count, [&](const key_node& n) {
        if (!expired(&n)) {
            fn(n.key());
        }
    });
}

void keyspace::for_each_key(const std::function<void(std::string_view)>& fn) {
    _table.for_each([&](const key_node& n) {
        if (!expired(&n)) {
            fn(n.key());
        }
    });
}

std::optional<std::string> keyspace::random_key() {
    for (int attempt = 0; attempt < 100; ++attempt) {
        key_node* n = _table.random(_rng);
        if (n == nullptr) {
            break;
        }
        if (!expired(n)) {
            return std::string(n->key());
        }
        ++_expired;
        expiring(n);
        delete_node(n, key_hash(n->key()));
    }
    return std::nullopt;
}

std::optional<std::string> keyspace::lru_victim(unsigned samples) {
    const key_node* best = nullptr;
    std::uint32_t best_idle = 0;
    const std::uint32_t clock = lru_clock();
    for (unsigned i = 0; i < std::max(1U, samples); ++i) {
        const key_node* n = _table.random(_rng);
        if (n == nullptr) {
            break;
        }
        // Idle time on the 24-bit clock, which wraps after 194 days.
        const std::uint32_t idle = (clock - n->lru()) & key_node::lru_mask;
        if (best == nullptr || idle > best_idle) {
            best = n;
            best_idle = idle;
        }
    }
    if (best == nullptr) {
        return std::nullopt;
    }
    return std::string(best->key());
}

std::size_t keyspace::active_expire_cycle(std::int64_t budget_us) {
    // Redis's cycle: sample 20 keys with an expiry, delete the expired ones, go on while more than a quarter of
    // the sample was expired and the time budget lasts.
    const auto start = std::chrono::steady_clock::now();
    std::size_t deleted = 0;
    while (_expires.size() != 0) {
        std::size_t sampled = 0;
        std::size_t expired_now = 0;
        for (; sampled < 20 && _expires.size() != 0; ++sampled) {
            key_node* n = _expires.random(_rng);
            if (_expires.at(n) <= _now) {
                ++_expired;
                ++expired_now;
                expiring(n);
                delete_node(n, key_hash(n->key()));
            }
        }
        deleted += expired_now;
        const auto spent =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
        if (expired_now * 4 <= sampled || spent.count() >= budget_us) {
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
    if (_watched.empty()) {
        return;
    }
    auto w = _watched.find(key);
    if (w == _watched.end()) {
        return;
    }
    const bool present = lookup(key, key_hash(key)) != nullptr;
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

} // namespace percore::kv
