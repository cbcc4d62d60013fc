/// \file
/// \brief CRC-32C (Castagnoli, the iSCSI / ext4 / RocksDB checksum): SSE4.2 `crc32` instruction when the CPU has
/// it (checked once at start-up) and the `crc32c` fallback is not forced (fallbacks.hh), slicing-by-8 tables
/// otherwise. Both give the same values (tests compare them).
///
/// \code
/// std::uint32_t c = percore::detail::crc32c(data, size);            // one shot
/// std::uint32_t d = percore::detail::crc32c_extend(c, more, n);     // the same as one shot over data + more
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>

namespace percore::detail {

/// Continues a CRC-32C: `crc32c_extend(crc32c(a), b)` equals the CRC of `a` followed by `b`. \any_shard
[[nodiscard]] std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) noexcept;

/// CRC-32C of `size` bytes (RFC 3720: crc32c("123456789") == 0xE3069283). \any_shard
[[nodiscard]] inline std::uint32_t crc32c(const void* data, std::size_t size) noexcept {
    return crc32c_extend(0, data, size);
}

/// The portable implementation, exposed so tests can hold the hardware path against it.
[[nodiscard]] std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t size) noexcept;

/// Whether crc32c_extend uses the CPU's CRC32 instruction.
[[nodiscard]] bool crc32c_hardware() noexcept;

} // namespace percore::detail
