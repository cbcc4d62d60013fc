#include "apps/kv/object.hh"

#include <algorithm>
#include <new>

namespace percore::kv {

object object::make(value_type t) {
    object o;
    switch (t) {
    case value_type::string:
        break;
    case value_type::list:
        o.set_pointer(kind::list, new list_value());
        break;
    case value_type::set:
        o.set_pointer(kind::set, new set_value());
        break;
    case value_type::hash:
        o.set_pointer(kind::hash, new hash_value());
        break;
    case value_type::zset:
        o.set_pointer(kind::zset, new zset_value());
        break;
    }
    return o;
}

object::heap_string* object::allocate_heap(std::size_t capacity) {
    auto* h = static_cast<heap_string*>(::operator new(sizeof(heap_string) + capacity));
    h->size = 0;
    h->capacity = static_cast<std::uint32_t>(capacity);
    return h;
}

void object::init_string(std::string_view s) {
    if (s.size() <= inline_capacity) {
        std::memcpy(_b, s.data(), s.size());
        set_small_size(s.size());
        return;
    }
    heap_string* h = allocate_heap(s.size());
    std::memcpy(h->data(), s.data(), s.size());
    h->size = static_cast<std::uint32_t>(s.size());
    set_pointer(kind::heap, h);
}

void object::release() noexcept {
    switch (get_kind()) {
    case kind::small:
        return;
    case kind::heap:
        ::operator delete(heap());
        break;
    case kind::list:
        delete ptr<list_value>();
        break;
    case kind::set:
        delete ptr<set_value>();
        break;
    case kind::hash:
        delete ptr<hash_value>();
        break;
    case kind::zset:
        delete ptr<zset_value>();
        break;
    }
    set_small_size(0);
}

char* object::reserve(std::size_t n, std::size_t keep) {
    if (get_kind() == kind::small) {
        if (n <= inline_capacity) {
            return _b;
        }
        // Leaving the inline form: room to grow, as the value is being appended to or extended.
        heap_string* h = allocate_heap(std::max(n, 2 * inline_capacity + 2));
        std::memcpy(h->data(), _b, std::min(keep, small_size()));
        set_pointer(kind::heap, h);
        return h->data();
    }
    heap_string* h = heap();
    if (n <= h->capacity) {
        return h->data();
    }
    // Doubling up to 1 MB, then 1 MB more each time (Redis's sdsMakeRoomFor).
    constexpr std::size_t mb = 1024 * 1024;
    const std::size_t cap = n < mb ? std::max(n, std::size_t{h->capacity} * 2) : n + mb;
    heap_string* g = allocate_heap(cap);
    std::memcpy(g->data(), h->data(), std::min<std::size_t>(keep, h->size));
    g->size = h->size;
    ::operator delete(h);
    set_pointer(kind::heap, g);
    return g->data();
}

void object::assign(std::string_view s) {
    if (get_kind() == kind::heap && s.size() <= heap()->capacity && s.size() > inline_capacity) {
        std::memmove(heap()->data(), s.data(), s.size());
        heap()->size = static_cast<std::uint32_t>(s.size());
        return;
    }
    object fresh(s);
    *this = std::move(fresh);
}

void object::append(std::string_view s) {
    const std::size_t have = str().size();
    set_range(have, s);
}

void object::set_range(std::size_t offset, std::string_view s) {
    const std::size_t have = str().size();
    const std::size_t n = std::max(have, offset + s.size());
    char* d = reserve(n, have);
    if (offset > have) {
        std::memset(d + have, 0, offset - have);
    }
    std::memcpy(d + offset, s.data(), s.size());
    if (get_kind() == kind::small) {
        set_small_size(n);
    } else {
        heap()->size = static_cast<std::uint32_t>(n);
    }
}

object object::clone() const {
    object o;
    switch (get_kind()) {
    case kind::small:
        std::memcpy(o._b, _b, sizeof(_b));
        break;
    case kind::heap:
        o.init_string(str());
        break;
    case kind::list:
        o.set_pointer(kind::list, new list_value(list()));
        break;
    case kind::set:
        o.set_pointer(kind::set, new set_value(set()));
        break;
    case kind::hash:
        o.set_pointer(kind::hash, new hash_value(hash()));
        break;
    case kind::zset:
        o.set_pointer(kind::zset, new zset_value(zset()));
        break;
    }
    return o;
}

bool object::empty_aggregate() const noexcept {
    switch (type()) {
    case value_type::string:
        return false;
    case value_type::list:
        return list().empty();
    case value_type::set:
        return set().size() == 0;
    case value_type::hash:
        return hash().empty();
    case value_type::zset:
        return zset().size() == 0;
    }
    return false;
}

namespace {

/// A std::string's heap block (its 32 bytes are in the container's node size): 0 while it fits inside.
std::size_t string_block(const std::string& s) noexcept {
    return s.capacity() > 15 ? (s.capacity() + 1 + 15) & ~std::size_t{15} : 0;
}

constexpr std::size_t samples = 8;

/// Mean string_block of up to `samples` elements spread over positions 0..n-1, `at(i)` giving element i's.
template <typename At>
std::size_t mean_block(std::size_t n, At&& at) noexcept {
    if (n == 0) {
        return 0;
    }
    const std::size_t k = std::min(n, samples);
    std::size_t sum = 0;
    for (std::size_t i = 0; i < k; ++i) {
        sum += at(i * n / k);
    }
    return sum / k;
}

/// The same over the first `samples` elements of an unordered container.
template <typename Map, typename Bytes>
std::size_t mean_block_first(const Map& m, Bytes&& bytes) noexcept {
    std::size_t sum = 0;
    std::size_t k = 0;
    for (auto it = m.begin(); it != m.end() && k < samples; ++it, ++k) {
        sum += bytes(*it);
    }
    return k == 0 ? 0 : sum / k;
}

} // namespace

std::size_t object::memory() const noexcept {
    // Aggregates: element count times a node size, plus the mean heap block of a few sampled elements (as Redis's
    // MEMORY USAGE samples): O(1) whatever the size, and large members count (maxmemory sees them).
    switch (get_kind()) {
    case kind::small:
        return 0;
    case kind::heap:
        return (sizeof(heap_string) + heap()->capacity + 15) & ~std::size_t{15};
    case kind::list: {
        const list_value& l = list();
        return 80 + l.size() * (40 + mean_block(l.size(), [&](std::size_t i) { return string_block(l[i]); }));
    }
    case kind::set: {
        const set_value& v = set();
        // Each member is held twice: in the vector and as the index's key.
        return 96 + v.size() * (96 + 2 * mean_block(v.size(), [&](std::size_t i) { return string_block(v.at(i)); }));
    }
    case kind::hash: {
        const hash_value& h = hash();
        return 64 + h.size() * (96 + mean_block_first(h, [](const auto& kv) {
                                    return string_block(kv.first) + string_block(kv.second);
                                }));
    }
    case kind::zset: {
        const zset_value& z = zset();
        // Members are in the tree and in the score index.
        return 128 + z.size() * (128 + 2 * mean_block(z.size(), [&](std::size_t i) {
                                           return string_block(z.at_rank(i)->member);
                                       }));
    }
    }
    return 0;
}

} // namespace percore::kv
