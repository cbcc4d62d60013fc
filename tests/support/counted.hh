/// \file
/// \brief `counted`: a value that counts its constructions, copies, moves and destructions, to catch leaks and
/// stray copies in tasks, channels and combinators (after cppcoro's counted.hpp).
#pragma once

namespace percore::test {

struct counted {
    static inline int default_constructed = 0;
    static inline int copies = 0;
    static inline int moves = 0;
    static inline int destroyed = 0;

    static void reset() { default_constructed = copies = moves = destroyed = 0; }
    static int alive() { return default_constructed + copies + moves - destroyed; }

    int id = 0;
    counted() { ++default_constructed; }
    explicit counted(int i)
        : id(i) {
        ++default_constructed;
    }
    counted(const counted& o)
        : id(o.id) {
        ++copies;
    }
    counted(counted&& o) noexcept
        : id(o.id) {
        ++moves;
    }
    counted& operator=(const counted&) = default;
    counted& operator=(counted&&) = default;
    ~counted() { ++destroyed; }
};

} // namespace percore::test
