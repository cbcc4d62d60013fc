/// \file
/// \brief Record framing of the append-only log: `[length: u32 LE][crc32c: u32 LE][payload: length bytes]`.
///
/// The checksum covers the four length bytes and the payload, so a damaged length is caught like damaged data,
/// and an all-zero region (a hole, zero padding) never decodes as a record: crc32c of four zero bytes is not 0.
///
/// \code
/// std::vector<std::byte> out(framed_size(payload.size()));
/// encode_record(payload, out.data());
/// decoded_record r = decode_record(out, max_payload);   // r.status == record_status::ok, r.payload == payload
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace percore::storage {

inline constexpr std::size_t record_header_size = 8;

[[nodiscard]] constexpr std::size_t framed_size(std::size_t payload) noexcept {
    return record_header_size + payload;
}

/// Writes the framed record (framed_size(payload.size()) bytes) to `out`. \any_shard
void encode_record(std::span<const std::byte> payload, std::byte* out) noexcept;

enum class record_status : std::uint8_t {
    ok,
    short_header,  ///< fewer than 8 bytes left
    short_payload, ///< the header announces more bytes than are left
    too_long,      ///< the length exceeds the largest record allowed
    bad_checksum,
};

[[nodiscard]] const char* to_string(record_status s) noexcept;

struct decoded_record {
    record_status status = record_status::short_header;
    std::span<const std::byte> payload; ///< valid when status == ok
    std::size_t size = 0;               ///< framed bytes the record takes, when status == ok
    std::size_t length = 0;             ///< the payload length the header announces (0 for short_header)
};

/// Decodes the record at the start of `in`; lengths above `max_payload` are refused as too_long. \any_shard
[[nodiscard]] decoded_record decode_record(std::span<const std::byte> in, std::size_t max_payload) noexcept;

} // namespace percore::storage
