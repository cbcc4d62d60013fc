/// \file
/// \brief `object`: the value a key holds (string, list, set, hash or sorted set).
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "apps/kv/zset.hh"

namespace percore::kv {

enum class value_type : std::uint8_t { string, list, set, hash, zset };

/// The name TYPE reports.
[[nodiscard]] constexpr std::string_view type_name(value_type t) noexcept {
    switch (t) {
    case value_type::string:
        return "string";
    case value_type::list:
        return "list";
    case value_type::set:
        return "set";
    case value_type::hash:
        return "hash";
    case value_type::zset:
        return "zset";
    }
    return "none";
}

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
};

using list_value = std::deque<std::string>;
using hash_value = std::unordered_map<std::string, std::string, string_hash, std::equal_to<>>;

/// A set: members in a vector (random members in O(1): SPOP, SRANDMEMBER) indexed by a hash map.
class set_value {
public:
    [[nodiscard]] std::size_t size() const noexcept { return _members.size(); }
    [[nodiscard]] bool contains(std::string_view m) const { return _index.find(m) != _index.end(); }
    bool add(std::string_view m) {
        if (contains(m)) {
            return false;
        }
        _members.emplace_back(m);
        _index.emplace(_members.back(), _members.size() - 1);
        return true;
    }
    bool remove(std::string_view m) {
        auto it = _index.find(m);
        if (it == _index.end()) {
            return false;
        }
        remove_at(it->second);
        return true;
    }
    /// Removes and returns the member at `i` (the last one takes its place).
    std::string remove_at(std::size_t i) {
        std::string out = std::move(_members[i]);
        _index.erase(_index.find(std::string_view(out)));
        if (i + 1 != _members.size()) {
            _members[i] = std::move(_members.back());
            _index.find(std::string_view(_members[i]))->second = i;
        }
        _members.pop_back();
        return out;
    }
    [[nodiscard]] const std::string& at(std::size_t i) const noexcept { return _members[i]; }
    [[nodiscard]] const std::vector<std::string>& members() const noexcept { return _members; }

private:
    std::vector<std::string> _members;
    std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> _index;
};

/// A value in 16 bytes: a string of up to 15 bytes inline, a longer one in a heap block, or a pointer to an
/// aggregate. Why: the keyspace stores one per key inside its node (apps/kv/key_node.hh); a std::string there
/// would cost 32 bytes, a std::variant 40, for values most often a few bytes long (see the commit that made it).
///
/// Strings are read as a `std::string_view` and changed through assign(), append() and set_range(): their
/// storage moves between the inline and the heap form as they grow.
class object {
public:
    object() noexcept { set_small_size(0); }
    /// A string value.
    explicit object(std::string_view s) { init_string(s); }
    explicit object(const char* s)
        : object(std::string_view(s)) {}
    static object make(value_type t);
    object(object&& o) noexcept {
        std::memcpy(_b, o._b, sizeof(_b));
        o.set_small_size(0);
    }
    object& operator=(object&& o) noexcept {
        if (this != &o) {
            release();
            std::memcpy(_b, o._b, sizeof(_b));
            o.set_small_size(0);
        }
        return *this;
    }
    object(const object&) = delete;
    object& operator=(const object&) = delete;
    ~object() { release(); }

    [[nodiscard]] value_type type() const noexcept {
        const kind k = get_kind();
        return k <= kind::heap ? value_type::string : static_cast<value_type>(static_cast<std::uint8_t>(k) - 1);
    }

    /// The bytes of a string value. \pre type() is string
    [[nodiscard]] std::string_view str() const noexcept {
        if (get_kind() == kind::small) {
            return {_b, small_size()};
        }
        const heap_string* h = heap();
        return {h->data(), h->size};
    }
    /// Replaces a string value's bytes.
    void assign(std::string_view s);
    /// Appends to a string value (its buffer grows geometrically, as Redis's sds).
    void append(std::string_view s);
    /// Writes `s` at `offset` of a string value, padding with zero bytes first when it is shorter (SETRANGE).
    void set_range(std::size_t offset, std::string_view s);

    [[nodiscard]] list_value& list() noexcept { return *ptr<list_value>(); }
    [[nodiscard]] set_value& set() noexcept { return *ptr<set_value>(); }
    [[nodiscard]] hash_value& hash() noexcept { return *ptr<hash_value>(); }
    [[nodiscard]] zset_value& zset() noexcept { return *ptr<zset_value>(); }
    [[nodiscard]] const list_value& list() const noexcept { return *ptr<list_value>(); }
    [[nodiscard]] const set_value& set() const noexcept { return *ptr<set_value>(); }
    [[nodiscard]] const hash_value& hash() const noexcept { return *ptr<hash_value>(); }
    [[nodiscard]] const zset_value& zset() const noexcept { return *ptr<zset_value>(); }

    /// A deep copy (COPY, and values moved between shards).
    [[nodiscard]] object clone() const;
    /// True for an aggregate with no elements left (the key is then deleted, as in Redis).
    [[nodiscard]] bool empty_aggregate() const noexcept;
    /// Bytes held outside the object itself: exact for strings, an estimate for aggregates (maxmemory).
    [[nodiscard]] std::size_t memory() const noexcept;

    /// Longest string kept inline.
    static constexpr std::size_t inline_capacity = 15;
    /// Longest string there is (a heap string's size is 32 bits; proto-max-bulk-len is capped to it).
    static constexpr std::uint64_t max_string_size = UINT32_MAX;
    /// A string held inline: it has no allocation (memory() is 0).
    [[nodiscard]] bool is_inline() const noexcept { return get_kind() == kind::small; }

private:
    enum class kind : std::uint8_t { small, heap, list, set, hash, zset };
    /// A string past inline_capacity: its size and capacity, then its bytes.
    struct heap_string {
        std::uint32_t size;
        std::uint32_t capacity;
        [[nodiscard]] char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
        [[nodiscard]] const char* data() const noexcept { return reinterpret_cast<const char*>(this + 1); }
    };

    // _b[15]: the kind in its low 3 bits, an inline string's size in its high 5 bits. Otherwise _b[0..7] is the
    // pointer (heap string or aggregate).
    [[nodiscard]] kind get_kind() const noexcept { return static_cast<kind>(static_cast<std::uint8_t>(_b[15]) & 7U); }
    [[nodiscard]] std::size_t small_size() const noexcept { return static_cast<std::uint8_t>(_b[15]) >> 3U; }
    void set_small_size(std::size_t n) noexcept { _b[15] = static_cast<char>(n << 3U); }
    void set_pointer(kind k, void* p) noexcept {
        std::memcpy(_b, &p, sizeof(p));
        _b[15] = static_cast<char>(k);
    }
    [[nodiscard]] void* raw_pointer() const noexcept {
        void* p;
        std::memcpy(&p, _b, sizeof(p));
        return p;
    }
    template <typename T>
    [[nodiscard]] T* ptr() const noexcept {
        return static_cast<T*>(raw_pointer());
    }
    [[nodiscard]] heap_string* heap() const noexcept { return ptr<heap_string>(); }
    static heap_string* allocate_heap(std::size_t capacity);
    void init_string(std::string_view s);
    /// Makes room for `n` bytes of string, keeping the first `keep`; \return the bytes
    char* reserve(std::size_t n, std::size_t keep);
    void release() noexcept;

    alignas(8) char _b[16];
};

static_assert(sizeof(object) == 16);

} // namespace percore::kv
