/// \file
/// \brief `linear_table<Node, Hasher>`: a chained hash table that grows and shrinks one bucket at a time
/// (Litwin's linear hashing), over intrusive nodes the owner allocates.
///
/// Why this shape (tests/bench/kv_table_bench.cc has the figures):
/// - No growth spike: an insert that takes the load past its bound splits one bucket (a few nodes re-linked); the
///   table never rehashes everything at once, as std::unordered_map, absl and tsl do when they double.
/// - Bytes: 8 per bucket at a steady load of `max_load` keys per bucket, whatever the key count (a doubling
///   table swings between full and half empty), plus the node's `next` pointer.
/// - Stable nodes: a node never moves, so `object*` handed to commands stays valid while other keys come and go.
/// - SCAN: a bucket always holds every key whose hash has the bucket's low bits (a prefix class), so Redis's
///   reverse-binary cursor returns every key present for the whole scan at least once across any growth.
///
/// Invariants
/// - Buckets 0 .. mask + split are in use; bucket b < split has been split (it holds hashes with h & (2 mask + 1)
///   == b), buckets split .. mask hold h & mask == b, buckets mask + 1 .. mask + split are the split halves.
/// - The table owns buckets, never nodes: the caller frees them (clear() hands each one to a disposer).
/// - `Node` has a `Node* next`; `Hasher{}(const Node&)` gives the hash the node was inserted under.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace percore::kv {

namespace detail {

[[nodiscard]] inline std::uint64_t reverse_bits(std::uint64_t v) noexcept {
#if defined(__has_builtin) && __has_builtin(__builtin_bitreverse64)
    return __builtin_bitreverse64(v);
#else
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(v);
#endif
}

/// A small fast generator for sampling (splitmix64): 8 bytes of state, no syscall to seed.
class sample_rng {
public:
    explicit sample_rng(std::uint64_t seed) noexcept
        : _s(seed) {}
    std::uint64_t operator()() noexcept {
        std::uint64_t z = (_s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, n) (Lemire's multiply; the bias is below 2^-32 for tables of this size).
    std::size_t below(std::size_t n) noexcept {
        return static_cast<std::size_t>((static_cast<unsigned __int128>((*this)()) * n) >> 64);
    }

private:
    std::uint64_t _s;
};

} // namespace detail

template <typename Node, typename Hasher>
class linear_table {
public:
    /// \param max_load keys per bucket (in eighths) past which an insert splits a bucket
    explicit linear_table(unsigned max_load_eighths = 12) noexcept
        : _max_load8(max_load_eighths) {}
    linear_table(const linear_table&) = delete;
    linear_table& operator=(const linear_table&) = delete;
    ~linear_table() { release_all(); }

    [[nodiscard]] std::size_t size() const noexcept { return _size; }
    [[nodiscard]] bool empty() const noexcept { return _size == 0; }
    [[nodiscard]] std::size_t bucket_count() const noexcept { return _segments.empty() ? 0 : _mask + 1 + _split; }
    /// Bytes of bucket arrays and directory (the nodes are the caller's).
    [[nodiscard]] std::size_t bytes() const noexcept {
        return _segments.capacity() * sizeof(Node**) +
               (_segments.empty() ? 0 : (_segments.size() - 1) * segment_size * sizeof(Node*) + _seg0 * sizeof(Node*));
    }

    /// The node `eq` accepts among those with hash `h`, or null.
    template <typename Eq>
    [[nodiscard]] Node* find(std::uint64_t h, Eq&& eq) const noexcept {
        if (_segments.empty()) {
            return nullptr;
        }
        for (Node* n = bucket(address(h)); n != nullptr; n = n->next) {
            if (eq(*n)) {
                return n;
            }
        }
        return nullptr;
    }

    /// Hints the CPU to load the bucket a lookup of hash `h` starts at: a caller that knows its next keys (a log
    /// replay) overlaps their cache misses with the work before them.
    void prefetch_bucket(std::uint64_t h) const noexcept {
        if (!_segments.empty()) {
            __builtin_prefetch(&bucket(address(h)));
        }
    }
    /// Then the first node of that bucket's chain (reads the bucket: call it some steps after prefetch_bucket).
    void prefetch_chain(std::uint64_t h) const noexcept {
        if (!_segments.empty()) {
            if (const Node* n = bucket(address(h))) {
                __builtin_prefetch(n);
            }
        }
    }

    /// Links `n` (hash `h`); it must not be present already.
    void insert(Node* n, std::uint64_t h) {
        if (_segments.empty()) {
            _segments.push_back(new Node*[min_buckets]());
            _seg0 = min_buckets;
        }
        Node*& head = bucket(address(h));
        n->next = head;
        head = n;
        ++_size;
        if (_size * 8 > bucket_count() * _max_load8) {
            split_one();
        }
    }

    /// Unlinks `n` (hash `h`). \pre `n` is in the table
    void remove(Node* n, std::uint64_t h) noexcept {
        Node** link = &bucket(address(h));
        while (*link != n) {
            link = &(*link)->next;
        }
        *link = n->next;
        n->next = nullptr;
        --_size;
        // Shrink below a quarter of the bound, a few buckets per removal (bounded work, hysteresis against
        // thrashing at the boundary).
        for (int i = 0; i < 4 && bucket_count() > min_buckets && _size * 32 < bucket_count() * _max_load8; ++i) {
            merge_one();
        }
    }

    /// One SCAN step from `cursor`: calls `fn(Node&)` for each node of each bucket visited, until `count` nodes
    /// (or 10 x `count` buckets) were visited. \return the next cursor, 0 when the scan is complete.
    /// \warning `fn` must not insert or remove.
    template <typename Fn>
    std::uint64_t scan(std::uint64_t cursor, std::size_t count, Fn&& fn) const {
        if (_segments.empty()) {
            return 0;
        }
        std::uint64_t v = cursor;
        std::size_t seen = 0;
        std::size_t buckets = 0;
        do {
            // A bucket already split resolves one bit more of the hash than one not split yet.
            std::uint64_t m = _mask;
            if ((v & _mask) < _split) {
                m = _mask * 2 + 1;
            }
            for (Node* n = bucket(v & m); n != nullptr; n = n->next) {
                fn(*n);
                ++seen;
            }
            // Redis's reverse-binary increment over the bits of this bucket's mask.
            v |= ~m;
            v = detail::reverse_bits(v);
            ++v;
            v = detail::reverse_bits(v);
        } while (v != 0 && seen < count && ++buckets < count * 10);
        return v;
    }

    /// A node drawn uniformly (rejection sampling on chain length: a bucket is kept with probability
    /// min(len, cap) / cap, then one of its nodes at random), or null when empty.
    template <typename Rng>
    [[nodiscard]] Node* random(Rng& rng) const noexcept {
        if (_size == 0) {
            return nullptr;
        }
        constexpr std::size_t cap = 8;
        const std::size_t n = bucket_count();
        for (int attempt = 0; attempt < 64; ++attempt) {
            Node* head = bucket(rng.below(n));
            std::size_t len = 0;
            for (Node* x = head; x != nullptr && len < cap; x = x->next) {
                ++len;
            }
            if (len == 0 || rng.below(cap) >= len) {
                continue;
            }
            return nth(head, rng);
        }
        // A sparse table: the first non-empty bucket from a random one.
        std::size_t b = rng.below(n);
        while (bucket(b) == nullptr) {
            b = b + 1 == n ? 0 : b + 1;
        }
        return nth(bucket(b), rng);
    }

    /// Calls `fn(Node&)` for every node. \warning `fn` must not insert or remove.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        const std::size_t n = bucket_count();
        for (std::size_t b = 0; b < n; ++b) {
            for (Node* x = bucket(b); x != nullptr; x = x->next) {
                fn(*x);
            }
        }
    }

    /// Unlinks every node, handing each to `dispose(Node*)`, and frees the buckets.
    template <typename Dispose>
    void clear(Dispose&& dispose) {
        const std::size_t n = bucket_count();
        for (std::size_t b = 0; b < n; ++b) {
            for (Node* x = bucket(b); x != nullptr;) {
                Node* next = x->next;
                dispose(x);
                x = next;
            }
        }
        release_all();
    }

    /// Exchanges the contents (nodes, buckets, size) of two tables; each keeps its own max load. O(1).
    void swap_contents(linear_table& o) noexcept {
        std::swap(_segments, o._segments);
        std::swap(_mask, o._mask);
        std::swap(_split, o._split);
        std::swap(_size, o._size);
        std::swap(_seg0, o._seg0);
    }

    /// Unlinks about `budget` nodes (whole buckets, the last ones first), handing each to `dispose(Node*)`, and
    /// shrinks the table as its buckets empty: freeing a large table in slices (at least one bucket per call).
    /// \return true once the table is empty (and its buckets freed)
    template <typename Dispose>
    bool dispose_some(std::size_t budget, Dispose&& dispose) {
        while (_size != 0) {
            Node*& last = bucket(bucket_count() - 1);
            for (Node* x = last; x != nullptr;) {
                Node* next = x->next;
                dispose(x);
                --_size;
                budget -= budget != 0 ? 1 : 0;
                x = next;
            }
            last = nullptr;
            if (bucket_count() > min_buckets) {
                merge_one();
            } else if (_size != 0) { // the first buckets: sweep them, the table is nearly empty
                for (std::size_t b = 0; b < bucket_count(); ++b) {
                    for (Node* x = bucket(b); x != nullptr;) {
                        Node* next = x->next;
                        dispose(x);
                        x = next;
                    }
                }
                _size = 0;
            }
            if (budget == 0) {
                break;
            }
        }
        if (_size == 0) {
            release_all();
            return true;
        }
        return false;
    }

private:
    static constexpr std::size_t segment_bits = 10;
    static constexpr std::size_t segment_size = std::size_t{1} << segment_bits; // 8 KB of bucket heads
    static constexpr std::size_t min_buckets = 4;
    static constexpr std::size_t split_prefetch_distance = 4;

    [[nodiscard]] std::size_t address(std::uint64_t h) const noexcept {
        std::size_t b = h & _mask;
        if (b < _split) {
            b = h & (_mask * 2 + 1);
        }
        return b;
    }
    [[nodiscard]] Node*& bucket(std::size_t b) const noexcept {
        return _segments[b >> segment_bits][b & (segment_size - 1)];
    }

    template <typename Rng>
    static Node* nth(Node* head, Rng& rng) noexcept {
        std::size_t len = 0;
        for (Node* x = head; x != nullptr; x = x->next) {
            ++len;
        }
        for (std::size_t i = rng.below(len); i > 0; --i) {
            head = head->next;
        }
        return head;
    }

    /// Makes bucket `b` (the next one past the end) addressable.
    void reserve_bucket(std::size_t b) {
        if (b < segment_size) {
            if (b >= _seg0) { // the first segment doubles up to a full one: small tables stay small
                const std::size_t cap = _seg0 * 2;
                Node** grown = new Node*[cap]();
                std::copy(_segments[0], _segments[0] + _seg0, grown);
                delete[] _segments[0];
                _segments[0] = grown;
                _seg0 = cap;
            }
            return;
        }
        if ((b >> segment_bits) >= _segments.size()) {
            _segments.push_back(new Node*[segment_size]());
        }
    }

    void split_one() {
        const std::size_t src = _split;
        const std::size_t dst = _mask + 1 + _split;
        reserve_bucket(dst);
        const std::uint64_t bit = _mask + 1;
        Node* x = bucket(src);
        Node** keep = &bucket(src);
        Node** move = &bucket(dst);
        while (x != nullptr) {
            Node* next = x->next;
            if ((Hasher{}(*x) & bit) != 0) {
                *move = x;
                move = &x->next;
            } else {
                *keep = x;
                keep = &x->next;
            }
            x = next;
        }
        *keep = nullptr;
        *move = nullptr;
        if (++_split == _mask + 1) {
            _mask = _mask * 2 + 1;
            _split = 0;
        }
        // Splits go through the buckets in order, each walking a chain of nodes scattered over the heap: start
        // loading the chain a few splits ahead (back-to-back inserts, as a log replay does, wait on it otherwise).
        if (const std::size_t ahead = _split + split_prefetch_distance; ahead <= _mask) {
            if (const Node* n = bucket(ahead)) {
                __builtin_prefetch(n);
            }
        }
    }

    void merge_one() noexcept {
        if (_split == 0) {
            _mask >>= 1;
            _split = _mask + 1;
        }
        --_split;
        const std::size_t src = _mask + 1 + _split;
        Node*& from = bucket(src);
        if (from != nullptr) {
            Node* tail = from;
            while (tail->next != nullptr) {
                tail = tail->next;
            }
            Node*& into = bucket(_split);
            tail->next = into;
            into = from;
            from = nullptr;
        }
        // Free a whole segment once no bucket of it is in use.
        if (src >= segment_size && (src & (segment_size - 1)) == 0) {
            delete[] _segments.back();
            _segments.pop_back();
        }
    }

    void release_all() noexcept {
        for (Node** s : _segments) {
            delete[] s;
        }
        _segments.clear();
        _segments.shrink_to_fit();
        _mask = min_buckets - 1;
        _split = 0;
        _size = 0;
        _seg0 = 0;
    }

    std::vector<Node**> _segments;
    std::size_t _mask = min_buckets - 1;
    std::size_t _split = 0;
    std::size_t _size = 0;
    std::size_t _seg0 = 0; ///< buckets allocated in the first segment
    unsigned _max_load8;
};

} // namespace percore::kv
