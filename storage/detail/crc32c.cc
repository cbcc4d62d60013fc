#include "storage/detail/crc32c.hh"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "storage/fallbacks.hh"

namespace percore::detail {

namespace {

constexpr std::uint32_t poly = 0x82F63B78; // reflected Castagnoli polynomial

using tables_t = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr tables_t make_tables() {
    tables_t t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        }
        t[0][i] = c;
    }
    for (std::size_t s = 1; s < 8; ++s) {
        for (std::size_t i = 0; i < 256; ++i) {
            t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
        }
    }
    return t;
}

constexpr tables_t tables = make_tables();

std::uint64_t load64(const unsigned char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v; // little-endian: the only byte order percore builds for (x86-64, aarch64)
}

#if defined(__x86_64__)
// Three independent streams hide the instruction's 3-cycle latency (one result per cycle instead of one per three);
// their CRCs are combined by "shifting" a CRC over the length of the streams that follow it, a linear operator on
// GF(2) precomputed per byte of the CRC (Mark Adler's crc32c.c, from zlib's crc32_combine).
constexpr std::size_t long_stream = 8192;
constexpr std::size_t short_stream = 256;

using shift_table = std::array<std::array<std::uint32_t, 256>, 4>;

constexpr std::uint32_t gf2_times(const std::array<std::uint32_t, 32>& mat, std::uint32_t vec) {
    std::uint32_t sum = 0;
    for (int i = 0; vec != 0; ++i, vec >>= 1) {
        if (vec & 1) {
            sum ^= mat[i];
        }
    }
    return sum;
}

constexpr std::array<std::uint32_t, 32> gf2_square(const std::array<std::uint32_t, 32>& mat) {
    std::array<std::uint32_t, 32> sq{};
    for (std::size_t n = 0; n < 32; ++n) {
        sq[n] = gf2_times(mat, mat[n]);
    }
    return sq;
}

/// The table that appends `bytes` zero bytes (a power of two) to a CRC.
constexpr shift_table make_shift(std::size_t bytes) {
    std::array<std::uint32_t, 32> op{}; // one zero bit
    op[0] = poly;
    for (std::size_t n = 1; n < 32; ++n) {
        op[n] = std::uint32_t{1} << (n - 1);
    }
    for (std::size_t bits = 1; bits < bytes * 8; bits *= 2) {
        op = gf2_square(op);
    }
    shift_table t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
        t[0][n] = gf2_times(op, n);
        t[1][n] = gf2_times(op, n << 8);
        t[2][n] = gf2_times(op, n << 16);
        t[3][n] = gf2_times(op, n << 24);
    }
    return t;
}

constexpr shift_table long_shift = make_shift(long_stream);
constexpr shift_table short_shift = make_shift(short_stream);

std::uint32_t shift(const shift_table& t, std::uint32_t crc) noexcept {
    return t[0][crc & 0xFF] ^ t[1][(crc >> 8) & 0xFF] ^ t[2][(crc >> 16) & 0xFF] ^ t[3][crc >> 24];
}

__attribute__((target("sse4.2"))) std::uint64_t three_streams(std::uint64_t c0, const unsigned char*& p,
                                                              std::size_t& size, std::size_t stream,
                                                              const shift_table& t) noexcept {
    while (size >= 3 * stream) {
        std::uint64_t c1 = 0;
        std::uint64_t c2 = 0;
        for (const unsigned char* end = p + stream; p < end; p += 8) {
            c0 = _mm_crc32_u64(c0, load64(p));
            c1 = _mm_crc32_u64(c1, load64(p + stream));
            c2 = _mm_crc32_u64(c2, load64(p + 2 * stream));
        }
        c0 = shift(t, static_cast<std::uint32_t>(c0)) ^ c1;
        c0 = shift(t, static_cast<std::uint32_t>(c0)) ^ c2;
        p += 2 * stream;
        size -= 3 * stream;
    }
    return c0;
}

__attribute__((target("sse4.2"))) std::uint32_t extend_sse42(std::uint32_t crc, const void* data,
                                                             std::size_t size) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t c = ~crc;
    c = three_streams(c, p, size, long_stream, long_shift);
    c = three_streams(c, p, size, short_stream, short_shift);
    for (; size >= 8; size -= 8, p += 8) {
        c = _mm_crc32_u64(c, load64(p));
    }
    auto c32 = static_cast<std::uint32_t>(c);
    for (; size > 0; --size, ++p) {
        c32 = _mm_crc32_u8(c32, *p);
    }
    return ~c32;
}
#endif

using extend_fn = std::uint32_t (*)(std::uint32_t, const void*, std::size_t) noexcept;

extend_fn pick() noexcept {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2") && !storage::fallback_forced(storage::fallback::crc32c)) {
        return &extend_sse42;
    }
#endif
    return &crc32c_extend_portable;
}

// A function-local static: safe to call from other translation units' static initialisers.
extend_fn chosen() noexcept {
    static const extend_fn fn = pick();
    return fn;
}

} // namespace

std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t size) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint32_t c = ~crc;
    for (; size >= 8; size -= 8, p += 8) { // slicing-by-8
        const std::uint64_t v = load64(p) ^ c;
        c = tables[7][v & 0xFF] ^ tables[6][(v >> 8) & 0xFF] ^ tables[5][(v >> 16) & 0xFF] ^
            tables[4][(v >> 24) & 0xFF] ^ tables[3][(v >> 32) & 0xFF] ^ tables[2][(v >> 40) & 0xFF] ^
            tables[1][(v >> 48) & 0xFF] ^ tables[0][v >> 56];
    }
    for (; size > 0; --size, ++p) {
        c = (c >> 8) ^ tables[0][(c ^ *p) & 0xFF];
    }
    return ~c;
}

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) noexcept {
    return chosen()(crc, data, size);
}

bool crc32c_hardware() noexcept {
    return chosen() != &crc32c_extend_portable;
}

} // namespace percore::detail
