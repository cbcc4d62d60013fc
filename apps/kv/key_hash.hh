/// \file
/// \brief `key_hash`: the seeded 64-bit hash of keys (wyhash's construction: 128-bit multiply and fold).
///
/// Why not std::hash: libstdc++'s is murmur2 with a fixed seed (a client who knows it can flood one bucket) and
/// costs about twice the instructions on 16-byte keys. The seed is random per process; every shard uses the same.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace percore::kv {

namespace detail {

[[nodiscard]] inline std::uint64_t fold_mul(std::uint64_t a, std::uint64_t b) noexcept {
    const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
    return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

[[nodiscard]] inline std::uint64_t load64(const char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

[[nodiscard]] inline std::uint64_t load32(const char* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

inline constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL;
inline constexpr std::uint64_t k1 = 0xe7037ed1a0b428dbULL;
inline constexpr std::uint64_t k2 = 0x8ebc6af09c88c6e3ULL;

/// The process's seed (random, drawn once).
[[nodiscard]] std::uint64_t hash_seed() noexcept;

} // namespace detail

/// Hash of `s` under `seed`.
[[nodiscard, gnu::always_inline]] inline std::uint64_t key_hash(std::string_view s, std::uint64_t seed) noexcept {
    using namespace detail;
    const char* p = s.data();
    std::size_t n = s.size();
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    seed ^= k0;
    if (n <= 16) {
        if (n >= 8) {
            a = load64(p);
            b = load64(p + n - 8);
        } else if (n >= 4) {
            a = load32(p);
            b = load32(p + n - 4);
        } else if (n > 0) {
            a = (static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) << 16) |
                (static_cast<std::uint64_t>(static_cast<unsigned char>(p[n >> 1])) << 8) |
                static_cast<unsigned char>(p[n - 1]);
        }
    } else {
        std::size_t i = n;
        for (; i > 16; i -= 16, p += 16) {
            seed = fold_mul(load64(p) ^ k1, load64(p + 8) ^ seed);
        }
        a = load64(p + i - 16);
        b = load64(p + i - 8);
    }
    return fold_mul(k1 ^ n, fold_mul(a ^ k1, b ^ seed) ^ k2);
}

/// Hash of `s` under the process's seed.
[[nodiscard, gnu::always_inline]] inline std::uint64_t key_hash(std::string_view s) noexcept {
    static const std::uint64_t seed = detail::hash_seed();
    return key_hash(s, seed);
}

/// Hash of a pointer (the expiry index is keyed by node address).
[[nodiscard]] inline std::uint64_t pointer_hash(const void* p) noexcept {
    return detail::fold_mul(reinterpret_cast<std::uintptr_t>(p) ^ detail::k0, detail::k1);
}

} // namespace percore::kv
