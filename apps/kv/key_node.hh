/// \file
/// \brief `key_node`: one key of a keyspace in one allocation: chain link, value, LRU clock, flags, key bytes.
///
/// Layout (32 bytes + the key): `next` (8) | key length (4) | LRU clock, 24 bits, and flags, 8 bits (4) |
/// `object` (16) | key bytes. A 16-byte key with a value of up to 15 bytes is one 48-byte allocation, where
/// Redis spends three (dictEntry, key sds, value robj: 72 bytes). Nodes never move: `object*` stays valid until
/// its key is deleted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#include "apps/kv/key_hash.hh"
#include "apps/kv/object.hh"

namespace percore::kv {

struct key_node {
    enum flag : std::uint32_t {
        has_expiry = 1U << 0, ///< the expiry index holds this node
        touched = 1U << 1,    ///< in the keyspace's list of values to re-measure after the command
        /// Equal to the keyspace's snapshot parity: the running snapshot (if any) has this key already, or the key
        /// came after its cut (keyspace.hh, "Snapshots").
        snapshot_parity = 1U << 2,
    };
    static constexpr std::uint32_t lru_bits = 24;
    static constexpr std::uint32_t lru_mask = (1U << lru_bits) - 1;

    key_node* next = nullptr;
    std::uint32_t key_size;
    std::uint32_t meta = 0; ///< LRU clock in the low 24 bits, flags above
    object value;

    [[nodiscard]] std::string_view key() const noexcept { return {reinterpret_cast<const char*>(this + 1), key_size}; }
    [[nodiscard]] bool is(std::string_view k) const noexcept {
        if (k.size() != key_size) {
            return false;
        }
        const char* mine = reinterpret_cast<const char*>(this + 1);
        if (k.size() >= 8 && k.size() <= 16) { // typical keys: two loads each side instead of a call to memcmp
            const std::size_t last = k.size() - 8;
            return detail::load64(k.data()) == detail::load64(mine) &&
                   detail::load64(k.data() + last) == detail::load64(mine + last);
        }
        return std::memcmp(k.data(), mine, k.size()) == 0;
    }
    [[nodiscard]] std::uint32_t lru() const noexcept { return meta & lru_mask; }
    void set_lru(std::uint32_t clock) noexcept { meta = (meta & ~lru_mask) | (clock & lru_mask); }
    [[nodiscard]] bool has(flag f) const noexcept { return (meta & (std::uint32_t{f} << lru_bits)) != 0; }
    void set(flag f, bool on) noexcept {
        const std::uint32_t bit = std::uint32_t{f} << lru_bits;
        meta = on ? (meta | bit) : (meta & ~bit);
    }

    /// Bytes of the allocation, rounded up to the allocator's size classes (16-byte steps up to 128).
    [[nodiscard]] static std::size_t allocation(std::size_t key_size) noexcept {
        return (sizeof(key_node) + key_size + 15) & ~std::size_t{15};
    }
    [[nodiscard]] std::size_t allocation() const noexcept { return allocation(key_size); }

    static key_node* create(std::string_view key, object value) {
        void* p = ::operator new(sizeof(key_node) + key.size());
        auto* n = new (p) key_node(static_cast<std::uint32_t>(key.size()), std::move(value));
        std::memcpy(n + 1, key.data(), key.size());
        return n;
    }
    static void destroy(key_node* n) noexcept {
        n->~key_node();
        ::operator delete(n);
    }

private:
    key_node(std::uint32_t size, object v) noexcept
        : key_size(size)
        , value(std::move(v)) {}
};

static_assert(sizeof(key_node) == 32);

/// The hash a node is filed under (linear_table re-derives it when it splits a bucket).
struct key_node_hash {
    std::uint64_t operator()(const key_node& n) const noexcept { return key_hash(n.key()); }
};

} // namespace percore::kv
