/// \file
/// \brief `expiry_index`: the expiry times of a keyspace's keys that have one, keyed by node, sampled at random
/// by the active expiry cycle.
///
/// Why a separate index rather than 8 more bytes in every node: most keys have no expiry (the flag
/// `key_node::has_expiry` says which do, so a lookup of a key without one never touches the index), and active
/// expiry must sample among keys that have one. Each entry is a 24-byte node in a linear_table, so the index
/// grows without a spike as the keyspace does.
#pragma once

#include <cstddef>
#include <cstdint>

#include "apps/kv/key_node.hh"
#include "apps/kv/linear_table.hh"

namespace percore::kv {

class expiry_index {
public:
    expiry_index() = default;
    expiry_index(const expiry_index&) = delete;
    expiry_index& operator=(const expiry_index&) = delete;
    ~expiry_index() { clear(); }

    [[nodiscard]] std::size_t size() const noexcept { return _table.size(); }
    /// Bytes held (entries and buckets).
    [[nodiscard]] std::size_t bytes() const noexcept { return _table.size() * entry_bytes + _table.bytes(); }

    /// The expiry of `k`. \pre k has one (its has_expiry flag)
    [[nodiscard]] std::int64_t at(const key_node* k) const noexcept { return find(k)->at; }
    /// Sets or replaces the expiry of `k` and sets its flag.
    void set(key_node* k, std::int64_t at);
    /// Removes the expiry of `k` and clears its flag. \pre k has one
    void remove(key_node* k) noexcept;
    /// A key with an expiry, drawn uniformly, or null.
    [[nodiscard]] key_node* random(detail::sample_rng& rng) const noexcept {
        entry* e = _table.random(rng);
        return e == nullptr ? nullptr : e->key;
    }
    void clear() noexcept;
    /// Exchanges the entries of two indexes (O(1)): a flushed keyspace hands its index to a lazy free.
    void swap(expiry_index& o) noexcept { _table.swap_contents(o._table); }
    /// Frees about `budget` entries. \return true once empty
    bool free_some(std::size_t budget) noexcept {
        return _table.dispose_some(budget, [](entry* e) { delete e; });
    }

private:
    struct entry {
        entry* next = nullptr;
        key_node* key;
        std::int64_t at;
    };
    struct entry_hash {
        std::uint64_t operator()(const entry& e) const noexcept { return pointer_hash(e.key); }
    };
    static constexpr std::size_t entry_bytes = (sizeof(entry) + 15) & ~std::size_t{15};

    [[nodiscard]] entry* find(const key_node* k) const noexcept {
        return _table.find(pointer_hash(k), [k](const entry& e) { return e.key == k; });
    }

    linear_table<entry, entry_hash> _table;
};

} // namespace percore::kv
