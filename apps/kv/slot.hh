/// \file
/// \brief Redis hash slots: CRC16 (XMODEM) of the key, or of its `{hash tag}`, modulo 16384; slot -> shard.
///
/// \code
/// percore::kv::key_slot("user:{42}:name") == percore::kv::key_slot("{42}");   // a tag keeps keys together
/// unsigned shard = percore::kv::slot_shard(percore::kv::key_slot(key), shard_count());
/// \endcode
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace percore::kv {

inline constexpr unsigned slot_count = 16384;

namespace detail {
constexpr std::array<std::uint16_t, 256> make_crc16_table() {
    std::array<std::uint16_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i) {
        std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
        for (int bit = 0; bit < 8; ++bit) {
            crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
        }
        t[i] = crc;
    }
    return t;
}
inline constexpr std::array<std::uint16_t, 256> crc16_table = make_crc16_table();
} // namespace detail

/// CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with.
[[nodiscard]] constexpr std::uint16_t crc16(std::string_view bytes) noexcept {
    std::uint16_t crc = 0;
    for (char c : bytes) {
        crc = static_cast<std::uint16_t>((crc << 8) ^
                                         detail::crc16_table[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff]);
    }
    return crc;
}

/// The part of a key that is hashed: the text between the first `{` and the next `}` when it is not empty, else
/// the whole key (Redis Cluster's rule).
[[nodiscard]] constexpr std::string_view hash_tag(std::string_view key) noexcept {
    const std::size_t open = key.find('{');
    if (open == std::string_view::npos) {
        return key;
    }
    const std::size_t close = key.find('}', open + 1);
    if (close == std::string_view::npos || close == open + 1) {
        return key;
    }
    return key.substr(open + 1, close - open - 1);
}

[[nodiscard]] constexpr unsigned key_slot(std::string_view key) noexcept {
    return crc16(hash_tag(key)) & (slot_count - 1);
}

/// The shard that owns `slot`: contiguous ranges of slots, as a cluster assigns them to nodes.
[[nodiscard]] constexpr unsigned slot_shard(unsigned slot, unsigned shards) noexcept {
    return static_cast<unsigned>((std::uint64_t{slot} * shards) / slot_count);
}

} // namespace percore::kv
